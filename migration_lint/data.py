"""Read-only questions to a copy of real data (``--data-url``): duplicate groups, table sizes.

Every connection is opened read-only (a read-only transaction on PostgreSQL and MySQL, a
``mode=ro`` URI on SQLite): the linter never writes to a database it did not create.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote, urlsplit

from migration_lint.errors import UsageError
from migration_lint.findings import Finding, Severity

EXAMPLES = 3


@dataclass(frozen=True)
class DuplicateCount:
    groups: int
    examples: tuple[tuple[Any, ...], ...]
    rows: int | None


class MissingTable(Exception):
    pass


class DataSource:
    """One read-only connection, opened on first use."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        scheme = parts.scheme.split("+")[0].lower()
        aliases = {
            "postgres": "postgresql",
            "pgsql": "postgresql",
            "mariadb": "mysql",
            "sqlite3": "sqlite",
        }
        self.vendor = aliases.get(scheme, scheme)
        if self.vendor not in ("postgresql", "mysql", "sqlite"):
            raise UsageError(
                f"--data-url: unsupported scheme {parts.scheme!r} (postgresql://, mysql://, sqlite:///)"
            )
        self.url = url
        self.parts = parts
        self._conn: Any = None

    # -- connection ------------------------------------------------------------------------------

    def _safe_url(self) -> str:
        netloc = self.parts.hostname or ""
        if self.parts.port:
            netloc += f":{self.parts.port}"
        return f"{self.parts.scheme}://{netloc}{self.parts.path}"

    def connect(self) -> Any:
        if self._conn is not None:
            return self._conn
        try:
            self._conn = getattr(self, f"_connect_{self.vendor}")()
        except UsageError:
            raise
        except Exception as exc:  # noqa: BLE001 - every driver has its own error classes
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UsageError(f"--data-url: cannot connect to {self._safe_url()}: {first}") from None
        return self._conn

    def _connect_postgresql(self) -> Any:
        try:
            import psycopg
        except ImportError:
            raise UsageError(
                "--data-url postgresql:// needs psycopg: pip install 'migration-lint[postgres]'"
            ) from None
        conn = psycopg.connect(
            self.url.replace("postgresql+psycopg", "postgresql"), connect_timeout=10
        )
        conn.read_only = True  # every transaction of this connection is READ ONLY
        return conn

    def _connect_mysql(self) -> Any:
        try:
            import pymysql
        except ImportError:
            raise UsageError(
                "--data-url mysql:// needs PyMySQL: pip install 'migration-lint[mysql]'"
            ) from None
        conn = pymysql.connect(
            host=self.parts.hostname or "127.0.0.1",
            port=self.parts.port or 3306,
            user=unquote(self.parts.username or "root"),
            password=unquote(self.parts.password or ""),
            database=self.parts.path.lstrip("/") or None,
            connect_timeout=10,
        )
        with conn.cursor() as cursor:
            cursor.execute("SET SESSION TRANSACTION READ ONLY")
        return conn

    def _connect_sqlite(self) -> Any:
        import sqlite3

        # sqlite:///relative.db and sqlite:////absolute.db, as SQLAlchemy spells them.
        path = unquote(self.parts.path)[1:]
        if not path:
            raise UsageError("--data-url: sqlite:///PATH needs a file path")
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1")
        return conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- questions -------------------------------------------------------------------------------

    def _quote(self, name: str) -> str:
        if self.vendor == "mysql":
            return "`" + name.replace("`", "``") + "`"
        return '"' + name.replace('"', '""') + '"'

    def _fetch(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        conn = self.connect()
        marker = "%s" if self.vendor != "sqlite" else "?"
        sql = sql.replace("%s", marker)
        try:
            cursor = conn.cursor()
            cursor.execute(sql, params)
            rows = list(cursor.fetchall())
            cursor.close()
        except Exception as exc:
            self._rollback()
            text = str(exc).lower()
            if "does not exist" in text or "no such table" in text or "doesn't exist" in text:
                raise MissingTable(str(exc).strip().splitlines()[0]) from None
            raise
        self._rollback()  # end the read-only transaction; nothing was written
        return rows

    def _rollback(self) -> None:
        with contextlib.suppress(Exception):  # nothing to roll back
            self._conn.rollback()

    def row_estimate(self, table: str) -> int | None:
        if self.vendor == "postgresql":
            rows = self._fetch(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
                (self._quote(table),),
            )
            return int(rows[0][0]) if rows and rows[0][0] is not None and rows[0][0] >= 0 else None
        if self.vendor == "mysql":
            rows = self._fetch(
                "SELECT table_rows FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = %s",
                (table,),
            )
            return int(rows[0][0]) if rows and rows[0][0] is not None else None
        rows = self._fetch(f"SELECT count(*) FROM {self._quote(table)}")
        return int(rows[0][0])

    def duplicates(self, table: str, columns: tuple[str, ...]) -> DuplicateCount:
        """Groups of rows that repeat ``columns`` (NULLs never collide), and a few of their keys."""
        cols = ", ".join(self._quote(c) for c in columns)
        not_null = " AND ".join(f"{self._quote(c)} IS NOT NULL" for c in columns)
        grouped = f"SELECT {cols}, count(*) FROM {self._quote(table)} WHERE {not_null} GROUP BY {cols} HAVING count(*) > 1"
        groups = self._fetch(f"SELECT count(*) FROM ({grouped}) AS dup")[0][0]
        examples = (
            self._fetch(f"{grouped} ORDER BY count(*) DESC LIMIT {EXAMPLES}") if groups else []
        )
        return DuplicateCount(
            int(groups), tuple(tuple(r[:-1]) for r in examples), self.row_estimate(table)
        )


def annotate(findings: list[Finding], source: DataSource) -> list[Finding]:
    """Add duplicate counts and table sizes to findings that carry ``table`` and ``unique_columns``."""
    counts: dict[tuple[str, tuple[str, ...]], DuplicateCount | str] = {}
    out: list[Finding] = []
    for finding in findings:
        table = finding.extra.get("table")
        columns = finding.extra.get("unique_columns")
        if not isinstance(table, str) or not isinstance(columns, (list, tuple)) or not columns:
            out.append(finding)
            continue
        key = (table, tuple(str(c) for c in columns))
        if key not in counts:
            try:
                counts[key] = source.duplicates(*key)
            except MissingTable:
                counts[key] = f"table {table} does not exist in the --data-url database"
        count = counts[key]
        extra = dict(finding.extra)
        if isinstance(count, str):
            out.append(replace(finding, message=f"{finding.message} ({count})", extra=extra))
            continue
        extra["duplicates"] = {
            "groups": count.groups,
            "examples": [list(e) for e in count.examples],
            "rows": count.rows,
        }
        size = f"about {count.rows:,} rows" if count.rows is not None else "size unknown"
        if count.groups:
            shown = ", ".join(repr(e if len(e) > 1 else e[0]) for e in count.examples)
            note = f"{count.groups:,} duplicate groups in the --data-url data, e.g. {shown}; {size}"
            out.append(replace(finding, message=f"{finding.message} [{note}]", extra=extra))
        else:
            note = f"no duplicates in the --data-url data; {size}"
            severity = Severity.INFO if finding.code == "ML102" else finding.severity
            out.append(
                replace(
                    finding, message=f"{finding.message} [{note}]", extra=extra, severity=severity
                )
            )
    return out
