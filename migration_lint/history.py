"""The migration graph built from source facts: order, leaves, squashes, missing and circular
dependencies, and the table state before every linted migration.

It follows Django's ``MigrationLoader`` with nothing applied: a squash migration stands in for
the migrations it replaces, and dependencies on those point at the squash.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field

from migration_lint.facts import (
    Dependency,
    FieldState,
    MigrationFacts,
    ModelKey,
    ModelState,
    Operation,
)
from migration_lint.frozen import direct_init
from migration_lint.state import Models, Replayer

Key = tuple[str, str]


@dataclass(frozen=True)
class GraphProblem:
    """A dependency Django would refuse: ``kind`` is ``missing`` or ``cycle``."""

    kind: str
    migration: Key
    detail: str
    line: int = 0


@direct_init
@dataclass(frozen=True)
class OperationStep:
    """A top-level operation and the models as they are right before it runs."""

    operation: Operation
    models: Mapping[ModelKey, ModelState]


@direct_init
@dataclass(frozen=True)
class MigrationState:
    """The models before a migration; ``known`` is False when the graph could not place it.
    ``new_fields``: the field each AddField and AlterField gives, by the operation's path, as
    the replay read it (the rules ask for them again)."""

    before: Mapping[ModelKey, ModelState]
    steps: tuple[OperationStep, ...]
    known: bool = True
    new_fields: Mapping[tuple[int | str, ...], FieldState] = field(default_factory=dict)


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
    lines: dict[tuple[Key, Key], int] = {}
    for key, facts in nodes.items():
        for dep in facts.dependencies:
            target = resolve(dep, key)
            if target is not None and target != key:
                parents[key].append(target)
                lines.setdefault((key, target), dep.line)
        for dep in facts.run_before:
            target = resolve(dep, key)
            if target is not None and target in parents:
                parents[target].append(key)

    # The first migration of an app is an app's root: ``__first__`` above needs it by name order,
    # which is what makemigrations produces (0001_initial).
    order, leftover = _topological(parents)
    if leftover:
        # Reported on every member of every cycle (there may be several, apart): a run that
        # lints only one of them must still see it. Migrations that merely depend on a cycle
        # are left over too, but are not part of it.
        for member in sorted(leftover):
            cycle = _cycle_through(member, parents, leftover)
            if cycle:
                # On the dependency that closes the cycle, where the member names its parent.
                line = lines.get((member, cycle[-2]), 0)
                detail = " -> ".join(f"{a}.{n}" for a, n in cycle)
                problems.append(GraphProblem("cycle", member, detail, line))
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


def _cycle_through(member: Key, parents: Mapping[Key, list[Key]], among: set[Key]) -> list[Key]:
    """The shortest cycle through ``member``, in the order the migrations would apply
    (``a -> b``: b depends on a), starting and ending at ``member``; empty when there is none."""
    # Breadth first over "depends on" edges from member finds the shortest way back to it;
    # read backwards, that path is in application order.
    came_from: dict[Key, Key] = {}
    queue = [member]
    while queue:
        following: list[Key] = []
        for node in queue:
            for parent in sorted(set(parents.get(node, ()))):
                if parent not in among:
                    continue
                if parent == member:
                    path = [node]
                    while path[-1] != member:
                        path.append(came_from[path[-1]])
                    return [member, *path]
                if parent not in came_from:
                    came_from[parent] = node
                    following.append(parent)
        queue = following
    return []


class _Overlay(Mapping[ModelKey, ModelState]):
    """``base`` with some models changed (None: deleted): a step's view of the models,
    without copying every model of the project for every operation."""

    __slots__ = ("base", "changes")

    def __init__(
        self, base: Mapping[ModelKey, ModelState], changes: dict[ModelKey, ModelState | None]
    ) -> None:
        self.base = base
        self.changes = changes

    def __getitem__(self, key: ModelKey) -> ModelState:
        if key in self.changes:
            found = self.changes[key]
            if found is None:
                raise KeyError(key)
            return found
        return self.base[key]

    def __iter__(self) -> Iterator[ModelKey]:
        changes = self.changes
        for key in self.base:
            if key not in changes or changes[key] is not None:
                yield key
        for key, found in changes.items():
            if found is not None and key not in self.base:
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)


class _Snapshot(Mapping[ModelKey, ModelState]):
    """The models at one point of the replay, read-only: one dict per app, shared with the
    table until it writes to that app again."""

    __slots__ = ("apps",)

    def __init__(self, apps: dict[str, dict[ModelKey, ModelState]]) -> None:
        self.apps = apps

    def __getitem__(self, key: ModelKey) -> ModelState:
        return self.apps[key[0]][key]

    def get(self, key: ModelKey, default: ModelState | None = None) -> ModelState | None:  # type: ignore[override]
        models = self.apps.get(key[0])
        return default if models is None else models.get(key, default)

    def __contains__(self, key: object) -> bool:
        models = self.apps.get(key[0]) if isinstance(key, tuple) and key else None
        return models is not None and key in models

    def __iter__(self) -> Iterator[ModelKey]:
        for models in self.apps.values():
            yield from models

    def __len__(self) -> int:
        return sum(map(len, self.apps.values()))

    # Lists, not views: Mapping's views look every key up again through __getitem__, and a
    # RenameModel reads every model of the project.
    def items(self) -> list[tuple[ModelKey, ModelState]]:  # type: ignore[override]
        return [item for models in self.apps.values() for item in models.items()]

    def values(self) -> list[ModelState]:  # type: ignore[override]
        return [state for models in self.apps.values() for state in models.values()]


class _Table(_Snapshot, MutableMapping[ModelKey, ModelState]):
    """The replay's models by app. A snapshot for each linted migration copies a dict per app,
    a few dozen entries, where a copy of every model of the project took 20-40 KB per
    migration (75 MB over 3,000 migrations on the benchmark corpus); a migration writes to its
    own app's models, mostly, and only that dict is copied again."""

    __slots__ = ("related", "shared")

    def __init__(self) -> None:
        super().__init__({})
        self.shared: set[str] = set()  # apps whose dict a snapshot holds too
        # Every model a field has pointed at (``app.model``), as the replayer notes them: a
        # RenameModel of a model no field ever pointed at need not visit every model (most
        # renames; each visit took a tenth of the replay of the benchmark corpus).
        self.related: set[str] = set()

    def snapshot(self) -> _Snapshot:
        self.shared = set(self.apps)
        return _Snapshot(dict(self.apps))

    def _writable(self, app: str) -> dict[ModelKey, ModelState]:
        models = self.apps.get(app)
        if models is None:
            models = self.apps[app] = {}
        elif app in self.shared:
            models = self.apps[app] = dict(models)
            self.shared.discard(app)
        return models

    def __setitem__(self, key: ModelKey, state: ModelState) -> None:
        self._writable(key[0])[key] = state

    def __delitem__(self, key: ModelKey) -> None:
        if key not in self:
            raise KeyError(key)
        del self._writable(key[0])[key]


def replay(
    history: History, targets: set[Key], end: Models | None = None
) -> dict[Key, MigrationState]:
    """Carry the models forward over the whole graph once, keeping snapshots for ``targets``;
    ``end``, when given, receives the models at the end of the history."""
    models = _Table()
    states: dict[Key, MigrationState] = {}
    for key in history.order:
        facts = history.migrations[key]
        if key not in targets:
            replayer = Replayer(models, *key)
            for op in facts.operations:
                replayer.apply(op)
            continue
        before = models.snapshot()
        changes: dict[ModelKey, ModelState | None] = {}
        new_fields: dict[tuple[int | str, ...], FieldState] = {}
        replayer = Replayer(models, *key, changes=changes, new_fields=new_fields)
        steps: list[OperationStep] = []
        for op in facts.operations:
            # A model deleted or renamed by an earlier operation disappears from later views.
            view = _Overlay(before, dict(changes)) if changes else before
            steps.append(OperationStep(op, view))
            replayer.apply(op)
        states[key] = MigrationState(before, tuple(steps), new_fields=new_fields)
    if end is not None:
        end.update(models.items())
    return states
