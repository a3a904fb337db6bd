"""Project mode: Django set up with the user's settings, the migration graph from
``MigrationLoader(None)`` (which never reads a database), and the table state carried forward
through Django's own ``state_forwards`` in one pass over the plan.

Django's ``ProjectState`` is kept unrendered: ``state_forwards`` on it is cheap, rendering is
not (FACTS.md: rendering every model state forward took 31 s on a 366-migration project).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migration_lint.discover import MigrationFile, migration_files
from migration_lint.errors import UsageError
from migration_lint.facts import (
    Call,
    FieldState,
    IndexState,
    MigrationFacts,
    ModelKey,
    ModelState,
    Ref,
    UniqueSet,
    Unknown,
    Value,
)
from migration_lint.history import MigrationState, OperationStep
from migration_lint.source.names import canonical
from migration_lint.state import Models, Replayer, default_table

_SETTINGS_IN_MANAGE = re.compile(r"""DJANGO_SETTINGS_MODULE["']\s*,\s*["']([\w.]+)["']""")

Key = tuple[str, str]


@dataclass
class ProjectInfo:
    settings: str
    root: Path
    loader: Any
    files: list[MigrationFile]
    local_apps: list[str]
    engines: dict[str, str] = field(default_factory=dict)
    graph_error: str | None = None

    def vendors(self) -> tuple[tuple[str, str | None], ...]:
        seen: list[tuple[str, str | None]] = []
        for engine in self.engines.values():
            vendor = vendor_of_engine(engine)
            if vendor and (vendor, None) not in seen:
                seen.append((vendor, None))
        return tuple(seen)


def vendor_of_engine(engine: str) -> str | None:
    lowered = engine.lower()
    if "postg" in lowered:  # postgresql, postgis, and backends wrapping them
        return "postgresql"
    if "mysql" in lowered or "maria" in lowered:
        return "mysql"
    if "sqlite" in lowered or "spatialite" in lowered:
        return "sqlite"
    return None


def find_manage_py(start: Path) -> Path | None:
    start = start if start.is_dir() else start.parent
    for directory in (start, *start.parents):
        candidate = directory / "manage.py"
        if candidate.is_file():
            return candidate
    return None


def settings_from_manage_py(manage: Path) -> str | None:
    try:
        match = _SETTINGS_IN_MANAGE.search(manage.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return None
    return match.group(1) if match else None


def resolve_settings(explicit: str | None, start: Path) -> tuple[str, Path] | None:
    """The settings module and the folder to import it from; None when there is no project."""
    manage = find_manage_py(start)
    root = manage.parent if manage else Path.cwd()
    if explicit:
        return explicit, root
    if os.environ.get("DJANGO_SETTINGS_MODULE"):
        return os.environ["DJANGO_SETTINGS_MODULE"], root
    if manage is not None:
        found = settings_from_manage_py(manage)
        if found:
            return found, root
    return None


def setup_django(settings: str, root: Path) -> None:
    from django.apps import apps

    if apps.ready:
        return  # ``manage.py migration_lint``: Django is already set up.
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    os.environ["DJANGO_SETTINGS_MODULE"] = settings
    try:
        import django

        django.setup()
    except Exception as exc:  # noqa: BLE001 - any error in the user's settings is theirs to fix
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise UsageError(
            f"cannot load Django settings {settings!r}: {type(exc).__name__}: {first}"
        ) from None


def load_project(settings: str, root: Path) -> ProjectInfo:
    setup_django(settings, root)
    from django.apps import apps
    from django.conf import settings as django_settings
    from django.db.migrations.exceptions import BadMigrationError
    from django.db.migrations.loader import MigrationLoader

    graph_error = None
    try:
        loader = MigrationLoader(None, ignore_no_migrations=True)
    except BadMigrationError as exc:
        raise UsageError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - NodeNotFoundError, CircularDependencyError, syntax errors
        # The source facts report these as findings (ML901, ML902); state falls back to replay.
        graph_error = f"{type(exc).__name__}: {exc}"
        loader = MigrationLoader(None, ignore_no_migrations=True, load=False)

    files: list[MigrationFile] = []
    local: list[str] = []
    resolved_root = root.resolve()
    for config in apps.get_app_configs():
        module_name, _ = MigrationLoader.migrations_module(config.label)
        if module_name is None:
            continue
        directory = _module_dir(module_name)
        if directory is None:
            continue
        directory = directory.resolve()
        files.extend(migration_files(directory, config.label, module_name))
        if resolved_root in directory.resolve().parents and "site-packages" not in directory.parts:
            local.append(config.label)
    engines = {alias: str(db.get("ENGINE", "")) for alias, db in django_settings.DATABASES.items()}
    return ProjectInfo(settings, root, loader, files, local, engines, graph_error)


def _module_dir(module_name: str) -> Path | None:
    import importlib.util

    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


# --- state ---------------------------------------------------------------------------------------


def _value(obj: Any) -> Value:
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (list, tuple)):
        return tuple(_value(v) for v in obj)
    if isinstance(obj, dict) and all(isinstance(k, str) for k in obj):
        return {k: _value(v) for k, v in obj.items()}
    if callable(obj) and hasattr(obj, "__qualname__"):  # on_delete=CASCADE, default=timezone.now
        return Ref(canonical(f"{obj.__module__}.{obj.__qualname__}"))
    return Unknown(repr(obj))


def _related_label(field: Any) -> str | None:
    remote = getattr(field, "remote_field", None)
    if remote is None:
        return None
    model = remote.model
    if isinstance(model, str):
        app, _, name = model.rpartition(".")
        return f"{app}.{name.lower()}" if app else name.lower()
    return str(model._meta.label_lower)


def convert_field(name: str, field: Any) -> FieldState:
    from django.db.models import NOT_PROVIDED

    relation = bool(field.many_to_one or field.one_to_one)
    _, _, _, kwargs = field.deconstruct()
    return FieldState(
        name=name,
        column=field.db_column or (f"{name}_id" if relation else name),
        field_type=canonical(f"{type(field).__module__}.{type(field).__qualname__}"),
        null=bool(field.null),
        unique=bool(field.unique),
        primary_key=bool(field.primary_key),
        db_index=bool(field.db_index),
        related_model=_related_label(field) if field.is_relation else None,
        many_to_many=bool(field.many_to_many),
        has_db_default=getattr(field, "db_default", NOT_PROVIDED) is not NOT_PROVIDED,
        kwargs=_value(kwargs),  # type: ignore[arg-type]
    )


def convert_model(state: Any) -> ModelState:
    from django.db.models import UniqueConstraint

    options = state.options
    constraints = []
    for constraint in options.get("constraints", ()):
        if isinstance(constraint, UniqueConstraint):
            constraints.append(
                UniqueSet(
                    fields=tuple(constraint.fields),
                    origin="constraint",
                    name=constraint.name,
                    condition=constraint.condition is not None,
                    expressions=bool(constraint.expressions),
                    nulls_distinct=getattr(constraint, "nulls_distinct", None),
                )
            )
    indexes = [
        IndexState(
            name=index.name,
            fields=tuple(f.lstrip("-") for f in index.fields),
            condition=index.condition is not None,
            expressions=bool(index.expressions),
        )
        for index in options.get("indexes", ())
    ]
    return ModelState(
        app_label=state.app_label,
        name=state.name,
        table=options.get("db_table") or default_table(state.app_label, state.name),
        fields=tuple(convert_field(name, f) for name, f in state.fields.items()),
        unique_together=tuple(tuple(t) for t in sorted(options.get("unique_together") or ())),
        constraints=tuple(constraints),
        indexes=tuple(indexes),
        managed=options.get("managed", True),
        proxy=bool(options.get("proxy")),
    )


def _referenced(facts: MigrationFacts) -> set[ModelKey]:
    """Models the migration's operations name, and the models their relations point at."""
    keys: set[ModelKey] = set()
    for op in facts.all_operations():
        for arg in ("name", "model_name", "old_name"):
            value = op.kwargs.get(arg)
            if isinstance(value, str):
                keys.add((facts.app_label, value.lower()))
        for value in _calls(op.kwargs.values()):
            target = value.kwargs.get("to")
            if isinstance(target, str) and "." in target:
                app, _, name = target.rpartition(".")
                keys.add((app, name.lower()))
    return keys


def _calls(values: Iterable[Value]) -> Iterable[Call]:
    for value in values:
        if isinstance(value, Call):
            yield value
        elif isinstance(value, tuple):
            yield from _calls(value)


def project_states(
    project: ProjectInfo, facts: Mapping[Key, MigrationFacts], targets: set[Key]
) -> dict[Key, MigrationState] | None:
    """States before each target migration from Django's own state, None if the graph failed."""
    if project.graph_error is not None:
        return None
    from django.db.migrations.state import ProjectState

    graph = project.loader.graph
    plan: list[Key] = []
    seen: set[Key] = set()
    for leaf in sorted(graph.leaf_nodes()):
        for key in graph.forwards_plan(leaf):
            if key not in seen:
                seen.add(key)
                plan.append(key)
    state = ProjectState(real_apps=set())
    states: dict[Key, MigrationState] = {}
    for key in plan:
        migration = graph.nodes[key]
        if key in targets and key in facts:
            before: Models = {}
            for model_key in _referenced(facts[key]):
                if model_key in state.models:
                    before[model_key] = convert_model(state.models[model_key])
            # Within the migration, the models are carried forward from the files' facts.
            models = dict(before)
            steps: list[OperationStep] = []
            for op in facts[key].operations:
                steps.append(OperationStep(op, dict(models)))
                Replayer(models, *key).apply(op)
            states[key] = MigrationState(before, tuple(steps))
        for operation in migration.operations:
            operation.state_forwards(migration.app_label, state)
    return states
