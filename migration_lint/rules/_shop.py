"""Migrations the ML1xx examples build on: a small shop whose tables already exist."""

from __future__ import annotations

ORDER_INITIAL = """\
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = [migrations.swappable_dependency(settings.AUTH_USER_MODEL)]
    operations = [
        migrations.CreateModel(
            name="Order",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("customer", models.ForeignKey(on_delete=models.CASCADE, to=settings.AUTH_USER_MODEL)),
                ("reference", models.CharField(max_length=32)),
                ("sku", models.CharField(max_length=20, null=True)),
                ("created", models.DateTimeField(auto_now_add=True)),
            ],
        ),
    ]
"""

HEADER = """\
from django.db import migrations, models


class Migration(migrations.Migration):
"""


def migration(body: str, header: str = HEADER) -> str:
    """A migration depending on ``shop.0001_initial`` whose class body is ``body``."""
    return header + '    dependencies = [("shop", "0001_initial")]\n' + body
