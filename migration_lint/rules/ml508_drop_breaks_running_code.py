"""ML508: a column or table dropped while the code that is still running uses it."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from migration_lint.analysis.builds import statements
from migration_lint.analysis.deploy import db_steps, existing_model, op_is
from migration_lint.context import MigrationContext
from migration_lint.deploy_plans import drop_in_two_deploys
from migration_lint.facts import ModelKey, ModelState, Operation
from migration_lint.findings import Finding, Severity
from migration_lint.rules._deploy import SHOP_INITIAL, operations
from migration_lint.rules.base import Example, Rule
from migration_lint.sql import unquote

_M = "django.db.migrations."
_DROP_COLUMN = re.compile(
    r"\bDROP\s+(?:COLUMN\s+)?(?:IF\s+EXISTS\s+)?(\"[^\"]+\"|`[^`]+`|\w+)", re.I
)
_DROP_TABLE = re.compile(r"^\s*DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(\"[^\"]+\"|`[^`]+`|[\w.]+)", re.I)

_STATE_ONLY = """\
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.RemoveField(model_name="order", name="note")],
        ),
    ]
"""


class DropBreaksRunningCode(Rule):
    """Column or table dropped while the running code still uses it.

    ## What it does
    Reports `RemoveField`, `DeleteModel` and `RunSQL` `DROP COLUMN` / `DROP TABLE` on a
    column or table that Django's state still has at that point (so the code deployed before
    this migration uses it). Also reports removing a NOT NULL column without a database
    default from Django's state only: the new code leaves it out of its inserts. Not reported:
    removal from the state only of a nullable column, the drop in a later migration once the
    state no longer has it, tables created in the same migration, unmanaged and proxy models.
    Many-to-many fields are ML512.

    ## Why is this bad?
    During a deploy, the migration runs before (or while) the new code starts, and the old
    code is still serving. Django names every column in its SELECTs and INSERTs, so once the
    column is gone every query on the model fails, not only those that read the field; a
    dropped table fails every query on it. Rolling the code back does not bring the column or
    its data back.

    ## Use instead
    Two deploys. First remove the field (or model) from Django's state only, with
    `SeparateDatabaseAndState(state_operations=[...])` (making a NOT NULL column nullable in
    the same migration); deploy. In the next release drop it with `RunSQL`.
    """

    code = "ML508"
    name = "drop-breaks-running-code"
    severity = Severity.ERROR

    flagged = (
        Example(
            title="RemoveField",
            history=(SHOP_INITIAL,),
            source=operations('migrations.RemoveField(model_name="order", name="note")'),
            line=7,
        ),
        Example(
            title="DeleteModel",
            history=(SHOP_INITIAL,),
            source=operations(
                'migrations.RemoveField("order", "client")', 'migrations.DeleteModel("Client")'
            ),
        ),
        Example(
            title="A NOT NULL column removed from the state only, still NOT NULL in the database",
            history=(SHOP_INITIAL,),
            source=operations(
                "migrations.SeparateDatabaseAndState(state_operations=["
                'migrations.RemoveField("order", "reference")])'
            ),
        ),
    )
    accepted = (
        Example(
            title="Deploy 1: a nullable column removed from Django's state only",
            history=(SHOP_INITIAL,),
            source=_STATE_ONLY,
        ),
        Example(
            title="Deploy 2: the column dropped once the state no longer has it",
            history=(SHOP_INITIAL, _STATE_ONLY),
            source=operations(
                'migrations.RunSQL(\'ALTER TABLE "shop_order" DROP COLUMN IF EXISTS "note";\', '
                "migrations.RunSQL.noop)",
                after="0002_auto",
            ),
        ),
        Example(
            title="The table is created in the same migration",
            source="""\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel("Coupon", [("id", models.AutoField(primary_key=True)), ("code", models.TextField())]),
        migrations.RemoveField("coupon", "code"),
    ]
""",
        ),
        Example(
            title="An unmanaged model: Django never created its table",
            history=(
                SHOP_INITIAL,
                operations(
                    'migrations.CreateModel("Report", [("id", models.AutoField(primary_key=True))], options={"managed": False})'
                ),
            ),
            source=operations('migrations.DeleteModel("Report")', after="0002_auto"),
        ),
    )

    def check(self, ctx: MigrationContext) -> Iterator[Finding]:
        for step in db_steps(ctx):
            op = step.operation
            if op_is(op, "RemoveField"):
                model = existing_model(ctx, step)
                name = op.kwargs.get("name")
                field = model.field(name) if model and isinstance(name, str) else None
                if model is None or field is None or field.many_to_many:
                    continue
                yield self.finding(
                    ctx,
                    op,
                    f"RemoveField drops column {model.table}.{field.column} while the code still "
                    f"running selects it: every query on {model.name} fails until the new code "
                    "is out",
                    help="remove it from Django's state first, drop the column in a later deploy",
                    fix=drop_in_two_deploys(ctx, op, model, field),
                )
            elif op_is(op, "DeleteModel"):
                model = existing_model(ctx, step, "name")
                if model is None:
                    continue
                yield self.finding(
                    ctx,
                    op,
                    f"DeleteModel drops table {model.table} while the code still running "
                    "queries it",
                    help="remove the model from Django's state first, drop the table in a later deploy",
                    fix=drop_in_two_deploys(ctx, op, model, None),
                )
            elif op_is(op, "RunSQL"):
                yield from self.run_sql(ctx, step.operation, step.models)
        yield from self.state_only(ctx)

    def run_sql(
        self, ctx: MigrationContext, op: Operation, models: Mapping[ModelKey, ModelState]
    ) -> Iterator[Finding]:
        by_table: dict[str, ModelState] | None = None  # every model: built only when needed
        for statement in statements(op):
            table_match = _DROP_TABLE.match(statement.text)
            if not (table_match or statement.kind == "alter_table"):
                continue
            if by_table is None:
                by_table = {m.table: m for m in models.values() if m.managed and not m.proxy}
            if table_match:
                model = by_table.get(unquote(table_match.group(1)).rpartition(".")[2])
                if model is not None and not ctx.created_here(model.key):
                    yield self.finding(
                        ctx,
                        op,
                        f"RunSQL drops table {model.table}, which Django's state (and so the "
                        "running code) still has",
                        help="remove the model from Django's state in an earlier deploy first",
                    )
                continue
            if statement.kind != "alter_table" or statement.table not in by_table:
                continue
            model = by_table[statement.table]
            for match in _DROP_COLUMN.finditer(statement.text):
                column = unquote(match.group(1))
                if column.upper() in ("CONSTRAINT", "DEFAULT", "NOT", "IDENTITY", "EXPRESSION"):
                    continue
                field = next((f for f in model.fields if f.column == column), None)
                if field is None or ctx.created_here(model.key):
                    continue
                yield self.finding(
                    ctx,
                    op,
                    f"RunSQL drops column {model.table}.{column}, which Django's state (and so "
                    "the running code) still has",
                    help="remove the field from Django's state in an earlier deploy first",
                )

    def state_only(self, ctx: MigrationContext) -> Iterator[Finding]:
        """RemoveField in state_operations of a NOT NULL column the database keeps NOT NULL."""
        for step in ctx.steps:
            top = step.operation
            if top.qualname != _M + "SeparateDatabaseAndState":
                continue
            database = top.nested.get("database_operations", ())
            for op in top.nested.get("state_operations", ()):
                if op.qualname != _M + "RemoveField":
                    continue
                model_name, name = op.kwargs.get("model_name"), op.kwargs.get("name")
                if not isinstance(model_name, str) or not isinstance(name, str):
                    continue
                model = step.models.get((ctx.migration.app_label, model_name.lower()))
                field = model.field(name) if model else None
                if model is None or field is None or ctx.created_here(model.key):
                    continue
                if field.null or field.has_db_default or field.many_to_many:
                    continue
                if any(_relaxes(d, field.column) for d in database):
                    continue
                yield self.finding(
                    ctx,
                    op,
                    f"{model.name}.{name} leaves Django's state but {model.table}.{field.column} "
                    "stays NOT NULL without a database default: the new code's inserts leave it "
                    "out and fail",
                    help=(
                        "make the column nullable in the same SeparateDatabaseAndState "
                        "(database_operations)"
                    ),
                    fix=drop_in_two_deploys(ctx, op, model, field),
                )


def _relaxes(op: Operation, column: str) -> bool:
    """A database operation that drops NOT NULL from ``column`` or gives it a default."""
    for text in (s.text.upper() for s in statements(op)) if op.name == "RunSQL" else ():
        if column.upper() in text and ("DROP NOT NULL" in text or "SET DEFAULT" in text):
            return True
    return op.name in ("AlterField", "RemoveField")
