"""One-pass rendering from scoped states gives the SQL Django gives from the whole state.

``tests/fixtures/render_project`` holds the migrations whose SQL reads other models: a
primary-key type change under a child table, a proxy, a self reference and through tables; a
unique ``to_field`` target altered; models renamed under foreign keys and many-to-many
fields; an operation defined outside Django; SeparateDatabaseAndState and RunSQL with state
operations. ``compare.py`` (run in a subprocess: Django is set up once per process) renders
each migration with ``migration_lint.render`` and with Django's own ``sqlmigrate`` path from
the whole state, and reports both.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.databases import MariaDBDatabase, PostgresDatabase

PROJECT = Path(__file__).parent / "fixtures" / "render_project"
ROOT = Path(__file__).parents[1]


def _compare(*urls: str, **extra_env: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT), str(ROOT)])
    env.update(extra_env)
    result = subprocess.run(
        [sys.executable, "compare.py", *urls],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return _compare()


@pytest.mark.parametrize("vendor", ["postgresql", "mysql", "sqlite"])
def test_scoped_rendering_matches_the_whole_state(report: dict[str, Any], vendor: str) -> None:
    rows = report["vendors"][vendor]
    assert len(rows) == len(report["migrations"]) > 20
    different = [
        (row["migration"], row["ours"], row["reference"], row["error"], row["our_error"])
        for row in rows
        if not row["same"]
    ]
    assert different == []
    # Not vacuous: most migrations render SQL, and the failures are the same ones.
    assert sum(bool(row["ours"]) for row in rows) > 12
    assert [row["error"] is None for row in rows] == [row["our_error"] is None for row in rows]


def test_sqlite_renders_every_migration(report: dict[str, Any]) -> None:
    # Applying for real reads the live schema: nothing fails, the referrers are rebuilt.
    rows = {row["migration"]: row for row in report["vendors"]["sqlite"]}
    assert all(row["error"] is None for row in rows.values())
    rebuilt = rows["library.0006_rename_label"]["ours"]
    assert any('"library_loan_labels"' in sql and "keyword_id" in sql for sql in rebuilt)
    assert any(
        'REFERENCES "people_publisher" ("code")' in sql
        for sql in rows["people.0002_publisher_code_longer"]["ours"]
    )


def test_a_migration_is_rendered_from_the_models_its_sql_reads(report: dict[str, Any]) -> None:
    scoped = report["scoped"]
    # Renaming Label: the model, Loan pointing at it (whole), and stubs of what Loan points
    # at: a primary key, unique columns and to_field targets only.
    rename = scoped["library.0006_rename_label"]
    assert rename["library.label"] == ["id", "name"]
    assert rename["library.loan"] == ["edition", "id", "labels", "publisher"]
    assert rename["people.publisher"] == ["code", "id"]
    assert rename["library.edition"] == ["book_ptr"]
    assert "library.chapter" not in rename and "auth.user" not in rename
    # A unique column altered: the models pointing at it are whole.
    longer = scoped["people.0002_publisher_code_longer"]
    assert longer["library.book"] == ["author", "id", "publisher", "tags", "title"]
    assert longer["people.author"] == ["id"]
    # An operation defined outside Django: the whole state.
    custom = scoped["library.0004_custom_operation"]
    assert {"auth.user", "library.chapter", "people.author"} <= set(custom)


def _same_when_applied(report: dict[str, Any], vendor: str) -> None:
    rows = report["vendors"][f"{vendor} (applied)"]
    assert [(row["migration"], row["ours"]) for row in rows if not row["same"]] == []
    # Applied for real, every migration renders, the altered keys included.
    assert all(row["error"] is None and row["our_error"] is None for row in rows)
    longer = next(row for row in rows if row["migration"] == "people.0002_publisher_code_longer")
    assert any("library_book" in sql for sql in longer["ours"])


def test_applied_on_postgresql_matches_the_whole_state(postgres_database: PostgresDatabase) -> None:
    _same_when_applied(_compare(postgres_database.url), "postgresql")


def test_applied_on_mariadb_matches_the_whole_state(mariadb_database: MariaDBDatabase) -> None:
    _same_when_applied(_compare(mariadb_database.url), "mysql")


def test_a_failure_of_the_scoped_state_is_rendered_again_from_the_whole_state() -> None:
    # With the scoping made to miss a model, PostgreSQL and MySQL (rendered without side
    # effects) still give sqlmigrate's SQL; SQLite, applied for real, shows the miss.
    report = _compare(COMPARE_WITHOUT_DECLARED_TARGETS="1")
    for vendor in ("postgresql", "mysql"):
        assert all(row["same"] for row in report["vendors"][vendor]), vendor
    sqlite = {row["migration"]: row for row in report["vendors"]["sqlite"]}
    assert "cannot be resolved" in sqlite["library.0007_audit"]["our_error"]


def test_a_migration_that_chooses_by_vendor_on_import_renders_each_vendors_version(
    report: dict[str, Any],
) -> None:
    def sql(vendor: str) -> list[str]:
        rows = report["vendors"][vendor]
        return next(row["ours"] for row in rows if row["migration"] == "library.0008_chapter_words")

    # The project's settings name SQLite; PostgreSQL still gets its own branch.
    assert sql("postgresql") == ['ALTER TABLE "library_chapter" ADD COLUMN "words" bigint NULL;']
    assert sql("mysql") == ["ALTER TABLE `library_chapter` ADD COLUMN `words` integer NULL;"]
    assert sql("sqlite") == ['ALTER TABLE "library_chapter" ADD COLUMN "words" integer NULL;']


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from django.db import connection\nif connection.vendor == 'sqlite':\n    X = 1\n", True),
        (
            "class Migration:\n    if connection.features.is_sqlite:\n        operations = []\n",
            True,
        ),
        ("from django.db import connection\n", False),
        ("def forwards(apps, schema_editor):\n    alias = schema_editor.connection.alias\n", False),
        ("f = lambda apps, editor: editor.connection.vendor\n", False),
        ("operations = []\n", False),
    ],
)
def test_only_modules_reading_connection_on_import_are_imported_again(
    source: str, expected: bool
) -> None:
    from migration_lint.render import _reads_connection_on_import

    assert _reads_connection_on_import(source.encode()) is expected
