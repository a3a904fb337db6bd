"""ML110: the brief ACCESS EXCLUSIVE step of the safe sequence with no lock_timeout."""

from __future__ import annotations

from collections.abc import Iterator

from migration_lint.analysis.builds import sql_steps
from migration_lint.context import MigrationContext
from migration_lint.findings import Finding, FixStep, Severity
from migration_lint.plans import LOCK_TIMEOUT
from migration_lint.rules._shop import ORDER_INITIAL, migration
from migration_lint.rules.base import Example, Rule

_ATTACH = '\'ALTER TABLE "shop_order" ADD CONSTRAINT "order_ref_uniq" UNIQUE USING INDEX "order_ref_uniq";\''


class ExclusiveStepWithoutLockTimeout(Rule):
    """`ADD CONSTRAINT ... USING INDEX` that can queue every query behind it.

    ## What it does
    Reports `ALTER TABLE ... ADD CONSTRAINT ... USING INDEX` in `RunSQL` when no
    `SET lock_timeout` runs before it in the migration.

    ## Why is this bad?
    Attaching the index needs an ACCESS EXCLUSIVE lock only for an instant, but it must wait
    for every transaction that holds any lock on the table, and while it waits, every new query
    on the table queues behind it. One long-running report query turns the instant into an
    outage.

    ## Use instead
    `SET lock_timeout = '5s';` before the statement (and `RESET lock_timeout;` after it in a
    non-atomic migration): the statement gives up instead, and the migration can be run again.
    """

    code = "ML110"
    name = "exclusive-step-without-lock-timeout"
    severity = Severity.WARNING

    flagged = (
        Example(
            title="USING INDEX with no lock_timeout",
            history=(ORDER_INITIAL,),
            source=migration(
                f"    operations = [migrations.RunSQL({_ATTACH}, migrations.RunSQL.noop)]\n"
            ),
            line=6,
        ),
        Example(
            title="The timeout is set after the statement",
            history=(ORDER_INITIAL,),
            source=migration(
                f"    operations = [migrations.RunSQL([{_ATTACH}, \"SET lock_timeout = '5s'\"], migrations.RunSQL.noop)]\n"
            ),
        ),
    )
    accepted = (
        Example(
            title="SET lock_timeout first",
            history=(ORDER_INITIAL,),
            source=migration(
                f"    operations = [migrations.RunSQL([\"SET lock_timeout = '5s';\", {_ATTACH}, 'RESET lock_timeout;'], migrations.RunSQL.noop)]\n"
            ),
        ),
        Example(
            title="SET LOCAL lock_timeout in an earlier RunSQL of an atomic migration",
            history=(ORDER_INITIAL,),
            source=migration(
                "    operations = [\n"
                "        migrations.RunSQL(\"SET LOCAL lock_timeout TO '2s'\", migrations.RunSQL.noop),\n"
                f"        migrations.RunSQL({_ATTACH}, migrations.RunSQL.noop),\n"
                "    ]\n"
            ),
        ),
    )

    def check(self, ctx: MigrationContext) -> Iterator[Finding]:
        timeout = False
        for step in sql_steps(ctx):
            statement = step.statement
            if (
                statement.kind == "set"
                and statement.setting
                and statement.setting[0] == "lock_timeout"
            ):
                timeout = statement.setting[1] not in ("0", "DEFAULT", "default")
            elif statement.kind == "add_constraint" and statement.using_index and not timeout:
                yield self.finding(
                    ctx,
                    step.operation,
                    f"ADD CONSTRAINT {statement.name} USING INDEX waits for ACCESS EXCLUSIVE on "
                    f"{statement.table} with no lock_timeout: every query on the table queues behind it",
                    help=f"run SET lock_timeout = '{LOCK_TIMEOUT}' before it",
                    fix=(
                        FixStep(
                            title="Set a lock_timeout around the statement",
                            code=f'"SET lock_timeout = \'{LOCK_TIMEOUT}\';",\n{_repr(statement.text)},\n"RESET lock_timeout;",',
                        ),
                    ),
                    target="postgresql",
                )


def _repr(sql: str) -> str:
    return repr(sql if sql.endswith(";") else sql + ";")
