"""ML403: an operation that fails on one of the target databases."""

from __future__ import annotations

from collections.abc import Iterator

from migration_lint.analysis.builds import database_operations, sql_texts, statements
from migration_lint.codegen import render
from migration_lint.context import MigrationContext
from migration_lint.facts import Call, Operation
from migration_lint.findings import Finding, FixStep, Severity
from migration_lint.rules._shop import ORDER_INITIAL, migration
from migration_lint.rules.base import Example, Rule
from migration_lint.sql import SqlStatement

_CONCURRENT = (
    "django.contrib.postgres.operations.AddIndexConcurrently",
    "django.contrib.postgres.operations.RemoveIndexConcurrently",
)


def _postgres_only(statement: SqlStatement) -> str | None:
    """Why a statement cannot run on SQLite or MySQL, or None."""
    if statement.concurrently:
        return "CONCURRENTLY"
    if statement.using_index:
        return "USING INDEX"
    if statement.not_valid:
        return "NOT VALID"
    text = statement.text.lstrip().upper()
    if text.startswith("DO ") or text.startswith("DO$"):
        return "a DO block"
    if text.startswith("CREATE EXTENSION"):
        return "CREATE EXTENSION"
    return None


class OperationCrashesOnTarget(Rule):
    """Operation that fails on one of the target databases.

    ## What it does
    Reports `AddIndexConcurrently` / `RemoveIndexConcurrently` (PostgreSQL only) when SQLite or
    MySQL is a target, and `RunSQL` whose SQL only PostgreSQL runs (`CONCURRENTLY`,
    `USING INDEX`, `NOT VALID`, `DO` blocks, `CREATE EXTENSION`) when SQLite or MySQL is a
    target. With a project loaded, an operation that fails when the migrations are really
    applied to an in-memory SQLite database is reported with SQLite's error.

    ## Why is this bad?
    `migrate` stops at that operation on that database: Django's concurrent operations raise
    `TypeError` (or `NotSupportedError`), and the SQL is a syntax error. A reusable app or a
    project that tests on SQLite cannot migrate at all.

    ## Use instead
    Keep PostgreSQL-only SQL out of migrations that other databases run, or run it only there:
    a `RunPython` that checks `schema_editor.connection.vendor == "postgresql"` before
    `schema_editor.execute(...)`.
    """

    code = "ML403"
    name = "operation-crashes-on-target"
    severity = Severity.ERROR

    flagged = (
        Example(
            title="AddIndexConcurrently when SQLite is a target",
            history=(ORDER_INITIAL,),
            targets=("postgresql", "sqlite"),
            source="""\
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("shop", "0001_initial")]
    operations = [AddIndexConcurrently("order", models.Index(fields=["created"], name="order_created_idx"))]
""",
            line=8,
        ),
        Example(
            title="PostgreSQL-only RunSQL when MySQL is a target",
            history=(ORDER_INITIAL,),
            targets=("mysql",),
            source=migration(
                "    atomic = False\n"
                '    operations = [migrations.RunSQL(\'CREATE INDEX CONCURRENTLY "order_sku_idx" ON "shop_order" ("sku")\', migrations.RunSQL.noop)]\n'
            ),
        ),
    )
    accepted = (
        Example(
            title="A PostgreSQL-only project",
            history=(ORDER_INITIAL,),
            targets=("postgresql",),
            source="""\
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("shop", "0001_initial")]
    operations = [AddIndexConcurrently("order", models.Index(fields=["created"], name="order_created_idx"))]
""",
        ),
        Example(
            title="Portable SQL",
            history=(ORDER_INITIAL,),
            targets=("mysql", "sqlite"),
            source=migration(
                '    operations = [migrations.RunSQL("UPDATE shop_order SET sku = reference WHERE sku IS NULL", migrations.RunSQL.noop)]\n'
            ),
        ),
        Example(
            title="A default that reads rows a data migration writes is not SQLite failing (ML904 says it)",
            project=True,
            history=(ORDER_INITIAL,),
            targets=("sqlite",),
            source="""\
from django.db import migrations, models


def default_region():
    raise LookupError("reads the region that a RunPython migration creates")


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.AddField("order", "region", models.CharField(max_length=8, default=default_region))]
""",
        ),
    )

    def check(self, ctx: MigrationContext) -> Iterator[Finding]:
        if not ctx.lint.vendors_known:
            return
        others = [v for v in ctx.lint.vendor_names() if v != "postgresql"]
        if not others:
            return
        where = " and ".join(sorted(set(others)))
        reported: set[int] = set()
        for index, top in enumerate(ctx.migration.operations):
            for op in database_operations(top):
                reason = None
                if op.qualname in _CONCURRENT:
                    reason = f"{op.name} is PostgreSQL-only: Django raises on {where}"
                elif op.name == "RunSQL":
                    why = next((w for s in statements(op) if (w := _postgres_only(s))), None)
                    if why:
                        reason = (
                            f"RunSQL uses {why}, which only PostgreSQL runs; it fails on {where}"
                        )
                if reason and index not in reported:
                    reported.add(index)
                    yield self._finding(ctx, top, reason, fix=_plan(ctx, op))
        rendering = ctx.lint.rendering()
        migration = rendering.get(ctx.migration.key, "sqlite") if rendering else None
        for rendered in migration.operations if migration else ():
            # Application code failing (a default reading rows RunPython would write) is
            # not SQLite failing: ML904 reports it.
            crashed = rendered.error and not (rendered.offline or rendered.application)
            if crashed and rendered.index not in reported:
                reported.add(rendered.index)
                failed = (
                    ctx.migration.operations[rendered.index]
                    if rendered.index < len(ctx.migration.operations)
                    else None
                )
                yield self._finding(
                    ctx, failed, f"applying it on SQLite fails: {rendered.error}", target="sqlite"
                )

    def _finding(
        self,
        ctx: MigrationContext,
        where: object,
        message: str,
        target: str | None = None,
        fix: tuple[FixStep, ...] = (),
    ) -> Finding:
        return self.finding(
            ctx,
            where,  # type: ignore[arg-type]
            message,
            help="run it only on PostgreSQL, or keep it out of migrations other databases run",
            fix=fix,
            target=target,
        )


def _plan(ctx: MigrationContext, op: Operation) -> tuple[FixStep, ...]:
    """The same work, done per vendor by a RunPython (with the state kept by Django)."""
    app = ctx.migration.app_label
    if op.name == "RunSQL":
        sqls = ", ".join(repr(s) for s in sql_texts(op.kwargs.get("sql")))
        code = (
            "def forwards(apps, schema_editor):\n"
            '    if schema_editor.connection.vendor == "postgresql":\n'
            f"        for sql in [{sqls}]:\n"
            "            schema_editor.execute(sql)\n\n\n"
            "migrations.RunPython(forwards, migrations.RunPython.noop)"
        )
        return (FixStep(title="Run the SQL only on PostgreSQL", code=code),)
    model = op.kwargs.get("model_name")
    index = op.kwargs.get("index")
    if (
        not isinstance(model, str)
        or not isinstance(index, Call)
        or op.name != "AddIndexConcurrently"
    ):
        return ()
    code = (
        "def add_index(apps, schema_editor):\n"
        f"    model = apps.get_model({app!r}, {model!r})\n"
        f"    index = {render(index)}\n"
        '    if schema_editor.connection.vendor == "postgresql":\n'
        "        schema_editor.add_index(model, index, concurrently=True)\n"
        "    else:\n"
        "        schema_editor.add_index(model, index)\n\n\n"
        "migrations.SeparateDatabaseAndState(\n"
        "    database_operations=[migrations.RunPython(add_index, migrations.RunPython.noop)],\n"
        f"    state_operations=[migrations.AddIndex({model!r}, {render(index)})],\n"
        ")"
    )
    return (
        FixStep(
            title="Build it concurrently on PostgreSQL only",
            explanation="Keep atomic = False on the migration: PostgreSQL needs it for the concurrent build.",
            code=code,
        ),
    )
