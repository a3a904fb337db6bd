"""ML202: a migration that already ran was deleted or renamed."""

from __future__ import annotations

import ast
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from migration_lint.context import LintContext
from migration_lint.facts import MigrationFacts
from migration_lint.findings import Finding, FixStep, Severity
from migration_lint.integrity import plans
from migration_lint.integrity.normal import Unreadable, normalise
from migration_lint.integrity.sources import (
    Baseline,
    Frozen,
    absolute,
    display,
    excluded,
    frozen,
    in_scope,
    key_text,
)
from migration_lint.rules._history import (
    HEADER,
    INITIAL,
    NOTE,
    class_span,
    finding,
    latest,
    lock_file,
)
from migration_lint.rules.base import Example, Rule

Key = tuple[str, str]
_I, _N = "shop/migrations/0001_initial.py", "shop/migrations/0002_auto.py"

_PAID = (
    HEADER
    + """\
    dependencies = [("shop", "0002_auto")]
    operations = [
        migrations.AddField("order", "paid", models.BooleanField(default=False)),
    ]
"""
)

_FIRST = INITIAL
_SECOND = NOTE.replace('"0001_initial"', '"0001_first"')
_SQUASH = (
    HEADER
    + """\
    replaces = [("shop", "0001_first"), ("shop", "0002_note")]
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
_SQUASHED_AWAY = _SQUASH.replace(
    '    replaces = [("shop", "0001_first"), ("shop", "0002_note")]\n', ""
)


@dataclass(frozen=True)
class _Gone:
    key: Key
    where: str
    baseline: Baseline | None = None
    renamed_to: MigrationFacts | None = None
    path: str = ""  # where the file was (or would be)


class AppliedMigrationRemoved(Rule):
    """Migration that already ran was deleted or renamed.

    ## What it does
    Reports a migration known to have run (it exists at the git base, `migrations.lock` records
    it, or the `--data-url` database lists it in `django_migrations`) whose file is gone: deleted,
    renamed (found by git's rename detection or by identical content under another name), or
    moved to a folder with another app label. A migration that a squash migration on disk
    `replaces` may go: that is how squashing ends.

    Squashing, step by step: adding a squash migration is fine (`replaces` lists the originals).
    Once the squash has run everywhere, Django's documentation says to delete the originals,
    point their dependents at the squash and remove `replaces`: none of that is reported, because
    the lock file and the git base still show which squash replaced them (`migration-lint lock`
    keeps them under `retired`, so `django_migrations` rows of deleted originals stay explained).

    ## Why is this bad?
    `django_migrations` records migrations by app label and name. A renamed migration is a new one
    to Django: every database that ran it runs it again and fails on the tables and columns it
    already made (or duplicates its data changes). A deleted one leaves its changes in every
    database that ran it while new databases never get them, and migrations that depend on it stop
    loading.

    ## Use instead
    Restore the file under its old name. To undo what it did, add a new migration that reverses it
    (the fix plan writes it when the operations allow). To keep a renamed app folder, keep its app
    label in the `AppConfig` (`label = "shop"`).
    """

    code = "ML202"
    name = "applied-migration-removed"
    severity = Severity.ERROR
    scope = "project"

    flagged = (
        Example(
            title="A migration the lock file records was deleted",
            files=(lock_file((_I, INITIAL), (_N, NOTE), ("shop/migrations/0003_paid.py", _PAID)),),
            history=(INITIAL,),
            source=NOTE,
            line=1,
        ),
        Example(
            title="A migration the lock file records was renamed",
            files=(lock_file((_I, INITIAL), ("shop/migrations/0002_add_note.py", NOTE)),),
            history=(INITIAL,),
            source=NOTE,
            line=4,
        ),
    )
    accepted = (
        Example(
            title="Squashed originals deleted after their squash ran (Django's last squash step)",
            files=(
                lock_file(
                    ("shop/migrations/0001_first.py", _FIRST),
                    ("shop/migrations/0002_note.py", _SECOND),
                    (_I, _SQUASH),
                ),
            ),
            source=_SQUASHED_AWAY,
        ),
        Example(
            title="Originals deleted while the squash that replaces them is on disk",
            files=(
                lock_file(
                    ("shop/migrations/0001_first.py", _FIRST),
                    ("shop/migrations/0002_note.py", _SECOND),
                ),
            ),
            source=_SQUASH,
        ),
        Example(
            title="A migration renamed before it was recorded (it never ran)",
            files=(lock_file((_I, INITIAL)),),
            history=(INITIAL,),
            source=NOTE,
        ),
    )

    def check_project(self, ctx: LintContext) -> Iterator[Finding]:
        state = frozen(ctx)
        if not state.any_source():
            return
        label_moves: dict[tuple[str, str], list[_Gone]] = {}
        for gone in self._gone(ctx, state):
            app, name = gone.key
            renamed = gone.renamed_to
            if not (in_scope(ctx, app) or (renamed and in_scope(ctx, renamed.app_label))):
                continue
            if excluded(ctx, app, name, gone.path):
                continue
            if renamed is not None and renamed.name == name and renamed.app_label != app:
                if _declared_label(Path(renamed.path).parent.parent) == app:
                    continue  # the AppConfig keeps the label: the same migrations to Django
                label_moves.setdefault((app, renamed.app_label), []).append(gone)
                continue
            yield self._report(ctx, state, gone)
        for (old, new), moves in sorted(label_moves.items()):
            yield self._label_change(old, new, moves)

    # -- what is gone ------------------------------------------------------------------------

    def _gone(self, ctx: LintContext, state: Frozen) -> list[_Gone]:
        history = ctx.history
        seen: set[Key] = set()
        out: list[_Gone] = []
        for b in sorted(state.baselines, key=lambda b: b.kind != "git"):
            if b.key in seen:
                continue
            seen.add(b.key)
            target = b.moved_to or b.path
            current = state.present.get(target)
            if current is not None and (current.key == b.key or b.kind == "lock"):
                continue  # still there (moved, or read under another label in this mode)
            if current is None and (b.key in history.migrations or target.exists()):
                continue  # moved with its name and label, or on disk but unreadable (ML901)
            if state.squash_of(b.key):
                continue
            renamed = current or self._same_content(state, b)
            out.append(_Gone(b.key, b.where, b, renamed, b.shown))
        if state.applied:
            local = self._local_folders(ctx, state)
            for key in sorted(state.applied - seen):
                if key in history.migrations or key[0] not in local:
                    continue
                if state.squash_of(key):
                    continue
                path = local[key[0]] / f"{key[1]}.py"
                if path.exists():
                    continue
                out.append(_Gone(key, state.applied_where, path=display(path)))
        return out

    @staticmethod
    def _local_folders(ctx: LintContext, state: Frozen) -> dict[str, Path]:
        root = ctx.root.resolve()
        folders: dict[str, Path] = {}
        for path, facts in sorted(state.present.items()):
            if root in path.parents:
                folders.setdefault(facts.app_label, path.parent)
        return folders

    @staticmethod
    def _same_content(state: Frozen, baseline: Baseline) -> MigrationFacts | None:
        """A migration on disk, not known to have run, whose operations and attributes are the
        ones ``baseline`` recorded: the same migration under a new name or app label."""
        if baseline.snapshot is None:
            return None
        wanted = (baseline.snapshot.attributes_digest, baseline.snapshot.operation_digests)
        app, name = baseline.key
        candidates = [
            f
            for f in state.present.values()
            if (f.app_label == app or f.name == name)
            and f.key != baseline.key
            and f.parse_error is None
            and not state.recorded(f.key)
        ]
        if not candidates:
            return None
        known = state.frozen_many(candidates)
        for facts in sorted(candidates, key=lambda f: (f.name != name, f.path)):
            if facts.key in known:
                continue
            try:
                form = normalise(absolute(facts.path).read_bytes())
            except (OSError, Unreadable):
                continue
            if form is not None and (form.attributes_digest, form.operation_digests) == wanted:
                return facts
        return None

    # -- findings ------------------------------------------------------------------------------

    def _report(self, ctx: LintContext, state: Frozen, gone: _Gone) -> Finding:
        app, name = gone.key
        label = f"{app}.{name}"
        renamed = gone.renamed_to
        if renamed is not None:
            return finding(
                self,
                renamed.path,
                class_span(renamed),
                f"{label} already ran ({gone.where}) and was renamed to {renamed.name}: Django "
                f"records migrations by name, so every database that ran it runs it again",
                f"rename it back to {name}.py and point dependencies back at it",
                fix=(
                    FixStep(
                        "Rename the file back",
                        "If the new name was meant to resolve a conflict between two branches, "
                        "add a merge migration instead (python manage.py makemigrations --merge).",
                        f"git mv {shlex.quote(renamed.path)} "
                        f"{shlex.quote(str(Path(renamed.path).with_name(name + '.py')))}",
                    ),
                ),
                app_label=renamed.app_label,
                migration=renamed.name,
                extra={"applied": gone.where, "renamed_from": key_text(gone.key)},
            )
        steps = [self._restore(gone)]
        baseline = gone.baseline
        if baseline is not None and baseline.facts is not None:
            carried = plans.reverse_all(baseline.facts)
            if carried.operations:
                names = [n for (a, n) in ctx.history.migrations if a == app]
                new_name = plans.next_name(names, carried.names[0] if carried.names else "undo")
                depend_on = latest(ctx.history.leaves(app)) or name
                steps.append(
                    FixStep(
                        f"To undo what {name} did, reverse it in a new migration",
                        "Only if removing its changes was the intent; keep the file either way."
                        + (
                            " Also by hand: " + "; ".join(carried.by_hand)
                            if carried.by_hand
                            else ""
                        ),
                        plans.migration_code(app, depend_on, carried),
                        path=str(Path(gone.path).with_name(f"{new_name}.py")),
                    )
                )
        return finding(
            self,
            gone.path,
            None,
            f"{label} already ran ({gone.where}) but its file is gone: databases that ran it "
            "keep its changes, new databases never get them",
            "restore the file; to undo what it did, add a new migration that reverses it",
            fix=tuple(steps),
            app_label=app,
            migration=name,
            extra={"applied": gone.where},
        )

    @staticmethod
    def _restore(gone: _Gone) -> FixStep:
        if gone.baseline is not None and gone.baseline.restore:
            return FixStep("Restore the file", "", gone.baseline.restore, path=gone.path)
        return FixStep(
            "Restore the file",
            "Bring back the version that ran, from version control.",
            f"git log --diff-filter=D --oneline -- {shlex.quote(gone.path)}",
            path=gone.path,
        )

    def _label_change(self, old: str, new: str, moves: list[_Gone]) -> Finding:
        moves.sort(key=lambda g: g.key)
        first = moves[0].renamed_to
        assert first is not None
        names = ", ".join(g.key[1] for g in moves[:3]) + (" ..." if len(moves) > 3 else "")
        folder = Path(first.path).parent.parent
        config = new.title().replace("_", "") + "Config"
        return finding(
            self,
            first.path,
            class_span(first),
            f"the {len(moves)} migrations of {old} that already ran ({moves[0].where}) now read "
            f"as app {new}: databases record them as {old}, so they would all run again "
            f"({names})",
            f"keep the app label: set label = {old!r} in the AppConfig of {folder}",
            fix=(
                FixStep(
                    "Keep the app label",
                    "Django's app label comes from the folder's name unless the AppConfig sets "
                    "it; every database stores it with each applied migration.",
                    "from django.apps import AppConfig\n\n\n"
                    f"class {config}(AppConfig):\n"
                    f"    name = {new!r}\n"
                    f"    label = {old!r}\n",
                    path=str(folder / "apps.py"),
                ),
            ),
            app_label=new,
            migration=first.name,
            extra={"applied": moves[0].where, "renamed_from": old},
        )


def _declared_label(app_folder: Path) -> str | None:
    """``label = "shop"`` of an AppConfig in the app's ``apps.py``, read without importing it."""
    try:
        module = ast.parse((app_folder / "apps.py").read_bytes())
    except (OSError, SyntaxError, ValueError):
        return None
    for node in ast.walk(module):
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "label" for t in node.targets)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            return node.value.value
    return None
