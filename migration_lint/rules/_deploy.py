"""Migrations the ML5xx examples build on: a shop whose Client and Order tables already exist."""

from __future__ import annotations

SHOP_INITIAL = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel(
            name="Client",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=100)),
                ("email", models.EmailField(max_length=254, null=True)),
                ("orders_count", models.IntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name="Order",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("client", models.ForeignKey(on_delete=models.CASCADE, related_name="orders", to="shop.client")),
                ("reference", models.CharField(max_length=32)),
                ("total", models.DecimalField(max_digits=10, decimal_places=2)),
                ("note", models.TextField(null=True)),
            ],
        ),
    ]
"""

HEADER = """\
from django.db import migrations, models


class Migration(migrations.Migration):
"""


def migration(body: str, header: str = HEADER, after: str = "0001_initial") -> str:
    """A migration depending on ``shop.<after>`` whose class body is ``body``."""
    return header + f'    dependencies = [("shop", "{after}")]\n' + body


def operations(*ops: str, header: str = HEADER, after: str = "0001_initial") -> str:
    """A migration whose operations are ``ops`` (one line each)."""
    body = "    operations = [\n" + "".join(f"        {op},\n" for op in ops) + "    ]\n"
    return migration(body, header, after)
