"""The applied set of ``--data-url`` (``django_migrations``) as a source for ML202 and ML204, on
SQLite, PostgreSQL and MariaDB, read through the read-only connection of ``DataSource``."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

import pytest

from migration_lint.data import DataSource
from migration_lint.findings import Finding
from migration_lint.integrity.sources import applied_rows
from migration_lint.lint import Options, run
from migration_lint.rules._history import HEADER, INITIAL, NOTE
from tests.databases import MariaDBDatabase, PostgresDatabase
from tests.helpers import chdir, write_tree

M = "shop/migrations/"
ROWS = [
    ("contenttypes", "0001_initial"),
    ("shop", "0001_initial"),
    ("shop", "0002_note"),
    ("shop", "0003_refund"),
]
PAID = (
    HEADER
    + '    dependencies = [("shop", "0002_note")]\n'
    + '    operations = [migrations.AddField("order", "paid", models.BooleanField(default=False))]\n'
)
CREATE = (
    "CREATE TABLE django_migrations (id integer PRIMARY KEY, app varchar(255) NOT NULL, "
    "name varchar(255) NOT NULL, applied varchar(40) NOT NULL)"
)


@pytest.fixture(autouse=True)
def _no_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))


def fill(cursor: object, placeholder: str, rows: Iterable[tuple[str, str]] = ROWS) -> None:
    cursor.execute(CREATE)  # type: ignore[attr-defined]
    for number, (app, name) in enumerate(rows, start=1):
        cursor.execute(  # type: ignore[attr-defined]
            f"INSERT INTO django_migrations VALUES ({placeholder}, {placeholder}, {placeholder}, "
            f"{placeholder})",
            (number, app, name, "2024-01-01 00:00:00"),
        )


def lint(root: Path, url: str, files: list[tuple[str, str]]) -> tuple[list[Finding], list[str]]:
    write_tree(root, files)
    with chdir(root):
        result = run(Options(source_only=True, use_cache=False, select=("ML2",), data_url=url))
    return result.findings, result.notes


def sqlite_url(tmp_path: Path, rows: Iterable[tuple[str, str]] = ROWS) -> str:
    path = tmp_path / "applied.sqlite3"
    conn = sqlite3.connect(path)
    fill(conn.cursor(), "?", rows)
    conn.commit()
    conn.close()
    return f"sqlite:///{path}"


TREE = [(M + "0001_initial.py", INITIAL), (M + "0002_note.py", NOTE), (M + "0003_paid.py", PAID)]


def test_sqlite(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    findings, notes = lint(tmp_path / "project", url, TREE)
    (gone,) = findings
    assert (gone.code, gone.path, gone.line) == ("ML202", M + "0003_refund.py", 1)
    assert "the --data-url database" in gone.message and "lists it as applied" in gone.message
    assert any("contenttypes" in n for n in notes)


def test_applied_leaf_is_the_apps_latest(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path, [("shop", "0001_initial"), ("shop", "0002_paid")])
    other = PAID.replace('"0002_note"', '"0001_initial"')
    findings, _ = lint(
        tmp_path / "project",
        url,
        [(M + "0001_initial.py", INITIAL), (M + "0002_paid.py", other), (M + "0002_note.py", NOTE)],
    )
    (found,) = findings
    assert (found.code, found.path) == ("ML204", M + "0002_note.py")
    assert "depend on shop.0002_paid (the --data-url database" in found.help


def test_rows_of_a_squash_on_disk_are_fine(tmp_path: Path) -> None:
    squash = (
        HEADER
        + '    replaces = [("shop", "0001_first"), ("shop", "0002_second")]\n    operations = []\n'
    )
    url = sqlite_url(
        tmp_path, [("shop", "0001_first"), ("shop", "0002_second"), ("shop", "0001_initial")]
    )
    assert lint(tmp_path / "project", url, [(M + "0001_initial.py", squash)])[0] == []


def test_no_django_migrations_table_is_a_note(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite3"
    sqlite3.connect(path).close()
    findings, notes = lint(tmp_path / "project", f"sqlite:///{path}", TREE)
    assert findings == []
    assert any("no django_migrations table" in n for n in notes)


def test_the_read_goes_through_the_read_only_connection(tmp_path: Path) -> None:
    source = DataSource(sqlite_url(tmp_path))
    try:
        assert applied_rows(source) == set(ROWS)
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            source.connect().execute("DELETE FROM django_migrations")
    finally:
        source.close()


def test_postgres(tmp_path: Path, postgres_database: PostgresDatabase) -> None:
    with postgres_database.connect() as conn, conn.cursor() as cursor:
        fill(cursor, "%s")
    findings, notes = lint(tmp_path / "project", postgres_database.url, TREE)
    assert [(f.code, f.path) for f in findings] == [("ML202", M + "0003_refund.py")]
    assert any("contenttypes" in n for n in notes)


def test_mariadb(tmp_path: Path, mariadb_database: MariaDBDatabase) -> None:
    with mariadb_database.connect() as conn, conn.cursor() as cursor:
        fill(cursor, "%s")
    findings, notes = lint(tmp_path / "project", mariadb_database.url, TREE)
    assert [(f.code, f.path) for f in findings] == [("ML202", M + "0003_refund.py")]
    assert any("contenttypes" in n for n in notes)


def test_unreachable_database_is_a_usage_error(tmp_path: Path) -> None:
    from migration_lint.errors import UsageError

    with pytest.raises(UsageError, match="cannot connect"):
        lint(tmp_path / "project", "postgresql://nobody@127.0.0.1:1/none", TREE)
