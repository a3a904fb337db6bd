"""``--database URL``: apply the migrations one by one on a scratch database of the tool's own,
recording the exact SQL of each operation and, on PostgreSQL, the locks each atomic migration
holds (``pg_locks`` read from inside its transaction, just before it commits).

The tool creates its own database on that server and drops it afterwards. When it may not
create databases it uses the named database only if that holds no tables, inside a schema of
its own that it drops afterwards; a database with tables in it is refused.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from migration_lint.errors import UsageError
from migration_lint.render import (
    RenderedMigration,
    RenderedOperation,
    _as_default,
    _error,
    _no_python,
    _recording,
    _settings,
    for_vendor,
    plan_of,
)

Key = tuple[str, str]

_LOCKS_SQL = """
SELECT c.relname, l.mode
FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted
  AND c.relkind IN ('r', 'p') AND c.relnamespace = (
      SELECT oid FROM pg_namespace WHERE nspname = current_schema())
ORDER BY c.relname, l.mode
"""


@dataclass(frozen=True)
class Lock:
    table: str
    mode: str


def _vendor(url: str) -> str:
    scheme = urlsplit(url).scheme.split("+")[0].lower()
    vendor = {
        "postgres": "postgresql",
        "postgresql": "postgresql",
        "mysql": "mysql",
        "mariadb": "mysql",
    }.get(scheme)
    if vendor is None:
        raise UsageError(f"--database: unsupported scheme {scheme!r} (postgresql:// or mysql://)")
    return vendor


def _server_settings(url: str, vendor: str) -> dict[str, Any]:
    parts = urlsplit(url)
    settings = _settings(vendor)
    settings.update(
        NAME=unquote(parts.path.lstrip("/")) or ("postgres" if vendor == "postgresql" else ""),
        USER=unquote(parts.username or ("postgres" if vendor == "postgresql" else "root")),
        PASSWORD=unquote(parts.password or ""),
        HOST=parts.hostname or "127.0.0.1",
        PORT=str(parts.port or ""),
    )
    return settings


class Scratch:
    """A database (or schema) of the tool's own on the server at ``url``, dropped on close."""

    def __init__(self, url: str) -> None:
        self.vendor = _vendor(url)
        self.server = _server_settings(url, self.vendor)
        self.name = f"migration_lint_{secrets.token_hex(6)}"
        self.created: str | None = None  # "database" or "schema"
        self.connection: Any = None

    def _admin(self) -> Any:
        from django.db.utils import load_backend

        if self.vendor == "mysql":
            from migration_lint.render import _mysql_driver

            _mysql_driver()
        backend = load_backend(self.server["ENGINE"])
        return backend.DatabaseWrapper(dict(self.server), "migration_lint_admin")

    def open(self) -> Any:
        admin = self._admin()
        quote = admin.ops.quote_name
        try:
            with admin.cursor() as cursor:
                try:
                    cursor.execute(f"CREATE DATABASE {quote(self.name)}")
                    self.created = "database"
                except Exception as exc:  # noqa: BLE001 - no CREATE DATABASE privilege
                    if self.vendor != "postgresql":
                        raise UsageError(
                            f"--database: cannot create a scratch database there: {_error(exc)[0]}"
                        ) from None
                    # pg_class, not information_schema: the latter hides tables this role may not read.
                    cursor.execute(
                        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE c.relkind IN ('r', 'p', 'v', 'm') AND n.nspname NOT IN "
                        "('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%'"
                    )
                    if cursor.fetchone()[0]:
                        raise UsageError(
                            f"--database: {self.server['NAME']} holds tables and no scratch database can be "
                            "created there; give an empty database (the tool never writes to one with data)"
                        ) from None
                    cursor.execute(f"CREATE SCHEMA {quote(self.name)}")
                    self.created = "schema"
        except UsageError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise UsageError(f"--database: cannot connect: {_error(exc)[0]}") from None
        finally:
            admin.close()
        from django.db.utils import load_backend

        settings = dict(self.server)
        if self.created == "database":
            settings["NAME"] = self.name
        else:
            settings["OPTIONS"] = {"options": f"-c search_path={self.name}"}
        self.connection = load_backend(settings["ENGINE"]).DatabaseWrapper(settings, "default")
        return self.connection

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
        if self.created is None:
            return
        admin = self._admin()
        quote = admin.ops.quote_name
        try:
            with admin.cursor() as cursor:
                if self.created == "database":
                    force = " WITH (FORCE)" if self.vendor == "postgresql" else ""
                    cursor.execute(f"DROP DATABASE IF EXISTS {quote(self.name)}{force}")
                else:
                    cursor.execute(f"DROP SCHEMA IF EXISTS {quote(self.name)} CASCADE")
        finally:
            admin.close()
            self.created = None


def _locks(connection: Any) -> tuple[Lock, ...]:
    with connection.cursor() as cursor:
        cursor.execute(_LOCKS_SQL)
        return tuple(Lock(table, mode) for table, mode in cursor.fetchall())


def apply(
    loader: Any, targets: set[Key], url: str
) -> Iterator[tuple[RenderedMigration, tuple[Lock, ...]]]:
    """Apply the plan on a scratch database; yield each target's SQL and locks.

    Applying stops at the first operation that fails (the database is then not where the next
    migration expects it); that migration is yielded with the error on the operation.
    """
    from migration_lint.render_state import CarriedState

    scratch = Scratch(url)
    conn = scratch.open()
    carried = CarriedState()
    graph = loader.graph
    try:
        with _as_default(conn), _no_python():
            for key in plan_of(graph):
                migration = for_vendor(graph, key)
                state = carried.advance(migration)
                result = _apply_one(conn, scratch.vendor, migration, state)
                if key in targets or result[0].failed:
                    yield result
                if result[0].failed:
                    return
    finally:
        with contextlib.suppress(Exception):
            scratch.close()


def _apply_one(
    conn: Any, vendor: str, migration: Any, state: Any
) -> tuple[RenderedMigration, tuple[Lock, ...]]:
    recorded: list[str] = []
    rendered: list[RenderedOperation] = []
    locks: tuple[Lock, ...] = ()
    done = 0
    key = (migration.app_label, migration.name)
    try:
        with conn.schema_editor(atomic=migration.atomic) as editor:
            editor.execute = _recording(editor, recorded)
            for index, operation in enumerate(migration.operations):
                before = len(recorded)
                old = state.clone()
                operation.state_forwards(migration.app_label, state)
                try:
                    operation.database_forwards(migration.app_label, editor, old, state)
                except Exception as exc:
                    rendered.append(
                        RenderedOperation(index, tuple(recorded[before:]), _error(exc)[0])
                    )
                    raise
                rendered.append(RenderedOperation(index, tuple(recorded[before:])))
            done = len(recorded)
            # Deferred statements run before the commit; run them now so their locks show.
            for sql in editor.deferred_sql:
                editor.execute(sql)
            editor.deferred_sql = []
            if vendor == "postgresql" and migration.atomic:
                locks = _locks(conn)
    except Exception:  # noqa: BLE001 - recorded on the operation above
        done = len(recorded)
    return (
        RenderedMigration(
            key, vendor, None, bool(migration.atomic), tuple(rendered), tuple(recorded[done:])
        ),
        locks,
    )
