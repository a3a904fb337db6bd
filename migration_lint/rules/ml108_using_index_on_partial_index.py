"""ML108: ``ADD CONSTRAINT ... USING INDEX`` on a partial or expression index."""

from __future__ import annotations

from collections.abc import Iterator

from migration_lint.analysis.builds import sql_steps
from migration_lint.context import MigrationContext
from migration_lint.findings import Finding, FixStep, Severity
from migration_lint.rules._shop import ORDER_INITIAL, migration
from migration_lint.rules.base import Example, Rule


def _sql(create: str) -> str:
    return (
        "    atomic = False\n    operations = [\n        migrations.RunSQL(\n          [\n"
        "            'DROP INDEX CONCURRENTLY IF EXISTS \"order_ref_uniq\";',\n"
        f"            {create!r},\n"
        "            \"SET lock_timeout = '5s';\",\n"
        '            \'ALTER TABLE "shop_order" ADD CONSTRAINT "order_ref_uniq" UNIQUE USING INDEX "order_ref_uniq";\',\n'
        "          ],\n          migrations.RunSQL.noop,\n        ),\n    ]\n"
    )


class UsingIndexOnPartialIndex(Rule):
    """`USING INDEX` on a partial or expression index, which PostgreSQL refuses.

    ## What it does
    Reports `ALTER TABLE ... ADD CONSTRAINT ... UNIQUE USING INDEX name` where the index of
    that name, built earlier in the migration, has a `WHERE` clause or an expression column.

    ## Why is this bad?
    A unique constraint covers plain columns of the whole table; PostgreSQL refuses to turn a
    partial or expression index into one (`index "x" contains expressions` / `is a partial
    index`). The migration fails after the concurrent build, at the last step.

    ## Use instead
    Keep the concurrent unique index as the final state: drop the `ADD CONSTRAINT` statement and
    keep Django's state with `SeparateDatabaseAndState` and an `AddConstraint` of the
    conditional or expression `UniqueConstraint` (Django creates those as indexes anyway).
    """

    code = "ML108"
    name = "using-index-on-partial-index"
    severity = Severity.ERROR

    flagged = (
        Example(
            title="A partial index",
            history=(ORDER_INITIAL,),
            source=migration(
                _sql(
                    'CREATE UNIQUE INDEX CONCURRENTLY "order_ref_uniq" ON "shop_order" ("reference") WHERE "sku" IS NOT NULL;'
                )
            ),
            line=8,
        ),
        Example(
            title="An expression index",
            history=(ORDER_INITIAL,),
            source=migration(
                _sql(
                    'CREATE UNIQUE INDEX CONCURRENTLY "order_ref_uniq" ON "shop_order" (LOWER("reference"));'
                )
            ),
        ),
    )
    accepted = (
        Example(
            title="Plain columns",
            history=(ORDER_INITIAL,),
            source=migration(
                _sql(
                    'CREATE UNIQUE INDEX CONCURRENTLY "order_ref_uniq" ON "shop_order" ("reference");'
                )
            ),
        ),
        Example(
            title="A partial unique index kept as an index",
            history=(ORDER_INITIAL,),
            source=migration(
                "    atomic = False\n    operations = [\n        migrations.RunSQL(\n"
                '            \'CREATE UNIQUE INDEX CONCURRENTLY "order_ref_uniq" ON "shop_order" ("reference") WHERE "sku" IS NOT NULL;\',\n'
                "            'DROP INDEX CONCURRENTLY IF EXISTS \"order_ref_uniq\";',\n"
                "        ),\n    ]\n"
            ),
        ),
    )

    def check(self, ctx: MigrationContext) -> Iterator[Finding]:
        built = {}
        for step in sql_steps(ctx):
            statement = step.statement
            if statement.kind == "create_index" and statement.name:
                built[statement.name] = statement
            index = built.get(statement.using_index or "")
            if index is None or not (index.partial or index.expression):
                continue
            kind = "a partial" if index.partial else "an expression"
            yield self.finding(
                ctx,
                step.operation,
                f"ADD CONSTRAINT ... USING INDEX {index.name} fails: {index.name} is {kind} "
                "index, and PostgreSQL attaches only plain-column indexes to a constraint",
                help="keep the unique index as the final state and drop the ADD CONSTRAINT statement",
                fix=(
                    FixStep(
                        title="Keep the index, record it as the constraint in Django's state",
                        explanation=(
                            "Remove the ALTER TABLE ... USING INDEX statement; wrap the RunSQL in "
                            "SeparateDatabaseAndState with an AddConstraint of the matching "
                            "UniqueConstraint (condition= or expressions) as state operation."
                        ),
                    ),
                ),
                target="postgresql",
            )
