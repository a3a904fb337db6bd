"""``--database``: a scratch database of the tool's own on the real PostgreSQL server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.databases import PostgresDatabase

FIXTURE = Path(__file__).parent / "fixtures" / "project_shop"


def _run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, "-m", "migration_lint", "--no-cache", *args],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def _scratch_databases(db: PostgresDatabase) -> list[str]:
    with db.connect() as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'migration_lint_%'"
        ).fetchall()
    return sorted(r[0] for r in rows)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    target = tmp_path / "project"
    shutil.copytree(FIXTURE, target)
    return target


def test_applies_on_its_own_database_records_sql_and_locks_and_drops_it(
    project: Path, postgres_database: PostgresDatabase
) -> None:
    before = _scratch_databases(postgres_database)
    result = _run(
        project,
        "shop",
        "--database",
        postgres_database.url,
        "--format",
        "json",
        "--select",
        "ML101",
    )
    assert result.returncode == 1, result.stderr
    finding = json.loads(result.stdout)["findings"][0]
    # The locks PostgreSQL really held in the migration's transaction, read from pg_locks.
    assert {"table": "shop_orders", "mode": "AccessExclusiveLock"} in finding["extra"]["locks"]
    assert _scratch_databases(postgres_database) == before  # dropped again
    with postgres_database.connect() as conn:  # nothing was written to the named database
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
        assert tables.fetchone()[0] == 0


def test_explain_prints_the_exact_sql_and_locks(
    project: Path, postgres_database: PostgresDatabase
) -> None:
    result = _run(
        project, "shop", "--database", postgres_database.url, "--explain", "--select", "ML9"
    )
    assert result.returncode == 0, result.stderr
    assert (
        "shop.0002_alter_order_unique_together on postgresql (applied on --database):"
        in result.stdout
    )
    assert (
        'ALTER TABLE "shop_orders" ADD CONSTRAINT "shop_orders_customer_ref_reference_'
        in result.stdout
    )
    assert "locks held until commit: AccessExclusiveLock on shop_orders" in result.stdout


def test_without_createdb_it_uses_a_schema_in_an_empty_database_and_refuses_one_with_tables(
    project: Path, postgres_database: PostgresDatabase
) -> None:
    role = f"{postgres_database.name}_role"
    with postgres_database.connect() as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN NOCREATEDB')
        conn.execute(f'GRANT CREATE ON DATABASE "{postgres_database.name}" TO "{role}"')
    server = postgres_database.server
    url = f"postgresql://{role}@{server.host}:{server.port}/{postgres_database.name}"
    try:
        result = _run(project, "shop", "--database", url, "--explain", "--select", "ML9")
        assert result.returncode == 0, result.stderr
        assert "applied on --database" in result.stdout
        with postgres_database.connect() as conn:
            schemas = conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'migration_lint_%'"
            )
            assert schemas.fetchall() == []  # the schema was dropped again
            conn.execute("CREATE TABLE customer_data (id integer)")
        refused = _run(project, "shop", "--database", url, "--select", "ML9")
        assert refused.returncode == 2
        assert "holds tables" in refused.stderr and refused.stderr.count("\n") == 1
    finally:
        with postgres_database.connect() as conn:
            conn.execute(f'DROP OWNED BY "{role}"')
            conn.execute(f'DROP ROLE "{role}"')


def test_database_needs_a_project(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").touch()
    result = _run(tmp_path, "--source-only", "--database", "postgresql://x@127.0.0.1/y")
    assert result.returncode == 2
    assert "needs a Django project" in result.stderr
