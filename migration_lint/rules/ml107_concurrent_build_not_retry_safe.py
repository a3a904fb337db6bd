"""ML107: a concurrent build that a failed earlier run turns into a silent no-op or an error."""

from __future__ import annotations

from collections.abc import Iterator

from migration_lint.analysis.builds import sql_steps
from migration_lint.context import MigrationContext
from migration_lint.findings import Finding, FixStep, Severity
from migration_lint.names import quote
from migration_lint.rules._shop import ORDER_INITIAL, migration
from migration_lint.rules.base import Example, Rule
from migration_lint.sql import SqlStatement

_CREATE = '\'CREATE UNIQUE INDEX CONCURRENTLY "order_sku_uniq" ON "shop_order" ("sku");\''
_CREATE_IF = (
    '\'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "order_sku_uniq" ON "shop_order" ("sku");\''
)
_ATTACH = '\'ALTER TABLE "shop_order" ADD CONSTRAINT "order_sku_uniq" UNIQUE USING INDEX "order_sku_uniq";\''
_DROP = "'DROP INDEX CONCURRENTLY IF EXISTS \"order_sku_uniq\";'"


def _drops(statement: SqlStatement, name: str) -> bool:
    """A DROP INDEX of ``name``, or a DO block that drops it (only when INVALID, say)."""
    if statement.kind == "drop_index":
        return statement.name == name
    text = statement.text.upper()
    return text.startswith("DO") and "DROP INDEX" in text and name.upper() in text


def _body(*statements: str) -> str:
    lines = "".join(f"            {s},\n" for s in statements)
    return (
        "    atomic = False\n    operations = [\n        migrations.RunSQL(\n          [\n"
        + lines
        + "          ],\n"
        + f"          {_DROP},\n        ),\n    ]\n"
    )


class ConcurrentBuildNotRetrySafe(Rule):
    """Concurrent index build that a failed earlier run breaks.

    ## What it does
    Reports `CREATE [UNIQUE] INDEX CONCURRENTLY` in `RunSQL` that, when an earlier run of the
    migration failed, either silently keeps the broken index (`IF NOT EXISTS`) or leads to an
    `ADD CONSTRAINT ... USING INDEX` of it, with no `DROP INDEX` of that name before it.

    ## Why is this bad?
    A concurrent build that fails (duplicates, a cancelled statement, a deadlock) leaves an
    INVALID index behind (`pg_index.indisvalid = false`). On the next run `IF NOT EXISTS` skips
    the build and the migration "succeeds" with an index PostgreSQL never uses and that enforces
    nothing; without `IF NOT EXISTS` the build fails with `already exists`, and
    `USING INDEX` refuses an invalid index.

    ## Use instead
    Start with `DROP INDEX CONCURRENTLY IF EXISTS "name";` so every run starts clean.
    """

    code = "ML107"
    name = "concurrent-build-not-retry-safe"
    severity = Severity.WARNING

    flagged = (
        Example(
            title="IF NOT EXISTS hides an invalid leftover",
            history=(ORDER_INITIAL,),
            source=migration(_body(_CREATE_IF)),
            line=8,
        ),
        Example(
            title="Built, then attached, with no drop first",
            history=(ORDER_INITIAL,),
            source=migration(_body(_CREATE, _ATTACH)),
        ),
    )
    accepted = (
        Example(
            title="Only an INVALID leftover is dropped (the fix plan's form)",
            history=(ORDER_INITIAL,),
            source=migration(
                _body(
                    "'DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                    "WHERE c.relname = ''order_sku_uniq'' AND NOT i.indisvalid) THEN "
                    "EXECUTE ''DROP INDEX \"order_sku_uniq\"''; END IF; END $$;'",
                    _CREATE_IF,
                )
            ),
        ),
        Example(
            title="Dropped first, then built and attached",
            history=(ORDER_INITIAL,),
            source=migration(_body(_DROP, _CREATE, _ATTACH)),
        ),
        Example(
            title="A plain concurrent build (a rerun fails loudly)",
            history=(ORDER_INITIAL,),
            source=migration(_body(_CREATE)),
        ),
    )

    def check(self, ctx: MigrationContext) -> Iterator[Finding]:
        steps = sql_steps(ctx)
        for position, step in enumerate(steps):
            statement = step.statement
            if statement.kind != "create_index" or not statement.concurrently or not statement.name:
                continue
            if any(_drops(s.statement, statement.name) for s in steps[:position]):
                continue
            attached = any(s.statement.using_index == statement.name for s in steps[position + 1 :])
            if statement.if_not_exists:
                consequence = (
                    "after a failed run, IF NOT EXISTS skips the build and keeps the INVALID "
                    "index, which enforces nothing"
                )
            elif attached:
                consequence = (
                    "after a failed run, the rerun stops at `already exists`, and USING INDEX "
                    "refuses the INVALID index left behind"
                )
            else:
                continue
            drop = f"DROP INDEX CONCURRENTLY IF EXISTS {quote(statement.name)};"
            yield self.finding(
                ctx,
                step.operation,
                f"CREATE INDEX CONCURRENTLY {statement.name} on {statement.table}: {consequence}",
                help=f"run `{drop}` before it",
                fix=(
                    FixStep(
                        title="Drop a leftover first",
                        explanation="The first statement of the RunSQL, before the build.",
                        code=repr(drop) + ",",
                    ),
                ),
                target="postgresql",
            )
