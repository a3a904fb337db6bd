"""ML105: a plain index built without CONCURRENTLY on an existing table."""

from __future__ import annotations

from collections.abc import Iterator

from migration_lint.analysis.builds import builds, lock_message, postgres_locks_apply
from migration_lint.context import MigrationContext
from migration_lint.findings import Finding, Severity
from migration_lint.plans import index_plan
from migration_lint.rules._shop import ORDER_INITIAL, migration
from migration_lint.rules.base import Example, Rule


class BlockingIndexBuild(Rule):
    """Index built with a lock that stops writes to an existing table.

    ## What it does
    Reports indexes that PostgreSQL builds without `CONCURRENTLY` on a table that existed before
    the migration: `AddIndex`, `AddField` with `db_index=True` or a `ForeignKey` (Django indexes
    foreign keys), `AlterField` to `db_index=True`, `AlterIndexTogether`, and `RunSQL` with
    `CREATE INDEX`. Unique ones are ML101. Only when PostgreSQL is a target.

    ## Why is this bad?
    `CREATE INDEX` holds a SHARE lock on the table for the whole build: reads go on, every
    write waits. After `ADD COLUMN` in the same transaction (AddField) the lock held is ACCESS
    EXCLUSIVE, so reads wait too.

    ## Use instead
    `AddIndexConcurrently` (django.contrib.postgres) in an `atomic = False` migration, or
    `CREATE INDEX CONCURRENTLY` in `SeparateDatabaseAndState` for the other operations.
    """

    code = "ML105"
    name = "blocking-index-build"
    severity = Severity.WARNING

    flagged = (
        Example(
            title="AddIndex on an existing table",
            history=(ORDER_INITIAL,),
            source=migration(
                '    operations = [migrations.AddIndex("order", models.Index(fields=["created"], name="order_created_idx"))]\n'
            ),
            line=6,
        ),
        Example(
            title="A field gets db_index=True",
            history=(ORDER_INITIAL,),
            source=migration(
                '    operations = [migrations.AlterField("order", "sku", models.CharField(max_length=20, null=True, db_index=True))]\n'
            ),
        ),
        Example(
            title="RunSQL CREATE INDEX",
            history=(ORDER_INITIAL,),
            source=migration(
                '    operations = [migrations.RunSQL("CREATE INDEX order_sku ON shop_order (sku)", "DROP INDEX order_sku")]\n'
            ),
        ),
    )
    accepted = (
        Example(
            title="AddIndexConcurrently in a non-atomic migration",
            history=(ORDER_INITIAL,),
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
            title="The index comes with the new table",
            source="""\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel("Coupon", [("id", models.AutoField(primary_key=True)), ("code", models.CharField(max_length=20))]),
        migrations.AddIndex("coupon", models.Index(fields=["code"], name="coupon_code_idx")),
    ]
""",
        ),
        Example(
            title="A MySQL-only project: InnoDB builds secondary indexes online",
            history=(ORDER_INITIAL,),
            targets=("mysql",),
            source=migration(
                '    operations = [migrations.AddIndex("order", models.Index(fields=["created"], name="order_created_idx"))]\n'
            ),
        ),
    )

    def check(self, ctx: MigrationContext) -> Iterator[Finding]:
        if not postgres_locks_apply(ctx):
            return
        for build in builds(ctx):
            if build.unique or build.concurrent or not build.existing_table:
                continue
            yield self.finding(
                ctx,
                build.top,
                lock_message(build),
                help="build it CONCURRENTLY in an atomic = False migration (fix plan below)",
                fix=index_plan(ctx, build),
                target="postgresql",
            )
