"""ML302: get_or_create whose lookup a unique constraint covers only in part."""

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

_CONDITIONAL = ads_migration(
    "    operations = [\n"
    '        migrations.AddField("impressioncounter", "archived", models.BooleanField(default=False)),\n'
    "        migrations.AddConstraint(\n"
    '            model_name="impressioncounter",\n'
    "            constraint=models.UniqueConstraint(\n"
    '                fields=["ad", "impression_date"],\n'
    "                condition=models.Q(archived=False),\n"
    '                name="ads_live_counter_uniq",\n'
    "            ),\n"
    "        ),\n"
    "    ]\n"
)

_CONDITION_IMPLIED_VIEWS = """\
from .models import ImpressionCounter


def record_impression(ad, day):
    counter, _ = ImpressionCounter.objects.get_or_create(ad=ad, impression_date=day, archived=False)
    return counter
"""

_CATEGORIES = ads_migration(
    "    operations = [\n"
    "        migrations.CreateModel(\n"
    '            name="Category",\n'
    "            fields=[\n"
    '                ("id", models.BigAutoField(primary_key=True, serialize=False)),\n'
    '                ("name", models.CharField(max_length=100)),\n'
    '                ("parent", models.ForeignKey(null=True, on_delete=models.CASCADE, to="ads.category")),\n'
    "            ],\n"
    '            options={"unique_together": {("parent", "name")}},\n'
    "        ),\n"
    "    ]\n"
)

_ROOT_CATEGORY_VIEWS = """\
from ads.models import Category


def top_level(name):
    category, _ = Category.objects.get_or_create(parent=None, name=name)
    return category
"""

_CHILD_CATEGORY_VIEWS = """\
from ads.models import Category


def child(parent: Category, name):
    category, _ = Category.objects.get_or_create(parent=parent, name=name)
    return category
"""

_ADVERTISER_INCLUDE = ads_migration(
    "    operations = [\n"
    "        migrations.CreateModel(\n"
    '            name="Advertiser",\n'
    "            fields=[\n"
    '                ("id", models.BigAutoField(primary_key=True, serialize=False)),\n'
    '                ("name", models.CharField(max_length=200)),\n'
    '                ("email", models.EmailField(max_length=254)),\n'
    "            ],\n"
    "            options={\n"
    '                "constraints": [\n'
    "                    models.UniqueConstraint(\n"
    '                        fields=["email"], include=["name"], name="ads_advertiser_email_uniq"\n'
    "                    ),\n"
    "                ],\n"
    "            },\n"
    "        ),\n"
    "    ]\n"
)

_ADVERTISER_VIEWS = """\
from ads.models import Advertiser


async def sign_up(email, name):
    advertiser, _ = await Advertiser.objects.aupdate_or_create(email=email, defaults={"name": name})
    return advertiser
"""


class GetOrCreatePartlyUnique(Rule):
    """get_or_create or update_or_create whose lookup a unique constraint covers only in part.

    ## What it does
    Reports a `get_or_create`-family call (see ML301) whose lookup fields are covered only by
    unique sets that do not always hold for it:
    - a `UniqueConstraint` with a `condition` the lookup does not imply (the lookup implies
      `condition=Q(archived=False)` when it passes `archived=False` itself);
    - a unique set with a nullable field that the lookup sets to `None`: NULLs are distinct,
      so rows with a NULL there never conflict (unless `nulls_distinct=False`);
    - a constraint that a target database does not create: `condition`, `include`,
      `nulls_distinct` and `deferrable` on MySQL/MariaDB, `include`, `nulls_distinct` and
      `deferrable` on SQLite (Django only warns about these during `migrate`).

    ## Why is this bad?
    The lookup looks covered, but for these rows the database accepts the second INSERT, so
    two concurrent calls create two rows and later lookups raise `MultipleObjectsReturned`,
    exactly as with no constraint at all.

    ## Example
    ```python
    # unique_together = [("parent", "name")], parent nullable
    Category.objects.get_or_create(parent=None, name=name)
    ```

    ## Use instead
    Pass the values the condition requires in the lookup, or add a plain UniqueConstraint over
    the lookup's fields (the fix plan writes it, with the dedupe step of ML102 and the
    concurrent build of ML101). For NULLs, use `nulls_distinct=False` (Django 5.0+, PostgreSQL
    15+) or store a value instead of NULL.
    """

    code = "ML302"
    name = "get-or-create-partly-unique"
    severity = Severity.WARNING
    scope = "project"

    flagged = (
        Example(
            title="A conditional constraint the lookup does not imply (ads/views.py)",
            app_label="ads",
            history=(ADS_INITIAL,),
            files=(("ads/models.py", ADS_MODELS), ("ads/views.py", ADS_VIEWS)),
            source=_CONDITIONAL,
            targets=("postgresql", "sqlite"),
            line=12,
        ),
        Example(
            title="NULL in a unique_together field (ads/views.py)",
            app_label="ads",
            history=(ADS_INITIAL,),
            files=(("ads/views.py", _ROOT_CATEGORY_VIEWS),),
            source=_CATEGORIES,
            line=5,
        ),
        Example(
            title="MySQL does not create a constraint with include= (ads/views.py)",
            app_label="ads",
            history=(ADS_INITIAL,),
            files=(("ads/views.py", _ADVERTISER_VIEWS),),
            source=_ADVERTISER_INCLUDE,
            targets=("postgresql", "mysql"),
            line=5,
        ),
    )
    accepted = (
        Example(
            title="The lookup implies the condition (PostgreSQL and SQLite create it)",
            app_label="ads",
            history=(ADS_INITIAL,),
            files=(("ads/views.py", _CONDITION_IMPLIED_VIEWS),),
            source=_CONDITIONAL,
            targets=("postgresql", "sqlite"),
        ),
        Example(
            title="The nullable field is given an instance",
            app_label="ads",
            history=(ADS_INITIAL,),
            files=(("ads/views.py", _CHILD_CATEGORY_VIEWS),),
            source=_CATEGORIES,
        ),
        Example(
            title="include= on PostgreSQL only (--target postgresql)",
            app_label="ads",
            history=(ADS_INITIAL,),
            files=(("ads/views.py", _ADVERTISER_VIEWS),),
            source=_ADVERTISER_INCLUDE,
            targets=("postgresql",),
        ),
    )

    def check_project(self, ctx: LintContext) -> Iterator[Finding]:
        for judged in calls(ctx):
            site = judged.site
            verdict = judged.verdict
            if verdict.status != "partial" or declared_covers(judged):
                continue
            first = verdict.shortfalls[0]
            what = first.rule.describe()
            reasons = "; ".join(first.reasons)
            others = len(verdict.shortfalls) - 1
            more = f" (and {others} other unique set(s) fall short the same way)" if others else ""
            vendors = {v for s in verdict.shortfalls for v in s.vendors}
            only_vendor = (
                all(len(s.reasons) == len(s.vendors) for s in verdict.shortfalls)
                and len(vendors) == 1
            )
            message = (
                f"`{site.text}` can still create duplicate {site.model} rows{when(site)}: "
                f"{what} covers the lookup, but {reasons}{more}"
            )
            kinds = first.kinds
            fields = ", ".join(f'"{f}"' for f in site.lookup)
            if "null" in kinds:
                help = (
                    "pass a value instead of None, or make NULLs conflict: "
                    f"UniqueConstraint(fields=[{fields}], nulls_distinct=False) (Django 5.0+, "
                    "PostgreSQL 15+; fix plan below)"
                )
            elif "condition" in kinds:
                help = (
                    "pass the values the condition requires in the lookup, or "
                    + constraint_help(site)
                )
            else:
                help = constraint_help(site)
            yield finding(
                self.code,
                self.severity,
                site,
                message,
                help,
                plan(ctx, site),
                target=vendors.pop() if only_vendor else None,
            )
