"""The facts the loaders produce and the rules read: frozen, picklable, free of syntax trees.

Argument values of operations are kept as literals where the source spells them as literals
(``str``, ``int``, ``float``, ``bool``, ``None``, tuples, lists as tuples, dicts as ``Mapping``),
as :class:`Call` for constructor calls (``models.CharField(unique=True)``), as :class:`Ref` for
names and attributes (``settings.AUTH_USER_MODEL``, ``forwards``) and as :class:`Unknown` for
anything that cannot be evaluated without running the code.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import TypeVar, Union

from migration_lint.frozen import direct_init

_T = TypeVar("_T")


@direct_init
@dataclass(frozen=True)
class Call:
    """A call in the source, with its callee resolved to a qualified name where imports allow."""

    qualname: str
    args: tuple[Value, ...] = ()
    kwargs: Mapping[str, Value] = field(default_factory=dict)
    line: int = 0
    column: int = 0

    @property
    def name(self) -> str:
        """The callee's last dotted component (``CharField``)."""
        return self.qualname.rpartition(".")[2]

    def arg(self, name: str, position: int | None = None, default: Value = None) -> Value:
        """The argument given by keyword ``name`` or at ``position``, else ``default``."""
        if name in self.kwargs:
            return self.kwargs[name]
        if position is not None and position < len(self.args):
            return self.args[position]
        return default

    def has_arg(self, name: str, position: int | None = None) -> bool:
        return name in self.kwargs or (position is not None and position < len(self.args))


@direct_init
@dataclass(frozen=True)
class Ref:
    """A name or attribute chain (``settings.AUTH_USER_MODEL``), resolved through imports."""

    qualname: str


@dataclass(frozen=True)
class Unknown:
    """An expression that cannot be evaluated statically; ``source`` is its text."""

    source: str


# Union, not |: the alias is recursive and must evaluate at import time.
Value = Union[  # noqa: UP007
    None,
    bool,
    int,
    float,
    str,
    bytes,
    tuple["Value", ...],
    Mapping[str, "Value"],
    Call,
    Ref,
    Unknown,
]


def evolve(obj: _T, **changes: object) -> _T:
    """``dataclasses.replace`` without running ``__init__`` again: the state replay does this
    for every operation of every migration, where ``replace`` was the largest single cost."""
    new = object.__new__(type(obj))
    new.__dict__.update(obj.__dict__)
    new.__dict__.update(changes)
    # A cached property was computed from the old values: it must not outlive them.
    for name in _cached_properties(type(obj)):
        new.__dict__.pop(name, None)
    return new


@cache
def _cached_properties(cls: type) -> tuple[str, ...]:
    return tuple(name for name, value in vars(cls).items() if isinstance(value, cached_property))


def is_known(value: Value) -> bool:
    """True when ``value`` holds no :class:`Unknown` anywhere inside it."""
    if isinstance(value, Unknown):
        return False
    if isinstance(value, tuple):
        return all(is_known(v) for v in value)
    if isinstance(value, Mapping):
        return all(is_known(v) for v in value.values())
    if isinstance(value, Call):
        return all(is_known(v) for v in value.args) and all(
            is_known(v) for v in value.kwargs.values()
        )
    return True


@direct_init
@dataclass(frozen=True)
class Span:
    """1-based lines and columns, end inclusive for lines, exclusive for columns."""

    line: int
    column: int
    end_line: int
    end_column: int

    def covers(self, line: int) -> bool:
        return self.line <= line <= self.end_line


@direct_init
@dataclass(frozen=True)
class Operation:
    """One entry of a migration's ``operations`` list (or of a nested list).

    ``qualname`` is canonical for Django's own operations (``django.db.migrations.AddField``
    whichever module the source imported it from). ``dynamic`` marks an entry whose operation
    cannot be known without running code (built by a helper, a loop, a variable): it has no
    arguments and ``qualname`` is empty or the helper's name.
    """

    qualname: str
    args: tuple[Value, ...]
    kwargs: Mapping[str, Value]
    span: Span
    path: tuple[int | str, ...]
    nested: Mapping[str, tuple[Operation, ...]] = field(default_factory=dict)
    dynamic: bool = False
    source: str = ""

    @property
    def name(self) -> str:
        return self.qualname.rpartition(".")[2]

    def arg(self, name: str, position: int | None = None, default: Value = None) -> Value:
        if name in self.kwargs:
            return self.kwargs[name]
        if position is not None and position < len(self.args):
            return self.args[position]
        return default

    def walk(self) -> Iterator[Operation]:
        """This operation, then every nested one, depth first."""
        yield self
        for ops in self.nested.values():
            for op in ops:
                yield from op.walk()


@dataclass(frozen=True)
class Suppression:
    """A ``# noqa`` comment: ``codes`` empty means every code."""

    line: int
    column: int
    codes: tuple[str, ...]


@dataclass(frozen=True)
class ParseError:
    message: str
    line: int
    column: int


@direct_init
@dataclass(frozen=True)
class Dependency:
    """An entry of ``dependencies``/``run_before``/``replaces``.

    ``swappable`` names the setting of ``migrations.swappable_dependency(settings.X)``; then
    ``app_label`` is only a guess until a project is loaded.
    """

    app_label: str
    name: str
    swappable: str | None = None
    line: int = 0

    @property
    def key(self) -> tuple[str, str]:
        return (self.app_label, self.name)


@direct_init
@dataclass(frozen=True)
class MigrationFacts:
    """Everything the source loader learned about one migration file, without importing it."""

    path: str
    app_label: str
    name: str
    is_migration: bool = True
    parse_error: ParseError | None = None
    class_span: Span | None = None
    atomic: bool | None = True
    initial: bool | None = None
    dependencies: tuple[Dependency, ...] = ()
    run_before: tuple[Dependency, ...] = ()
    replaces: tuple[Dependency, ...] = ()
    operations: tuple[Operation, ...] = ()
    dynamic_operations: bool = False
    dynamic_dependencies: bool = False
    suppressions: tuple[Suppression, ...] = ()
    imports: tuple[str, ...] = ()
    # Module-level functions by name, as source text (what RunPython runs).
    functions: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.app_label, self.name)

    def all_operations(self) -> Iterator[Operation]:
        for op in self.operations:
            yield from op.walk()


# --- table state -------------------------------------------------------------------------------


@direct_init
@dataclass(frozen=True)
class FieldState:
    name: str
    column: str
    field_type: str
    null: bool = False
    unique: bool = False
    primary_key: bool = False
    db_index: bool = False
    related_model: str | None = None
    many_to_many: bool = False
    has_db_default: bool = False
    kwargs: Mapping[str, Value] = field(default_factory=dict)


@direct_init
@dataclass(frozen=True)
class UniqueSet:
    """A set of columns the database keeps unique, and where that comes from.

    ``origin`` is ``primary_key``, ``unique``, ``unique_together`` or ``constraint``; a
    constraint with a condition, expressions or options keeps them in ``condition`` and
    ``expressions`` so that rules can tell a partial set from a full one.
    """

    fields: tuple[str, ...]
    origin: str
    name: str | None = None
    condition: bool = False
    expressions: bool = False
    nulls_distinct: bool | None = None


@direct_init
@dataclass(frozen=True)
class IndexState:
    name: str | None
    fields: tuple[str, ...]
    unique: bool = False
    condition: bool = False
    expressions: bool = False


@direct_init
@dataclass(frozen=True)
class ModelState:
    """A model's table as the migration history leaves it at one point."""

    app_label: str
    name: str
    table: str
    fields: tuple[FieldState, ...] = ()
    unique_together: tuple[tuple[str, ...], ...] = ()
    constraints: tuple[UniqueSet, ...] = ()
    indexes: tuple[IndexState, ...] = ()
    created_by: tuple[str, str] | None = None
    managed: bool = True
    proxy: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.app_label, self.name.lower())

    @cached_property
    def related_models(self) -> frozenset[str]:
        """The models its relations point at, as ``app.model``: a rename of a model visits every
        model of the project, and would otherwise visit every field too."""
        return frozenset(f.related_model for f in self.fields if f.related_model)

    def field(self, name: str) -> FieldState | None:
        return self._fields_by_name.get(name.lower())

    @cached_property
    def _fields_by_name(self) -> dict[str, FieldState]:
        # The first of two fields whose names differ only in case, as a search in order finds.
        by_name: dict[str, FieldState] = {}
        for f in self.fields:
            by_name.setdefault(f.name.lower(), f)
        return by_name

    def unique_sets(self) -> tuple[UniqueSet, ...]:
        """Every column set the table keeps unique: primary key, unique fields, together, constraints."""
        sets: list[UniqueSet] = []
        for f in self.fields:
            if f.primary_key:
                sets.append(UniqueSet((f.name,), "primary_key"))
            elif f.unique:
                sets.append(UniqueSet((f.name,), "unique"))
        sets.extend(UniqueSet(tuple(t), "unique_together") for t in self.unique_together)
        sets.extend(self.constraints)
        return tuple(sets)


ModelKey = tuple[str, str]
