"""ML504: a data migration that saves the rows of an existing table one at a time."""

from __future__ import annotations

from collections.abc import Iterator

from migration_lint.analysis.deploy import db_steps, op_is
from migration_lint.analysis.python_code import function_name, reached
from migration_lint.context import MigrationContext
from migration_lint.deploy_plans import backfill
from migration_lint.findings import Finding, Severity
from migration_lint.rules._deploy import SHOP_INITIAL
from migration_lint.rules.base import Example, Rule


def _data_migration(function: str, name: str = "fill") -> str:
    return f"""\
from django.db import migrations
from django.utils.text import slugify


{function.strip()}


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.RunPython({name}, migrations.RunPython.noop)]
"""


class RowByRowBackfill(Rule):
    """Backfill that loads every row and saves it back one UPDATE at a time.

    ## What it does
    Reports loops in `RunPython` functions that iterate over a queryset of a table that existed
    before the migration and call `.save()` on each row. The fix plan is chosen from the loop:
    one `update()` with `F()` expressions when every value comes from the row itself, one
    `update()` with a `Subquery` when it counts related rows, and `.iterator()` with batched
    `bulk_update` when the value needs Python.

    ## Why is this bad?
    Without `.iterator()` the queryset loads every row into memory at once; each `save()` is a
    round trip and an UPDATE of every column. On a table with millions of rows the migration
    runs for hours inside one transaction, holding the row locks of everything it has written
    (and, in an atomic migration after a schema change, the table lock too).

    ## Use instead
    `Client.objects.update(field=F("other"))` where the database can compute the value;
    otherwise `for obj in qs.iterator(chunk_size=2000)` collecting rows and
    `bulk_update(batch, ["field"])` every 2000.
    """

    code = "ML504"
    name = "row-by-row-backfill"
    severity = Severity.WARNING

    flagged = (
        Example(
            title="A related count stored row by row",
            history=(SHOP_INITIAL,),
            source=_data_migration(
                """
def fill(apps, schema_editor):
    Client = apps.get_model("shop", "Client")
    for client in Client.objects.all():
        client.orders_count = client.orders.count()
        client.save()
"""
            ),
            line=14,
        ),
        Example(
            title="A value from the row's own fields",
            history=(SHOP_INITIAL,),
            source=_data_migration(
                """
def fill(apps, schema_editor):
    Order = apps.get_model("shop", "Order")
    for order in Order.objects.filter(note__isnull=True):
        order.note = order.reference
        order.save(update_fields=["note"])
"""
            ),
        ),
        Example(
            title="A value only Python computes",
            history=(SHOP_INITIAL,),
            source=_data_migration(
                """
def fill(apps, schema_editor):
    Client = apps.get_model("shop", "Client")
    for client in Client.objects.filter(email__isnull=True):
        client.email = slugify(client.name) + "@example.com"
        client.save()
"""
            ),
        ),
    )
    accepted = (
        Example(
            title="One UPDATE with F()",
            history=(SHOP_INITIAL,),
            source=_data_migration(
                """
def fill(apps, schema_editor):
    from django.db.models import F

    Order = apps.get_model("shop", "Order")
    Order.objects.filter(note__isnull=True).update(note=F("reference"))
"""
            ),
        ),
        Example(
            title="Streamed with iterator() and written with bulk_update",
            history=(SHOP_INITIAL,),
            source=_data_migration(
                """
def fill(apps, schema_editor):
    Client = apps.get_model("shop", "Client")
    batch = []
    for client in Client.objects.filter(email__isnull=True).iterator(chunk_size=2000):
        client.email = slugify(client.name) + "@example.com"
        batch.append(client)
        if len(batch) >= 2000:
            Client.objects.bulk_update(batch, ["email"])
            batch.clear()
    Client.objects.bulk_update(batch, ["email"])
"""
            ),
        ),
        Example(
            title="The table is created in the same migration",
            source="""\
from django.db import migrations, models


def fill(apps, schema_editor):
    Coupon = apps.get_model("shop", "Coupon")
    for coupon in Coupon.objects.all():
        coupon.code = coupon.code.upper()
        coupon.save()


class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel("Coupon", [("id", models.AutoField(primary_key=True)), ("code", models.CharField(max_length=20))]),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
""",
        ),
        Example(
            title="A loop that only reads",
            history=(SHOP_INITIAL,),
            source=_data_migration(
                """
def fill(apps, schema_editor):
    Client = apps.get_model("shop", "Client")
    Order = apps.get_model("shop", "Order")
    names = {client.pk: client.name for client in Client.objects.all()}
    for order in Order.objects.filter(note__isnull=True).iterator():
        print(names.get(order.client_id))
"""
            ),
        ),
    )

    def check(self, ctx: MigrationContext) -> Iterator[Finding]:
        for step in db_steps(ctx):
            op = step.operation
            if not op_is(op, "RunPython") or op.dynamic:
                continue
            function = function_name(op)
            if function is None:
                continue
            for facts in reached(ctx, function):
                for loop in facts.loops:
                    model = step.models.get(loop.model)
                    if model is None or ctx.created_here(loop.model):
                        continue
                    memory = "" if loop.iterator else ", after loading every row into memory"
                    yield self.finding(
                        ctx,
                        op,
                        f"{facts.name} saves the rows of existing table {model.table} one UPDATE "
                        f"at a time{memory}: hours on a large table",
                        help=(
                            "one update() with F()/Subquery expressions, or .iterator() with "
                            "batched bulk_update (fix plan below)"
                        ),
                        fix=(backfill(ctx, loop, facts.name, dict(step.models)),),
                    )
