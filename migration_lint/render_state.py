"""The project state carried through the plan for rendering, and the small state each
migration is rendered from.

Django renders a model class for every model related to the one an operation changes, and
re-renders them after each operation. Carrying one *rendered* state through the whole plan
(what ``migrate`` does) therefore costs time in proportion to the related-model graph for
every operation; on projects where everything points at ``auth.User``, ``ContentType`` or a
CMS page model, that is nearly all of the rendering time.

The SQL of a migration only reads:

- the models its operations change (full),
- when it renames a table or alters a primary key or unique column, the models pointing at
  it, whose foreign keys are altered, rebuilt or dropped along with it; and the explicit
  ``through`` models of all these (full),
- and, of every model those point at, the table name and the referenced columns: these are
  rendered as *stubs* that keep only primary keys, unique fields and the fields a relation
  names in ``to_field``, with their own parents and primary-key targets stubbed in turn.

So the whole state is carried forward unrendered (``state_forwards`` on plain model states is
cheap) and each migration is rendered from a state that holds only those models. An operation
this module does not know (one defined outside Django) gets the whole state, as before.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

Key = tuple[str, str]

# Options that name fields; a stub drops them with the fields they name.
_FIELD_OPTIONS = ("indexes", "constraints", "unique_together", "index_together")


def _is_django(operation: Any) -> bool:
    return type(operation).__module__.startswith("django.")


def touched(operation: Any, app_label: str) -> set[Key] | None:
    """The models ``operation`` changes, or None when it cannot be known (render everything)."""
    from django.db.migrations import operations as ops
    from django.db.migrations.operations.base import Operation
    from django.db.migrations.operations.fields import FieldOperation
    from django.db.migrations.operations.models import IndexOperation, ModelOperation

    if not _is_django(operation):
        return None
    if isinstance(operation, ops.SeparateDatabaseAndState):
        inner = [*operation.state_operations, *operation.database_operations]
    elif isinstance(operation, ops.RunSQL):
        inner = list(operation.state_operations)
    elif isinstance(operation, ops.RunPython):
        return set()
    elif isinstance(operation, ops.RenameModel):
        return {(app_label, operation.old_name_lower), (app_label, operation.new_name_lower)}
    elif isinstance(operation, FieldOperation | IndexOperation):
        return {(app_label, operation.model_name_lower)}
    elif isinstance(operation, ModelOperation):
        return {(app_label, operation.name_lower)}
    elif isinstance(getattr(operation, "model_name", None), str):
        # contrib.postgres's ValidateConstraint and the like.
        return {(app_label, operation.model_name.lower())}
    elif type(operation).__module__.startswith("django.contrib.postgres") and isinstance(
        operation, Operation
    ):
        return set()  # extensions and collations: no model
    else:
        return None
    keys: set[Key] = set()
    for nested in inner:
        found = touched(nested, app_label)
        if found is None:
            return None
        keys |= found
    return keys


def _reads_referrers(operation: Any, state: Any, app_label: str) -> bool:
    """Whether the SQL of ``operation`` reads the models pointing at the model it changes:
    renaming a table, or altering a primary key or unique column, alters, drops or rebuilds
    the foreign keys that point at it."""
    from django.db.migrations import operations as ops

    if isinstance(operation, ops.SeparateDatabaseAndState):
        return any(_reads_referrers(op, state, app_label) for op in operation.database_operations)
    if isinstance(operation, ops.RenameModel):
        return True
    if isinstance(operation, ops.AlterField | ops.RenameField):
        model = state.models.get((app_label, operation.model_name_lower))
        name = operation.name if isinstance(operation, ops.AlterField) else operation.old_name
        old = model.fields.get(name) if model is not None else None
        new = getattr(operation, "field", None)
        return any(f is not None and (f.primary_key or f.unique) for f in (old, new))
    return False


def _key(reference: Any, owner: Key) -> Key | None:
    """The model a relation or base names, as a state key (None for plain Python classes)."""
    from django.db.migrations.utils import resolve_relation

    if not isinstance(reference, str):
        meta = getattr(reference, "_meta", None)
        if meta is None or meta.abstract:
            return None
    return resolve_relation(reference, *owner)


def _bases(model_state: Any) -> Iterator[Key]:
    owner = (model_state.app_label, model_state.name_lower)
    for base in model_state.bases:
        key = _key(base, owner)
        if key is not None:
            yield key


def _relations(model_state: Any) -> Iterator[Any]:
    for field in model_state.fields.values():
        if field.remote_field is not None:
            yield field


def _targets(model_state: Any) -> Iterator[tuple[Key, tuple[str, ...]]]:
    """What ``model_state``'s relations (and their through models) point at, with the target
    fields they name."""
    owner = (model_state.app_label, model_state.name_lower)
    yield from _field_targets(_relations(model_state), owner)


def _field_targets(fields: Iterable[Any], owner: Key) -> Iterator[tuple[Key, tuple[str, ...]]]:
    for field in fields:
        target = _key(field.remote_field.model, owner)
        if target is not None:
            names = getattr(field, "to_fields", None) or ()
            yield target, tuple(name for name in names if name)
        through = _through(field, owner)
        if through is not None:
            yield through, ()


def _operation_targets(operation: Any, app_label: str) -> Iterator[tuple[Key, tuple[str, ...]]]:
    """What the fields and bases an operation declares point at: a relation that a later
    operation of the same migration removes is in no state before or after it."""
    for nested in (
        *getattr(operation, "state_operations", ()),
        *getattr(operation, "database_operations", ()),
    ):
        yield from _operation_targets(nested, app_label)
    model = getattr(operation, "model_name", None) or getattr(operation, "name", None)
    if not isinstance(model, str):
        return
    owner = (app_label, model.lower())
    fields = [f for _, f in getattr(operation, "fields", ())]
    if getattr(operation, "field", None) is not None:
        fields.append(operation.field)
    yield from _field_targets((f for f in fields if f.remote_field is not None), owner)
    for base in getattr(operation, "bases", ()) or ():
        key = _key(base, owner)
        if key is not None:
            yield key, ()


def _through(field: Any, owner: Key) -> Key | None:
    """The explicit through model of a many-to-many field (None for any other field)."""
    through = getattr(field.remote_field, "through", None)
    return _key(through, owner) if through is not None else None


def _throughs(model_state: Any) -> Iterator[Key]:
    owner = (model_state.app_label, model_state.name_lower)
    for field in _relations(model_state):
        through = _through(field, owner)
        if through is not None:
            yield through


def _stub(model_state: Any, named: set[str]) -> Any:
    """``model_state`` with only the fields another table's SQL can read."""
    keep: dict[str, Any] = {}
    for name, field in model_state.fields.items():
        # A unique relation is kept only when named: keeping them all would drag in their targets.
        plain_unique = field.unique and field.remote_field is None
        if field.primary_key or plain_unique or name in named:
            keep[name] = field
            # A composite primary key is made of other fields.
            for part in getattr(field, "field_names", ()) or ():
                if part in model_state.fields:
                    keep[part] = model_state.fields[part]
    options = {k: v for k, v in model_state.options.items() if k not in _FIELD_OPTIONS}
    options.pop("order_with_respect_to", None)
    return type(model_state)(
        model_state.app_label,
        model_state.name,
        keep,
        options=options,
        bases=model_state.bases,
        managers=list(model_state.managers),
    )


def _concrete(models: dict[Key, Any], key: Key) -> Key:
    """The concrete model behind a proxy (``key`` itself for a concrete model)."""
    seen: set[Key] = set()
    while key in models and models[key].options.get("proxy") and key not in seen:
        seen.add(key)
        parents = list(_bases(models[key]))
        if not parents:
            break
        key = parents[0]
    return key


def _referrers(models: dict[Key, Any], keys: set[Key]) -> set[Key]:
    """Models with a relation (or an explicit through) to one of ``keys`` or their proxies.

    Scanned from the model states, not ``ProjectState.relations``: once that index exists,
    Django's ``alter_field`` moves an altered field to the end of the model, which changes
    the column order of a SQLite table rebuild."""
    found: set[Key] = set()
    if not keys:
        return found
    for owner, model_state in models.items():
        for field in _relations(model_state):
            remote = field.remote_field
            for reference in (remote.model, getattr(remote, "through", None)):
                if reference is None:
                    continue
                target = _key(reference, owner)
                if target is not None and _concrete(models, target) in keys:
                    found.add(owner)
    return found


class CarriedState:
    """The project state through the plan, unrendered, and each migration's render state."""

    def __init__(self) -> None:
        from django.db.migrations.state import ProjectState

        self.state = ProjectState(real_apps=set())
        # The migration last advanced over: its models as they were before it, untouched by
        # rendering, and the models it changes; None when it got the whole state anyway.
        self._last: tuple[dict[Key, Any], set[Key]] | None = None

    def skip(self, migration: Any) -> None:
        """Carry ``migration`` forward without rendering it."""
        for operation in migration.operations:
            operation.state_forwards(migration.app_label, self.state)

    def advance(self, migration: Any) -> Any:
        """Carry ``migration`` forward; return the state to render it from (its from-state)."""
        from django.db.migrations.state import ProjectState

        keys: set[Key] = set()
        referred: set[Key] = set()
        known = True
        for operation in migration.operations:
            found = touched(operation, migration.app_label)
            if found is None:
                known = False
                break
            keys |= found
            if _reads_referrers(operation, self.state, migration.app_label):
                referred |= found
        self._last = None
        if not known:
            whole = self.state.clone()
            self.skip(migration)
            with contextlib.suppress(Exception):
                whole.apps  # noqa: B018 - rendered first, as a scoped state is
            return whole
        models = self.state.models
        full = {key for key in keys if key in models} | _referrers(models, referred)
        full |= {key for key in list(full) for key in _throughs(models[key]) if key in models}
        before = {key: models[key].clone() for key in full if key in models}
        self._last = ({key: state.clone() for key, state in before.items()}, keys)
        self.skip(migration)
        after = self.state.models
        changed = [before.values(), (after[key] for key in keys if key in after)]
        declared = [
            found
            for op in migration.operations
            for found in _operation_targets(op, migration.app_label)
        ]
        scoped = ProjectState(
            models=self._closure(before, changed, keys, declared), real_apps=set()
        )
        try:
            scoped.apps  # noqa: B018 - rendered here so each operation clones it
        except Exception:  # noqa: BLE001 - the whole state renders it as Django would
            whole = self.whole()
            assert whole is not None
            return whole
        return scoped

    def whole(self) -> Any | None:
        """The whole project state before the migration last advanced over, unrendered; None
        when :meth:`advance` already gave it the whole state."""
        from django.db.migrations.state import ProjectState

        if self._last is None:
            return None
        before, keys = self._last
        models = {key: state.clone() for key, state in self.state.models.items() if key not in keys}
        models.update((key, state.clone()) for key, state in before.items())
        return ProjectState(models=models, real_apps=set())

    def _closure(
        self,
        before: dict[Key, Any],
        changed: list[Iterable[Any]],
        keys: set[Key],
        declared: Iterable[tuple[Key, tuple[str, ...]]] = (),
    ) -> dict[Key, Any]:
        """``before`` plus stubs of everything it and the changed models point at, transitively
        through stubs' own primary keys, unique relations and parents."""
        after = self.state.models
        named: dict[Key, set[str]] = {}
        pending: list[Key] = []

        def want(key: Key, names: Iterable[str] = ()) -> None:
            if key in keys or key in before or key not in after:
                return
            current = named.get(key)
            if current is None:
                named[key] = set(names)
                pending.append(key)
            elif not current.issuperset(names):
                # A later relation names a field the stub dropped: make it again.
                current.update(names)
                pending.append(key)

        for target, names in declared:
            want(target, names)
        for group in changed:
            for model_state in group:
                for target, names in _targets(model_state):
                    want(target, names)
                for base in _bases(model_state):
                    want(base)
        stubs: dict[Key, Any] = {}
        while pending:
            key = pending.pop()
            stub = _stub(after[key], named[key])
            stubs[key] = stub
            for target, names in _targets(stub):
                want(target, names)
            for base in _bases(stub):
                want(base)
        return {**stubs, **before}
