"""What a rule sees: the migration's facts, the models before it, and the whole run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from migration_lint.facts import MigrationFacts, ModelKey, ModelState, Operation
from migration_lint.frozen import direct_init
from migration_lint.history import History, MigrationState, OperationStep

if TYPE_CHECKING:
    from migration_lint.lint import Options
    from migration_lint.project import ProjectInfo
    from migration_lint.render import Rendering

Vendor = tuple[str, "str | None"]


@dataclass(frozen=True)
class LintContext:
    """The run: every migration known, the linted ones, their states, target databases."""

    root: Path
    history: History
    targets: tuple[MigrationFacts, ...]
    states: Mapping[tuple[str, str], MigrationState]
    vendors: tuple[Vendor, ...] = (("sqlite", None),)
    # False when nothing named the databases (no project, no --target): every vendor is assumed,
    # which suits the lock rules, while portability rules stay quiet rather than guess.
    vendors_known: bool = True
    project: ProjectInfo | None = None
    notes: list[str] = field(default_factory=list, compare=False)
    # The run's options (paths, base ref, --data-url ...) for loaders that rules call lazily.
    options: Options | None = None
    # Loaded once per run by whichever rule asks first (application code scans, git bases ...).
    memo: dict[str, object] = field(default_factory=dict, compare=False)

    def vendor_names(self) -> tuple[str, ...]:
        return tuple(v for v, _ in self.vendors)

    def rendering(self) -> Rendering | None:
        """The run's SQL as Django renders it (on first use); None without a loaded project."""
        if self.project is None:
            return None
        # Imported only with a project: a source-only run (pre-commit) has no use for it.
        from migration_lint import render

        return render.for_run(self)


@direct_init
@dataclass(frozen=True)
class MigrationContext:
    migration: MigrationFacts
    state: MigrationState
    lint: LintContext
    # Analyses several rules share (index builds ...), computed once per migration.
    memo: dict[str, object] = field(default_factory=dict, compare=False)

    @property
    def steps(self) -> tuple[OperationStep, ...]:
        return self.state.steps

    def model_before(self, name: str, app_label: str | None = None) -> ModelState | None:
        """The model as it was before this migration, None when it did not exist (or is unknown)."""
        return self.state.before.get((app_label or self.migration.app_label, name.lower()))

    def created_here(self, key: ModelKey) -> bool:
        """True when an operation of this migration creates the model's table."""
        created = self.memo.get("created_here")
        if created is None:
            created = self.memo["created_here"] = frozenset(
                (self.migration.app_label, name.lower())
                for op in self.migration.all_operations()
                if op.name == "CreateModel" and isinstance(name := op.kwargs.get("name"), str)
            )
        return key in created  # type: ignore[operator]

    def operation_models(self, op: Operation) -> Mapping[ModelKey, ModelState]:
        """Models right before the top-level operation ``op`` (or the one containing it)."""
        for step in self.state.steps:
            if step.operation.path[:1] == op.path[:1]:
                return step.models
        return self.state.before
