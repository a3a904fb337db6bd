"""ML901: a migration file that Python cannot parse."""

from __future__ import annotations

from collections.abc import Iterator

from migration_lint.context import MigrationContext
from migration_lint.facts import Span
from migration_lint.findings import Finding, Severity
from migration_lint.rules.base import Example, Rule


class UnreadableMigration(Rule):
    """Migration file that cannot be parsed.

    ## What it does
    Reports a file in a migrations folder that is not valid Python (a syntax error, or bytes that
    are not UTF-8 when the file declares no other encoding), at the position Python reports.
    Every other file is still linted.

    ## Why is this bad?
    Django imports every module in the migrations folder: `migrate`, `makemigrations` and the
    test runner all stop on this file. Nothing in it can be checked for the hazards the other
    rules look for either.

    ## Use instead
    Fix the syntax error. A conflict marker (`<<<<<<<`) left by a merge is the usual cause.
    """

    code = "ML901"
    name = "unreadable-migration"
    severity = Severity.ERROR

    flagged = (
        Example(
            title="A merge conflict left in the file",
            source="""\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
<<<<<<< HEAD
    operations = [migrations.AddField("order", "note", models.TextField(default=""))]
=======
    operations = [migrations.AddField("order", "memo", models.TextField(default=""))]
>>>>>>> feature
""",
            line=6,
        ),
        Example(
            title="An unclosed bracket",
            source="""\
from django.db import migrations


class Migration(migrations.Migration):
    operations = [
        migrations.DeleteModel("Coupon"),
""",
        ),
    )
    accepted = (
        Example(
            title="A valid migration",
            source="""\
from django.db import migrations


class Migration(migrations.Migration):
    operations = [migrations.DeleteModel("Coupon")]
""",
        ),
        Example(
            title="A file that declares its encoding",
            source="""\
# -*- coding: latin-1 -*-
from django.db import migrations


class Migration(migrations.Migration):
    operations = []
""",
        ),
    )

    def check(self, ctx: MigrationContext) -> Iterator[Finding]:
        error = ctx.migration.parse_error
        if error is None:
            return
        yield self.finding(
            ctx,
            Span(error.line, error.column, error.line, error.column),
            f"{ctx.migration.app_label}.{ctx.migration.name} cannot be parsed: {error.message}",
            help="fix the file; Django cannot load any migration of this app until then",
        )
