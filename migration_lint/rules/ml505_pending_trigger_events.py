"""ML505: rows written and the same table altered in one transaction on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

from migration_lint.analysis.builds import statements
from migration_lint.analysis.builds import new_field
from migration_lint.analysis.deploy import (
    DbStep,
    alters_column,
    db_steps,
    has_constraint,
    index_created,
    is_postgres,
    model_of,
    op_is,
    referencing,
)
from migration_lint.analysis.python_code import function_name, reached
from migration_lint.context import MigrationContext
from migration_lint.deploy_plans import pending_triggers
from migration_lint.facts import ModelState
from migration_lint.findings import Finding, Severity
from migration_lint.rules._deploy import SHOP_INITIAL
from migration_lint.rules.base import Example, Rule

_IMMEDIATE = "SET CONSTRAINTS ALL IMMEDIATE"
_TABLE_OPERATIONS = (
    "AddField",
    "AlterField",
    "RemoveField",
    "AddIndex",
    "AddConstraint",
    "RemoveConstraint",
    "AlterUniqueTogether",
    "AlterIndexTogether",
    "DeleteModel",
)
_SQL_KINDS = ("alter_table", "add_constraint", "drop_constraint", "add_column", "create_index")

_CREATE_ORDERS = """\
from django.db import migrations, models


def add_opening_orders(apps, schema_editor):
    Client = apps.get_model("shop", "Client")
    Order = apps.get_model("shop", "Order")
    for client in Client.objects.filter(orders_count=0):
        Order.objects.create(client=client, reference="OPENING", total=0)
"""


def _migration(*ops: str, atomic: str = "") -> str:
    body = "".join(f"        {op},\n" for op in ops)
    return (
        f"\n\nclass Migration(migrations.Migration):\n{atomic}"
        f'    dependencies = [("shop", "0001_initial")]\n'
        f"    operations = [\n{body}    ]\n"
    )


_RUN = "migrations.RunPython(add_opening_orders, migrations.RunPython.noop)"
_NOTE_NOT_NULL = 'migrations.AlterField("order", "note", models.TextField(default=""))'


class PendingTriggerEvents(Rule):
    """Rows written, then their table altered, in one transaction: PostgreSQL refuses the ALTER.

    ## What it does
    On PostgreSQL, in an atomic migration, reports a `RunPython` that writes rows in a way that
    queues foreign key checks on an existing table (inserting rows into a table with a foreign
    key, changing a foreign key column with `update()`/`bulk_update`/`save(update_fields=...)`,
    deleting rows another table references) when the same migration also alters that table: an
    operation after the RunPython (AddField, AlterField, RemoveField, AddIndex, AddConstraint
    ...), or an `AddField` with an index anywhere in it (Django creates those indexes at the end
    of the migration). Updates that leave foreign keys alone queue nothing and are not reported.

    ## Why is this bad?
    Django creates foreign keys `DEFERRABLE INITIALLY DEFERRED` on PostgreSQL, so each such row
    leaves a check queued until COMMIT, and PostgreSQL refuses to `ALTER TABLE` (or `CREATE
    INDEX` on) a table with queued checks: `cannot ALTER TABLE "shop_order" because it has
    pending trigger events`. The migration fails on any database that has rows, usually first
    in production.

    ## Use instead
    End the RunPython function with `schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")`,
    which runs the queued checks there, or give the data migration a migration of its own.
    """

    code = "ML505"
    name = "pending-trigger-events"
    severity = Severity.ERROR

    flagged = (
        Example(
            title="Rows inserted, then the table altered",
            history=(SHOP_INITIAL,),
            source=_CREATE_ORDERS + _migration(_RUN, _NOTE_NOT_NULL),
            line=14,
        ),
        Example(
            title="An index added before: Django creates it at the end of the migration",
            history=(SHOP_INITIAL,),
            source=_CREATE_ORDERS
            + _migration(
                'migrations.AddField("order", "code", models.CharField(max_length=10, null=True, db_index=True))',
                _RUN,
            ),
        ),
        Example(
            title="Referenced rows deleted, then their table altered",
            history=(SHOP_INITIAL,),
            source="""\
from django.db import migrations, models


def delete_inactive_clients(apps, schema_editor):
    Client = apps.get_model("shop", "Client")
    Client.objects.filter(orders_count=0).delete()
"""
            + _migration(
                "migrations.RunPython(delete_inactive_clients, migrations.RunPython.noop)",
                'migrations.AddField("client", "vip", models.BooleanField(null=True))',
            ),
        ),
    )
    accepted = (
        Example(
            title="The data migration has a migration of its own",
            history=(SHOP_INITIAL,),
            source=_CREATE_ORDERS + _migration(_RUN),
        ),
        Example(
            title="The queued checks are run at the end of the function",
            history=(SHOP_INITIAL,),
            source=_CREATE_ORDERS
            + '    schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")\n'
            + _migration(_RUN, _NOTE_NOT_NULL),
        ),
        Example(
            title="An update that leaves the foreign keys alone queues nothing",
            history=(SHOP_INITIAL,),
            source="""\
from django.db import migrations, models


def fill_notes(apps, schema_editor):
    Order = apps.get_model("shop", "Order")
    Order.objects.filter(note__isnull=True).update(note="")
"""
            + _migration(
                "migrations.RunPython(fill_notes, migrations.RunPython.noop)", _NOTE_NOT_NULL
            ),
        ),
        Example(
            title="atomic = False: every statement commits on its own",
            history=(SHOP_INITIAL,),
            source=_CREATE_ORDERS + _migration(_RUN, _NOTE_NOT_NULL, atomic="    atomic = False\n"),
        ),
    )

    def check(self, ctx: MigrationContext) -> Iterator[Finding]:
        if ctx.migration.atomic is not True or not is_postgres(ctx):
            return
        steps = db_steps(ctx)
        for position, step in enumerate(steps):
            op = step.operation
            if not op_is(op, "RunPython") or op.dynamic:
                continue
            function = function_name(op)
            if function is None:
                continue
            reached_facts = list(reached(ctx, function))
            sources = [ctx.migration.functions.get(f.name, "") for f in reached_facts]
            if any(_IMMEDIATE in s.upper() for s in sources):
                continue
            queued: dict[str, str] = {}
            for facts in reached_facts:
                for write in facts.writes:
                    model = step.models.get(write.model)
                    if model is None or ctx.created_here(model.key):
                        continue
                    why = _queues(ctx, step, model, write.kind, write.fields)
                    if why:
                        queued.setdefault(model.table, why)
            for table, why in queued.items():
                conflict = _conflict(ctx, steps, position, table)
                if conflict is None:
                    continue
                description, statement = conflict
                yield self.finding(
                    ctx,
                    op,
                    f"{function} {why}, and {description} in the same transaction: PostgreSQL "
                    f'fails with \'cannot {statement} "{table}" because it has pending '
                    "trigger events'",
                    help=(
                        f'end {function} with schema_editor.execute("SET CONSTRAINTS ALL '
                        'IMMEDIATE"), or move the RunPython to a migration of its own'
                    ),
                    fix=pending_triggers(ctx, op, function, table, [f.name for f in reached_facts]),
                    target="postgresql",
                )


def _queues(
    ctx: MigrationContext,
    step: DbStep,
    model: ModelState,
    kind: str,
    fields: tuple[str, ...] | None,
) -> str:
    """Why writing ``model`` this way queues deferred checks on its table ("" when it does not)."""
    keys = [f for f in model.fields if has_constraint(f)]
    if kind == "insert" and keys:
        return f"inserts rows into {model.table}, whose foreign key checks are deferred"
    if kind == "update" and fields is not None:
        changed = [f for f in keys if f.name in fields or f.column in fields]
        if changed:
            return f"changes {model.table}.{changed[0].column}, a foreign key checked at COMMIT"
    if kind == "delete":
        for other, f in referencing(step.models, model.key):
            if has_constraint(f) and not ctx.created_here(other.key):
                return (
                    f"deletes rows of {model.table}, which {other.table}.{f.column} references "
                    "with a check deferred to COMMIT"
                )
    return ""


def _conflict(
    ctx: MigrationContext, steps: list[DbStep], position: int, table: str
) -> tuple[str, str] | None:
    """The operation that alters ``table`` while the checks are queued, described."""
    for index, step in enumerate(steps):
        op = step.operation
        model = model_of(ctx, step, "name" if op.name in _MODEL_NAMED else "model_name")
        after = index > position
        if op_is(op, "RunSQL") and after:
            for statement in statements(op):
                if statement.table == table and statement.kind in _SQL_KINDS:
                    verb = "CREATE INDEX" if statement.kind == "create_index" else "ALTER TABLE"
                    return "a later RunSQL alters it", verb
            continue
        if model is None or model.table != table or not op_is(op, *_TABLE_OPERATIONS):
            continue
        if op.name == "AddField":
            added = new_field(ctx, op)
            if added is not None and index_created(added) and not after:
                return (
                    f"Django creates the index of the earlier AddField({added.name!r}) at the end",
                    "CREATE INDEX",
                )
        if not after:
            continue
        if op.name == "AlterField":
            name = op.kwargs.get("name")
            old = model.field(name) if isinstance(name, str) else None
            new = new_field(ctx, op)
            if old is not None and new is not None and not alters_column(old, new, step.models):
                continue
        verb = {"DeleteModel": "DROP TABLE", "AddIndex": "CREATE INDEX"}.get(op.name, "ALTER TABLE")
        return f"the later {op.name} alters it", verb
    return None


_MODEL_NAMED = ("AlterUniqueTogether", "AlterIndexTogether", "DeleteModel")
