from django.db import models


class Advertiser(models.Model):
    name = models.CharField(max_length=200)
    email = models.EmailField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["email"], include=["name"], name="ads_advertiser_email_uniq"
            ),
        ]


class Ad(models.Model):
    advertiser = models.ForeignKey(Advertiser, on_delete=models.CASCADE, related_name="ads")
    title = models.CharField(max_length=200)
    url = models.URLField()


class ImpressionCounter(models.Model):
    ad = models.ForeignKey(Ad, on_delete=models.CASCADE, related_name="impressions")
    impression_date = models.DateField()
    count = models.PositiveIntegerField(default=0)
