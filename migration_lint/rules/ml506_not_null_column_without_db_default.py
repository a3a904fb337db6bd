"""ML506: a NOT NULL column added to an existing table with no default in the database."""

from __future__ import annotations

from collections.abc import Iterator

from migration_lint.analysis.builds import new_field
from migration_lint.analysis.deploy import db_steps, existing_model, kind, op_is
from migration_lint.context import MigrationContext
from migration_lint.deploy_plans import add_not_null
from migration_lint.findings import Finding, Severity
from migration_lint.rules._deploy import SHOP_INITIAL, operations
from migration_lint.rules.base import Example, Rule


class NotNullColumnWithoutDbDefault(Rule):
    """NOT NULL column added to an existing table without a database default.

    ## What it does
    Reports `AddField` of a column that is not nullable and has no `db_default` on a table that
    existed before the migration. Nullable columns, columns with `db_default`, many-to-many
    fields (no column) and tables created in the same migration are not reported. Other
    operations are not read as NOT NULL additions: an `AlterField` that SQLite carries out by
    rebuilding the table (every NOT NULL column appears in the new `CREATE TABLE`) adds nothing.

    ## Why is this bad?
    Django's `default` is not a database default: Django fills the existing rows with it and
    drops it in the same migration (`ALTER COLUMN ... DROP DEFAULT`). The code still running
    while the migration is deployed does not know the column, leaves it out of its INSERTs,
    and every insert fails with `null value in column ... violates not-null constraint` until
    the new code is out (and again after a rollback of the code). Without any default, the
    migration itself fails on a table that has rows.

    ## Use instead
    Django 5.0+: `db_default=` (the default stays in the database; a constant one is added
    without rewriting the table on PostgreSQL 11+). Otherwise three steps: add the column
    nullable, fill it in a data migration once the new code writes it, then make it NOT NULL.
    """

    code = "ML506"
    name = "not-null-column-without-db-default"
    severity = Severity.ERROR

    flagged = (
        Example(
            title="A required counter with a Django default",
            history=(SHOP_INITIAL,),
            source=operations(
                'migrations.AddField(model_name="client", name="bought", field=models.IntegerField(default=0))'
            ),
            line=7,
        ),
        Example(
            title="A one-off default from makemigrations (preserve_default=False)",
            history=(SHOP_INITIAL,),
            source=operations(
                'migrations.AddField("order", "paid", models.BooleanField(default=False), preserve_default=False)'
            ),
        ),
    )
    accepted = (
        Example(
            title="Django 5.0+: db_default",
            history=(SHOP_INITIAL,),
            source=operations(
                'migrations.AddField(model_name="client", name="bought", field=models.IntegerField(db_default=0))'
            ),
        ),
        Example(
            title="A nullable column",
            history=(SHOP_INITIAL,),
            source=operations(
                'migrations.AddField(model_name="client", name="bought", field=models.IntegerField(null=True))'
            ),
        ),
        Example(
            title="The table is created in the same migration",
            source="""\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel("Coupon", [("id", models.AutoField(primary_key=True))]),
        migrations.AddField("coupon", "uses", models.IntegerField(default=0)),
    ]
""",
        ),
        Example(
            title="SQLite rebuilds the table for an AlterField: no NOT NULL column is added",
            history=(SHOP_INITIAL,),
            targets=("sqlite",),
            source=operations(
                'migrations.AlterField("client", "name", models.CharField(max_length=200))'
            ),
        ),
    )

    def check(self, ctx: MigrationContext) -> Iterator[Finding]:
        for step in db_steps(ctx):
            op = step.operation
            if not op_is(op, "AddField"):
                continue
            model = existing_model(ctx, step)
            field = new_field(ctx, op)
            if model is None or field is None:
                continue
            if field.null or field.has_db_default or field.many_to_many or field.primary_key:
                continue
            if kind(field) == "GeneratedField":
                continue
            column = f"{model.table}.{field.column}"
            if field.kwargs.get("default") is not None:
                message = (
                    f"AddField adds NOT NULL column {column} and Django drops its default in the "
                    "same migration: the code still running inserts rows without it, which fail"
                )
            else:
                message = (
                    f"AddField adds NOT NULL column {column} with no default: the migration "
                    "fails on a table with rows, and the running code's inserts fail too"
                )
            yield self.finding(
                ctx,
                op,
                message,
                help=(
                    "give it db_default (Django 5.0+), or add it nullable, fill it, then make it "
                    "NOT NULL (fix plan below)"
                ),
                fix=add_not_null(ctx, op, model, field),
            )
