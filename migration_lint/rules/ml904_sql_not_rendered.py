"""ML904: an operation whose SQL could not be rendered for a target database."""

from __future__ import annotations

from collections.abc import Iterator

from migration_lint.context import MigrationContext
from migration_lint.findings import Finding, Severity
from migration_lint.rules.base import Example, Rule

_INITIAL = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel("Order", [("id", models.AutoField(primary_key=True)), ("reference", models.CharField(max_length=32))]),
        migrations.AlterUniqueTogether("order", {("reference",)}),
    ]
"""


class SqlNotRendered(Rule):
    """Operation whose SQL for a target database cannot be rendered without that database.

    ## What it does
    In a Django project, the SQL of each linted migration is rendered for every target
    database (what `sqlmigrate` prints): SQLite by applying the migrations to an in-memory
    database, PostgreSQL and MySQL without a server. A few operations read the live schema to
    render (removing `unique_together`, dropping `unique` or `db_index`, removing foreign keys:
    Django looks the constraint names up), an operation can make Django raise while rendering
    (a field default that queries the database), and a missing database driver stops a vendor
    altogether. Each is reported here, once per operation and database.

    ## Why is this bad?
    The rules that read rendered SQL (ML4xx) cannot check what they cannot see; this finding
    says where that is so nothing is silently skipped.

    ## Use instead
    Install the driver (`migration-lint[postgres]`, `migration-lint[mysql]`) when that is the
    reason. Otherwise read the SQL with `python manage.py sqlmigrate --database ALIAS` against
    a database that has the earlier migrations applied.
    """

    code = "ML904"
    name = "sql-not-rendered"
    severity = Severity.INFO

    flagged = (
        Example(
            title="Removing unique_together looks the constraint name up (PostgreSQL)",
            project=True,
            targets=("postgresql",),
            history=(_INITIAL,),
            source="""\
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.AlterUniqueTogether("order", set())]
""",
            line=6,
        ),
        Example(
            title="Dropping unique=True looks the constraint name up (MySQL)",
            project=True,
            targets=("mysql",),
            history=(
                """\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel("Order", [("id", models.AutoField(primary_key=True)), ("reference", models.CharField(max_length=32, unique=True))]),
    ]
""",
            ),
            source="""\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.AlterField("order", "reference", models.CharField(max_length=32))]
""",
        ),
        Example(
            title="A field default that fails outside the application (PostgreSQL)",
            project=True,
            targets=("postgresql",),
            history=(_INITIAL,),
            source="""\
from django.db import migrations, models


def next_code():
    raise LookupError("the code counter is read from the running application")


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.AddField("order", "code", models.CharField(max_length=8, default=next_code))]
""",
            line=10,
        ),
    )
    accepted = (
        Example(
            title="A callable default that needs nothing from the application renders",
            project=True,
            targets=("postgresql",),
            history=(_INITIAL,),
            source="""\
from django.db import migrations, models


def next_code():
    return "A0000000"


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.AddField("order", "code", models.CharField(max_length=8, default=next_code))]
""",
        ),
        Example(
            title="On SQLite the migrations are really applied, so it renders",
            project=True,
            targets=("sqlite",),
            history=(_INITIAL,),
            source="""\
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.AlterUniqueTogether("order", set())]
""",
        ),
        Example(
            title="Adding a unique constraint needs no live schema",
            project=True,
            targets=("postgresql", "mysql"),
            history=(_INITIAL,),
            source="""\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.AddField("order", "note", models.TextField(null=True))]
""",
        ),
    )

    def check(self, ctx: MigrationContext) -> Iterator[Finding]:
        rendering = ctx.lint.rendering()
        if rendering is None:
            return
        for vendor, _ in ctx.lint.vendors:
            if vendor in rendering.unavailable:
                yield self.finding(
                    ctx,
                    None,
                    f"no SQL rendered for {vendor}: {rendering.unavailable[vendor]}",
                    help="install the driver to check this migration's SQL for that database",
                    target=vendor,
                )
                continue
            migration = rendering.get(ctx.migration.key, vendor)
            for rendered in migration.operations if migration else ():
                # Another failure on SQLite is a real apply failing: ML403 reports it.
                failed = (
                    rendered.offline
                    or rendered.application
                    or (rendered.error and vendor != "sqlite")
                )
                if not failed or rendered.index >= len(ctx.migration.operations):
                    continue
                op = ctx.migration.operations[rendered.index]
                if rendered.application:
                    why = f"application code it runs (a callable default, say) raised {rendered.error}"
                elif rendered.offline:
                    why = "Django reads the live schema (constraint names) to build its SQL"
                else:
                    why = f"Django raised {rendered.error}"
                yield self.finding(
                    ctx,
                    op,
                    f"{op.name} could not be rendered for {vendor} without a database: {why}, "
                    "so SQL checks skip it",
                    help=f"read it with `manage.py sqlmigrate {ctx.migration.app_label} {ctx.migration.name}` "
                    f"against a {vendor} database that has the earlier migrations, or lint with "
                    "`--database URL`",
                    target=vendor,
                )
