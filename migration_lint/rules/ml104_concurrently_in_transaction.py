"""ML104: CONCURRENTLY in a migration that Django runs inside a transaction."""

from __future__ import annotations

from collections.abc import Iterator

from migration_lint.analysis.builds import sql_steps
from migration_lint.context import MigrationContext
from migration_lint.findings import Finding, FixStep, Severity
from migration_lint.rules._shop import ORDER_INITIAL, migration
from migration_lint.rules.base import Example, Rule

_CONCURRENT_OPERATIONS = (
    "django.contrib.postgres.operations.AddIndexConcurrently",
    "django.contrib.postgres.operations.RemoveIndexConcurrently",
)


class ConcurrentlyInTransaction(Rule):
    """CONCURRENTLY inside an atomic migration, where PostgreSQL refuses it.

    ## What it does
    Reports `AddIndexConcurrently` and `RemoveIndexConcurrently`, and `RunSQL` statements with
    `CONCURRENTLY` (`CREATE INDEX`, `DROP INDEX`, `REINDEX`), in a migration that does not set
    `atomic = False`.

    ## Why is this bad?
    Django wraps every migration in a transaction unless it sets `atomic = False`, and
    PostgreSQL refuses `CREATE INDEX CONCURRENTLY` there (`cannot run inside a transaction
    block`); `AddIndexConcurrently` raises `NotSupportedError` before that. `sqlmigrate`
    still prints the statement between BEGIN and COMMIT, so the mistake shows only when
    `migrate` runs on the server.

    ## Use instead
    Put the concurrent operation in a migration of its own with `atomic = False`.
    """

    code = "ML104"
    name = "concurrently-in-transaction"
    severity = Severity.ERROR

    flagged = (
        Example(
            title="AddIndexConcurrently in an atomic migration",
            history=(ORDER_INITIAL,),
            source="""\
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [
        AddIndexConcurrently("order", models.Index(fields=["created"], name="order_created_idx")),
    ]
""",
            line=8,
        ),
        Example(
            title="RunSQL with CONCURRENTLY in an atomic migration",
            history=(ORDER_INITIAL,),
            source=migration(
                "    operations = [\n"
                "        migrations.RunSQL(\n"
                '            \'CREATE UNIQUE INDEX CONCURRENTLY "order_sku_uniq" ON "shop_order" ("sku");\',\n'
                "            'DROP INDEX CONCURRENTLY \"order_sku_uniq\";',\n"
                "        ),\n"
                "    ]\n"
            ),
        ),
    )
    accepted = (
        Example(
            title="AddIndexConcurrently with atomic = False",
            history=(ORDER_INITIAL,),
            source="""\
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("shop", "0001_initial")]
    operations = [
        AddIndexConcurrently("order", models.Index(fields=["created"], name="order_created_idx")),
    ]
""",
        ),
        Example(
            title="RunSQL with CONCURRENTLY and atomic = False",
            history=(ORDER_INITIAL,),
            source=migration(
                "    atomic = False\n"
                "    operations = [\n"
                "        migrations.RunSQL(\n"
                '            \'CREATE INDEX CONCURRENTLY "order_sku_idx" ON "shop_order" ("sku");\',\n'
                "            'DROP INDEX CONCURRENTLY \"order_sku_idx\";',\n"
                "        ),\n"
                "    ]\n"
            ),
        ),
    )

    def check(self, ctx: MigrationContext) -> Iterator[Finding]:
        if ctx.migration.atomic is not True:
            return
        name = f"{ctx.migration.app_label}.{ctx.migration.name}"
        for op in ctx.migration.all_operations():
            if op.qualname in _CONCURRENT_OPERATIONS:
                yield self._finding(
                    ctx,
                    op,
                    f"{op.name} in {name}, which Django runs in a transaction: it raises NotSupportedError",
                )
        seen = set()
        for step in sql_steps(ctx):
            if (
                step.statement.concurrently
                or " CONCURRENTLY " in f" {step.statement.text.upper()} "
            ):
                if step.operation.path in seen:
                    continue
                seen.add(step.operation.path)
                yield self._finding(
                    ctx,
                    step.operation,
                    f"RunSQL runs `{_head(step.statement.text)}` in {name}, which Django runs in a transaction: "
                    "PostgreSQL refuses CONCURRENTLY there",
                )

    def _finding(self, ctx: MigrationContext, where: object, message: str) -> Finding:
        return self.finding(
            ctx,
            where,  # type: ignore[arg-type]
            message,
            help="set atomic = False on this migration and keep the concurrent operation alone in it",
            fix=(
                FixStep(
                    title="Make the migration non-atomic",
                    explanation=(
                        "Other operations of this migration lose their all-or-nothing guarantee: "
                        "move them into a separate migration."
                    ),
                    code="class Migration(migrations.Migration):\n    atomic = False\n",
                ),
            ),
            target="postgresql",
        )


def _head(sql: str, words: int = 5) -> str:
    return " ".join(sql.split()[:words]) + (" ..." if len(sql.split()) > words else "")
