"""ML301: get_or_create / update_or_create whose lookup no unique constraint covers."""

from __future__ import annotations

from collections.abc import Iterator

from migration_lint.context import LintContext
from migration_lint.findings import Finding, Severity
from migration_lint.rules._get_or_create import (
    ADS_INITIAL,
    ADS_MODELS,
    ADS_VIEWS,
    ads_migration,
    calls,
    constraint_help,
    declared_covers,
    finding,
    plan,
    when,
)
from migration_lint.rules.base import Example, Rule

_RELATED_VIEWS = """\
from .models import Ad


def record_impression(ad: Ad, day):
    counter, created = ad.impressions.get_or_create(impression_date=day)
    return counter
"""

_ADVERTISER = ads_migration(
    "    operations = [\n"
    "        migrations.CreateModel(\n"
    '            name="Advertiser",\n'
    "            fields=[\n"
    '                ("id", models.BigAutoField(primary_key=True, serialize=False)),\n'
    '                ("email", models.EmailField(max_length=254, unique=True)),\n'
    "            ],\n"
    "        ),\n"
    "    ]\n"
)

_IEXACT_VIEWS = """\
from ads.models import Advertiser


def sign_up(email):
    advertiser, _ = Advertiser.objects.get_or_create(email__iexact=email, defaults={"email": email})
    return advertiser
"""

_TAGS = ads_migration(
    "    operations = [\n"
    '        migrations.CreateModel("Tag", [("id", models.BigAutoField(primary_key=True)), ("name", models.CharField(max_length=50))]),\n'
    "    ]\n"
)

_DATA_MIGRATION = """\
from django.db import migrations


def add_default_tags(apps, schema_editor):
    Tag = apps.get_model("ads", "Tag")
    for name in ("sale", "new"):
        Tag.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("ads", "0002_auto")]
    operations = [migrations.RunPython(add_default_tags, migrations.RunPython.noop)]
"""

_UNIQUE_TOGETHER = ads_migration(
    "    operations = [\n"
    "        migrations.AlterUniqueTogether(\n"
    '            name="impressioncounter", unique_together={("ad", "impression_date")}\n'
    "        ),\n"
    "    ]\n"
)

_CONSTRAINT = ads_migration(
    "    operations = [\n"
    "        migrations.AddConstraint(\n"
    '            model_name="impressioncounter",\n'
    "            constraint=models.UniqueConstraint(\n"
    '                fields=["ad", "impression_date"], name="ads_impressioncounter_ad_day_uniq"\n'
    "            ),\n"
    "        ),\n"
    "    ]\n"
)

_PK_VIEWS = """\
from ads import models


def touch(ad_id, title):
    models.Ad.objects.update_or_create(pk=ad_id, defaults={"title": title})
    models.Ad._default_manager.get_or_create(id=ad_id)
"""

_MANAGER_MODELS = """\
from django.db import IntegrityError, models, transaction


class CounterManager(models.Manager):
    def get_or_create(self, defaults=None, **kwargs):
        # Serialised on the ad's row: only one request at a time creates its counter.
        with transaction.atomic():
            Ad.objects.select_for_update().get(pk=kwargs["ad"].pk)
            return super().get_or_create(defaults, **kwargs)


class Ad(models.Model):
    title = models.CharField(max_length=200)


class ImpressionCounter(models.Model):
    ad = models.ForeignKey(Ad, on_delete=models.CASCADE, related_name="impressions")
    impression_date = models.DateField()
    count = models.PositiveIntegerField(default=0)

    objects = CounterManager()
"""

_UNKNOWN_VIEWS = """\
def warm(cache, registry, key):
    cache.get_or_create(key)
    registry.models[key].objects.get_or_create(name=key)
"""


class GetOrCreateWithoutUniqueLookup(Rule):
    """get_or_create or update_or_create whose lookup no unique constraint covers.

    ## What it does
    Finds every `get_or_create`, `update_or_create`, `aget_or_create` and `aupdate_or_create`
    in the application code (the whole project, or the files given) and in data migrations,
    works out the model it is called on (`Model.objects`, any manager, `_default_manager`, a
    queryset such as `Model.objects.filter(a=1)`, a related manager such as `ad.click_set`,
    `apps.get_model("app", "Model")`), and reports it when no unique set of that model is a
    subset of the lookup's fields: primary key, `unique=True` fields, `unique_together`, and
    `UniqueConstraint` over plain fields. The lookup is the keyword arguments without
    `defaults`/`create_defaults`, plus a queryset's `filter()` and a related manager's foreign
    key; `pk`, `<fk>_id` and `__exact` are normalised. A lookup with other operators
    (`email__iexact`, `__in`) is reported too: no unique constraint makes that race-free.

    The constraints are read from the migrations (the database has what they create), not
    from models.py (ML303 reports a constraint only models.py has). Calls whose model cannot
    be told statically, whose lookup is built at run time (`**kwargs`, a custom queryset
    method), or that go through a manager overriding the method are not judged; `--verbose`
    counts them.

    Which calls: every Python file under the project root (virtual environments, hidden
    folders and `migrations` folders skipped), or only the application files and folders
    given on the command line. When only migration files are given (pre-commit), the calls on
    the models those migrations create or change are reported; with `--base`, the calls in
    changed files too. Only files that contain `get_or_create` or `update_or_create` are
    parsed. Suppress a call with `# noqa: ML301` on its lines.

    ## Why is this bad?
    `get_or_create` is a SELECT followed by an INSERT. Two requests that arrive together both
    find nothing and both insert: the table now holds two rows for one lookup, and every later
    `get()` or `get_or_create()` with that lookup raises `MultipleObjectsReturned`. Only a unique
    constraint over the lookup's fields makes the second INSERT fail, which `get_or_create`
    catches (IntegrityError) and answers with the row the first request created.

    ## Example
    ```python
    counter, _ = ImpressionCounter.objects.get_or_create(ad=ad, impression_date=day)
    ```

    ## Use instead
    Add the UniqueConstraint the lookup needs:
    ```python
    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["ad", "impression_date"],
                name="ads_impressioncounter_ad_impression_date_uniq",
            ),
        ]
    ```
    On an existing table, remove the duplicates the call has already created first (ML102),
    and on PostgreSQL build the constraint concurrently (ML101). The fix plan writes both
    migrations with your app, model and field names.
    """

    code = "ML301"
    name = "get-or-create-without-unique-lookup"
    severity = Severity.ERROR
    scope = "project"

    flagged = (
        Example(
            title="Counting impressions per ad and day (ads/views.py)",
            app_label="ads",
            files=(("ads/models.py", ADS_MODELS), ("ads/views.py", ADS_VIEWS)),
            source=ADS_INITIAL,
            line=12,
        ),
        Example(
            title="A related manager: the foreign key joins the lookup (ads/views.py)",
            app_label="ads",
            files=(("ads/models.py", ADS_MODELS), ("ads/views.py", _RELATED_VIEWS)),
            source=ADS_INITIAL,
            line=5,
        ),
        Example(
            title="A case-insensitive lookup, even on a unique field (ads/views.py)",
            app_label="ads",
            history=(ADS_INITIAL,),
            files=(("ads/views.py", _IEXACT_VIEWS),),
            source=_ADVERTISER,
            line=5,
        ),
        Example(
            title="A data migration, through apps.get_model",
            app_label="ads",
            history=(ADS_INITIAL, _TAGS),
            source=_DATA_MIGRATION,
            line=7,
        ),
    )
    accepted = (
        Example(
            title="unique_together covers the lookup",
            app_label="ads",
            history=(ADS_INITIAL,),
            files=(("ads/models.py", ADS_MODELS), ("ads/views.py", ADS_VIEWS)),
            source=_UNIQUE_TOGETHER,
        ),
        Example(
            title="A UniqueConstraint covers the related manager's lookup",
            app_label="ads",
            history=(ADS_INITIAL,),
            files=(("ads/models.py", ADS_MODELS), ("ads/views.py", _RELATED_VIEWS)),
            source=_CONSTRAINT,
        ),
        Example(
            title="Looked up by primary key",
            app_label="ads",
            files=(("ads/models.py", ADS_MODELS), ("ads/views.py", _PK_VIEWS)),
            source=ADS_INITIAL,
        ),
        Example(
            title="The model's manager overrides get_or_create",
            app_label="ads",
            files=(("ads/models.py", _MANAGER_MODELS), ("ads/views.py", ADS_VIEWS)),
            source=ADS_INITIAL,
        ),
        Example(
            title="Not a model's manager, or a model not known statically",
            app_label="ads",
            files=(("ads/models.py", ADS_MODELS), ("ads/cache.py", _UNKNOWN_VIEWS)),
            source=ADS_INITIAL,
        ),
    )

    def check_project(self, ctx: LintContext) -> Iterator[Finding]:
        for judged in calls(ctx):
            site = judged.site
            if judged.verdict.status != "uncovered" or declared_covers(judged):
                continue
            fields = ", ".join(site.lookup) or "no field"
            if site.operators:
                ops = ", ".join(f"`{o}`" for o in site.operators)
                verb = (
                    "is not an exact lookup"
                    if len(site.operators) == 1
                    else "are not exact lookups"
                )
                covers = (
                    f", and no unique constraint covers ({fields})"
                    if site.lookup
                    else ", so no unique constraint can cover it"
                )
                message = (
                    f"`{site.text}` can create duplicate {site.model} rows{when(site)}: {ops} "
                    f"{verb}{covers}"
                )
                help = (
                    "look up exact values (normalise them before saving) and add a unique "
                    f"constraint over them; {constraint_help(site)}"
                    if site.lookup
                    else "look up exact values (normalise them before saving) and add a unique "
                    "constraint over those fields"
                )
            else:
                message = (
                    f"`{site.text}` can create duplicate {site.model} rows{when(site)}: no "
                    f"unique constraint covers ({fields})"
                )
                help = constraint_help(site)
            yield finding(self.code, self.severity, site, message, help, plan(ctx, site))
