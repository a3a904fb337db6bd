"""ML507: a column made NOT NULL with a full table scan under ACCESS EXCLUSIVE on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

from migration_lint.analysis.builds import postgres_locks_apply
from migration_lint.analysis.builds import new_field
from migration_lint.analysis.deploy import db_steps, existing_model, op_is
from migration_lint.context import MigrationContext
from migration_lint.deploy_plans import set_not_null
from migration_lint.findings import Finding, Severity
from migration_lint.rules._deploy import SHOP_INITIAL, operations
from migration_lint.rules.base import Example, Rule

_NULLABLE = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.AddField("client", "bought", models.IntegerField(null=True))]
"""

_SAFE = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0002_auto")]
    operations = [
        migrations.RunSQL(
            'ALTER TABLE "shop_client" VALIDATE CONSTRAINT "shop_client_bought_not_null";',
            migrations.RunSQL.noop,
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    [
                        "SET LOCAL lock_timeout = '5s';",
                        'ALTER TABLE "shop_client" ALTER COLUMN "bought" SET NOT NULL;',
                        'ALTER TABLE "shop_client" DROP CONSTRAINT "shop_client_bought_not_null";',
                    ],
                    'ALTER TABLE "shop_client" ALTER COLUMN "bought" DROP NOT NULL;',
                ),
            ],
            state_operations=[
                migrations.AlterField("client", "bought", models.IntegerField(default=0)),
            ],
        ),
    ]
"""


class BlockingSetNotNull(Rule):
    """Column made NOT NULL with a full scan under a lock that stops all traffic.

    ## What it does
    On PostgreSQL, reports `AlterField` from `null=True` to `null=False` on a table that existed
    before the migration. The `CHECK ... NOT VALID` sequence (the fix plan), tables created in
    the same migration and SQLite's table rebuild are not reported.

    ## Why is this bad?
    `ALTER COLUMN ... SET NOT NULL` takes an ACCESS EXCLUSIVE lock (no reads, no writes) and
    scans the whole table to prove there is no NULL. When the field has a default, Django first
    runs `UPDATE ... SET col = default WHERE col IS NULL` in the same transaction, after
    `SET DEFAULT` has taken the same lock, so the lock is held for the update as well.

    ## Use instead
    Fill the NULLs in a data migration; add `CHECK (col IS NOT NULL) NOT VALID` (a brief lock,
    no scan); in the next migration `VALIDATE CONSTRAINT` (scans under SHARE UPDATE EXCLUSIVE,
    reads and writes go on), then `SET NOT NULL`, which PostgreSQL 12+ proves from the
    validated CHECK without a scan, in `SeparateDatabaseAndState` with the `AlterField` as its
    state operation; then drop the CHECK.
    """

    code = "ML507"
    name = "blocking-set-not-null"
    severity = Severity.ERROR

    flagged = (
        Example(
            title="The last step of the three-step NOT NULL, done with AlterField",
            history=(SHOP_INITIAL, _NULLABLE),
            source=operations(
                'migrations.AlterField("client", "bought", models.IntegerField(default=0))',
                after="0002_auto",
            ),
            line=7,
        ),
        Example(
            title="An existing nullable column made required",
            history=(SHOP_INITIAL,),
            source=operations('migrations.AlterField("order", "note", models.TextField())'),
        ),
    )
    accepted = (
        Example(
            title="VALIDATE, then SET NOT NULL proven by the CHECK",
            history=(SHOP_INITIAL, _NULLABLE),
            source=_SAFE,
        ),
        Example(
            title="The table is created in the same migration",
            source="""\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel("Coupon", [("id", models.AutoField(primary_key=True)), ("code", models.TextField(null=True))]),
        migrations.AlterField("coupon", "code", models.TextField()),
    ]
""",
        ),
        Example(
            title="SQLite: the table rebuild is not read as a NOT NULL",
            history=(SHOP_INITIAL,),
            targets=("sqlite",),
            source=operations('migrations.AlterField("order", "note", models.TextField())'),
        ),
        Example(
            title="A column that was NOT NULL already",
            history=(SHOP_INITIAL,),
            source=operations(
                'migrations.AlterField("client", "name", models.CharField(max_length=200))'
            ),
        ),
    )

    def check(self, ctx: MigrationContext) -> Iterator[Finding]:
        if not postgres_locks_apply(ctx):
            return
        for step in db_steps(ctx):
            op = step.operation
            if not op_is(op, "AlterField"):
                continue
            model = existing_model(ctx, step)
            new = new_field(ctx, op)
            name = op.kwargs.get("name")
            old = model.field(name) if model is not None and isinstance(name, str) else None
            if model is None or new is None or old is None:
                continue
            if not old.null or new.null or new.many_to_many or new.primary_key:
                continue
            backfill = new.kwargs.get("default") is not None or new.has_db_default
            update = (
                ", after Django's UPDATE of the NULL rows under the same lock" if backfill else ""
            )
            yield self.finding(
                ctx,
                op,
                f"AlterField makes {model.table}.{new.column} NOT NULL: on PostgreSQL SET NOT "
                f"NULL scans the whole table under an ACCESS EXCLUSIVE lock (no reads, no "
                f"writes){update}",
                help=(
                    "add CHECK (... IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL "
                    "(fix plan below)"
                ),
                fix=set_not_null(ctx, op, model, new, backfill),
                target="postgresql",
            )
