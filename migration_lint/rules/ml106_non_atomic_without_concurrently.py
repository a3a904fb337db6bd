"""ML106: ``atomic = False`` on a migration whose index builds are not concurrent."""

from __future__ import annotations

from collections.abc import Iterator

from migration_lint.analysis.builds import builds
from migration_lint.context import MigrationContext
from migration_lint.findings import Finding, Severity
from migration_lint.plans import index_plan, unique_plan
from migration_lint.rules._shop import ORDER_INITIAL, migration
from migration_lint.rules.base import Example, Rule


class NonAtomicWithoutConcurrently(Rule):
    """`atomic = False` that makes nothing concurrent.

    ## What it does
    Reports an index or unique constraint built without `CONCURRENTLY` on an existing table in a
    migration that sets `atomic = False`.

    ## Why is this bad?
    `atomic = False` only stops Django from wrapping the migration in a transaction; it does not
    change the SQL. `ALTER TABLE ... ADD CONSTRAINT` and `CREATE INDEX` take the same blocking
    locks as before, and if a later operation fails, the ones before it stay applied with no
    rollback.

    ## Use instead
    Build the index with `CONCURRENTLY` (`AddIndexConcurrently`, or `RunSQL` inside
    `SeparateDatabaseAndState`), which is what needs `atomic = False`.
    """

    code = "ML106"
    name = "non-atomic-without-concurrently"
    severity = Severity.WARNING

    flagged = (
        Example(
            title="atomic = False around AlterUniqueTogether",
            history=(ORDER_INITIAL,),
            source=migration(
                "    atomic = False\n"
                '    operations = [migrations.AlterUniqueTogether("order", {("customer", "reference")})]  # noqa: ML101, ML102\n'
            ),
            line=7,
        ),
        Example(
            title="atomic = False around AddIndex",
            history=(ORDER_INITIAL,),
            source=migration(
                "    atomic = False\n"
                '    operations = [migrations.AddIndex("order", models.Index(fields=["created"], name="order_created_idx"))]  # noqa: ML105\n'
            ),
        ),
    )
    accepted = (
        Example(
            title="atomic = False for a long data migration",
            history=(ORDER_INITIAL,),
            source=migration(
                "    atomic = False\n"
                "    operations = [migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)]\n"
            ),
        ),
        Example(
            title="atomic = False for AddIndexConcurrently",
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
    )

    def check(self, ctx: MigrationContext) -> Iterator[Finding]:
        if ctx.migration.atomic is not False:
            return
        for build in builds(ctx):
            if build.concurrent or not build.existing_table:
                continue
            yield self.finding(
                ctx,
                build.top,
                f"atomic = False does not make {build.origin} concurrent: it still builds the "
                f"{build.description} with a blocking lock, now without a transaction to roll back",
                help="build it CONCURRENTLY (fix plan below); atomic = False is what that needs",
                fix=unique_plan(ctx, build, False) if build.unique else index_plan(ctx, build),
            )
