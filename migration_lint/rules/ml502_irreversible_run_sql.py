"""ML502: a RunSQL without reverse_sql, which makes the migration impossible to unapply."""

from __future__ import annotations

from collections.abc import Iterator

from migration_lint.analysis.deploy import db_steps, op_is
from migration_lint.context import MigrationContext
from migration_lint.deploy_plans import run_sql_reverse
from migration_lint.findings import Finding, Severity
from migration_lint.rules._deploy import SHOP_INITIAL, operations
from migration_lint.rules.base import Example, Rule


class IrreversibleRunSql(Rule):
    """RunSQL without reverse_sql: the migration cannot be unapplied.

    ## What it does
    Reports `RunSQL` operations without `reverse_sql`. Where the statements are ones it
    understands (CREATE INDEX, ADD CONSTRAINT, ADD COLUMN, CREATE TABLE, SET), the fix plan
    writes their inverse with your names.

    ## Why is this bad?
    `migrate app 0004` stops at this migration with `IrreversibleError`, so neither a rollback
    nor a branch switch can go past it.

    ## Use instead
    `reverse_sql` with the statements that undo the forward ones, or `migrations.RunSQL.noop`
    when nothing needs undoing.
    """

    code = "ML502"
    name = "irreversible-run-sql"
    severity = Severity.WARNING

    flagged = (
        Example(
            title="ADD COLUMN without a reverse",
            history=(SHOP_INITIAL,),
            source=operations(
                'migrations.RunSQL(\'ALTER TABLE "shop_client" ADD COLUMN "vip" boolean NULL;\')'
            ),
            line=7,
        ),
        Example(
            title="A data fix without a reverse",
            history=(SHOP_INITIAL,),
            source=operations(
                'migrations.RunSQL(sql="UPDATE shop_client SET email = lower(email);")'
            ),
        ),
    )
    accepted = (
        Example(
            title="The inverse statement as reverse_sql",
            history=(SHOP_INITIAL,),
            source=operations(
                'migrations.RunSQL(\'CREATE INDEX "order_reference_idx" ON "shop_order" ("reference");\', '
                "'DROP INDEX IF EXISTS \"order_reference_idx\";')"
            ),
        ),
        Example(
            title="RunSQL.noop when there is nothing to undo",
            history=(SHOP_INITIAL,),
            source=operations(
                'migrations.RunSQL("UPDATE shop_client SET email = lower(email);", migrations.RunSQL.noop)'
            ),
        ),
        Example(
            title="Statements and their reverses as lists, inside SeparateDatabaseAndState",
            history=(SHOP_INITIAL,),
            source=operations(
                "migrations.SeparateDatabaseAndState(database_operations=[migrations.RunSQL("
                'sql=[\'ALTER TABLE "shop_client" ADD COLUMN "vip" boolean NULL;\'], '
                'reverse_sql=[\'ALTER TABLE "shop_client" DROP COLUMN "vip";\'])])'
            ),
        ),
    )

    def check(self, ctx: MigrationContext) -> Iterator[Finding]:
        for step in db_steps(ctx):
            op = step.operation
            if not op_is(op, "RunSQL") or op.dynamic:
                continue
            if op.kwargs.get("reverse_sql") is not None:
                continue
            yield self.finding(
                ctx,
                op,
                f"RunSQL has no reverse_sql: `migrate` cannot unapply "
                f"{ctx.migration.app_label}.{ctx.migration.name} or anything before it",
                help="pass reverse_sql: the statements that undo it, or migrations.RunSQL.noop",
                fix=run_sql_reverse(ctx, op),
            )
