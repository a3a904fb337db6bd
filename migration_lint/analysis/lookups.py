"""Which unique sets the database enforces for a model, and whether a get_or_create lookup is one.

The unique sets come from the migrations, not from models.py: a constraint the model declares but
no migration creates does not exist in the database yet. For application code the state is the
END of the history (Django's own ``ProjectState`` at the end of the plan in project mode, the
source replay otherwise); for a call inside a data migration it is the state right before that
migration. Multi-table inheritance is followed through ``parent_link`` fields (a parent's unique
sets cover the parent's fields), proxies through their bases, and the swappable user model
through ``AUTH_USER_MODEL`` (``auth.User`` without a project). Without a project, Django's own
contrib apps (``auth``, ``contenttypes``...) are read from the installed Django's migrations.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migration_lint.appcode import (
    METHODS,
    OVERRIDES,
    AppCodeScan,
    CallSite,
    ClassInfo,
    LookupValue,
    ModelRef,
    RawCall,
    RawScan,
    scan_classes,
)
from migration_lint.facts import Call, FieldState, ModelKey, ModelState, Operation, Ref, Value
from migration_lint.state import Models, Replayer

if TYPE_CHECKING:
    from migration_lint.context import LintContext
    from migration_lint.history import History, MigrationState

_M = "django.db.migrations."

# Options of UniqueConstraint that a vendor silently does not create (FACTS.md, "What Django
# emits for unique constraints"): the constraint then does not exist there at all.
NOT_CREATED = {
    "mysql": ("condition", "include", "nulls_distinct", "deferrable", "expressions"),
    "sqlite": ("include", "nulls_distinct", "deferrable"),
}
VENDOR_NAMES = {"mysql": "MySQL/MariaDB", "sqlite": "SQLite", "postgresql": "PostgreSQL"}


@dataclass(frozen=True)
class UniqueRule:
    """A unique set of a model with what a lookup needs to know about it.

    ``terms`` is the condition as an AND of lookups (``(("active", True),)``) when it is that
    simple, None when it is something else; ``options`` holds the UniqueConstraint options that
    some databases do not create (``condition``, ``include``, ``nulls_distinct``, ``deferrable``).
    """

    owner: ModelKey
    fields: tuple[str, ...]
    origin: str
    name: str | None = None
    condition: bool = False
    terms: tuple[tuple[str, object], ...] | None = None
    condition_text: str = ""
    options: frozenset[str] = frozenset()
    nulls_distinct: bool | None = None

    def describe(self, model_name: str = "") -> str:
        cols = ", ".join(self.fields)
        if self.origin == "primary_key":
            return f"the primary key ({cols})"
        if self.origin == "unique":
            return f"unique field {cols}"
        if self.origin == "unique_together":
            return f"unique_together ({cols})"
        return f"UniqueConstraint {self.name or ''} ({cols})".replace("  ", " ")


@dataclass(frozen=True)
class _Detail:
    terms: tuple[tuple[str, object], ...] | None
    condition_text: str
    options: frozenset[str]


@dataclass(frozen=True)
class Relation:
    """``attr`` on a model: where it leads and, for a reverse foreign key, the field to join."""

    kind: str  # forward, m2m, reverse_fk, reverse_o2o, reverse_m2m
    model: ModelKey
    field: str | None = None


def _key_of(value: Value, app_label: str) -> ModelKey | None:
    if isinstance(value, str):
        if "." in value:
            app, _, name = value.rpartition(".")
            return (app, name.lower())
        return (app_label, value.lower())
    return None


def _q_terms(value: Value) -> tuple[tuple[str, object], ...] | None:
    """``Q(active=True, kind="x")`` as lookups; None for anything else (OR, NOT, expressions)."""
    if not isinstance(value, Call) or value.name != "Q" or value.args:
        return None
    terms = []
    for key, val in value.kwargs.items():
        if key.startswith("_") or key == "**" or isinstance(val, (Call, Ref, tuple)):
            return None
        terms.append((key, val))
    return tuple(terms) or None


def _source_detail(call: Call) -> _Detail:
    options = set()
    for option in ("include", "opclasses"):
        if call.kwargs.get(option) not in (None, ()):
            options.add(option)
    if call.kwargs.get("deferrable") is not None:
        options.add("deferrable")
    if call.kwargs.get("nulls_distinct") is not None:
        options.add("nulls_distinct")
    condition = call.kwargs.get("condition")
    if condition is not None:
        options.add("condition")
    from migration_lint.codegen import render

    terms = _q_terms(condition) if condition is not None else None
    text = _terms_text(terms) if terms else (render(condition) if condition is not None else "")
    return _Detail(terms=terms, condition_text=text, options=frozenset(options))


def _django_detail(constraint: Any) -> _Detail:
    options = set()
    if getattr(constraint, "include", None):
        options.add("include")
    if getattr(constraint, "opclasses", None):
        options.add("opclasses")
    if getattr(constraint, "deferrable", None) is not None:
        options.add("deferrable")
    if getattr(constraint, "nulls_distinct", None) is not None:
        options.add("nulls_distinct")
    condition = getattr(constraint, "condition", None)
    terms: tuple[tuple[str, object], ...] | None = None
    if condition is not None:
        options.add("condition")
        if condition.connector == "AND" and not condition.negated:
            children = list(condition.children)
            simple = all(
                isinstance(c, tuple)
                and len(c) == 2
                and (c[1] is None or isinstance(c[1], (str, int, float, bool)))
                for c in children
            )
            terms = tuple((str(k), v) for k, v in children) if simple and children else None
    text = _terms_text(terms) if terms else (str(condition) if condition is not None else "")
    return _Detail(terms, text, frozenset(options))


def _terms_text(terms: tuple[tuple[str, object], ...]) -> str:
    return " and ".join(f"{k}={v!r}" for k, v in terms)


class ModelIndex:
    """Model states at one point of the history, with the questions lookups ask of them."""

    def __init__(
        self,
        models: Mapping[ModelKey, ModelState],
        details: Mapping[tuple[ModelKey, str], _Detail],
        bases: Mapping[ModelKey, tuple[ModelKey, ...]],
        fallback: ModelIndex | None = None,
    ) -> None:
        self.models = models
        self.details = details
        self.bases = bases
        self.fallback = fallback

    @cached_property
    def apps(self) -> set[str]:
        return {app for app, _ in self.models}

    def get(self, key: ModelKey) -> ModelState | None:
        found = self.models.get(key)
        if found is None and self.fallback is not None:
            return self.fallback.get(key)
        return found

    def _owner(self, key: ModelKey) -> ModelIndex:
        if key not in self.models and self.fallback is not None:
            return self.fallback._owner(key)
        return self

    def concrete(self, key: ModelKey) -> ModelKey:
        """A proxy's concrete model (proxies share its table)."""
        seen = set()
        while key not in seen:
            seen.add(key)
            state = self.get(key)
            if state is None or not state.proxy:
                return key
            bases = self._owner(key).bases.get(key, ())
            if not bases:
                return key
            key = bases[0]
        return key

    def parents(self, key: ModelKey) -> list[ModelKey]:
        """Multi-table inheritance parents, through the child's ``parent_link`` fields."""
        state = self.get(key)
        if state is None:
            return []
        out = []
        for f in state.fields:
            if f.kwargs.get("parent_link") is True and f.related_model:
                app, _, name = f.related_model.partition(".")
                out.append((app, name))
        return out

    def field(self, key: ModelKey, name: str) -> tuple[ModelKey, FieldState] | None:
        seen: set[ModelKey] = set()
        queue = [key]
        while queue:
            current = queue.pop(0)
            if current in seen:
                continue
            seen.add(current)
            state = self.get(current)
            if state is None:
                continue
            found = state.field(name)
            if found is not None:
                return current, found
            queue.extend(self.parents(current))
        return None

    def pk_name(self, key: ModelKey) -> str | None:
        state = self.get(key)
        if state is None:
            return None
        for f in state.fields:
            if f.primary_key:
                return f.name
        return None

    def rules(self, key: ModelKey) -> list[UniqueRule]:
        """Every unique set that covers fields of ``key``: its own, then its parents'."""
        out: list[UniqueRule] = []
        seen: set[ModelKey] = set()
        queue = [key]
        while queue:
            current = queue.pop(0)
            if current in seen:
                continue
            seen.add(current)
            state = self.get(current)
            if state is None:
                continue
            owner = self._owner(current)
            for unique in state.unique_sets():
                if unique.expressions or not unique.fields:
                    continue
                detail = owner.details.get((current, unique.name or "")) if unique.name else None
                options = detail.options if detail else frozenset()
                if unique.nulls_distinct is not None:
                    options = options | {"nulls_distinct"}
                if unique.condition:
                    options = options | {"condition"}
                out.append(
                    UniqueRule(
                        owner=current,
                        fields=unique.fields,
                        origin=unique.origin,
                        name=unique.name,
                        condition=unique.condition,
                        terms=detail.terms if detail else None,
                        condition_text=detail.condition_text if detail else "",
                        options=options,
                        nulls_distinct=unique.nulls_distinct,
                    )
                )
            queue.extend(self.parents(current))
        return out

    def all_models(self) -> Iterable[ModelState]:
        yield from self.models.values()
        if self.fallback is not None:
            yield from self.fallback.all_models()

    def relation(self, key: ModelKey, attr: str) -> Relation | None:
        found = self.field(key, attr)
        if found is not None:
            _, f = found
            if f.related_model:
                app, _, name = f.related_model.partition(".")
                if f.many_to_many:
                    return Relation("m2m", (app, name))
                return Relation("forward", (app, name))
            return None
        # Reverse accessors on the model or on one of its parents.
        targets = {f"{k[0]}.{k[1]}" for k in [key, *self.parents(key)]}
        for other in self.all_models():
            for f in other.fields:
                if f.related_model not in targets:
                    continue
                related_name = f.kwargs.get("related_name")
                if isinstance(related_name, str) and related_name.endswith("+"):
                    continue
                one_to_one = f.field_type.endswith("OneToOneField")
                default = other.name.lower() if one_to_one else f"{other.name.lower()}_set"
                accessor = related_name if isinstance(related_name, str) else default
                if accessor != attr:
                    continue
                if f.many_to_many:
                    return Relation("reverse_m2m", other.key)
                if one_to_one:
                    return Relation("reverse_o2o", other.key)
                return Relation("reverse_fk", other.key, f.name)
        return None


# --- building indexes ----------------------------------------------------------------------------


def _collect(
    op: Operation,
    app_label: str,
    details: dict[tuple[ModelKey, str], _Detail],
    bases: dict[ModelKey, tuple[ModelKey, ...]],
) -> None:
    for sub in op.walk():
        if sub.qualname == _M + "CreateModel":
            name = sub.kwargs.get("name")
            if not isinstance(name, str):
                continue
            key = (app_label, name.lower())
            options = sub.kwargs.get("options")
            constraints = options.get("constraints") if isinstance(options, Mapping) else None
            if isinstance(constraints, tuple):
                for constraint in constraints:
                    _record(constraint, key, details)
            raw = sub.kwargs.get("bases")
            if isinstance(raw, tuple):
                keys = tuple(k for k in (_key_of(b, app_label) for b in raw) if k is not None)
                if keys:
                    bases[key] = keys
        elif sub.qualname == _M + "AddConstraint" or sub.name == "SaferAddUniqueConstraint":
            model = sub.kwargs.get("model_name")
            if isinstance(model, str):
                _record(sub.kwargs.get("constraint"), (app_label, model.lower()), details)


def _record(value: Value, key: ModelKey, details: dict[tuple[ModelKey, str], _Detail]) -> None:
    if isinstance(value, Call) and value.name.endswith("UniqueConstraint"):
        name = value.kwargs.get("name")
        if isinstance(name, str):
            details[(key, name)] = _source_detail(value)


def source_indexes(
    history: History,
    keys: Iterable[tuple[str, str]] = (),
    replayed: tuple[Mapping[tuple[str, str], MigrationState], Models] | None = None,
) -> tuple[ModelIndex, dict[tuple[str, str], ModelIndex]]:
    """The state at the end of the history, and right before each migration in ``keys``.

    ``replayed``: the run's own replay (states before its targets, models at the end), reused
    instead of replaying the history again when it covers ``keys``."""
    wanted = set(keys)
    reuse = replayed is not None and wanted <= set(replayed[0])
    models: Models = dict(replayed[1]) if reuse and replayed else {}
    details: dict[tuple[ModelKey, str], _Detail] = {}
    bases: dict[ModelKey, tuple[ModelKey, ...]] = {}
    at: dict[tuple[str, str], ModelIndex] = {}
    for key in history.order:
        facts = history.migrations[key]
        if key in wanted:
            before = replayed[0][key].before if reuse and replayed else dict(models)
            at[key] = ModelIndex(before, dict(details), dict(bases))
        replayer = None if reuse else Replayer(models, *key)
        for op in facts.operations:
            if replayer is not None:
                replayer.apply(op)
            _collect(op, key[0], details, bases)
    return ModelIndex(models, details, bases), at


_CONTRIB: dict[str, ModelIndex] = {}


def contrib_index() -> ModelIndex | None:
    """Django's contrib apps as their migrations in the installed Django leave them."""
    if "index" in _CONTRIB:
        return _CONTRIB["index"]
    import importlib.util

    from migration_lint.discover import migration_files
    from migration_lint.history import build_history
    from migration_lint.source.parse import parse_migration

    spec = importlib.util.find_spec("django")
    if spec is None or not spec.submodule_search_locations:
        return None
    contrib = Path(next(iter(spec.submodule_search_locations))) / "contrib"
    facts = []
    names: dict[str, set[str]] = {}
    for app_dir in sorted(contrib.iterdir()):
        migrations = app_dir / "migrations"
        if not migrations.is_dir():
            continue
        for file in migration_files(migrations, app_dir.name):
            parsed = parse_migration(str(file.path), file.path.read_bytes(), file.app_label, "")
            facts.append(parsed)
            names.setdefault(file.app_label, set()).add(parsed.name)
    index, _ = source_indexes(build_history(facts, names))
    _CONTRIB["index"] = index
    return index


def project_index(ctx: LintContext) -> ModelIndex | None:
    """Django's ProjectState at the end of the plan (project mode), None when it cannot be built."""
    project = ctx.project
    if project is None or project.graph_error is not None:
        return None
    from django.db.models import UniqueConstraint

    from migration_lint.project import convert_model

    state = project.loader.project_state()
    models: Models = {}
    details: dict[tuple[ModelKey, str], _Detail] = {}
    bases: dict[ModelKey, tuple[ModelKey, ...]] = {}
    for key, model_state in state.models.items():
        models[key] = convert_model(model_state)
        for constraint in model_state.options.get("constraints", ()):
            if isinstance(constraint, UniqueConstraint):
                details[(key, constraint.name)] = _django_detail(constraint)
        keys = []
        for base in model_state.bases:
            if isinstance(base, str) and "." in base:
                app, _, name = base.rpartition(".")
                keys.append((app, name.lower()))
            elif hasattr(base, "_meta") and not base._meta.abstract:
                keys.append((base._meta.app_label, base._meta.model_name))
        if keys:
            bases[key] = tuple(keys)
    return ModelIndex(models, details, bases)


# --- resolving calls -----------------------------------------------------------------------------


class _Resolver:
    def __init__(self, ctx: LintContext, raw: RawScan) -> None:
        self.ctx = ctx
        self.raw = raw
        self.project = ctx.project is not None
        self.classes: dict[str, ClassInfo] = {}
        for scan in [*raw.scans, *raw.migration_scans.values()]:
            for info in scan.classes:
                self.classes.setdefault(info.qualname, info)
        self._more_classes_loaded = False

    # -- model references ----------------------------------------------------------------------

    def key_of(self, ref: ModelRef, index: ModelIndex) -> tuple[ModelKey | None, str]:
        """The model's key and, when there is none, why."""
        if ref.setting:
            label = "auth.User"
            if self.project:
                from django.conf import settings

                label = getattr(settings, ref.setting, label)
            app, _, name = label.rpartition(".")
            return self._known((app, name.lower()), index, label)
        if ref.app_label:
            return self._known((ref.app_label, ref.name.lower()), index, str(ref))
        module, _, name = ref.qualname.rpartition(".")
        if self.project:
            found = self._registry_key(module, name)
            if found is not None:
                return self._known(found, index, ref.qualname)
        app_label = self._label_from_module(module, index)
        if app_label is None:
            return None, f"`{ref.qualname}` is not a model of a known app"
        return self._known((app_label, name.lower()), index, ref.qualname)

    def _known(self, key: ModelKey, index: ModelIndex, shown: str) -> tuple[ModelKey | None, str]:
        if index.get(key) is not None:
            return key, ""
        if not self.project and key[0] not in index.apps:
            contrib = contrib_index()
            if contrib is not None and contrib.get(key) is not None:
                index.fallback = index.fallback or contrib
                return key, ""
        return None, f"`{shown}` is not a model that the migrations create"

    def _registry_key(self, module: str, name: str) -> ModelKey | None:
        from django.apps import apps

        loaded = sys.modules.get(module)
        obj = getattr(loaded, name, None) if loaded is not None else None
        meta = getattr(obj, "_meta", None)
        if meta is not None and hasattr(meta, "model_name"):
            return (meta.app_label, meta.model_name)
        parts = module.split(".")
        for start in range(len(parts)):
            candidate = ".".join(parts[start:])
            config = apps.get_containing_app_config(candidate) if candidate else None
            if config is not None and name.lower() in config.models:
                return (config.label, name.lower())
        return None

    @staticmethod
    def _label_from_module(module: str, index: ModelIndex) -> str | None:
        parts = module.split(".")
        if "models" in parts:
            position = len(parts) - 1 - parts[::-1].index("models")
            if position > 0:
                return parts[position - 1]
        for part in reversed(parts):
            if part in index.apps:
                return part
        return None

    # -- managers that override the method -----------------------------------------------------

    def _ensure_classes(self) -> None:
        """Model classes that use an overriding manager, from files that name that manager."""
        if self._more_classes_loaded:
            return
        self._more_classes_loaded = True
        names = {
            info.name
            for info in self.classes.values()
            if info.manager_like or info.methods & set(METHODS)
        }
        if not names:
            return
        for info in scan_classes(self.raw.app_files, self.ctx.root, names):
            self.classes.setdefault(info.qualname, info)

    def _class_family(self, qualname: str) -> list[ClassInfo]:
        """The class and its bases that the scanned code defines."""
        out: list[ClassInfo] = []
        queue = [qualname]
        seen: set[str] = set()
        while queue:
            current = queue.pop(0)
            if current in seen:
                continue
            seen.add(current)
            info = self.classes.get(current) or self._by_short_name(current)
            if info is None:
                continue
            out.append(info)
            queue.extend(info.bases)
        return out

    def _by_short_name(self, qualname: str) -> ClassInfo | None:
        module, _, name = qualname.rpartition(".")
        matches = [
            c
            for c in self.classes.values()
            if c.name == name and (c.module.startswith(module) or module.startswith(c.module))
        ]
        return matches[0] if len(matches) == 1 else None

    def overrider(self, classes: Iterable[str], method: str) -> str | None:
        family = set(OVERRIDES[method])
        for qualname in classes:
            for info in self._class_family(qualname):
                if info.methods & family:
                    return info.qualname
        return None

    def _model_class(self, key: ModelKey, index: ModelIndex) -> ClassInfo | None:
        state = index.get(key)
        if state is None:
            return None
        candidates = [
            c
            for c in self.classes.values()
            if c.name == state.name
            and self._label_from_module(c.module, index) == key[0]
            and not c.manager_like
        ]
        return candidates[0] if len(candidates) == 1 else None

    def manager_overrider(
        self, key: ModelKey, attr: str | None, method: str, index: ModelIndex
    ) -> str | None:
        if self.project:
            return self._project_overrider(key, attr, method)
        if not any(c.methods & set(METHODS) for c in self.classes.values()):
            return None
        self._ensure_classes()
        model = self._model_class(key, index)
        if model is None:
            return None
        for info in self._class_family(model.qualname):
            for name, classes in info.managers:
                if attr in (None, "_default_manager") or name == attr:
                    return self.overrider(classes, method)
        return None

    def _project_overrider(self, key: ModelKey, attr: str | None, method: str) -> str | None:
        from django.apps import apps

        try:
            model = apps.get_model(key[0], key[1])
        except LookupError:
            return None
        if attr in (None, "_default_manager"):
            manager = model._default_manager
        else:
            manager = getattr(model, attr, None)
        if manager is None:
            return None
        family = OVERRIDES[method]
        queryset_class = getattr(manager, "_queryset_class", object)
        for cls in (*type(manager).__mro__, *queryset_class.__mro__):
            if cls.__module__.startswith("django.") or cls is object:
                continue
            if any(m in cls.__dict__ for m in family):
                return f"{cls.__module__}.{cls.__qualname__}"
        return None

    def models_using(self, manager_class: str, index: ModelIndex) -> list[tuple[ModelKey, str]]:
        """Models (and the manager attribute) whose managers are built from ``manager_class``."""
        if self.project:
            from django.apps import apps

            out: list[tuple[ModelKey, str]] = []
            for model in apps.get_models():
                for manager in model._meta.managers:
                    mro = [*type(manager).__mro__, *manager._queryset_class.__mro__]
                    if any(f"{c.__module__}.{c.__qualname__}" == manager_class for c in mro):
                        out.append(((model._meta.app_label, model._meta.model_name), manager.name))
                        break
            return out
        self._ensure_classes()
        found: list[tuple[ModelKey, str]] = []
        for info in self.classes.values():
            if info.manager_like:
                continue
            for name, classes in info.managers:
                family = {c.qualname for q in classes for c in self._class_family(q)}
                if manager_class in family or manager_class in classes:
                    label = self._label_from_module(info.module, index)
                    key = (label, info.name.lower()) if label else None
                    if key is not None and index.get(key) is not None:
                        found.append((key, name))
                    break
        return found

    # -- one call ------------------------------------------------------------------------------

    def sites(
        self, call: RawCall, index: ModelIndex, migration: tuple[str, str] | None
    ) -> list[CallSite]:
        from migration_lint.lint import display_path

        facts = self.ctx.history.migrations.get(migration) if migration else None
        base = CallSite(
            # A migration's findings carry the path its facts have: suppression matches on it.
            path=facts.path if facts is not None else display_path(call.path, Path.cwd()),
            line=call.line,
            column=call.column,
            end_line=call.end_line,
            end_column=call.end_column,
            method=call.method,
            text=call.text,
            migration=migration,
            noqa=call.noqa,
        )
        target = call.target
        if target is None:
            return [replace(base, unresolved=call.unresolved)]
        if target.manager_class is not None:
            overridden = self.overrider([target.manager_class], call.method)
            users = self.models_using(target.manager_class, index)
            if not users:
                name = target.manager_class.rpartition(".")[2]
                return [replace(base, unresolved=f"no model known to use {name}")]
            return [
                self._finish(base, call, index, key, via="manager", overridden=overridden)
                for key, _ in users
            ]
        assert target.model is not None
        key, why = self.key_of(target.model, index)
        if key is None:
            return [replace(base, unresolved=why)]
        if not target.path:
            overridden = self.manager_overrider(key, target.manager, call.method, index)
            via = "queryset" if call.chain else "manager"
            return [self._finish(base, call, index, key, via=via, overridden=overridden)]
        current = key
        for step in target.path[:-1]:
            relation = index.relation(current, step)
            if relation is None or relation.kind not in ("forward", "reverse_o2o"):
                return [replace(base, unresolved=f"`{step}` is not a relation of {current[1]}")]
            current = relation.model
        accessor = target.path[-1]
        relation = index.relation(current, accessor)
        state = index.get(current)
        shown = state.name if state else current[1]
        if relation is None or relation.kind not in ("reverse_fk", "m2m", "reverse_m2m"):
            return [replace(base, unresolved=f"`{accessor}` is not a related manager of {shown}")]
        overridden = self.manager_overrider(relation.model, None, call.method, index)
        extra: list[tuple[str, LookupValue]] = []
        if relation.field:
            extra.append((relation.field, LookupValue(call.receiver.rpartition(".")[0])))
        return [
            self._finish(
                base,
                call,
                index,
                relation.model,
                via="related",
                overridden=overridden,
                related_field=relation.field,
                extra=extra,
            )
        ]

    def _finish(
        self,
        base: CallSite,
        call: RawCall,
        index: ModelIndex,
        key: ModelKey,
        via: str,
        overridden: str | None,
        related_field: str | None = None,
        extra: list[tuple[str, LookupValue]] | None = None,
    ) -> CallSite:
        key = index.concrete(key)
        state = index.get(key)
        assert state is not None
        unresolved = ""
        if not state.managed:
            unresolved = f"{state.name} is not managed by migrations (managed = False)"
        fields: dict[str, LookupValue] = {}
        operators: list[str] = []
        for name, value in [*(extra or ()), *call.chain, *call.kwargs]:
            normal = normalise(index, key, name, value)
            if normal is None:
                operators.append(name)
            else:
                fields.pop(normal[0], None)
                fields[normal[0]] = normal[1]
        return replace(
            base,
            app_label=key[0],
            model=state.name,
            lookup=tuple(fields),
            values=fields,
            none_fields=tuple(f for f, v in fields.items() if v.is_none),
            operators=tuple(dict.fromkeys(operators)),
            via=via,
            related_field=related_field,
            dynamic=call.dynamic,
            overridden=overridden,
            unresolved=unresolved,
        )


def normalise(
    index: ModelIndex, key: ModelKey, name: str, value: LookupValue
) -> tuple[str, LookupValue] | None:
    """A lookup as the field it compares for equality; None when it is another operator."""
    parts = name.split("__")
    if len(parts) > 1 and parts[-1] == "exact":
        parts = parts[:-1]
    if len(parts) == 2 and parts[1] == "isnull" and value.literal and value.value is True:
        parts, value = parts[:1], LookupValue("None", True, None)
    if len(parts) > 1:
        return None
    field_name = parts[0]
    if field_name == "pk" or (field_name == "id" and index.field(key, "id") is None):
        field_name = index.pk_name(key) or field_name
    elif field_name.endswith("_id") and index.field(key, field_name) is None:
        found = index.field(key, field_name[:-3])
        if found is not None and found[1].related_model and not found[1].many_to_many:
            field_name = field_name[:-3]
    found = index.field(key, field_name)
    return (found[1].name if found else field_name), value


def resolve_calls(ctx: LintContext, raw: RawScan) -> AppCodeScan:
    from migration_lint.lint import display_path

    end = project_index(ctx)
    end_models = ctx.memo.get("models_at_end")
    replayed = (ctx.states, end_models) if isinstance(end_models, dict) else None
    source_end, at = source_indexes(ctx.history, raw.migration_scans, replayed)
    if end is None:
        end = source_end
    resolver = _Resolver(ctx, raw)
    sites: list[CallSite] = []
    errors: list[str] = []
    parsed = 0
    for scan in raw.scans:
        parsed += 1
        if scan.error:
            errors.append(f"{display_path(scan.path, Path.cwd())}: {scan.error}")
        for call in scan.calls:
            sites.extend(resolver.sites(call, end, None))
    for key, scan in raw.migration_scans.items():
        parsed += 1
        index = at.get(key, source_end)
        for call in scan.calls:
            sites.extend(resolver.sites(call, index, key))
    result = AppCodeScan(sites, raw.files_read, parsed, errors, end, dict(at))
    _note(ctx, result)
    return result


def _note(ctx: LintContext, scan: AppCodeScan) -> None:
    unresolved = [c for c in scan.calls if c.unresolved]
    dynamic = [c for c in scan.calls if not c.unresolved and not c.overridden and c.dynamic]
    overridden = [c for c in scan.calls if not c.unresolved and c.overridden]
    ctx.notes.append(
        f"get_or_create/update_or_create: {len(scan.calls)} call(s) in {scan.files_parsed} of "
        f"{scan.files_read} file(s) read; {len(unresolved)} on a model that could not be "
        f"resolved, {len(dynamic)} with a lookup not known statically, {len(overridden)} "
        "through a manager that overrides the method (none of these are judged)"
    )
    for call in [*unresolved, *dynamic][:20]:
        why = call.unresolved or f"lookup not known statically: {call.dynamic}"
        ctx.notes.append(
            f"  {call.path}:{call.line}:{call.column}: `{call.text}` not checked: {why}"
        )
    for error in scan.errors:
        ctx.notes.append(f"  {error}")


# --- judging a lookup ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Shortfall:
    """A unique set over the lookup's fields that does not always hold, and why."""

    rule: UniqueRule
    reasons: tuple[str, ...]
    vendors: tuple[str, ...] = ()
    kinds: frozenset[str] = frozenset()  # condition, null, vendor


@dataclass(frozen=True)
class Verdict:
    """``covered``, ``partial`` (only sets with shortfalls) or ``uncovered`` (no set at all)."""

    status: str
    rule: UniqueRule | None = None
    shortfalls: tuple[Shortfall, ...] = field(default_factory=tuple)


def _implied(term: tuple[str, object], values: Mapping[str, LookupValue]) -> bool:
    name, expected = term
    parts = name.split("__")
    if parts[-1] == "exact":
        parts = parts[:-1]
    if len(parts) == 2 and parts[1] == "isnull":
        value = values.get(parts[0])
        if value is None or not value.literal:
            return False
        return (value.value is None) == bool(expected)
    if len(parts) != 1:
        return False
    value = values.get(parts[0])
    if value is None or not value.literal:
        return False
    return type(value.value) is type(expected) and value.value == expected


def judge(site: CallSite, index: ModelIndex, vendors: Iterable[str]) -> Verdict:
    """Is some unique set of the model a subset of the lookup, on every target database?"""
    assert site.app_label is not None and site.model is not None
    key = (site.app_label, site.model.lower())
    lookup = {f.lower() for f in site.lookup}
    values = {f: v for f, v in site.values.items()}
    shortfalls: list[Shortfall] = []
    targets = tuple(vendors)
    for rule in index.rules(key):
        if not {f.lower() for f in rule.fields} <= lookup:
            continue
        reasons: list[str] = []
        missing_on: list[str] = []
        kinds: set[str] = set()
        if rule.condition and (
            rule.terms is None or not all(_implied(t, values) for t in rule.terms)
        ):
            reasons.append(
                f"it only applies where {rule.condition_text or 'its condition holds'}, "
                "which the lookup does not imply"
            )
            kinds.add("condition")
        if rule.nulls_distinct is not False:
            for name in rule.fields:
                found = index.field(rule.owner, name)
                value = next((v for f, v in values.items() if f.lower() == name.lower()), None)
                if found and found[1].null and value is not None and value.is_none:
                    reasons.append(
                        f"{name} is None in this lookup, and NULLs are distinct: rows with a "
                        f"NULL {name} never conflict"
                    )
                    kinds.add("null")
        for vendor in targets:
            missing = [o for o in NOT_CREATED.get(vendor, ()) if o in rule.options]
            if missing:
                missing_on.append(vendor)
                kinds.add("vendor")
                reasons.append(
                    f"{VENDOR_NAMES.get(vendor, vendor)} does not create it "
                    f"({', '.join(m + '=' for m in missing)})"
                )
        if not reasons:
            return Verdict("covered", rule)
        shortfalls.append(Shortfall(rule, tuple(reasons), tuple(missing_on), frozenset(kinds)))
    if shortfalls:
        return Verdict("partial", shortfalls=tuple(shortfalls))
    return Verdict("uncovered")


# --- the judged calls, shared by ML301-ML303 ---------------------------------------------------


@dataclass(frozen=True)
class Judged:
    site: CallSite
    verdict: Verdict
    declared: Verdict | None = None
    declared_rules: tuple[UniqueRule, ...] = ()


def judged_calls(ctx: LintContext) -> list[Judged]:
    cached = ctx.memo.get("appcode.judged")
    if cached is not None:
        return cached  # type: ignore[return-value]
    from migration_lint.analysis.declared import declared_index
    from migration_lint.appcode import load

    scan = load(ctx)
    vendors = ctx.vendor_names()
    out: list[Judged] = []
    for site in scan.judged():
        index = scan.migration_indexes.get(site.migration) if site.migration else scan.index
        assert index is not None
        verdict = judge(site, index, vendors)
        declared = None
        rules: tuple[UniqueRule, ...] = ()
        if verdict.status != "covered" and site.migration is None:
            model_index = declared_index(ctx, scan, site, index)
            if model_index is not None:
                declared = judge(site, model_index, vendors)
                known = set(index.rules((site.app_label or "", (site.model or "").lower())))
                rules = tuple(
                    r
                    for r in model_index.rules((site.app_label or "", (site.model or "").lower()))
                    if r not in known
                )
        out.append(Judged(site, verdict, declared, rules))
    ctx.memo["appcode.judged"] = out
    return out
