"""The migration graph built from source facts: order, leaves, squashes, missing and circular
dependencies, and the table state before every linted migration.

It follows Django's ``MigrationLoader`` with nothing applied: a squash migration stands in for
the migrations it replaces, and dependencies on those point at the squash.
"""

from __future__ import annotations

import heapq
from collections import ChainMap, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from migration_lint.facts import Dependency, MigrationFacts, ModelKey, ModelState, Operation
from migration_lint.state import Models, Replayer

Key = tuple[str, str]


@dataclass(frozen=True)
class GraphProblem:
    """A dependency Django would refuse: ``kind`` is ``missing`` or ``cycle``."""

    kind: str
    migration: Key
    detail: str
    line: int = 0


@dataclass(frozen=True)
class OperationStep:
    """A top-level operation and the models as they are right before it runs."""

    operation: Operation
    models: Mapping[ModelKey, ModelState]


@dataclass(frozen=True)
class MigrationState:
    """The models before a migration; ``known`` is False when the graph could not place it."""

    before: Mapping[ModelKey, ModelState]
    steps: tuple[OperationStep, ...]
    known: bool = True


UNKNOWN_STATE = MigrationState(before={}, steps=(), known=False)


@dataclass
class History:
    migrations: dict[Key, MigrationFacts]
    order: list[Key]
    problems: list[GraphProblem]
    replaced_by: dict[Key, Key] = field(default_factory=dict)
    parents: dict[Key, list[Key]] = field(default_factory=dict)

    def apps(self) -> set[str]:
        return {app for app, _ in self.migrations}

    def leaves(self, app_label: str) -> list[Key]:
        """Migrations of the app that no other migration of the same app depends on."""
        nodes = [k for k in self.order if k[0] == app_label]
        depended = {p for k in nodes for p in self.parents.get(k, ()) if p[0] == app_label}
        return [k for k in nodes if k not in depended]


def build_history(
    all_facts: Iterable[MigrationFacts], names_on_disk: Mapping[str, set[str]]
) -> History:
    """``names_on_disk`` holds every migration file name per app, parsed or not."""
    migrations = {f.key: f for f in all_facts if f.is_migration and f.parse_error is None}
    problems: list[GraphProblem] = []

    replaced_by: dict[Key, Key] = {}
    for key, facts in migrations.items():
        for dep in facts.replaces:
            replaced_by[dep.key] = key
    nodes = {k: f for k, f in migrations.items() if k not in replaced_by}

    by_app: dict[str, list[str]] = defaultdict(list)
    for app, name in sorted(nodes):
        by_app[app].append(name)

    def resolve(dep: Dependency, owner: Key) -> Key | None:
        if dep.app_label not in names_on_disk:
            return None  # an app outside the linted tree (django.contrib, site-packages)
        if dep.name in ("__first__", "__latest__"):
            names = by_app.get(dep.app_label)
            if not names:
                return None
            return (dep.app_label, names[0] if dep.name == "__first__" else names[-1])
        key = replaced_by.get(dep.key, dep.key)
        if key in nodes:
            return key
        if dep.name in names_on_disk[dep.app_label]:
            return None  # the file exists but could not be read; ML901 reports it
        if dep.swappable is None:
            problems.append(
                GraphProblem(
                    "missing",
                    owner,
                    f"depends on {dep.app_label}.{dep.name}, which does not exist",
                    dep.line,
                )
            )
        return None

    parents: dict[Key, list[Key]] = {k: [] for k in nodes}
    for key, facts in nodes.items():
        for dep in facts.dependencies:
            target = resolve(dep, key)
            if target is not None and target != key:
                parents[key].append(target)
        for dep in facts.run_before:
            target = resolve(dep, key)
            if target is not None and target in parents:
                parents[target].append(key)

    # The first migration of an app is an app's root: ``__first__`` above needs it by name order,
    # which is what makemigrations produces (0001_initial).
    order, leftover = _topological(parents)
    if leftover:
        cycle = _find_cycle(parents, leftover)
        # Reported on every member: a run that lints only one of them must still see it.
        for position, member in enumerate(cycle):
            rotated = [*cycle[position:], *cycle[:position], member]
            problems.append(
                GraphProblem("cycle", member, " -> ".join(f"{a}.{n}" for a, n in rotated))
            )
        order.extend(sorted(leftover))
    return History(dict(migrations), order, problems, replaced_by, parents)


def _topological(parents: Mapping[Key, list[Key]]) -> tuple[list[Key], set[Key]]:
    children: dict[Key, list[Key]] = defaultdict(list)
    waiting = {k: len(set(ps)) for k, ps in parents.items()}
    for key, ps in parents.items():
        for parent in set(ps):
            children[parent].append(key)
    ready = [k for k, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    order: list[Key] = []
    while ready:
        key = heapq.heappop(ready)
        order.append(key)
        for child in children[key]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, child)
    return order, {k for k, n in waiting.items() if n > 0}


def _find_cycle(parents: Mapping[Key, list[Key]], among: set[Key]) -> list[Key]:
    """One dependency cycle inside ``among``, in dependency order."""
    start = min(among)
    path: list[Key] = []
    seen: dict[Key, int] = {}
    node = start
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = min(p for p in parents[node] if p in among)
    cycle = path[seen[node] :]
    cycle.reverse()
    return cycle


def replay(history: History, targets: set[Key]) -> dict[Key, MigrationState]:
    """Carry the models forward over the whole graph once, keeping snapshots for ``targets``."""
    models: Models = {}
    states: dict[Key, MigrationState] = {}
    for key in history.order:
        facts = history.migrations[key]
        replayer = Replayer(models, *key)
        if key not in targets:
            for op in facts.operations:
                replayer.apply(op)
            continue
        before = dict(models)
        steps: list[OperationStep] = []
        changed: Models = {}
        for op in facts.operations:
            steps.append(OperationStep(op, ChainMap(dict(changed), before)))
            touched = Replayer(ChainMap(changed, before), *key)  # type: ignore[arg-type]
            touched.apply(op)
            replayer.apply(op)
        states[key] = MigrationState(before, tuple(steps))
    return states
