"""``--data-url``: duplicate counts through a read-only connection, on the real servers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from migration_lint.data import DataSource, MissingTable
from migration_lint.errors import UsageError
from migration_lint.rules._shop import ORDER_INITIAL, migration
from tests.databases import MariaDBDatabase, PostgresDatabase
from tests.helpers import lint_files

_FLAGGED = migration(
    '    operations = [migrations.AlterUniqueTogether("order", {("customer", "reference")})]\n'
)
_ROWS = [
    (1, "A-1"),
    (1, "A-1"),
    (1, "A-1"),
    (2, "B-7"),
    (2, "B-7"),
    (3, "C-1"),
    (4, None),
    (4, None),
]


def _files() -> list[tuple[str, str]]:
    return [
        ("shop/migrations/0001_initial.py", ORDER_INITIAL),
        ("shop/migrations/0002_auto.py", _FLAGGED),
    ]


def _fill(cursor: object, placeholder: str) -> None:
    cursor.execute(  # type: ignore[attr-defined]
        "CREATE TABLE shop_order (id integer PRIMARY KEY, customer_id integer, reference varchar(32))"
    )
    for number, (customer, reference) in enumerate(_ROWS, start=1):
        cursor.execute(  # type: ignore[attr-defined]
            f"INSERT INTO shop_order VALUES ({placeholder}, {placeholder}, {placeholder})",
            (number, customer, reference),
        )


def _check_counts(source: DataSource) -> None:
    count = source.duplicates("shop_order", ("customer_id", "reference"))
    # (1, A-1) three times and (2, B-7) twice; NULL references never collide.
    assert count.groups == 2
    assert count.examples[0] == (1, "A-1")
    assert count.rows is not None


def test_postgres_counts_and_refuses_writes(postgres_database: PostgresDatabase) -> None:
    with postgres_database.connect() as conn, conn.cursor() as cursor:
        _fill(cursor, "%s")
        cursor.execute("ANALYZE shop_order")
    source = DataSource(postgres_database.url)
    try:
        _check_counts(source)
        cursor = source.connect().cursor()
        with pytest.raises(Exception, match="read-only transaction"):
            cursor.execute("INSERT INTO shop_order VALUES (99, 9, 'Z')")
    finally:
        source.close()
    with postgres_database.connect() as conn:
        assert conn.execute("SELECT count(*) FROM shop_order").fetchone()[0] == len(_ROWS)


def test_mariadb_counts_and_refuses_writes(mariadb_database: MariaDBDatabase) -> None:
    with mariadb_database.connect() as conn, conn.cursor() as cursor:
        _fill(cursor, "%s")
    source = DataSource(mariadb_database.url)
    try:
        _check_counts(source)
        with pytest.raises(Exception, match="READ ONLY"), source.connect().cursor() as cursor:
            cursor.execute("INSERT INTO shop_order VALUES (99, 9, 'Z')")
    finally:
        source.close()


def test_sqlite_counts_and_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "data.sqlite3"
    with sqlite3.connect(path) as conn:
        _fill(conn.cursor(), "?")
    source = DataSource(f"sqlite:///{path}")
    try:
        _check_counts(source)
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            source.connect().execute("INSERT INTO shop_order VALUES (99, 9, 'Z')")
    finally:
        source.close()


def test_findings_carry_the_counts(tmp_path: Path) -> None:
    data = tmp_path / "data.sqlite3"
    with sqlite3.connect(data) as conn:
        _fill(conn.cursor(), "?")
    found = lint_files(tmp_path / "tree", _files(), data_url=f"sqlite:///{data}")
    ml102 = next(f for f in found if f.code == "ML102")
    assert "2 duplicate groups" in ml102.message and "(1, 'A-1')" in ml102.message
    assert ml102.extra["duplicates"]["groups"] == 2  # type: ignore[index]


def test_no_duplicates_turns_ml102_into_info(tmp_path: Path) -> None:
    data = tmp_path / "data.sqlite3"
    with sqlite3.connect(data) as conn:
        conn.execute(
            "CREATE TABLE shop_order (id integer PRIMARY KEY, customer_id integer, reference text)"
        )
        conn.execute("INSERT INTO shop_order VALUES (1, 1, 'A'), (2, 1, 'B')")
    found = lint_files(tmp_path / "tree", _files(), data_url=f"sqlite:///{data}")
    ml102 = next(f for f in found if f.code == "ML102")
    assert str(ml102.severity) == "info" and "no duplicates" in ml102.message


def test_missing_table_is_a_message_not_a_crash(tmp_path: Path) -> None:
    data = tmp_path / "empty.sqlite3"
    sqlite3.connect(data).close()
    source = DataSource(f"sqlite:///{data}")
    with pytest.raises(MissingTable):
        source.duplicates("shop_order", ("reference",))
    found = lint_files(tmp_path / "tree", _files(), data_url=f"sqlite:///{data}")
    assert any("does not exist in the --data-url database" in f.message for f in found)


def test_wrong_password_is_a_usage_error(postgres_database: PostgresDatabase) -> None:
    server = postgres_database.server
    url = f"postgresql://no_such_role:wrong@{server.host}:{server.port}/{postgres_database.name}"
    with pytest.raises(UsageError, match="cannot connect") as raised:
        DataSource(url).connect()
    assert "wrong" not in str(raised.value)  # the password is never echoed


def test_unsupported_scheme() -> None:
    with pytest.raises(UsageError, match="unsupported scheme"):
        DataSource("oracle://x/y")
