"""ML509: a column or table renamed while the code that is still running uses the old name."""

from __future__ import annotations

from collections.abc import Iterator

from migration_lint.analysis.builds import new_field
from migration_lint.analysis.deploy import db_steps, existing_model, op_is
from migration_lint.context import MigrationContext
from migration_lint.deploy_plans import rename_in_state
from migration_lint.findings import Finding, Severity
from migration_lint.rules._deploy import SHOP_INITIAL, operations
from migration_lint.rules.base import Example, Rule
from migration_lint.state import default_table


class RenameBreaksRunningCode(Rule):
    """Column or table renamed while the running code still uses the old name.

    ## What it does
    Reports `RenameField`, `RenameModel`, `AlterModelTable` and an `AlterField` that changes
    `db_column`, when they rename a column or a table that existed before the migration. Not
    reported: renames Django makes in its state only (a field with `db_column`, a model with
    `db_table`), and tables created in the same migration.

    ## Why is this bad?
    The code still running during the deploy names the old column or table in every query on
    the model, and fails from the moment the rename commits until the new code is out (and
    again after a rollback of the code).

    ## Use instead
    Rename in Django only: `SeparateDatabaseAndState(state_operations=[RenameField(...),
    AlterField(..., db_column="old_name")])`, or `db_table` in the renamed model's Meta. The
    database keeps its names and old and new code both work.
    """

    code = "ML509"
    name = "rename-breaks-running-code"
    severity = Severity.ERROR

    flagged = (
        Example(
            title="RenameField",
            history=(SHOP_INITIAL,),
            source=operations(
                'migrations.RenameField(model_name="order", old_name="note", new_name="comment")'
            ),
            line=7,
        ),
        Example(
            title="RenameModel",
            history=(SHOP_INITIAL,),
            source=operations('migrations.RenameModel(old_name="Client", new_name="Customer")'),
        ),
        Example(
            title="AlterModelTable",
            history=(SHOP_INITIAL,),
            source=operations('migrations.AlterModelTable(name="client", table="clients")'),
        ),
    )
    accepted = (
        Example(
            title="Renamed in Django only: the column keeps its name",
            history=(SHOP_INITIAL,),
            source=operations(
                "migrations.SeparateDatabaseAndState(state_operations=["
                'migrations.RenameField("order", "note", "comment"), '
                'migrations.AlterField("order", "comment", models.TextField(null=True, db_column="note"))])'
            ),
        ),
        Example(
            title="RenameField of a field with db_column: nothing changes in the database",
            history=(
                SHOP_INITIAL,
                operations(
                    'migrations.AlterField("order", "note", models.TextField(null=True, db_column="note"))'
                ),
            ),
            source=operations(
                'migrations.RenameField("order", "note", "comment")', after="0002_auto"
            ),
        ),
        Example(
            title="RenameModel of a model with db_table",
            history=(
                SHOP_INITIAL,
                operations('migrations.AlterModelTable(name="client", table="clients")'),
            ),
            source=operations(
                'migrations.RenameModel(old_name="Client", new_name="Customer")',
                after="0002_auto",
            ),
        ),
        Example(
            title="A table created in the same migration",
            source="""\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel("Coupon", [("id", models.AutoField(primary_key=True)), ("code", models.TextField())]),
        migrations.RenameField("coupon", "code", "label"),
    ]
""",
        ),
    )

    def check(self, ctx: MigrationContext) -> Iterator[Finding]:
        app = ctx.migration.app_label
        for step in db_steps(ctx):
            op = step.operation
            message = None
            model = None
            if op_is(op, "RenameField"):
                model = existing_model(ctx, step)
                old = op.kwargs.get("old_name")
                new = op.kwargs.get("new_name")
                field = model.field(old) if model and isinstance(old, str) else None
                if field is None or not isinstance(new, str) or "db_column" in field.kwargs:
                    continue
                if field.many_to_many:
                    if "through" in field.kwargs:
                        continue
                    message = (
                        f"RenameField renames join table {model.table}_{field.name} to "  # type: ignore[union-attr]
                        f"{model.table}_{new.lower()} while the code still running uses it"  # type: ignore[union-attr]
                    )
                else:
                    column = (
                        f"{new}_id"
                        if field.column.endswith("_id") and field.column != field.name
                        else new
                    )
                    message = (
                        f"RenameField renames column {model.table}.{field.column} to {column} "  # type: ignore[union-attr]
                        f"while the code still running selects {field.column}: every query on "
                        f"{model.name} fails until the new code is out"  # type: ignore[union-attr]
                    )
            elif op_is(op, "RenameModel"):
                model = existing_model(ctx, step, "old_name")
                new = op.kwargs.get("new_name")
                if model is None or not isinstance(new, str):
                    continue
                if model.table != default_table(app, model.name):
                    continue
                message = (
                    f"RenameModel renames table {model.table} to {default_table(app, new)} while "
                    "the code still running queries the old name"
                )
            elif op_is(op, "AlterModelTable"):
                model = existing_model(ctx, step, "name")
                table = op.kwargs.get("table")
                if model is None:
                    continue
                target = table if isinstance(table, str) else default_table(app, model.name)
                if (table is not None and not isinstance(table, str)) or target == model.table:
                    continue
                message = (
                    f"AlterModelTable renames table {model.table} to {target} while the code "
                    "still running queries the old name"
                )
            elif op_is(op, "AlterField"):
                model = existing_model(ctx, step)
                name = op.kwargs.get("name")
                old_field = model.field(name) if model and isinstance(name, str) else None
                new_state = new_field(ctx, op)
                if old_field is None or new_state is None or old_field.many_to_many:
                    continue
                if old_field.column == new_state.column:
                    continue
                message = (
                    f"AlterField renames column {model.table}.{old_field.column} to "  # type: ignore[union-attr]
                    f"{new_state.column} while the code still running selects the old name"
                )
            if message is None:
                continue
            yield self.finding(
                ctx,
                op,
                message,
                help="rename in Django's state only and keep the database name (fix plan below)",
                fix=rename_in_state(ctx, op, model),
            )
