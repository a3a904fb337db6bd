"""ML511: a foreign key constraint validated by a scan that blocks writes on both tables."""

from __future__ import annotations

from collections.abc import Iterator

from migration_lint.analysis.builds import postgres_locks_apply
from migration_lint.analysis.builds import new_field
from migration_lint.analysis.deploy import (
    db_steps,
    existing_model,
    has_constraint,
    op_is,
    related_model,
)
from migration_lint.context import MigrationContext
from migration_lint.deploy_plans import foreign_key
from migration_lint.findings import Finding, Severity
from migration_lint.rules._deploy import SHOP_INITIAL, operations
from migration_lint.rules.base import Example, Rule
from migration_lint.state import default_table

_WITH_CODE = operations(
    'migrations.AddField("order", "referrer_id", models.BigIntegerField(null=True))'
)


class BlockingForeignKeyValidation(Rule):
    """Foreign key constraint validated by scanning, with writes blocked on both tables.

    ## What it does
    On PostgreSQL, reports a foreign key constraint added to a column that already holds
    values: an `AlterField` that turns a column into a `ForeignKey` (or points it at another
    model, or sets `db_constraint=True`), and an `AddField` of a `ForeignKey` with a `default`
    or `db_default`. A nullable `ForeignKey` added without a default is not reported:
    PostgreSQL knows the new column is all NULL and skips the validation. Neither are tables
    created in the same migration.

    ## Why is this bad?
    `ADD CONSTRAINT ... FOREIGN KEY` checks every existing row against the referenced table,
    holding SHARE ROW EXCLUSIVE on both tables (no inserts, updates or deletes) for the whole
    scan; after `ADD COLUMN` in the same transaction the referencing table is even under ACCESS
    EXCLUSIVE (no reads either).

    ## Use instead
    Create the column with `db_constraint=False` and add the constraint with
    `ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID` (an instant, no scan), then
    `VALIDATE CONSTRAINT` in the next migration (scans under SHARE UPDATE EXCLUSIVE, which lets
    reads and writes go on). Django's state keeps the field as written, through
    `SeparateDatabaseAndState`.
    """

    code = "ML511"
    name = "blocking-foreign-key-validation"
    severity = Severity.WARNING

    flagged = (
        Example(
            title="An integer column becomes a ForeignKey",
            history=(SHOP_INITIAL, _WITH_CODE),
            source=operations(
                'migrations.AlterField("order", "referrer_id", models.ForeignKey("shop.client", models.SET_NULL, null=True, db_column="referrer_id", related_name="+"))',
                after="0002_auto",
            ),
            line=7,
        ),
        Example(
            title="A ForeignKey added with a default",
            history=(SHOP_INITIAL,),
            source=operations(
                'migrations.AddField("order", "billed_to", models.ForeignKey("shop.client", models.SET_NULL, null=True, default=1, related_name="+"))'
            ),
        ),
    )
    accepted = (
        Example(
            title="A nullable ForeignKey without a default: PostgreSQL skips the validation",
            history=(SHOP_INITIAL,),
            source=operations(
                'migrations.AddField("order", "billed_to", models.ForeignKey("shop.client", models.SET_NULL, null=True, related_name="+"))'
            ),
        ),
        Example(
            title="NOT VALID, with the field in Django's state",
            history=(SHOP_INITIAL, _WITH_CODE),
            source="""\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0002_auto")]
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    'ALTER TABLE "shop_order" ADD CONSTRAINT "shop_order_referrer_id_fk" FOREIGN KEY ("referrer_id") REFERENCES "shop_client" ("id") DEFERRABLE INITIALLY DEFERRED NOT VALID;',
                    'ALTER TABLE "shop_order" DROP CONSTRAINT "shop_order_referrer_id_fk";',
                ),
            ],
            state_operations=[
                migrations.AlterField("order", "referrer_id", models.ForeignKey("shop.client", models.SET_NULL, null=True, db_column="referrer_id", related_name="+")),
            ],
        ),
    ]
""",
        ),
        Example(
            title="The table is created in the same migration",
            source="""\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel("Tag", [("id", models.AutoField(primary_key=True))]),
        migrations.CreateModel("Coupon", [("id", models.AutoField(primary_key=True)), ("tag_id", models.IntegerField(default=1))]),
        migrations.AlterField("coupon", "tag_id", models.ForeignKey("shop.tag", models.CASCADE, default=1, db_column="tag_id")),
    ]
""",
        ),
        Example(
            title="A ForeignKey whose options change, not its constraint",
            history=(SHOP_INITIAL,),
            source=operations(
                'migrations.AlterField("order", "client", models.ForeignKey(on_delete=models.PROTECT, related_name="orders", to="shop.client"))'
            ),
        ),
    )

    def check(self, ctx: MigrationContext) -> Iterator[Finding]:
        if not postgres_locks_apply(ctx):
            return
        for step in db_steps(ctx):
            op = step.operation
            if not op_is(op, "AddField", "AlterField"):
                continue
            model = existing_model(ctx, step)
            field = new_field(ctx, op)
            if model is None or field is None or not has_constraint(field):
                continue
            if op.name == "AddField":
                if field.kwargs.get("default") is None and not field.has_db_default:
                    continue
            else:
                name = op.kwargs.get("name")
                old = model.field(name) if isinstance(name, str) else None
                if old is None:
                    continue
                if has_constraint(old) and old.related_model == field.related_model:
                    continue
            target = related_model(step.models, field)
            app, _, target_name = (field.related_model or ".").partition(".")
            target_table = target.table if target else default_table(app, target_name)
            pk = next((f for f in target.fields if f.primary_key), None) if target else None
            target_column = pk.column if pk else "id"
            lock = (
                f"ACCESS EXCLUSIVE on {model.table} (from ADD COLUMN)"
                if op.name == "AddField"
                else f"SHARE ROW EXCLUSIVE on {model.table}"
            )
            yield self.finding(
                ctx,
                op,
                f"{op.name} adds a foreign key from {model.table}.{field.column} to "
                f"{target_table}: PostgreSQL validates every existing row holding {lock} and "
                f"SHARE ROW EXCLUSIVE on {target_table} (no writes) for the whole scan",
                help="add it NOT VALID, then VALIDATE CONSTRAINT in the next migration (fix plan below)",
                fix=foreign_key(ctx, op, model, field, target_table, target_column),
                target="postgresql",
            )
