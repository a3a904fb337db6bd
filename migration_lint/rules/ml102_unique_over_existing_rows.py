"""ML102: a unique constraint over columns that already hold data, with no dedupe step."""

from __future__ import annotations

from collections.abc import Iterator

from migration_lint.analysis.builds import builds
from migration_lint.analysis.duplicates import needs_dedupe
from migration_lint.codegen import render
from migration_lint.context import MigrationContext
from migration_lint.findings import Finding, Severity
from migration_lint.plans import unique_plan
from migration_lint.rules._shop import ORDER_INITIAL, migration
from migration_lint.rules.base import Example, Rule

_DEDUPE = """\
from django.db import migrations, models


def remove_duplicate_orders(apps, schema_editor):
    Order = apps.get_model("shop", "Order")
    seen = set()
    for order in Order.objects.order_by("-pk"):
        if order.reference in seen:
            order.delete()
        seen.add(order.reference)


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [
        migrations.RunPython(remove_duplicate_orders, migrations.RunPython.noop),
        migrations.AlterField("order", "reference", models.CharField(max_length=32, unique=True)),  # noqa: ML101
    ]
"""


class UniqueOverExistingRows(Rule):
    """Unique constraint that fails if existing rows already repeat its columns.

    ## What it does
    Reports a unique constraint added over columns of an existing table that already hold
    data, when nothing before it removes duplicates. It stays quiet when the columns are
    created by the same operation without a default (they are all NULL), when an existing
    unique constraint already covers a subset of the columns (the rows are unique already), and
    when a data migration on the same model (`RunPython` naming the model, `RunSQL` naming the
    table) runs earlier in the same migration or in the app's previous migration. A column
    added with `unique=True` and a default is reported as certain to fail: every existing row
    gets the same value.

    ## Why is this bad?
    On every database the build stops at the first repeated key (`could not create unique
    index ... Key (a, b)=(1, 1) is duplicated`), halfway through a deploy. On MySQL, which has
    no transactional DDL, the operations before it in the migration stay applied.

    ## Use instead
    Run a data migration that merges or deletes the duplicates first (the fix plan writes one
    that keeps the newest row of each group; keeping the newest is a choice), then add the
    constraint. `--data-url` counts the duplicates in a copy of production.
    """

    code = "ML102"
    name = "unique-over-existing-rows"
    severity = Severity.WARNING

    flagged = (
        Example(
            title="A field made unique with nothing removing duplicates",
            history=(ORDER_INITIAL,),
            source=migration(
                "    operations = [\n"
                '        migrations.AlterField("order", "reference", models.CharField(max_length=32, unique=True)),\n'
                "    ]\n"
            ),
            line=7,
        ),
        Example(
            title="A unique column added with a default (every row gets the same value)",
            history=(ORDER_INITIAL,),
            source=migration(
                "    operations = [\n"
                "        migrations.AddField(\n"
                '            model_name="order",\n'
                '            name="token",\n'
                "            field=models.UUIDField(default=uuid.uuid4, unique=True),\n"
                "        ),\n"
                "    ]\n",
                header="import uuid\n\n"
                + "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n",
            ),
        ),
    )
    accepted = (
        Example(
            title="A dedupe step runs first in the same migration",
            history=(ORDER_INITIAL,),
            source=_DEDUPE,
        ),
        Example(
            title="An existing unique constraint already covers the columns",
            history=(
                ORDER_INITIAL,
                migration(
                    '    operations = [migrations.AlterField("order", "reference", models.CharField(max_length=32, unique=True))]\n'
                ),
            ),
            source="""\
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0002_auto")]
    operations = [migrations.AlterUniqueTogether("order", {("customer", "reference")})]
""",
        ),
        Example(
            title="A new nullable unique column: every existing row is NULL",
            history=(ORDER_INITIAL,),
            source=migration(
                '    operations = [migrations.AddField("order", "code", models.CharField(max_length=12, null=True, unique=True))]\n'
            ),
        ),
        Example(
            title="The table is created in the same migration",
            source="""\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel("Coupon", [("id", models.AutoField(primary_key=True)), ("code", models.CharField(max_length=20))]),
        migrations.AddConstraint("coupon", models.UniqueConstraint(fields=["code"], name="coupon_code_uniq")),
    ]
""",
        ),
    )

    def check(self, ctx: MigrationContext) -> Iterator[Finding]:
        for build in builds(ctx):
            if not build.unique or not build.existing_table:
                continue
            if build.statement is not None and build.concurrent:
                continue  # the concurrent sequence was written by hand on purpose
            columns = ", ".join(build.columns or build.fields)
            if build.new_columns and build.default_for_existing_rows and build.field is not None:
                default = build.field.kwargs.get("default", build.field.kwargs.get("db_default"))
                yield self.finding(
                    ctx,
                    build.top,
                    f"{build.origin} gives every existing row of {build.table} the same "
                    f"{columns} ({render(default)} is evaluated once), so the unique index fails "
                    "as soon as the table has two rows",
                    help="add the column without unique=True, fill distinct values, then add the constraint",
                    fix=unique_plan(ctx, build, False),
                    extra=build.extra(),
                    severity=Severity.ERROR,
                )
            elif needs_dedupe(ctx, build):
                yield self.finding(
                    ctx,
                    build.top,
                    f"{build.origin} fails if {build.table} already has rows repeating "
                    f"({columns}); nothing before it removes duplicates",
                    help="remove the duplicates in a data migration first (fix plan below)",
                    fix=unique_plan(ctx, build, True),
                    extra=build.extra(),
                )
