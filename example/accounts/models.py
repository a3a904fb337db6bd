from django.conf import settings
from django.db import models


class Profile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    display_name = models.CharField(max_length=150, blank=True)
    newsletter = models.BooleanField(default=False)

    def default_display_name(self):
        full_name = self.user.get_full_name()
        return full_name or self.user.get_username()
