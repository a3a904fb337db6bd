"""Index and unique constraint builds a migration performs, from Django operations and RunSQL.

One :class:`Build` per index or unique constraint the database will build, with the table and
columns, whether the table existed before the migration, whether the build is concurrent, and
the lock PostgreSQL takes for it (FACTS.md, "Locks on PostgreSQL"). The ML1xx rules read these
instead of walking operations themselves.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import cast

from migration_lint.context import MigrationContext
from migration_lint.facts import Call, FieldState, ModelKey, ModelState, Operation, Value
from migration_lint.frozen import direct_init
from migration_lint.sql import SqlStatement, parse_sql
from migration_lint.state import field_state, names, together_sets

_M = "django.db.migrations."
_PG = "django.contrib.postgres.operations."

ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE"
SHARE = "SHARE"
SHARE_UPDATE_EXCLUSIVE = "SHARE UPDATE EXCLUSIVE"

# UniqueConstraint options that make Django emit CREATE UNIQUE INDEX instead of ADD CONSTRAINT.
_INDEX_OPTIONS = ("condition", "include", "opclasses")
UNIQUE_OPTIONS = ("condition", "include", "opclasses", "nulls_distinct", "deferrable")


@direct_init
@dataclass(frozen=True)
class Build:
    """One index (unique or not) that a migration makes the database build."""

    operation: Operation
    top: Operation
    model: ModelState | None
    table: str
    fields: tuple[str, ...]
    columns: tuple[str, ...]
    unique: bool
    concurrent: bool
    lock: str
    origin: str
    name: str | None = None
    partial: bool = False
    expression: bool = False
    existing_table: bool = True
    new_columns: bool = False
    options: tuple[str, ...] = ()
    constraint: Call | None = None
    statement: SqlStatement | None = None
    field: FieldState | None = None
    default_for_existing_rows: bool = False

    def extra(self) -> dict[str, object]:
        """What reporters and ``--data-url`` need to know about the new unique set."""
        return {"table": self.table, "unique_columns": list(self.columns)}

    @property
    def description(self) -> str:
        what = "unique index" if self.unique else "index"
        cols = ", ".join(self.columns or self.fields) or "an expression"
        return f"{what} on {self.table} ({cols})"


def sql_texts(value: Value) -> list[str]:
    """RunSQL's ``sql``: a string, a list of strings, or of (sql, params) pairs."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, tuple):
        out: list[str] = []
        for item in value:
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, tuple) and item and isinstance(item[0], str):
                out.append(item[0])
        return out
    return []


def statements(op: Operation, arg: str = "sql") -> list[SqlStatement]:
    return [s for text in sql_texts(op.kwargs.get(arg)) for s in parse_sql(text)]


def new_field(ctx: MigrationContext, op: Operation) -> FieldState | None:
    """The field an AddField or AlterField gives, read once per operation: half a dozen
    rules ask for it."""
    known: dict[tuple[int | str, ...], FieldState | None] = ctx.memo.setdefault("new_field", {})  # type: ignore[assignment]
    if op.path in known:
        return known[op.path]
    name = op.kwargs.get("name")
    model = op.kwargs.get("model_name")
    found = None
    if isinstance(name, str) and isinstance(op.kwargs.get("field"), Call):
        # The replay read it already (source mode); the same call on the same arguments.
        found = ctx.state.new_fields.get(op.path) or field_state(
            name,
            op.kwargs.get("field"),
            ctx.migration.app_label,
            model if isinstance(model, str) else None,
        )
    known[op.path] = found
    return found


def database_operations(op: Operation) -> Iterator[Operation]:
    """The operations that touch the database: SeparateDatabaseAndState's state side does not."""
    if op.qualname == _M + "SeparateDatabaseAndState":
        for nested in op.nested.get("database_operations", ()):
            yield from database_operations(nested)
    else:
        yield op


def _model(models: Mapping[ModelKey, ModelState], app_label: str, name: Value) -> ModelState | None:
    return models.get((app_label, name.lower())) if isinstance(name, str) else None


def _columns(model: ModelState | None, fields: tuple[str, ...]) -> tuple[str, ...]:
    if model is None:
        return fields
    out = []
    for name in fields:
        f = model.field(name)
        out.append(f.column if f else name)
    return tuple(out)


def _has_default(call: Value) -> bool:
    """A default every existing row receives when the column is added."""
    if not isinstance(call, Call):
        return False
    return any(call.kwargs.get(k) is not None for k in ("default", "db_default"))


class _Collector:
    def __init__(self, ctx: MigrationContext) -> None:
        self.ctx = ctx
        self.app = ctx.migration.app_label
        self.created_tables: set[str] = set()

    def existing(self, model: ModelState | None) -> bool:
        return model is not None and not self.ctx.created_here(model.key)

    def collect(self) -> list[Build]:
        builds: list[Build] = []
        for step in self.ctx.steps:
            for op in database_operations(step.operation):
                builds.extend(self.operation(op, step.operation, step.models))
        return builds

    def operation(
        self, op: Operation, top: Operation, models: Mapping[ModelKey, ModelState]
    ) -> Iterator[Build]:
        name = op.qualname
        if name == _M + "CreateModel":
            model = _model(models, self.app, op.kwargs.get("name"))
            if model is not None:
                self.created_tables.add(model.table)
        elif name == _M + "AddField":
            yield from self.add_field(op, top, models)
        elif name == _M + "AlterField":
            yield from self.alter_field(op, top, models)
        elif name == _M + "AlterUniqueTogether":
            yield from self.together(op, top, models, unique=True)
        elif name == _M + "AlterIndexTogether":
            yield from self.together(op, top, models, unique=False)
        elif name == _M + "AddConstraint":
            yield from self.add_constraint(op, top, models)
        elif name in (_M + "AddIndex", _PG + "AddIndexConcurrently"):
            yield from self.add_index(op, top, models, concurrent=name.startswith(_PG))
        elif name == _M + "RunSQL":
            yield from self.run_sql(op, top, models)

    def _build(self, op: Operation, top: Operation, model: ModelState, **kw: object) -> Build:
        fields = kw.pop("fields", ())
        return Build(
            operation=op,
            top=top,
            model=model,
            table=model.table,
            fields=fields,  # type: ignore[arg-type]
            columns=_columns(model, fields),  # type: ignore[arg-type]
            existing_table=self.existing(model),
            **kw,  # type: ignore[arg-type]
        )

    def add_field(
        self, op: Operation, top: Operation, models: Mapping[ModelKey, ModelState]
    ) -> Iterator[Build]:
        model = _model(models, self.app, op.kwargs.get("model_name"))
        name = op.kwargs.get("name")
        if model is None or not isinstance(name, str):
            return
        field = new_field(self.ctx, op)
        if field is None or field.many_to_many or field.primary_key:
            return
        if field.unique or field.db_index:
            yield Build(
                operation=op,
                top=top,
                model=model,
                table=model.table,
                fields=(name,),
                columns=(field.column,),
                unique=field.unique,
                concurrent=False,
                # ADD COLUMN takes ACCESS EXCLUSIVE, held to the end of the transaction.
                lock=ACCESS_EXCLUSIVE,
                origin=f"AddField({'unique=True' if field.unique else 'db_index=True'})"
                if not field.field_type.endswith(("OneToOneField", "ForeignKey"))
                else f"AddField({field.field_type.rpartition('.')[2]})",
                existing_table=self.existing(model),
                new_columns=True,
                field=field,
                default_for_existing_rows=_has_default(op.kwargs.get("field")),
            )

    def alter_field(
        self, op: Operation, top: Operation, models: Mapping[ModelKey, ModelState]
    ) -> Iterator[Build]:
        model = _model(models, self.app, op.kwargs.get("model_name"))
        name = op.kwargs.get("name")
        if model is None or not isinstance(name, str):
            return
        old = model.field(name)
        new = new_field(self.ctx, op)
        if old is None or new is None or new.primary_key or new.many_to_many:
            return
        if new.unique and not old.unique:
            yield self._build(
                op,
                top,
                model,
                fields=(name,),
                unique=True,
                concurrent=False,
                lock=ACCESS_EXCLUSIVE,
                origin="AlterField(unique=True)",
                field=new,
            )
        elif new.db_index and not (old.db_index or old.unique) and not new.unique:
            yield self._build(
                op,
                top,
                model,
                fields=(name,),
                unique=False,
                concurrent=False,
                lock=SHARE,
                origin="AlterField(db_index=True)",
                field=new,
            )

    def together(
        self, op: Operation, top: Operation, models: Mapping[ModelKey, ModelState], unique: bool
    ) -> Iterator[Build]:
        model = _model(models, self.app, op.kwargs.get("name"))
        if model is None:
            return
        new = together_sets(op.kwargs.get("unique_together" if unique else "index_together"))
        old = set(model.unique_together) if unique else set()
        for fields in new:
            if fields in old:
                continue
            yield self._build(
                op,
                top,
                model,
                fields=fields,
                unique=unique,
                concurrent=False,
                lock=ACCESS_EXCLUSIVE if unique else SHARE,
                origin="AlterUniqueTogether" if unique else "AlterIndexTogether",
            )

    def add_constraint(
        self, op: Operation, top: Operation, models: Mapping[ModelKey, ModelState]
    ) -> Iterator[Build]:
        model = _model(models, self.app, op.kwargs.get("model_name"))
        constraint = op.kwargs.get("constraint")
        if (
            model is None
            or not isinstance(constraint, Call)
            or not constraint.name.endswith("UniqueConstraint")
        ):
            return
        fields = tuple(f for f in constraint.kwargs.get("fields") or () if isinstance(f, str))  # type: ignore[union-attr]
        options = tuple(
            o
            for o in UNIQUE_OPTIONS
            if constraint.kwargs.get(o) not in (None, (), False)
            or (o == "nulls_distinct" and constraint.kwargs.get(o) is False)
        )
        expression = bool(constraint.args)
        as_index = expression or any(o in options for o in _INDEX_OPTIONS)
        name = constraint.kwargs.get("name")
        yield self._build(
            op,
            top,
            model,
            fields=fields,
            unique=True,
            concurrent=False,
            lock=SHARE if as_index else ACCESS_EXCLUSIVE,
            origin="AddConstraint(UniqueConstraint)",
            name=name if isinstance(name, str) else None,
            partial="condition" in options,
            expression=expression,
            options=options,
            constraint=constraint,
        )

    def add_index(
        self, op: Operation, top: Operation, models: Mapping[ModelKey, ModelState], concurrent: bool
    ) -> Iterator[Build]:
        model = _model(models, self.app, op.kwargs.get("model_name"))
        index = op.kwargs.get("index")
        if model is None or not isinstance(index, Call):
            return
        fields = tuple(f.lstrip("-") for f in names(index.kwargs.get("fields")))
        name = index.kwargs.get("name")
        yield self._build(
            op,
            top,
            model,
            fields=fields,
            unique=False,
            concurrent=concurrent,
            lock=SHARE_UPDATE_EXCLUSIVE if concurrent else SHARE,
            origin=op.name,
            name=name if isinstance(name, str) else None,
            partial=index.kwargs.get("condition") is not None,
            expression=bool(index.args),
        )

    def run_sql(
        self, op: Operation, top: Operation, models: Mapping[ModelKey, ModelState]
    ) -> Iterator[Build]:
        by_table: dict[str, ModelState] | None = None  # every model: built only when needed
        for statement in statements(op):
            if statement.kind == "other" and statement.text.upper().startswith("CREATE TABLE"):
                continue
            unique_column = statement.kind == "add_column" and statement.unique
            if not (statement.builds_index or unique_column) or not statement.table:
                continue
            if by_table is None:
                by_table = {m.table: m for m in models.values()}
            model = by_table.get(statement.table)
            created = statement.table in self.created_tables or (
                model is not None and self.ctx.created_here(model.key)
            )
            if statement.kind == "create_index":
                lock = SHARE_UPDATE_EXCLUSIVE if statement.concurrently else SHARE
            else:
                lock = ACCESS_EXCLUSIVE
            yield Build(
                operation=op,
                top=top,
                model=model,
                table=statement.table,
                fields=(),
                columns=statement.columns,
                unique=statement.unique,
                concurrent=statement.concurrently,
                lock=lock,
                origin="RunSQL",
                name=statement.name,
                partial=statement.partial,
                expression=statement.expression,
                existing_table=not created,
                new_columns=unique_column,
                statement=statement,
            )


def lock_message(build: Build) -> str:
    """What the build does to traffic on PostgreSQL, in one clause, with the user's names."""
    columns = ", ".join(build.columns or build.fields) or "an expression"
    what = f"UNIQUE ({columns})" if build.unique else f"an index on ({columns})"
    if build.lock == ACCESS_EXCLUSIVE:
        how = "ALTER TABLE holds an ACCESS EXCLUSIVE lock (no reads, no writes)"
    else:
        verb = "CREATE UNIQUE INDEX" if build.unique else "CREATE INDEX"
        how = f"{verb} holds a SHARE lock (no writes)"
    return (
        f"{build.origin} adds {what} to existing table {build.table}: on PostgreSQL {how} "
        f"for the whole index build"
    )


def builds(ctx: MigrationContext) -> list[Build]:
    """Every index build of the migration, computed once per migration."""
    cached = ctx.memo.get("builds")
    if cached is None:
        cached = ctx.memo["builds"] = _Collector(ctx).collect()
    return cast("list[Build]", cached)


def postgres_locks_apply(ctx: MigrationContext) -> bool:
    """PostgreSQL is a target and its backend is Django's own (not one that rewrites DDL)."""
    if "postgresql" not in ctx.lint.vendor_names():
        return False
    project = ctx.lint.project
    # django-pg-zero-downtime-migrations rewrites these statements into safe ones itself.
    return not (project and any("zero_downtime" in e for e in project.engines.values()))


@dataclass(frozen=True)
class SqlStep:
    """One statement of a RunSQL that runs against the database, in migration order."""

    operation: Operation
    top: Operation
    statement: SqlStatement


def sql_steps(ctx: MigrationContext) -> list[SqlStep]:
    cached = ctx.memo.get("sql_steps")
    if cached is None:
        cached = ctx.memo["sql_steps"] = [
            SqlStep(op, step.operation, statement)
            for step in ctx.steps
            for op in database_operations(step.operation)
            if op.qualname == _M + "RunSQL"
            for statement in statements(op)
        ]
    return cast("list[SqlStep]", cached)
