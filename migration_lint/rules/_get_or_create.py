"""What the ML3xx rules share: which judged calls a run reports, findings at the call site, and
the small ads app their examples build on."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migration_lint.context import LintContext
from migration_lint.findings import Finding, FixStep, Severity

if TYPE_CHECKING:
    from migration_lint.analysis.lookups import Judged, ModelIndex
    from migration_lint.appcode import CallSite

# The scan (appcode, and appscan when a file needs parsing; about 15 ms to import) is
# imported when a get_or_create rule runs, not when the rules are registered.

_TOUCHING = ("name", "model_name", "old_name", "new_name")


def _touched_models(ctx: LintContext) -> set[tuple[str, str]]:
    cached = ctx.memo.get("appcode.touched")
    if cached is not None:
        return cached  # type: ignore[return-value]
    out: set[tuple[str, str]] = set()
    for facts in ctx.targets:
        for op in facts.all_operations():
            for arg in _TOUCHING:
                value = op.kwargs.get(arg)
                if isinstance(value, str):
                    out.add((facts.app_label, value.lower()))
    ctx.memo["appcode.touched"] = out
    return out


def _changed(ctx: LintContext) -> set[Path] | None:
    options = ctx.options
    if options is None or not options.since:
        return None
    cached = ctx.memo.get("appcode.changed")
    if cached is None:
        from migration_lint import gitutil

        cached = ctx.memo["appcode.changed"] = gitutil.changed_files(options.since, ctx.root)
    return cached  # type: ignore[return-value]


def _only_migrations_given(ctx: LintContext) -> bool:
    """The run names migration files only (pre-commit, the rule examples). Asked for every
    call the scan found: answered once per run, each path is resolved on the disk."""
    known = ctx.memo.get("only_migrations_given")
    if known is None:
        known = ctx.memo["only_migrations_given"] = _names_migrations_only(ctx.options)
    return bool(known)


def _names_migrations_only(options: Any) -> bool:
    if options is None or not options.paths:
        return False
    from migration_lint.appfiles import is_migration_path

    return all(
        Path(p).suffix == ".py" and is_migration_path(Path(p).resolve()) for p in options.paths
    )


def _appcode() -> Any:
    from migration_lint import appcode

    return appcode


def reported(ctx: LintContext, site: CallSite) -> bool:
    """Does this run report on the call?

    Everything scanned, except: with ``--exclude`` or app labels, what they leave out; when
    only migration files were given (pre-commit passes those), the calls on the models those
    migrations create or change (a migration that drops a constraint must bring up the calls
    that relied on it, not every call of the project); with ``--since``, the calls in files
    changed since the base and the calls on models the linted migrations touch.
    """
    options = ctx.options
    if options is not None:
        names = (site.app_label or "", site.label, site.path)
        if any(fnmatch.fnmatch(n, p) for p in options.exclude for n in names):
            return False
        if options.app_labels and site.app_label not in options.app_labels:
            return False
    if site.migration is not None:
        return True
    touched = (site.app_label or "", (site.model or "").lower()) in _touched_models(ctx)
    changed = _changed(ctx)
    if changed is not None:
        return touched or Path(site.path).resolve() in changed
    if _only_migrations_given(ctx):
        return touched
    return True


def calls(ctx: LintContext) -> Iterator[Judged]:
    """The judged calls ``code`` reports on; ``# noqa`` comments are the suppress stage's."""
    from migration_lint.appfiles import any_call

    if not any_call(ctx):
        return
    from migration_lint.analysis.lookups import judged_calls

    for judged in judged_calls(ctx):
        if reported(ctx, judged.site):
            yield judged


def index_for(ctx: LintContext, site: CallSite) -> ModelIndex:
    scan = _appcode().load(ctx)
    index = scan.migration_indexes.get(site.migration) if site.migration else scan.index
    assert index is not None
    return index


def declared_covers(judged: Judged) -> bool:
    """models.py declares a unique set that covers the lookup, but no migration creates it."""
    return judged.declared is not None and judged.declared.status == "covered"


def finding(
    code: str,
    severity: Severity,
    site: CallSite,
    message: str,
    help: str,
    fix: tuple[FixStep, ...] = (),
    target: str | None = None,
) -> Finding:
    return Finding(
        code=code,
        severity=severity,
        path=site.path,
        line=site.line,
        column=site.column,
        end_line=site.end_line,
        message=message,
        help=help,
        fix=fix,
        app_label=site.app_label,
        migration=site.migration[1] if site.migration else None,
        target=target,
        extra={
            "model": site.label,
            "method": site.method,
            "lookup": list(site.lookup),
            "operators": list(site.operators),
        },
    )


def when(site: CallSite) -> str:
    """How the message places the call in time: data migrations run at one point of history."""
    if site.migration is not None:
        return f" when {site.migration[1]} runs"
    return ""


def plan(ctx: LintContext, site: CallSite) -> tuple[FixStep, ...]:
    """The constraint the lookup needs and the safe route to add it (ML102's dedupe, ML101's build)."""
    index = index_for(ctx, site)
    key = (site.app_label or "", (site.model or "").lower())
    fields = site.lookup
    owners = {(found[0] if (found := index.field(key, f)) else key) for f in fields}
    owner = owners.pop() if len(owners) == 1 else None
    model = index.get(owner) if owner else None
    if not fields or model is None or site.migration is not None:
        return ()
    nulls = any(
        (state := model.field(f)) is not None and state.null and f in site.none_fields
        for f in fields
    )
    from migration_lint.lookup_plans import lookup_plan

    return lookup_plan(ctx.history, model, fields, ctx.vendor_names(), nulls=nulls)


def constraint_help(site: CallSite) -> str:
    fields = ", ".join(f'"{f}"' for f in site.lookup)
    if site.migration is not None:
        return (
            f"add UniqueConstraint(fields=[{fields}]) to {site.model} in a migration before "
            f"this one (ML101/ML102 show how on an existing table), or look up a unique field"
        )
    return (
        f"add UniqueConstraint(fields=[{fields}]) to {site.model}; on an existing table remove "
        "the duplicates first (ML102) and build it concurrently on PostgreSQL (ML101): fix plan "
        "below"
    )


# --- the examples' ads app -------------------------------------------------------------------

ADS_MODELS = """\
from django.db import models


class Ad(models.Model):
    title = models.CharField(max_length=200)


class ImpressionCounter(models.Model):
    ad = models.ForeignKey(Ad, on_delete=models.CASCADE, related_name="impressions")
    impression_date = models.DateField()
    count = models.PositiveIntegerField(default=0)
"""

ADS_INITIAL = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel(
            name="Ad",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("title", models.CharField(max_length=200)),
            ],
        ),
        migrations.CreateModel(
            name="ImpressionCounter",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("ad", models.ForeignKey(on_delete=models.CASCADE, related_name="impressions", to="ads.ad")),
                ("impression_date", models.DateField()),
                ("count", models.PositiveIntegerField(default=0)),
            ],
        ),
    ]
"""

ADS_VIEWS = """\
from django.db.models import F
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone

from .models import Ad, ImpressionCounter


def record_impression(request, ad_id):
    ad = get_object_or_404(Ad, pk=ad_id)
    day = timezone.localdate()
    counter, _ = ImpressionCounter.objects.get_or_create(ad=ad, impression_date=day)
    ImpressionCounter.objects.filter(pk=counter.pk).update(count=F("count") + 1)
    return HttpResponse(status=204)
"""


def ads_migration(body: str, imports: str = "from django.db import migrations, models\n") -> str:
    """A migration of the ads app on top of ``ADS_INITIAL``."""
    return (
        imports
        + '\n\nclass Migration(migrations.Migration):\n    dependencies = [("ads", "0001_initial")]\n'
        + body
    )
