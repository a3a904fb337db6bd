"""ML204: an app with two latest migrations, now or once the branch is merged."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from migration_lint.codegen import render_dependencies
from migration_lint.context import LintContext
from migration_lint.facts import Dependency, MigrationFacts
from migration_lint.findings import Finding, FixStep, Severity
from migration_lint.integrity import plans
from migration_lint.integrity.sources import Frozen, display, excluded, frozen, in_scope
from migration_lint.rules._history import (
    HEADER,
    INITIAL,
    NOTE,
    dependency_span,
    finding,
    lock_file,
)
from migration_lint.rules.base import Example, Rule

Key = tuple[str, str]

_PAID = (
    HEADER
    + """\
    dependencies = [("shop", "0001_initial")]
    operations = [
        migrations.AddField("order", "paid", models.BooleanField(default=False)),
    ]
"""
)


class ConflictingMigrations(Rule):
    """App has two latest migrations, or will have once this branch is merged.

    ## What it does
    Reports an app whose migration graph has more than one leaf (two migrations that no
    migration of the app depends on), on the migration that is new: the one not known to have
    run (git base, `migrations.lock`, `--data-url`), else the later one by name. With a git base,
    it also reports a new migration of an app that the main branch gained migrations for since
    this branch left it (warning): merged as it is, the app will have two leaves.

    Missing dependencies and cycles are ML902's; an app whose dependencies are computed is skipped.

    ## Why is this bad?
    `migrate` refuses to run: "Conflicting migrations detected; multiple leaf nodes in the
    migration graph". On a branch, a new migration that depends on an older one than the app's
    latest on the main branch causes exactly that after the merge, and the deploy that carries it
    fails.

    ## Use instead
    If the new migration has not run anywhere, make it depend on the app's latest (and renumber
    it). Otherwise add a merge migration that depends on both leaves
    (`python manage.py makemigrations --merge`); the fix plan writes both.
    """

    code = "ML204"
    name = "conflicting-migrations"
    severity = Severity.ERROR
    scope = "project"

    flagged = (
        Example(
            title="Two migrations branch off 0001_initial",
            history=(INITIAL, NOTE),
            source=_PAID,
            line=5,
        ),
        Example(
            title="A new migration next to one that already ran",
            files=(
                ("shop/migrations/0002_paid.py", _PAID),
                lock_file(
                    ("shop/migrations/0001_initial.py", INITIAL),
                    ("shop/migrations/0002_paid.py", _PAID),
                ),
            ),
            history=(INITIAL,),
            source=NOTE,
            line=5,
        ),
    )
    accepted = (
        Example(
            title="A merge migration joins the two branches",
            history=(INITIAL, NOTE, _PAID),
            source=HEADER
            + '    dependencies = [("shop", "0002_auto"), ("shop", "0003_auto")]\n'
            + "    operations = []\n",
        ),
        Example(
            title="A new migration on the app's latest",
            files=(
                lock_file(
                    ("shop/migrations/0001_initial.py", INITIAL),
                    ("shop/migrations/0002_auto.py", NOTE),
                ),
            ),
            history=(INITIAL, NOTE),
            source=_PAID.replace('"0001_initial"', '"0002_auto"'),
        ),
    )

    def check_project(self, ctx: LintContext) -> Iterator[Finding]:
        history = ctx.history
        troubled = {p.migration[0] for p in history.problems}
        state: Frozen | None = None
        for app in sorted(history.apps()):
            if app in troubled or not in_scope(ctx, app):
                continue
            nodes = [history.migrations[k] for k in history.order if k[0] == app]
            if any(f.dynamic_dependencies for f in nodes) or _label_mismatch(
                app, nodes, history.apps()
            ):
                continue
            leaves = history.leaves(app)
            if len(leaves) < 2:
                continue
            state = state or frozen(ctx)
            facts = [history.migrations[k] for k in sorted(leaves)]
            known = state.frozen_many(facts)
            culprits = [f for f in facts if f.key not in known] if known else facts[1:]
            if not culprits:
                culprits = facts[1:]
            for culprit in culprits:
                if excluded(ctx, app, culprit.name, culprit.path):
                    continue
                others = [f for f in facts if f is not culprit]
                yield self._two_leaves(ctx, culprit, others, known)
        yield from self._after_merge(ctx, state or frozen(ctx))

    def _two_leaves(
        self,
        ctx: LintContext,
        culprit: MigrationFacts,
        others: list[MigrationFacts],
        known: dict[Key, str],
    ) -> Finding:
        app = culprit.app_label
        latest = next((f for f in others if f.key in known), others[-1])
        names = ", ".join(f.name for f in sorted([culprit, *others], key=lambda f: f.name))
        ran = f" ({known[latest.key]})" if latest.key in known else ""
        steps: list[FixStep] = []
        if culprit.key not in known:
            steps.append(self._repoint(ctx, culprit, latest))
        steps.append(self._merge(ctx, culprit, [culprit, *others]))
        return finding(
            self,
            culprit.path,
            dependency_span(culprit),
            f"{app} has {len(others) + 1} latest migrations ({names}): migrate refuses to run "
            "until one depends on the other or a merge migration joins them",
            f"make {culprit.name} depend on {app}.{latest.name}{ran}, or add a merge migration",
            fix=tuple(steps),
            app_label=app,
            migration=culprit.name,
            extra={"leaves": [f.name for f in [culprit, *others]]},
        )

    @staticmethod
    def _repoint(ctx: LintContext, culprit: MigrationFacts, latest: MigrationFacts) -> FixStep:
        app = culprit.app_label
        deps = tuple(d for d in culprit.dependencies if d.app_label != app)
        deps = (Dependency(app, latest.name), *deps)
        number = plans.number_of(latest.name) + 1
        rest = re.sub(r"^\d+_?", "", culprit.name) or "auto"
        renamed = f"{number:04d}_{rest}"
        renumber = f"; renumber it {renamed}.py too" if renamed != culprit.name else ""
        return FixStep(
            f"Make {culprit.name} depend on {latest.name}",
            f"It has not run anywhere yet, so it can move{renumber}.",
            f"dependencies = {render_dependencies(deps)}",
            path=culprit.path,
        )

    @staticmethod
    def _merge(ctx: LintContext, culprit: MigrationFacts, leaves: list[MigrationFacts]) -> FixStep:
        app = culprit.app_label
        ordered = sorted(leaves, key=lambda f: f.name)
        number = max(plans.number_of(f.name) for f in ordered) + 1
        name = f"{number:04d}_merge_" + "_".join(f.name for f in ordered)
        deps = tuple(Dependency(app, f.name) for f in ordered)
        code = (
            "from django.db import migrations\n\n\n"
            "class Migration(migrations.Migration):\n"
            f"    dependencies = {render_dependencies(deps)}\n\n"
            "    operations = []\n"
        )
        return FixStep(
            "Or join them with a merge migration",
            "What python manage.py makemigrations --merge writes.",
            code,
            path=str(Path(culprit.path).parent / f"{name[:80]}.py"),
        )

    def _after_merge(self, ctx: LintContext, state: Frozen) -> Iterator[Finding]:
        """New migrations of apps the main branch gained migrations for since HEAD left it."""
        git = state.git
        if git is None or not git.tip or not git.fork or git.tip == git.fork:
            return
        upstream = [p for p in git.upstream_added(state.is_migration_path) if not p.exists()]
        by_app: dict[str, list[Path]] = {}
        for path in upstream:
            by_app.setdefault(state.label_of(path), []).append(path)
        history = ctx.history
        for app, paths in sorted(by_app.items()):
            if not in_scope(ctx, app) or app not in history.apps():
                continue
            leaves = [history.migrations[k] for k in history.leaves(app)]
            if not leaves:
                continue
            frozen_here = state.frozen_many(leaves)
            theirs = sorted(p.stem for p in paths)
            for leaf in leaves:
                if leaf.key in frozen_here or excluded(ctx, app, leaf.name, leaf.path):
                    continue
                yield finding(
                    self,
                    leaf.path,
                    dependency_span(leaf),
                    f"{app}.{leaf.name} will conflict with {', '.join(theirs)}, which "
                    f"{git.ref} gained after this branch left it: merged as it is, {app} has two "
                    "latest migrations and migrate refuses to run",
                    f"merge or rebase {git.ref}, then make {leaf.name} depend on "
                    f"{app}.{theirs[-1]}",
                    fix=(
                        FixStep(
                            f"Depend on {theirs[-1]} once {git.ref} is merged in",
                            f"git merge {git.ref} (or rebase), then:",
                            "dependencies = "
                            + render_dependencies(
                                (
                                    Dependency(app, theirs[-1]),
                                    *(d for d in leaf.dependencies if d.app_label != app),
                                )
                            ),
                            path=leaf.path,
                        ),
                    ),
                    app_label=app,
                    migration=leaf.name,
                    severity=Severity.WARNING,
                    extra={"upstream": [display(p) for p in paths]},
                )


def _label_mismatch(app: str, nodes: list[MigrationFacts], apps: set[str]) -> bool:
    """A later migration of the app has no parent in it but depends on one of the app's own names
    under a label not on disk: the folder's name is not the app label (a renamed folder, an
    AppConfig label), so this run cannot tell the app's leaves (ML202 reports a changed label)."""
    names = {f.name for f in nodes}
    first = min(names, default="")
    return any(
        f.name != first
        and not any(d.app_label == app for d in f.dependencies)
        and any(d.app_label not in apps and d.name in names for d in f.dependencies)
        for f in nodes
    )
