"""ML101: a unique constraint or unique index built under a blocking lock on an existing table."""

from __future__ import annotations

from collections.abc import Iterator

from migration_lint.analysis.builds import builds, lock_message, postgres_locks_apply
from migration_lint.analysis.duplicates import needs_dedupe
from migration_lint.context import MigrationContext
from migration_lint.findings import Finding, Severity
from migration_lint.plans import unique_plan
from migration_lint.rules._shop import ORDER_INITIAL, migration
from migration_lint.rules.base import Example, Rule


class BlockingUniqueBuild(Rule):
    """Unique constraint built with a lock that stops traffic to an existing table.

    ## What it does
    Reports every unique constraint or unique index that PostgreSQL builds without
    `CONCURRENTLY` on a table that existed before the migration: `AddField(unique=True)`, a
    `OneToOneField` added, `AlterField` to `unique=True`, `AlterUniqueTogether`,
    `AddConstraint(UniqueConstraint(...))` in all its forms, and `RunSQL` that runs
    `CREATE UNIQUE INDEX` or `ADD CONSTRAINT ... UNIQUE`. Only when PostgreSQL is a target; the
    zero-downtime backend `django-pg-zero-downtime-migrations` and the `Safer*` operations of
    `django-pg-migration-tools` build concurrently and are not reported.

    ## Why is this bad?
    On PostgreSQL, `ALTER TABLE ... ADD CONSTRAINT ... UNIQUE` holds an ACCESS EXCLUSIVE lock
    (no reads, no writes) for the whole index build, and `CREATE UNIQUE INDEX` holds a SHARE
    lock (no writes). On a table with millions of rows every request that touches it waits for
    minutes, and because Django runs the migration in a transaction the lock is kept until the
    migration ends. On SQLite and MySQL the lock is not the problem; duplicates are (ML102).

    ## Use instead
    Build the index with `CREATE UNIQUE INDEX CONCURRENTLY` in an `atomic = False` migration,
    attach it with `ALTER TABLE ... ADD CONSTRAINT ... UNIQUE USING INDEX` under a
    `lock_timeout`, and keep Django's state in step with `SeparateDatabaseAndState`. The finding's
    fix plan writes that migration with your table, columns and constraint name.
    """

    code = "ML101"
    name = "blocking-unique-build"
    severity = Severity.ERROR

    flagged = (
        Example(
            title="unique_together added to an existing table",
            history=(ORDER_INITIAL,),
            source=migration(
                "    operations = [\n"
                '        migrations.AlterUniqueTogether(name="order", unique_together={("customer", "reference")}),\n'
                "    ]\n"
            ),
            line=7,
        ),
        Example(
            title="A UniqueConstraint added to an existing table",
            history=(ORDER_INITIAL,),
            source=migration(
                "    operations = [\n"
                "        migrations.AddConstraint(\n"
                '            model_name="order",\n'
                '            constraint=models.UniqueConstraint(fields=["reference"], name="order_reference_uniq"),\n'
                "        ),\n"
                "    ]\n"
            ),
        ),
        Example(
            title="A field made unique",
            history=(ORDER_INITIAL,),
            source=migration(
                "    operations = [\n"
                '        migrations.AlterField("order", "reference", models.CharField(max_length=32, unique=True)),\n'
                "    ]\n"
            ),
        ),
        Example(
            title="Raw SQL without CONCURRENTLY",
            history=(ORDER_INITIAL,),
            source=migration(
                "    operations = [\n"
                "        migrations.RunSQL(\n"
                '            \'CREATE UNIQUE INDEX "order_sku_uniq" ON "shop_order" ("sku");\',\n'
                "            'DROP INDEX \"order_sku_uniq\";',\n"
                "        ),\n"
                "    ]\n"
            ),
        ),
        Example(
            title="A OneToOneField added to an existing table",
            history=(ORDER_INITIAL,),
            source=migration(
                "    operations = [\n"
                "        migrations.AddField(\n"
                '            "order",\n'
                '            "invoice",\n'
                '            models.OneToOneField(null=True, on_delete=models.SET_NULL, to="shop.order"),\n'
                "        ),\n"
                "    ]\n"
            ),
        ),
    )
    accepted = (
        Example(
            title="The table is created in the same migration",
            source="""\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel("Coupon", [("id", models.AutoField(primary_key=True)), ("code", models.CharField(max_length=20))]),
        migrations.AlterUniqueTogether(name="coupon", unique_together={("code",)}),
        migrations.AddField("coupon", "slug", models.SlugField(unique=True, null=True)),
    ]
""",
        ),
        Example(
            title="The concurrent sequence",
            history=(ORDER_INITIAL,),
            source="""\
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("shop", "0001_initial")]
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    [
                        'DROP INDEX CONCURRENTLY IF EXISTS "order_reference_uniq";',
                        'CREATE UNIQUE INDEX CONCURRENTLY "order_reference_uniq" ON "shop_order" ("reference");',
                    ],
                    'DROP INDEX CONCURRENTLY IF EXISTS "order_reference_uniq";',
                ),
                migrations.RunSQL(
                    [
                        "SET lock_timeout = '5s';",
                        'ALTER TABLE "shop_order" ADD CONSTRAINT "order_reference_uniq" UNIQUE USING INDEX "order_reference_uniq";',
                        "RESET lock_timeout;",
                    ],
                    'ALTER TABLE "shop_order" DROP CONSTRAINT "order_reference_uniq";',
                ),
            ],
            state_operations=[
                migrations.AddConstraint(
                    model_name="order",
                    constraint=models.UniqueConstraint(fields=["reference"], name="order_reference_uniq"),
                ),
            ],
        ),
    ]
""",
        ),
        Example(
            title="django-pg-migration-tools builds it concurrently",
            history=(ORDER_INITIAL,),
            source="""\
from django.db import migrations, models
from django_pg_migration_tools import operations as pg_operations


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("shop", "0001_initial")]
    operations = [
        pg_operations.SaferAddUniqueConstraint(
            model_name="order",
            constraint=models.UniqueConstraint(fields=["reference"], name="order_reference_uniq"),
        ),
    ]
""",
        ),
        Example(
            title="Removing a constraint",
            history=(
                ORDER_INITIAL,
                migration(
                    '    operations = [migrations.AlterUniqueTogether("order", {("customer", "reference")})]\n'
                ),
            ),
            source="""\
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0002_auto")]
    operations = [migrations.AlterUniqueTogether("order", set())]
""",
        ),
        Example(
            title="A SQLite-only project (--target sqlite)",
            history=(ORDER_INITIAL,),
            targets=("sqlite",),
            source=migration(
                "    operations = [\n"
                '        migrations.AlterField("order", "reference", models.CharField(max_length=32, unique=True)),\n'
                "    ]\n"
            ),
        ),
    )

    def check(self, ctx: MigrationContext) -> Iterator[Finding]:
        if not postgres_locks_apply(ctx):
            return
        for build in builds(ctx):
            if not build.unique or build.concurrent or not build.existing_table:
                continue
            yield self.finding(
                ctx,
                build.top,
                lock_message(build),
                help=(
                    "build the index CONCURRENTLY in an atomic = False migration and attach it "
                    "with ADD CONSTRAINT ... USING INDEX (fix plan below)"
                ),
                fix=unique_plan(ctx, build, needs_dedupe(ctx, build)),
                extra=build.extra(),
                target="postgresql",
            )
