"""Table state replayed from migration facts, the way Django's ``state_forwards`` would.

Used when no Django project is loaded (the pre-commit hook, plain paths). The project loader
produces the same :class:`ModelState` facts from Django's own ProjectState, with exact names.
Operations this module does not know (third-party, dynamic) leave the state as it was.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, MutableMapping
from functools import lru_cache

from migration_lint.facts import (
    Call,
    FieldState,
    IndexState,
    ModelKey,
    ModelState,
    Operation,
    Ref,
    UniqueSet,
    Value,
)
from migration_lint.facts import evolve as replace

Models = dict[ModelKey, ModelState]
_M = "django.db.migrations."
_PG = "django.contrib.postgres.operations."

_RELATION_TYPES = ("ForeignKey", "OneToOneField", "ForeignObject", "ParentalKey")


def default_table(app_label: str, model_name: str) -> str:
    """Django's default ``db_table`` (``Options.contribute_to_class``)."""
    return f"{app_label}_{model_name.lower()}"


def _text(value: Value) -> str | None:
    return value if isinstance(value, str) else None


def names(value: Value) -> tuple[str, ...]:
    """The strings of a list or tuple value (``fields=[...]``); none for any other value."""
    if isinstance(value, tuple):
        return tuple(v for v in value if isinstance(v, str))
    return ()


def _related(value: Value, app_label: str, model: str | None = None) -> str | None:
    """``"shop.Order"``, ``"Order"`` or ``settings.AUTH_USER_MODEL`` as ``app.model`` (lowercase)."""
    if isinstance(value, str):
        if value == "self":
            return f"{app_label}.{model.lower()}" if model else None
        if "." in value:
            app, _, model = value.rpartition(".")
            return f"{app}.{model.lower()}"
        return f"{app_label}.{value.lower()}"
    if isinstance(value, Ref) and value.qualname.endswith("AUTH_USER_MODEL"):
        return "auth.user"
    return None


def _is_relation(kind: str) -> bool:
    """A field type that stores the related row's key in a ``<name>_id`` column."""
    return kind in _RELATION_TYPES or kind.endswith(("ForeignKey", "OneToOneField"))


@lru_cache(maxsize=1024)
def _field_kind(qualname: str) -> tuple[bool, bool, bool]:
    """Whether a field class is a relation with a column, a many-to-many, a one-to-one."""
    kind = qualname.rpartition(".")[2]
    return _is_relation(kind), kind.endswith("ManyToManyField"), kind.endswith("OneToOneField")


_NO_CALL = Call("")


def field_state(name: str, value: Value, app_label: str, model: str | None = None) -> FieldState:
    """A field's column facts from its constructor call in the migration on ``model``."""
    call = value if isinstance(value, Call) else _NO_CALL
    kwargs = call.kwargs
    relation, many, one_to_one = _field_kind(call.qualname)
    db_column = _text(kwargs.get("db_column"))
    primary_key = kwargs.get("primary_key") is True
    db_index = kwargs.get("db_index")
    # By position, in the order of FieldState's fields: the replay makes one for every field
    # of every migration, and keywords take half as long again to bind.
    return FieldState(
        name,  # name
        db_column or (f"{name}_id" if relation else name),  # column
        call.qualname,  # field_type
        kwargs.get("null") is True,  # null
        kwargs.get("unique") is True or one_to_one or primary_key,  # unique
        primary_key,  # primary_key
        db_index is True or (relation and db_index is not False),  # db_index
        _related(kwargs.get("to"), app_label, model) if relation or many else None,  # related_model
        many,  # many_to_many
        "db_default" in kwargs,  # has_db_default
        # Shared, not copied: facts are never changed once read.
        kwargs,  # kwargs
    )


def _constraint(value: Value) -> UniqueSet | None:
    """A UniqueConstraint as a unique set; other constraints (checks, exclusions) are not."""
    if not isinstance(value, Call) or not value.name.endswith("UniqueConstraint"):
        return None
    nulls_distinct = value.kwargs.get("nulls_distinct")
    return UniqueSet(
        fields=names(value.kwargs.get("fields")),
        origin="constraint",
        name=_text(value.kwargs.get("name")),
        condition=value.kwargs.get("condition") is not None,
        expressions=bool(value.args),
        nulls_distinct=nulls_distinct if isinstance(nulls_distinct, bool) else None,
    )


def _index(value: Value) -> IndexState | None:
    if not isinstance(value, Call):
        return None
    return IndexState(
        name=_text(value.kwargs.get("name")),
        fields=tuple(f.lstrip("-") for f in names(value.kwargs.get("fields"))),
        condition=value.kwargs.get("condition") is not None,
        expressions=bool(value.args),
    )


def together_sets(value: Value) -> tuple[tuple[str, ...], ...]:
    """``unique_together`` as Django normalises it: one tuple becomes a set of one."""
    if not isinstance(value, tuple) or not value:
        return ()
    if all(isinstance(v, str) for v in value):
        return (names(value),)
    return tuple(names(v) for v in value if isinstance(v, tuple))


class Replayer:
    """Applies operations of one app's migration to a models mapping, in place."""

    def __init__(
        self,
        models: MutableMapping[ModelKey, ModelState],
        app_label: str,
        migration_name: str,
        changes: dict[ModelKey, ModelState | None] | None = None,
        new_fields: dict[tuple[int | str, ...], FieldState] | None = None,
    ) -> None:
        self.models = models
        self.app_label = app_label
        self.migration = (app_label, migration_name)
        # When given, receives every model set (or deleted: None): the replay's step views.
        self.changes = changes
        # When given, receives the field of each AddField and AlterField, by operation path.
        self.new_fields = new_fields

    def _set(self, key: ModelKey, state: ModelState) -> None:
        self.models[key] = state
        if self.changes is not None:
            self.changes[key] = state

    def key(self, name: Value) -> ModelKey | None:
        return (self.app_label, name.lower()) if isinstance(name, str) else None

    def apply(self, op: Operation) -> None:
        if op.dynamic:
            return
        handler = _HANDLERS.get(op.qualname)
        if handler is not None:
            handler(self, op)
        elif op.qualname in (_M + "SeparateDatabaseAndState", _M + "RunSQL"):
            for nested in op.nested.get("state_operations", ()):
                self.apply(nested)

    def _remove(self, key: ModelKey) -> None:
        # ``models`` may be a ChainMap over a snapshot, whose ``del`` only reaches the first
        # map: a model from an earlier migration then stays visible, but replay goes on.
        with contextlib.suppress(KeyError):
            del self.models[key]
            if self.changes is not None:
                self.changes[key] = None

    def _update(
        self, op: Operation, name_arg: str, change: Callable[[ModelState], ModelState]
    ) -> None:
        key = self.key(op.kwargs.get(name_arg))
        if key is not None and key in self.models:
            self._set(key, change(self.models[key]))

    # -- models --------------------------------------------------------------------------------

    def create_model(self, op: Operation) -> None:
        name = op.kwargs.get("name")
        key = self.key(name)
        if key is None or not isinstance(name, str):
            return
        options = op.kwargs.get("options")
        options = options if isinstance(options, Mapping) else {}
        fields = op.kwargs.get("fields")
        states = tuple(
            field_state(f[0], f[1], self.app_label, name)
            for f in (fields if isinstance(fields, tuple) else ())
            if isinstance(f, tuple) and len(f) == 2 and isinstance(f[0], str)
        )
        self._relates(states)
        table = _text(options.get("db_table")) or default_table(self.app_label, name)
        constraints = options.get("constraints")
        indexes = options.get("indexes")
        self._set(
            key,
            ModelState(
                app_label=self.app_label,
                name=name,
                table=table,
                fields=states,
                unique_together=together_sets(options.get("unique_together")),
                constraints=tuple(
                    c
                    for c in map(_constraint, constraints if isinstance(constraints, tuple) else ())
                    if c
                ),
                indexes=tuple(
                    i for i in map(_index, indexes if isinstance(indexes, tuple) else ()) if i
                ),
                created_by=self.migration,
                managed=options.get("managed") is not False,
                proxy=options.get("proxy") is True,
            ),
        )

    def delete_model(self, op: Operation) -> None:
        key = self.key(op.kwargs.get("name"))
        if key is not None:
            self._remove(key)

    def rename_model(self, op: Operation) -> None:
        old, new = self.key(op.kwargs.get("old_name")), op.kwargs.get("new_name")
        if old is None or not isinstance(new, str) or old not in self.models:
            return
        state = self.models[old]
        self._remove(old)
        table = state.table
        if table == default_table(self.app_label, state.name):
            table = default_table(self.app_label, new)
        self._set((self.app_label, new.lower()), replace(state, name=new, table=table))
        # Django repoints every relation to the renamed model (ProjectState.rename_model).
        old_label, new_label = f"{self.app_label}.{old[1]}", f"{self.app_label}.{new.lower()}"
        related = getattr(self.models, "related", None)
        if related is not None:
            if old_label not in related:
                return  # no field ever pointed at it: no model of the project to visit
            related.add(new_label)
        for key, model in list(self.models.items()):
            if old_label in model.related_models:
                fields = tuple(
                    replace(f, related_model=new_label) if f.related_model == old_label else f
                    for f in model.fields
                )
                self._set(key, replace(model, fields=fields))

    def alter_model_table(self, op: Operation) -> None:
        name, value = op.kwargs.get("name"), op.kwargs.get("table")
        table: str | None = None
        if value is None and isinstance(name, str):
            table = default_table(self.app_label, name)
        else:
            # A table name the source does not spell out leaves the last known one.
            table = _text(value)
        if table:
            self._update(op, "name", lambda s: replace(s, table=table))

    def alter_model_options(self, op: Operation) -> None:
        options = op.kwargs.get("options")
        if isinstance(options, Mapping):
            managed = options.get("managed") is not False
            self._update(op, "name", lambda s: replace(s, managed=managed))

    def alter_unique_together(self, op: Operation) -> None:
        together = together_sets(op.kwargs.get("unique_together"))
        self._update(op, "name", lambda s: replace(s, unique_together=together))

    # -- fields --------------------------------------------------------------------------------

    def _model_name(self, op: Operation) -> str | None:
        model = op.kwargs.get("model_name")
        return model if isinstance(model, str) else None

    def _relates(self, fields: tuple[FieldState, ...]) -> None:
        """Note the models ``fields`` point at, where the models mapping keeps such a note."""
        related = getattr(self.models, "related", None)
        if related is not None:
            related.update(f.related_model for f in fields if f.related_model)

    def _new_field(self, op: Operation, name: str) -> FieldState:
        new = field_state(name, op.kwargs.get("field"), self.app_label, self._model_name(op))
        if new.related_model:
            self._relates((new,))
        if self.new_fields is not None:
            self.new_fields[op.path] = new
        return new

    def add_field(self, op: Operation) -> None:
        name = op.kwargs.get("name")
        if isinstance(name, str):
            new = self._new_field(op, name)
            self._update(op, "model_name", lambda s: replace(s, fields=(*s.fields, new)))

    def alter_field(self, op: Operation) -> None:
        name = op.kwargs.get("name")
        if not isinstance(name, str):
            return
        new = self._new_field(op, name)
        lowered = name.lower()
        self._update(
            op,
            "model_name",
            lambda s: replace(
                s, fields=tuple([new if f.name.lower() == lowered else f for f in s.fields])
            ),
        )

    def remove_field(self, op: Operation) -> None:
        name = op.kwargs.get("name")
        if not isinstance(name, str):
            return
        lowered = name.lower()

        def change(s: ModelState) -> ModelState:
            return replace(
                s,
                fields=tuple(f for f in s.fields if f.name.lower() != lowered),
                unique_together=tuple(
                    t for t in s.unique_together if lowered not in map(str.lower, t)
                ),
            )

        self._update(op, "model_name", change)

    def rename_field(self, op: Operation) -> None:
        old, new = op.kwargs.get("old_name"), op.kwargs.get("new_name")
        if not (isinstance(old, str) and isinstance(new, str)):
            return

        def rename(f: FieldState) -> FieldState:
            if f.name.lower() != old.lower():
                return f
            column = f.column
            if "db_column" not in f.kwargs:
                column = f"{new}_id" if _is_relation(Call(f.field_type).name) else new
            return replace(f, name=new, column=column)

        def swap(names: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(new if n.lower() == old.lower() else n for n in names)

        def change(s: ModelState) -> ModelState:
            return replace(
                s,
                fields=tuple(map(rename, s.fields)),
                unique_together=tuple(map(swap, s.unique_together)),
                constraints=tuple(replace(c, fields=swap(c.fields)) for c in s.constraints),
                indexes=tuple(replace(i, fields=swap(i.fields)) for i in s.indexes),
            )

        self._update(op, "model_name", change)

    # -- constraints and indexes ---------------------------------------------------------------

    def add_constraint(self, op: Operation) -> None:
        unique = _constraint(op.kwargs.get("constraint"))
        if unique is not None:
            self._update(
                op, "model_name", lambda s: replace(s, constraints=(*s.constraints, unique))
            )

    def remove_constraint(self, op: Operation) -> None:
        name = op.kwargs.get("name")
        self._update(
            op,
            "model_name",
            lambda s: replace(s, constraints=tuple(c for c in s.constraints if c.name != name)),
        )

    def add_index(self, op: Operation) -> None:
        index = _index(op.kwargs.get("index"))
        if index is not None:
            self._update(op, "model_name", lambda s: replace(s, indexes=(*s.indexes, index)))

    def remove_index(self, op: Operation) -> None:
        name = op.kwargs.get("name")
        self._update(
            op,
            "model_name",
            lambda s: replace(s, indexes=tuple(i for i in s.indexes if i.name != name)),
        )

    def rename_index(self, op: Operation) -> None:
        old, new = op.kwargs.get("old_name"), op.kwargs.get("new_name")
        if isinstance(old, str) and isinstance(new, str):
            self._update(
                op,
                "model_name",
                lambda s: replace(
                    s,
                    indexes=tuple(replace(i, name=new) if i.name == old else i for i in s.indexes),
                ),
            )


_HANDLERS: dict[str, Callable[[Replayer, Operation], None]] = {
    _M + "CreateModel": Replayer.create_model,
    _M + "DeleteModel": Replayer.delete_model,
    _M + "RenameModel": Replayer.rename_model,
    _M + "AlterModelTable": Replayer.alter_model_table,
    _M + "AlterModelOptions": Replayer.alter_model_options,
    _M + "AlterUniqueTogether": Replayer.alter_unique_together,
    _M + "AddField": Replayer.add_field,
    _M + "AlterField": Replayer.alter_field,
    _M + "RemoveField": Replayer.remove_field,
    _M + "RenameField": Replayer.rename_field,
    _M + "AddConstraint": Replayer.add_constraint,
    _M + "RemoveConstraint": Replayer.remove_constraint,
    _M + "AddIndex": Replayer.add_index,
    _M + "RemoveIndex": Replayer.remove_index,
    _M + "RenameIndex": Replayer.rename_index,
    _PG + "AddIndexConcurrently": Replayer.add_index,
    _PG + "RemoveIndexConcurrently": Replayer.remove_index,
    _PG + "AddConstraintNotValid": Replayer.add_constraint,
}

# django-pg-migration-tools: the same state changes as Django's operations, built safely.
_SAFER = "django_pg_migration_tools.operations."
_HANDLERS.update(
    {
        _SAFER + "SaferAddUniqueConstraint": Replayer.add_constraint,
        _SAFER + "SaferRemoveUniqueConstraint": Replayer.remove_constraint,
        _SAFER + "SaferAddCheckConstraint": Replayer.add_constraint,
        _SAFER + "SaferAddIndexConcurrently": Replayer.add_index,
        _SAFER + "SaferRemoveIndexConcurrently": Replayer.remove_index,
        _SAFER + "SaferAddFieldForeignKey": Replayer.add_field,
        _SAFER + "SaferAddFieldOneToOne": Replayer.add_field,
        _SAFER + "SaferAlterFieldSetNotNull": Replayer.alter_field,
    }
)
