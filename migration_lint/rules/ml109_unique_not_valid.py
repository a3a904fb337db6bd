"""ML109: a UNIQUE constraint marked NOT VALID."""

from __future__ import annotations

from collections.abc import Iterator

from migration_lint.analysis.builds import sql_steps
from migration_lint.context import MigrationContext
from migration_lint.findings import Finding, Severity
from migration_lint.rules._shop import ORDER_INITIAL, migration
from migration_lint.rules.base import Example, Rule


class UniqueNotValid(Rule):
    """`UNIQUE ... NOT VALID`, which PostgreSQL does not have.

    ## What it does
    Reports `ALTER TABLE ... ADD CONSTRAINT ... UNIQUE ... NOT VALID` (and `PRIMARY KEY ...
    NOT VALID`) in `RunSQL`.

    ## Why is this bad?
    `NOT VALID` skips the scan only for CHECK and FOREIGN KEY constraints. PostgreSQL rejects it
    on a unique constraint (`UNIQUE constraints cannot be marked NOT VALID`), so the migration
    fails; the pattern copied from the CHECK-constraint recipe does not carry over.

    ## Use instead
    `CREATE UNIQUE INDEX CONCURRENTLY` followed by `ADD CONSTRAINT ... UNIQUE USING INDEX`.
    """

    code = "ML109"
    name = "unique-not-valid"
    severity = Severity.ERROR

    flagged = (
        Example(
            title="UNIQUE ... NOT VALID",
            history=(ORDER_INITIAL,),
            source=migration(
                '    operations = [migrations.RunSQL(\'ALTER TABLE "shop_order" ADD CONSTRAINT "order_ref_uniq" UNIQUE ("reference") NOT VALID;\')]  # noqa: ML101, ML102\n'
            ),
            line=6,
        ),
        Example(
            title="Lower case, in a list",
            history=(ORDER_INITIAL,),
            source=migration(
                "    operations = [\n        migrations.RunSQL(\n"
                '            ["alter table shop_order add constraint order_ref_uniq unique (reference) not valid"],  # noqa: ML101, ML102\n'
                "            migrations.RunSQL.noop,\n        ),\n    ]\n"
            ),
        ),
    )
    accepted = (
        Example(
            title="NOT VALID on a CHECK constraint",
            history=(ORDER_INITIAL,),
            source=migration(
                '    operations = [migrations.RunSQL(\'ALTER TABLE "shop_order" ADD CONSTRAINT "order_sku_set" CHECK ("sku" IS NOT NULL) NOT VALID;\')]\n'
            ),
        ),
        Example(
            title="USING INDEX",
            history=(ORDER_INITIAL,),
            source=migration(
                '    operations = [migrations.RunSQL(["SET lock_timeout = \'5s\'", \'ALTER TABLE "shop_order" ADD CONSTRAINT "order_ref_uniq" UNIQUE USING INDEX "order_ref_uniq";\'])]\n'
            ),
        ),
    )

    def check(self, ctx: MigrationContext) -> Iterator[Finding]:
        for step in sql_steps(ctx):
            statement = step.statement
            if statement.kind == "add_constraint" and statement.unique and statement.not_valid:
                yield self.finding(
                    ctx,
                    step.operation,
                    f"{statement.name or 'the constraint'} on {statement.table}: PostgreSQL rejects "
                    "NOT VALID on a UNIQUE constraint, so the migration fails",
                    help="build the index CONCURRENTLY, then ADD CONSTRAINT ... UNIQUE USING INDEX",
                    target="postgresql",
                )
