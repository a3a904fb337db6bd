"""ML303: get_or_create relies on a unique constraint models.py declares but no migration creates."""

from __future__ import annotations

from collections.abc import Iterator

from migration_lint.context import LintContext
from migration_lint.findings import Finding, FixStep, Severity
from migration_lint.rules._get_or_create import (
    ADS_INITIAL,
    ADS_MODELS,
    ADS_VIEWS,
    calls,
    declared_covers,
    finding,
)
from migration_lint.rules.base import Example, Rule

_MODELS_WITH_TOGETHER = ADS_MODELS + (
    '\n    class Meta:\n        unique_together = [("ad", "impression_date")]\n'
)

_MODELS_WITH_CONSTRAINT = ADS_MODELS + (
    "\n"
    "    class Meta:\n"
    "        constraints = [\n"
    "            models.UniqueConstraint(\n"
    '                fields=["ad", "impression_date"], name="ads_impressioncounter_ad_day_uniq"\n'
    "            ),\n"
    "        ]\n"
)

_RELATED_VIEWS = """\
from .models import Ad


def record_impression(ad_id, day):
    ad = Ad.objects.get(pk=ad_id)
    return ad.impressions.get_or_create(impression_date=day)[0]
"""

_MIGRATED = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("ads", "0001_initial")]
    operations = [
        migrations.AddConstraint(
            model_name="impressioncounter",
            constraint=models.UniqueConstraint(
                fields=["ad", "impression_date"], name="ads_impressioncounter_ad_day_uniq"
            ),
        ),
    ]
"""


class UniqueConstraintNotMigrated(Rule):
    """get_or_create relies on a unique constraint that no migration creates yet.

    ## What it does
    Reports a `get_or_create`-family call (see ML301) whose lookup is covered by a unique set
    the model declares (`unique=True`, `unique_together`, `UniqueConstraint`, inherited ones
    included) but that is not in the migrations: the model's `_meta` from Django's app registry
    is compared with Django's migration state at the end of the plan. Such a call is reported
    here instead of by ML301/ML302. Project mode only (`--settings`, or a `manage.py` found):
    without a project, models.py is not imported and ML301/ML302 report the call.

    ## Why is this bad?
    The database only has what the migrations create: until a migration adds the constraint,
    it is declared but not enforced, concurrent calls create duplicate rows, and the
    migration that eventually adds it fails on them.

    ## Use instead
    Run `python manage.py makemigrations` and apply the migration. On an existing table remove
    the duplicates in a data migration first (ML102) and, on PostgreSQL, build the constraint
    concurrently (ML101): both rules report the new migration with its safe sequence.
    """

    code = "ML303"
    name = "unique-constraint-not-migrated"
    severity = Severity.WARNING
    scope = "project"

    flagged = (
        Example(
            title="unique_together declared in models.py only (ads/views.py)",
            app_label="ads",
            files=(("ads/models.py", _MODELS_WITH_TOGETHER), ("ads/views.py", ADS_VIEWS)),
            source=ADS_INITIAL,
            project=True,
            line=12,
        ),
        Example(
            title="A UniqueConstraint declared in models.py only, used by a related manager",
            app_label="ads",
            files=(("ads/models.py", _MODELS_WITH_CONSTRAINT), ("ads/views.py", _RELATED_VIEWS)),
            source=ADS_INITIAL,
            project=True,
            line=6,
        ),
    )
    accepted = (
        Example(
            title="The constraint is in models.py and in a migration",
            app_label="ads",
            history=(ADS_INITIAL,),
            files=(("ads/models.py", _MODELS_WITH_CONSTRAINT), ("ads/views.py", _RELATED_VIEWS)),
            source=_MIGRATED,
            project=True,
        ),
        Example(
            title="No constraint anywhere (ML301 reports it)",
            app_label="ads",
            files=(("ads/models.py", ADS_MODELS), ("ads/views.py", ADS_VIEWS)),
            source=ADS_INITIAL,
            project=True,
        ),
        Example(
            title="Without a project models.py is not read (ML301 reports it)",
            app_label="ads",
            files=(("ads/models.py", _MODELS_WITH_TOGETHER), ("ads/views.py", ADS_VIEWS)),
            source=ADS_INITIAL,
        ),
    )

    def check_project(self, ctx: LintContext) -> Iterator[Finding]:
        for judged in calls(ctx):
            if not declared_covers(judged):
                continue
            site = judged.site
            assert judged.declared is not None and judged.declared.rule is not None
            rule = judged.declared.rule
            app = site.app_label
            message = (
                f"`{site.text}` relies on {rule.describe()}, which {site.model} declares but no "
                f"migration creates: the database does not enforce it yet"
            )
            help = (
                f"run makemigrations {app} and apply it; on an existing table dedupe first "
                "(ML102) and build it concurrently on PostgreSQL (ML101)"
            )
            fix = (
                FixStep(
                    title=f"Write the migration for {rule.describe()}",
                    explanation=(
                        "Lint the new migration: ML102 adds the data migration that removes the "
                        "duplicates this call may already have created, and on PostgreSQL ML101 "
                        "rewrites it to build the constraint concurrently."
                    ),
                    code=f"python manage.py makemigrations {app}",
                ),
            )
            yield finding(self.code, self.severity, site, message, help, fix)
