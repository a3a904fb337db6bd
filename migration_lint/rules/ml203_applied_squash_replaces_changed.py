"""ML203: the ``replaces`` list of a squash migration that already ran was changed."""

from __future__ import annotations

from collections.abc import Iterator

from migration_lint.context import LintContext
from migration_lint.facts import Span
from migration_lint.findings import Finding, FixStep, Severity
from migration_lint.integrity.normal import Unreadable, normalise, show_dependency
from migration_lint.integrity.sources import (
    absolute,
    excluded,
    frozen,
    parse_key,
    unchanged_since_recorded,
)
from migration_lint.rules._history import HEADER, INITIAL, NOTE, class_span, finding, lock_file
from migration_lint.rules.base import Example, Rule

_FIRST = "shop/migrations/0001_first.py"
_NOTE_PATH = "shop/migrations/0002_note.py"
_PAID_PATH = "shop/migrations/0003_paid.py"
_SECOND = NOTE.replace('"0001_initial"', '"0001_first"')
_PAID = (
    HEADER
    + """\
    dependencies = [("shop", "0002_note")]
    operations = [migrations.AddField("order", "paid", models.BooleanField(default=False))]
"""
)
_REPLACES = '    replaces = [("shop", "0001_first"), ("shop", "0002_note")]\n'
_SQUASH = (
    HEADER
    + _REPLACES
    + """\
    operations = [
        migrations.CreateModel(
            name="Order",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("reference", models.CharField(max_length=32)),
                ("note", models.TextField(default="")),
            ],
        ),
    ]
"""
)
_RAN = lock_file(
    (_FIRST, INITIAL), (_NOTE_PATH, _SECOND), ("shop/migrations/0001_initial.py", _SQUASH)
)


class AppliedSquashReplacesChanged(Rule):
    """Squash migration that already ran now replaces other migrations.

    ## What it does
    Reports a change to `replaces` of a squash migration known to have run (git base,
    `migrations.lock`, or the `--data-url` database with either of the others to say what it
    replaced): an added entry, or a removed entry whose original migration is still on disk.

    Removing entries whose originals are deleted is the last step of Django's squash workflow
    (delete the originals once the squash ran everywhere, point their dependents at the squash,
    remove `replaces`) and is not reported; neither is adding a new squash.

    ## Why is this bad?
    Django decides from `replaces` whether a squash counts as applied: when every migration it
    replaces is recorded in `django_migrations` it is marked applied without running, and when
    some are it stands aside for the originals. Databases that ran the squash recorded the
    originals it replaced then. With another list, Django marks as applied a migration that never
    ran there, or runs again one that did, and a fresh database and an old one end up with
    different schemas.

    ## Use instead
    Keep `replaces` as it was. To fold more migrations in, squash again into a new squash
    migration (`python manage.py squashmigrations`).
    """

    code = "ML203"
    name = "applied-squash-replaces-changed"
    severity = Severity.ERROR
    scope = "project"

    flagged = (
        Example(
            title="An original dropped from replaces while its file is still there",
            files=(_RAN, (_FIRST, INITIAL), (_NOTE_PATH, _SECOND)),
            source=_SQUASH.replace(_REPLACES, '    replaces = [("shop", "0001_first")]\n'),
            line=5,
        ),
        Example(
            title="Another migration added to replaces",
            files=(_RAN, (_FIRST, INITIAL), (_NOTE_PATH, _SECOND), (_PAID_PATH, _PAID)),
            source=_SQUASH.replace(
                _REPLACES,
                '    replaces = [("shop", "0001_first"), ("shop", "0002_note"), ("shop", "0003_paid")]\n',
            ),
            line=5,
        ),
    )
    accepted = (
        Example(
            title="replaces removed after the originals were deleted (Django's last squash step)",
            files=(_RAN,),
            source=_SQUASH.replace(_REPLACES, ""),
        ),
        Example(
            title="A new squash of migrations that ran",
            files=(
                lock_file((_FIRST, INITIAL), (_NOTE_PATH, _SECOND)),
                (_FIRST, INITIAL),
                (_NOTE_PATH, _SECOND),
            ),
            source=_SQUASH,
        ),
    )

    def check_project(self, ctx: LintContext) -> Iterator[Finding]:
        targets = [
            t
            for t in ctx.targets
            if t.is_migration
            and t.parse_error is None
            and not excluded(ctx, t.app_label, t.name, t.path)
        ]
        if not targets:
            return
        state = frozen(ctx)
        for facts in targets:
            baselines = state.baselines_of(facts)
            if not baselines:
                continue
            try:
                data = absolute(facts.path).read_bytes()
            except OSError:
                continue
            for baseline in sorted(
                unchanged_since_recorded(baselines, data), key=lambda b: b.kind != "git"
            ):
                if baseline.snapshot is None or (
                    baseline.kind == "git" and baseline.key != facts.key
                ):
                    continue
                if not baseline.snapshot.replaces and not facts.replaces:
                    break
                try:
                    current = normalise(data)
                except Unreadable:
                    break
                if current is None:
                    break
                before, after = set(baseline.snapshot.replaces), set(current.replaces)
                added = sorted(after - before)
                kept = sorted(
                    r
                    for r in before - after
                    if parse_key(r) in ctx.history.migrations
                    or any(f.key == parse_key(r) for f in state.present.values())
                )
                if not added and not kept:
                    break
                line = facts.replaces[0].line if facts.replaces else 0
                span = Span(line, 1, line, 1) if line else class_span(facts)
                what = []
                if added:
                    what.append("+ " + ", ".join(show_dependency(r) for r in added))
                if kept:
                    what.append("- " + ", ".join(show_dependency(r) for r in kept))
                old_list = ", ".join(show_dependency(r) for r in sorted(before))
                yield finding(
                    self,
                    facts.path,
                    span,
                    f"squash {facts.app_label}.{facts.name} already ran ({baseline.where}) and "
                    f"its replaces changed ({'; '.join(what)}): Django will mark migrations "
                    "applied that never ran, or run again ones that did",
                    "keep replaces as it was; squash again into a new migration to fold in more",
                    fix=(
                        FixStep(
                            "Restore replaces",
                            "The list the squash had when it ran.",
                            f"replaces = [{old_list}]" if before else "# no replaces",
                            path=facts.path,
                        ),
                    ),
                    app_label=facts.app_label,
                    migration=facts.name,
                    extra={"applied": baseline.where, "added": added, "removed": kept},
                )
                break
