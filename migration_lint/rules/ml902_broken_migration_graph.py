"""ML902: dependencies Django's migration loader would refuse."""

from __future__ import annotations

from collections.abc import Iterator

from migration_lint.context import MigrationContext
from migration_lint.facts import Span
from migration_lint.findings import Finding, Severity
from migration_lint.rules.base import Example, Rule

_INITIAL = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel("Order", [("id", models.AutoField(primary_key=True))]),
    ]
"""


class BrokenMigrationGraph(Rule):
    """Migration depends on a migration that does not exist, or on itself through a cycle.

    ## What it does
    Reports a dependency (or `run_before`) on a migration of a linted app that is not on disk,
    and dependency cycles, naming every migration in the cycle. Dependencies on apps outside the
    linted tree (`django.contrib`, installed packages) are not judged without a project.

    ## Why is this bad?
    Django refuses to build the migration graph (`NodeNotFoundError`,
    `CircularDependencyError`): no migration of any app can run until it is fixed. A missing
    dependency usually means a migration was renamed or deleted after another was written on top
    of it, or a branch was merged without its migrations.

    ## Use instead
    Point the dependency at the migration that exists (the app's latest), or restore the missing
    file. Break a cycle by moving the operation that needs the other app into a new migration.
    """

    code = "ML902"
    name = "broken-migration-graph"
    severity = Severity.ERROR

    flagged = (
        Example(
            title="The dependency was renamed away",
            history=(_INITIAL,),
            source="""\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_first")]
    operations = [migrations.AddField("order", "note", models.TextField(default=""))]
""",
            line=5,
        ),
        Example(
            title="Two apps waiting for each other",
            files=(
                (
                    "billing/migrations/0001_initial.py",
                    """\
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = []
""",
                ),
            ),
            source="""\
from django.db import migrations


class Migration(migrations.Migration):
    initial = True
    dependencies = [("billing", "0001_initial")]
    operations = []
""",
        ),
    )
    accepted = (
        Example(
            title="The dependency exists",
            history=(_INITIAL,),
            source="""\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.AddField("order", "note", models.TextField(default=""))]
""",
        ),
        Example(
            title="Dependencies on apps outside the tree, and on the user model",
            history=(_INITIAL,),
            source="""\
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("shop", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]
    operations = [migrations.AddField("order", "note", models.TextField(default=""))]
""",
        ),
        Example(
            title="A dependency on a squashed migration that the squash replaced",
            history=(
                _INITIAL,
                """\
from django.db import migrations, models


class Migration(migrations.Migration):
    replaces = [("shop", "0001_initial"), ("shop", "0002_old")]
    operations = [
        migrations.CreateModel("Order", [("id", models.AutoField(primary_key=True))]),
    ]
""",
            ),
            source="""\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0002_old")]
    operations = [migrations.AddField("order", "note", models.TextField(default=""))]
""",
        ),
    )

    def check(self, ctx: MigrationContext) -> Iterator[Finding]:
        for problem in ctx.lint.history.problems:
            if problem.migration != ctx.migration.key:
                continue
            where = Span(problem.line, 1, problem.line, 1) if problem.line else None
            if problem.kind == "cycle":
                message = f"circular dependency: {problem.detail}"
                help = "move the operation that needs the other app into a new migration"
            else:
                message = f"{ctx.migration.app_label}.{ctx.migration.name} {problem.detail}"
                help = "depend on a migration that exists, usually the app's latest"
            yield self.finding(ctx, where, message, help=help)
