"""The SQL each migration renders for each target database (what ``sqlmigrate`` prints),
rendered in ONE pass over the plan per vendor with the project state carried forward
unrendered; each migration renders from a state holding only the models its SQL reads
(:mod:`migration_lint.render_state`).

- SQLite: the migrations are really applied to an in-memory database, so operations that read
  the live schema (removing unique_together, table rebuilds) render exactly.
- PostgreSQL and MySQL: a connection object that never connects (any attempt raises
  :class:`Offline`), a pinned server version, and Django's ``collect_sql`` schema editor.
  Operations that need the live schema fail to render; they are reported, not skipped.

``RunPython`` code is never run: it has no SQL, and the linter does not execute user code.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from migration_lint.progress import Progress
from migration_lint.render_state import CarriedState
from migration_lint.sql import SqlStatement, parse_sql

if TYPE_CHECKING:
    from migration_lint.context import LintContext

Key = tuple[str, str]

DEFAULT_VERSIONS = {"postgresql": "15", "mysql": "8.0"}
_ENGINES = {
    "postgresql": "django.db.backends.postgresql",
    "mysql": "django.db.backends.mysql",
    "sqlite": "django.db.backends.sqlite3",
}


class Offline(Exception):
    """Rendering needed a live database connection."""


@dataclass(frozen=True)
class RenderedOperation:
    """SQL of one top-level operation (index in ``operations``); ``error`` when it failed."""

    index: int
    sql: tuple[str, ...] = ()
    error: str | None = None
    offline: bool = False
    # The error came out of application code the operation runs (a callable field default
    # reading rows that a skipped RunPython would have written, a custom operation's own
    # methods), not out of Django or the database: it says nothing about the target.
    application: bool = False

    @property
    def statements(self) -> tuple[SqlStatement, ...]:
        return tuple(s for text in self.sql for s in parse_sql(text))


@dataclass(frozen=True)
class RenderedMigration:
    key: Key
    vendor: str
    version: str | None
    atomic: bool
    operations: tuple[RenderedOperation, ...]
    # Statements Django defers to the end of the migration (indexes of new foreign keys ...).
    deferred: tuple[str, ...] = ()

    def sql(self) -> list[str]:
        return [s for op in self.operations for s in op.sql] + list(self.deferred)

    def operation(self, index: int) -> RenderedOperation | None:
        return next((op for op in self.operations if op.index == index), None)

    @property
    def failed(self) -> bool:
        return any(op.error for op in self.operations)


@dataclass
class Rendering:
    """Rendered SQL by (migration, vendor), plus why a vendor could not be rendered at all."""

    migrations: dict[tuple[Key, str], RenderedMigration] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    # Tables and lock modes each atomic migration held on the --database scratch server.
    locks: dict[Key, tuple[Any, ...]] = field(default_factory=dict)
    applied_on: str | None = None

    def get(self, key: Key, vendor: str) -> RenderedMigration | None:
        return self.migrations.get((key, vendor))


def plan_of(graph: Any) -> list[Key]:
    plan: list[Key] = []
    seen: set[Key] = set()
    for leaf in sorted(graph.leaf_nodes()):
        for key in graph.forwards_plan(leaf):
            if key not in seen:
                seen.add(key)
                plan.append(key)
    return plan


def _settings(vendor: str) -> dict[str, Any]:
    return {
        "ENGINE": _ENGINES[vendor],
        "NAME": ":memory:" if vendor == "sqlite" else "migration_lint_offline",
        "USER": "",
        "PASSWORD": "",
        "HOST": "",
        "PORT": "",
        "OPTIONS": {},
        "TIME_ZONE": None,
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False,
        "AUTOCOMMIT": True,
        "ATOMIC_REQUESTS": False,
        "TEST": {},
    }


def _refuse(*args: object, **kwargs: object) -> None:
    raise Offline("needs a connection to the database to render")


def _mysql_driver() -> None:
    """Django's MySQL backend imports MySQLdb; PyMySQL can stand in for rendering."""
    try:
        import MySQLdb  # noqa: F401
    except ImportError:
        import pymysql

        # Django checks the mysqlclient version; nothing here talks to a server.
        pymysql.version_info = (2, 2, 1, "final", 0)
        pymysql.install_as_MySQLdb()


def offline_connection(vendor: str, version: str | None) -> Any:
    """A DatabaseWrapper for ``vendor`` that renders SQL and refuses to connect."""
    from django.db.utils import load_backend

    if vendor == "mysql":
        _mysql_driver()
    backend = load_backend(_ENGINES[vendor])
    conn = backend.DatabaseWrapper(_settings(vendor), "default")
    conn.ensure_connection = _refuse
    conn.connect = _refuse
    version = version or DEFAULT_VERSIONS[vendor]
    if vendor == "postgresql":
        from psycopg import sql as pgsql

        major, _, minor = version.partition(".")
        conn.__dict__["pg_version"] = int(major) * 10000 + int(minor or 0)

        def compose_sql(statement: str, params: Any) -> str:
            # Django merges parameters with a client cursor (it connects); quote them offline.
            if not params:
                return str(statement)
            return str(statement) % tuple(pgsql.quote(p) for p in params)

        conn.ops.compose_sql = compose_sql
    else:
        mariadb = version.lower().startswith("mariadb")
        number = (
            version.split("-", 1)[1]
            if mariadb and "-" in version
            else ("10.11" if mariadb else version)
        )
        conn.SchemaEditorClass = _offline_mysql_editor(conn.SchemaEditorClass)
        conn.__dict__["mysql_server_data"] = {
            "version": f"{number}.0-MariaDB" if mariadb else f"{number}.0",
            "sql_mode": "STRICT_TRANS_TABLES",
            "default_storage_engine": "InnoDB",
            "sql_auto_is_null": False,
            "lower_case_table_names": False,
            "has_zoneinfo_database": True,
        }
    return conn


def _offline_mysql_editor(base: Any) -> Any:
    """MySQL's editor asks the live table for its storage engine before indexing a field; a
    table that does not exist yet gets the server's default engine, which is what we pin."""

    class OfflineEditor(base):  # type: ignore[misc, valid-type]
        def _field_should_be_indexed(self, model: Any, field: Any) -> bool:
            if not super(base, self)._field_should_be_indexed(model, field):
                return False
            storage = self.connection.mysql_server_data["default_storage_engine"]
            if (
                storage == "InnoDB"
                and field.get_internal_type() == "ForeignKey"
                and field.db_constraint
            ):
                return False
            return not self._is_limited_data_type(field)

    return OfflineEditor


def _mysql_quote(value: Any) -> str:
    from pymysql.converters import escape_item

    quoted = escape_item(value, "utf8mb4")
    return quoted.decode() if isinstance(quoted, bytes) else str(quoted)


@contextlib.contextmanager
def _as_default(conn: Any) -> Iterator[None]:
    """Operations and routers look connections up by alias: lend ours the name "default"."""
    from django.db import connections

    saved = connections["default"]
    connections["default"] = conn
    try:
        yield
    finally:
        connections["default"] = saved


@contextlib.contextmanager
def _no_python() -> Iterator[None]:
    """RunPython has no SQL; the linter never runs user code (nested ones included)."""
    from django.db.migrations.operations.special import RunPython

    original = RunPython.database_forwards
    RunPython.database_forwards = lambda *args, **kwargs: None
    try:
        yield
    finally:
        RunPython.database_forwards = original


def for_vendor(graph: Any, key: Key) -> Any:
    """The migration ``key`` as it reads on the connection lent as "default".

    Some migrations choose their operations when their module is imported
    (``if connection.vendor == "postgresql": operations = [...]``, wagtail's search index):
    the graph holds them as imported for the project's own database. A module that mentions
    ``connection`` is imported again while the target's connection stands in.
    """
    import importlib

    migration = graph.nodes[key]
    module = sys.modules.get(type(migration).__module__)
    path = getattr(module, "__file__", None)
    if module is None or not path:
        return migration
    try:
        if not _module_reads_connection(path):
            return migration
        return importlib.reload(module).Migration(migration.name, migration.app_label)
    except Exception:  # noqa: BLE001 - the migration as the project imported it
        return migration


@functools.cache
def _module_reads_connection(path: str) -> bool:
    """Read and parse each migration file once, not once per vendor."""
    with open(path, "rb") as handle:
        return _reads_connection_on_import(handle.read())


def _reads_connection_on_import(source: bytes) -> bool:
    """``connection`` used outside functions: at import time, in the module or class body.
    (``schema_editor.connection`` inside a RunPython function is read when it runs.)"""
    import ast

    if b"connection" not in source:
        return False
    pending: list[ast.AST] = [ast.parse(source)]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        if (isinstance(node, ast.Name) and node.id == "connection") or (
            isinstance(node, ast.Attribute) and node.attr == "connection"
        ):
            return True
        pending.extend(ast.iter_child_nodes(node))
    return False


def _error(exc: BaseException) -> tuple[str, bool]:
    offline = isinstance(exc, Offline) or "connection" in type(exc).__name__.lower()
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__, offline


def _library_roots() -> tuple[tuple[str, ...], str]:
    """Folders of Django, this tool and the drivers; and the standard library's."""
    import os

    import django

    roots = [os.path.dirname(django.__file__), os.path.dirname(__file__)]
    for name in ("psycopg", "pymysql", "MySQLdb", "sqlparse"):
        location = getattr(sys.modules.get(name), "__file__", None)
        if location:
            roots.append(os.path.dirname(location))
    stdlib = os.path.join(os.path.realpath(os.path.dirname(os.__file__)), "")
    return tuple(os.path.join(os.path.realpath(r), "") for r in roots), stdlib


def _raised_in_application(exc: BaseException) -> bool:
    """Whether a frame of code other than Django, this tool, the standard library or a
    database driver was on the way from the operation to the error."""
    import os

    libraries, stdlib = _library_roots()
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if not filename.startswith("<"):
            real = os.path.realpath(filename)
            # Packages installed into the interpreter itself live under the standard
            # library's folder too.
            in_stdlib = real.startswith(stdlib) and not any(
                part in real[len(stdlib) :] for part in ("site-packages", "dist-packages")
            )
            if not (real.startswith(libraries) or in_stdlib):
                return True
        tb = tb.tb_next
    return False


def _operations(
    migration: Any, editor: Any, state: Any, sql: list[str], offline_vendor: bool
) -> tuple[RenderedOperation, ...]:
    """Apply ``migration``'s operations through ``editor`` the way ``Migration.apply`` does,
    keeping the statements each one adds to ``sql``."""
    rendered: list[RenderedOperation] = []
    for index, operation in enumerate(migration.operations):
        before = len(sql)
        old = state.clone()
        try:
            # Inside the try: a state change Django cannot render (renaming a parent model)
            # fails this operation, not the run; the state is this migration's own.
            operation.state_forwards(migration.app_label, state)
            operation.database_forwards(migration.app_label, editor, old, state)
        except Exception as exc:  # noqa: BLE001 - reported per operation
            message, offline = _error(exc)
            application = _raised_in_application(exc)
            rendered.append(
                RenderedOperation(
                    index,
                    tuple(sql[before:]),
                    message,
                    offline and offline_vendor and not application,
                    application,
                )
            )
            continue
        rendered.append(RenderedOperation(index, tuple(sql[before:])))
    return tuple(rendered)


def _render_collect(
    graph: Any, plan: list[Key], targets: set[Key], vendor: str, version: str | None
) -> Iterator[RenderedMigration]:
    conn = offline_connection(vendor, version)
    carried = CarriedState()
    with _as_default(conn), _no_python():
        for key in plan:
            migration = for_vendor(graph, key)
            if key not in targets:
                carried.skip(migration)
                continue
            rendered, deferred = _collect(conn, vendor, migration, carried.advance(migration))
            if any(op.error and not (op.offline or op.application) for op in rendered):
                # A failure the scoped state might have caused: Django's whole state decides.
                whole = carried.whole()
                if whole is not None:
                    again = _collect(conn, vendor, migration, whole)
                    if sum(bool(op.error) for op in again[0]) < sum(
                        bool(op.error) for op in rendered
                    ):
                        rendered, deferred = again
            yield RenderedMigration(
                key, vendor, version, bool(migration.atomic), rendered, deferred
            )


def _collect(
    conn: Any, vendor: str, migration: Any, state: Any
) -> tuple[tuple[RenderedOperation, ...], tuple[str, ...]]:
    editor = conn.schema_editor(collect_sql=True, atomic=False)
    if vendor == "mysql":
        editor.quote_value = _mysql_quote
    editor.deferred_sql = []
    rendered = _operations(migration, editor, state, editor.collected_sql, True)
    return rendered, tuple(str(sql) + ";" for sql in editor.deferred_sql)


def _recording(editor: Any, recorded: list[str]) -> Any:
    """The editor's ``execute``, also keeping each statement with its parameters filled in."""
    original = editor.execute

    def execute(sql: Any, params: Any = ()) -> Any:
        text = str(sql)
        if params:
            text = text % tuple(editor.quote_value(p) for p in params)
        recorded.append(text + ";")
        return original(sql, params)

    return execute


def _render_sqlite(graph: Any, plan: list[Key], targets: set[Key]) -> Iterator[RenderedMigration]:
    """Apply every migration to an in-memory SQLite database, recording what the editor runs."""
    from django.db.utils import load_backend

    conn = load_backend(_ENGINES["sqlite"]).DatabaseWrapper(_settings("sqlite"), "default")
    carried = CarriedState()
    try:
        with _as_default(conn), _no_python():
            for key in plan:
                migration = for_vendor(graph, key)
                state = carried.advance(migration)
                recorded: list[str] = []
                with conn.schema_editor(atomic=migration.atomic) as editor:
                    editor.execute = _recording(editor, recorded)
                    rendered = _operations(migration, editor, state, recorded, False)
                    done = len(recorded)
                # Deferred statements ran when the editor closed.
                if key in targets:
                    yield RenderedMigration(
                        key,
                        "sqlite",
                        None,
                        bool(migration.atomic),
                        rendered,
                        tuple(recorded[done:]),
                    )
    finally:
        conn.close()


def render(loader: Any, targets: set[Key], vendors: Mapping[str, str | None]) -> Rendering:
    """Render ``targets`` for every vendor in ``vendors`` (name -> version or None)."""
    result = Rendering()
    graph = loader.graph
    plan = plan_of(graph)
    for vendor, version in vendors.items():
        if vendor == "sqlite":
            produced = _render_sqlite(graph, plan, targets)
        else:
            produced = _render_collect(graph, plan, targets, vendor, version)
        progress = Progress(f"rendering SQL for {vendor}", len(targets))
        try:
            for migration in produced:
                result.migrations[(migration.key, vendor)] = migration
                progress.advance()
        except ImportError as exc:
            extra = "postgres" if vendor == "postgresql" else "mysql"
            result.unavailable[vendor] = (
                f"the {vendor} driver is not installed ({exc.name}): pip install 'migration-lint[{extra}]'"
            )
        except Exception as exc:  # noqa: BLE001 - a finding (ML904), never a traceback
            result.unavailable[vendor] = f"rendering stopped: {_error(exc)[0]}"
        finally:
            progress.close()
    return result


def for_run(lint: LintContext) -> Rendering | None:
    """The run's rendered SQL, rendered on first use; None without a loaded project."""
    if lint.project is None or lint.project.graph_error is not None:
        return None
    if "rendering" not in lint.memo:
        with _collecting():
            lint.memo["rendering"] = _rendering(lint)
    return lint.memo["rendering"]  # type: ignore[return-value]


@contextlib.contextmanager
def _collecting() -> Iterator[None]:
    """Django's rendered models are full of reference cycles (class, options, fields): the
    cyclic collector, which the lint run turns off, must run while they are made and dropped."""
    enabled = gc.isenabled()
    gc.enable()
    try:
        yield
    finally:
        if not enabled:
            gc.disable()


def _rendering(lint: LintContext) -> Rendering:
    assert lint.project is not None
    targets = {t.key for t in lint.targets if t.parse_error is None}
    vendors = {name: version for name, version in lint.vendors}
    rendering = render(lint.project.loader, targets, vendors)
    url = lint.options.database_url if lint.options else None
    if url:
        from migration_lint import scratch

        # The exact SQL from a real server replaces the offline rendering for its vendor.
        progress = Progress("applying on the scratch database", len(targets))
        try:
            for migration, locks in scratch.apply(lint.project.loader, targets, url):
                rendering.migrations[(migration.key, migration.vendor)] = migration
                rendering.locks[migration.key] = locks
                rendering.applied_on = migration.vendor
                progress.advance()
        finally:
            progress.close()
    return rendering
