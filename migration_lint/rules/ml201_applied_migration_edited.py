"""ML201: a migration that already ran was edited, and the edit changes what it does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from migration_lint.context import LintContext
from migration_lint.facts import MigrationFacts, Span
from migration_lint.findings import Finding, FixStep, Severity
from migration_lint.integrity import plans
from migration_lint.integrity.normal import Change, NormalForm, Unreadable, compare, normalise
from migration_lint.integrity.sources import (
    Baseline,
    Frozen,
    absolute,
    excluded,
    frozen,
    unchanged_since_recorded,
)
from migration_lint.rules._history import (
    HEADER,
    INITIAL,
    NOTE,
    class_span,
    dependency_span,
    finding,
    latest,
    lock_file,
)
from migration_lint.rules.base import Example, Rule

_I, _N = "shop/migrations/0001_initial.py", "shop/migrations/0002_auto.py"

_SQL = (
    HEADER
    + """\
    dependencies = [("shop", "0001_initial")]
    operations = [
        migrations.RunSQL(
            "UPDATE shop_order SET reference = upper(reference)",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
"""
)

_PYTHON = """\
from django.db import migrations


def fill_reference(apps, schema_editor):
    Order = apps.get_model("shop", "Order")
    Order.objects.filter(reference="").update(reference="none")


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.RunPython(fill_reference, migrations.RunPython.noop)]
"""

_SQUASH = (
    HEADER
    + """\
    replaces = [("shop", "0001_initial"), ("shop", "0002_auto")]
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

_AFTER_NOTE = (
    HEADER
    + """\
    dependencies = [("shop", "0002_auto")]
    operations = [
        migrations.AddField("order", "paid", models.BooleanField(default=False)),
    ]
"""
)


class AppliedMigrationEdited(Rule):
    """Migration that already ran was edited, and the edit changes what it does.

    ## What it does
    Compares every linted migration that is known to have run with the version that ran, and
    reports a change of meaning: an operation or any of its arguments, an added or removed
    operation, `dependencies`, `run_before`, `atomic`, `initial`, the SQL of a `RunSQL`, or the
    code of the functions a `RunPython` calls. The finding lists what changed. Reformatting,
    comments, docstrings, the order of imports and keyword arguments, and whitespace or comments
    in SQL are not changes.

    A migration counts as run when it exists at the git base (`--base REF`, by default where
    HEAD left the main branch: config `main-branch`, else `origin/main`, `main`,
    `origin/master`, `master`), when `migrations.lock` records it (`migration-lint lock`), or
    when the `--data-url` database lists it in `django_migrations`. Git and the lock file hold
    the version that ran, so they are what the comparison uses.

    ## Why is this bad?
    Django records only the app and name of an applied migration. `migrate` skips the edited
    migration on every database that ran it, so those keep the old column, constraint or data
    while new databases get the new one; `makemigrations --check` passes once the model matches
    the edit, and nothing reports the difference until production behaves differently.

    ## Use instead
    Revert the edit and make the change in a new migration that depends on the app's latest.
    The fix plan writes it: a changed field becomes an `AlterField`, a changed constraint or
    index is removed and added again, an added operation moves as it is.
    """

    code = "ML201"
    name = "applied-migration-edited"
    severity = Severity.ERROR
    scope = "project"

    flagged = (
        Example(
            title="A field changed in a migration the lock file records",
            files=(lock_file((_I, INITIAL), (_N, NOTE)),),
            history=(INITIAL,),
            source=NOTE.replace('models.TextField(default="")', "models.TextField(null=True)"),
            line=7,
        ),
        Example(
            title="The SQL of an applied RunSQL changed",
            files=(lock_file((_I, INITIAL), (_N, _SQL)),),
            history=(INITIAL,),
            source=_SQL.replace("upper(reference)", "lower(reference)"),
            line=7,
        ),
        Example(
            title="The function an applied RunPython calls changed",
            files=(lock_file((_I, INITIAL), (_N, _PYTHON)),),
            history=(INITIAL,),
            source=_PYTHON.replace('update(reference="none")', 'update(reference="n/a")'),
            line=11,
        ),
    )
    accepted = (
        Example(
            title="Reformatted, commented, imports reordered: the same meaning",
            files=(lock_file((_I, INITIAL), (_N, NOTE)),),
            history=(INITIAL,),
            source='''\
"""Order notes."""
from django.db import models, migrations


class Migration(migrations.Migration):
    atomic = True  # the default, spelled out

    dependencies = [
        ("shop", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="note",
            field=models.TextField(default=""),  # free text
        ),
    ]
''',
        ),
        Example(
            title="A new migration, not recorded yet, may change freely",
            files=(lock_file((_I, INITIAL)),),
            history=(INITIAL,),
            source=NOTE.replace('models.TextField(default="")', "models.TextField(null=True)"),
        ),
        Example(
            title="A dependency moved to the squash that replaces it (Django's squash workflow)",
            files=(
                ("shop/migrations/0001_squashed_0002_auto.py", _SQUASH),
                lock_file(
                    (_I, INITIAL),
                    (_N, NOTE),
                    ("shop/migrations/0001_squashed_0002_auto.py", _SQUASH),
                    ("shop/migrations/0003_auto.py", _AFTER_NOTE),
                ),
            ),
            history=(INITIAL, NOTE),
            source=_AFTER_NOTE.replace('"0002_auto"', '"0001_squashed_0002_auto"'),
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
            baselines = [
                b for b in state.baselines_of(facts) if b.kind == "lock" or b.key == facts.key
            ]
            if not baselines:
                continue
            try:
                data = absolute(facts.path).read_bytes()
            except OSError:
                continue
            baselines = unchanged_since_recorded(baselines, data)
            if not baselines:
                continue
            try:
                current = normalise(data, keep_nodes=True)
            except Unreadable:
                continue
            if current is None:
                continue
            for baseline in sorted(baselines, key=lambda b: b.kind != "git"):
                found = self._compare(ctx, state, facts, baseline, current)
                if found is not None:
                    yield found
                    break

    def _compare(
        self,
        ctx: LintContext,
        state: Frozen,
        facts: MigrationFacts,
        baseline: Baseline,
        current: NormalForm,
    ) -> Finding | None:
        label = f"{facts.app_label}.{facts.name}"
        if baseline.snapshot is None:
            if baseline.error is None:
                return None
            return finding(
                self,
                facts.path,
                class_span(facts),
                f"{label} cannot be compared with the version that ran ({baseline.where}): "
                f"that version does not parse ({baseline.error})",
                "check by hand that this file does what the applied version did",
                app_label=facts.app_label,
                migration=facts.name,
                severity=Severity.WARNING,
            )
        if getattr(baseline.snapshot, "hash", None) == current.digest:
            return None
        changes = compare(baseline.snapshot, current, state.substitute)
        if not changes:
            return None
        first = changes[0]
        more = f" (and {len(changes) - 1} more)" if len(changes) > 1 else ""
        leaves = ctx.history.leaves(facts.app_label)
        depend_on = latest(leaves) or facts.name
        message = (
            f"{label} already ran ({baseline.where}); databases that ran it never get this "
            f"edit: {first.summary}{more}"
        )
        return finding(
            self,
            facts.path,
            _where(facts, first),
            message,
            f"revert the edit and make the change in a new migration that depends on "
            f"{facts.app_label}.{depend_on}",
            fix=self._plan(ctx, facts, baseline, changes, depend_on),
            app_label=facts.app_label,
            migration=facts.name,
            extra={"changes": [c.summary for c in changes], "applied": baseline.where},
        )

    def _plan(
        self,
        ctx: LintContext,
        facts: MigrationFacts,
        baseline: Baseline,
        changes: list[Change],
        depend_on: str,
    ) -> tuple[FixStep, ...]:
        lines: list[str] = []
        for change in changes:
            lines.append(change.summary)
            lines.extend(f"  {d}" for d in change.details)
        if baseline.restore:
            revert = FixStep(
                "Revert the edit",
                "What changed since the version that ran:\n" + "\n".join(lines),
                baseline.restore,
                path=facts.path,
            )
        else:
            revert = FixStep(
                "Revert the edit",
                "Restore the version the lock file records (from version control). What "
                "changed since then:\n" + "\n".join(lines),
                f"git log -p -- {facts.path}",
                path=facts.path,
            )
        carried = plans.carry(changes, baseline.facts, facts)
        names = [n for (app, n) in ctx.history.migrations if app == facts.app_label]
        slug = (
            carried.names[0] + ("_and_more" if len(carried.names) > 1 else "")
            if carried.names
            else "auto"
        )
        new_name = plans.next_name(names, slug)
        folder = Path(facts.path).parent
        steps = [revert]
        if carried.operations:
            explanation = "The change, for the databases that already ran the migration."
            if carried.by_hand:
                explanation += " Still to write by hand: " + "; ".join(carried.by_hand) + "."
            steps.append(
                FixStep(
                    "Make the change in a new migration",
                    explanation,
                    plans.migration_code(facts.app_label, depend_on, carried),
                    path=str(folder / f"{new_name}.py"),
                )
            )
        else:
            steps.append(
                FixStep(
                    "Make the change in a new migration",
                    "Edit the models (or write the operation) and let Django write it; it "
                    f"depends on {facts.app_label}.{depend_on}.",
                    f"python manage.py makemigrations {facts.app_label}",
                )
            )
        return tuple(steps)


def _where(facts: MigrationFacts, change: Change) -> Span:
    if change.new_index is not None and change.new_index < len(facts.operations):
        return facts.operations[change.new_index].span
    if change.kind in ("dependencies", "run_before"):
        return dependency_span(facts)
    return class_span(facts)
