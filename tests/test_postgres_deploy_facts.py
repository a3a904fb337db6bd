"""What the ML5xx rules claim about PostgreSQL, shown on the real server.

Each test runs the statements Django emits (as ``sqlmigrate`` prints them for Django 4.2-6.1)
or the statements of a rule's fix plan, and reads what the server did: ``pg_class.relfilenode``
for a table rewrite, ``pg_locks`` inside the transaction for locks, the DEBUG1 messages for
scans ("verifying table"), ``pg_stat_xact_user_tables`` for the scans of foreign key
validation, and the errors it raises.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from migration_lint.analysis.deploy import rewrites
from migration_lint.docs import example_files
from migration_lint.findings import Finding
from migration_lint.rules.base import registry
from tests.databases import PostgresDatabase
from tests.helpers import lint_files

psycopg = pytest.importorskip("psycopg")

ROOT = Path(__file__).resolve().parents[1]


# -- helpers --------------------------------------------------------------------------------------


class Session:
    """One connection, with the DEBUG1 messages the server sent since the last ``clear``."""

    def __init__(self, database: PostgresDatabase) -> None:
        self.conn = database.connect()
        self.messages: list[str] = []
        self.conn.add_notice_handler(lambda d: self.messages.append(d.message_primary or ""))

    def run(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        cursor = self.conn.execute(sql, params or None)
        return cursor.fetchall() if cursor.description else []

    @contextmanager
    def transaction(self, rollback: bool = False) -> Iterator[None]:
        with self.conn.transaction(force_rollback=rollback):
            self.run("SET LOCAL client_min_messages = debug1")
            self.messages.clear()
            yield

    def locks(self, *tables: str) -> set[tuple[str, str]]:
        rows = self.run(
            "SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE l.pid = pg_backend_pid() AND c.relname = ANY(%s)",
            list(tables),
        )
        return {(r[0], r[1]) for r in rows}

    def relfilenode(self, table: str) -> int:
        return int(self.run("SELECT relfilenode FROM pg_class WHERE relname = %s", table)[0][0])

    def seq_scans(self, table: str) -> int:
        rows = self.run("SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = %s", table)
        return int(rows[0][0]) if rows else 0

    def scanned(self, table: str) -> bool:
        """The DEBUG1 message ALTER TABLE sends when it reads every row to check a constraint."""
        return f'verifying table "{table}"' in self.messages

    def rewritten(self, table: str) -> bool:
        return f'rewriting table "{table}"' in self.messages


@pytest.fixture
def pg(postgres_database: PostgresDatabase) -> Iterator[Session]:
    session = Session(postgres_database)
    try:
        yield session
    finally:
        session.conn.close()


def lock_modes(locks: set[tuple[str, str]], table: str) -> set[str]:
    return {mode for name, mode in locks if name == table}


# PostgreSQL's table lock modes, weakest first.
MODES = (
    "AccessShareLock",
    "RowShareLock",
    "RowExclusiveLock",
    "ShareUpdateExclusiveLock",
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
)


def strongest(locks: set[tuple[str, str]], table: str) -> str:
    return max(lock_modes(locks, table), key=MODES.index)


def run_sql_of(code: str) -> list[str]:
    """The forward statements of every RunSQL in a fix plan's code, in source order."""
    found: list[str] = []

    class Visitor(ast.NodeVisitor):
        def visit_Call(self, node: ast.Call) -> None:
            if isinstance(node.func, ast.Attribute) and node.func.attr == "RunSQL":
                sql = next((k.value for k in node.keywords if k.arg == "sql"), None)
                sql = sql if sql is not None else node.args[0]
                value = ast.literal_eval(sql)
                found.extend([value] if isinstance(value, str) else value)
                return
            self.generic_visit(node)

    Visitor().visit(ast.parse(code))
    return found


def lint_example_source(tmp_path: Path, code: str, kind: str, number: int) -> list[Finding]:
    example = getattr(registry()[code], kind)[number - 1]
    return [
        f for f in lint_files(tmp_path, example_files(example), select=(code,)) if f.code == code
    ]


# -- ML510: which type changes rewrite the table --------------------------------------------------

# (old column type, the statement Django emits for the change, rewrites?)
TYPE_CHANGES = [
    ("varchar(10)", "TYPE varchar(20)", False),
    ("varchar(20)", "TYPE varchar(10)", True),
    ("varchar(10)", 'TYPE text USING "c"::text', False),
    ("varchar(10)", "TYPE varchar", False),
    ("text", 'TYPE varchar(10) USING "c"::varchar(10)', True),
    ("text", 'TYPE varchar USING "c"::varchar', False),
    ("integer", 'TYPE bigint USING "c"::bigint', True),
    ("bigint", 'TYPE integer USING "c"::integer', True),
    ("smallint", 'TYPE integer USING "c"::integer', True),
    ("numeric(10,2)", "TYPE numeric(12,2)", False),
    ("numeric(10,2)", "TYPE numeric(10,3)", True),
    ("numeric(10,2)", "TYPE numeric(8,2)", True),
    ("integer", 'TYPE numeric(10,2) USING "c"::numeric(10,2)', True),
    ("text", 'TYPE jsonb USING "c"::jsonb', True),
]


@pytest.mark.parametrize(
    ("old", "change", "expected"),
    [pytest.param(*c, id=f"{c[0]}-{c[1].split()[1]}") for c in TYPE_CHANGES],
)
def test_type_change_rewrites_the_table_exactly_when_ml510_says(
    pg: Session, old: str, change: str, expected: bool
) -> None:
    pg.run(f"CREATE TABLE t (id serial PRIMARY KEY, c {old})")
    pg.run("INSERT INTO t (c) SELECT '1' FROM generate_series(1, 50)")
    before = pg.relfilenode("t")
    with pg.transaction(rollback=True):
        pg.run(f"ALTER TABLE t ALTER COLUMN c {change}")
        assert (pg.relfilenode("t") != before) is expected
        assert pg.rewritten("t") is expected
        assert strongest(pg.locks("t"), "t") == "AccessExclusiveLock"
    new = change.split()[1]
    assert rewrites(old.replace(" ", ""), new.replace(" ", "")) is expected


def test_shorter_varchar_plan_adds_a_check_without_rewriting(tmp_path: Path, pg: Session) -> None:
    """ML510's plan for a shorter max_length: CHECK NOT VALID, then VALIDATE; no rewrite."""
    finding = lint_example_source(tmp_path, "ML510", "flagged", 2)[0]
    first, second = (run_sql_of(step.code) for step in finding.fix)
    pg.run('CREATE TABLE "shop_client" ("id" bigserial PRIMARY KEY, "name" varchar(100) NOT NULL)')
    pg.run("INSERT INTO shop_client (name) VALUES ('short'), (repeat('x', 80))")
    before = pg.relfilenode("shop_client")
    with pg.transaction():
        for sql in first:
            pg.run(sql)
        assert not pg.scanned("shop_client")
    assert pg.relfilenode("shop_client") == before
    with pytest.raises(psycopg.errors.CheckViolation), pg.transaction():
        for sql in second:
            pg.run(sql)
    pg.run("UPDATE shop_client SET name = left(name, 50)")
    with pg.transaction():
        for sql in second:
            pg.run(sql)
            assert strongest(pg.locks("shop_client"), "shop_client") == "ShareUpdateExclusiveLock"
        assert pg.scanned("shop_client")
    assert pg.relfilenode("shop_client") == before


# -- ML506: Django's default is dropped; db_default stays ------------------------------------------


def test_django_default_is_dropped_so_old_inserts_fail(pg: Session) -> None:
    pg.run('CREATE TABLE "shop_client" ("id" bigserial PRIMARY KEY, "name" varchar(100) NOT NULL)')
    pg.run("INSERT INTO shop_client (name) SELECT 'c' FROM generate_series(1, 20)")
    before = pg.relfilenode("shop_client")
    with pg.transaction():
        # AddField(models.IntegerField(default=0)), as Django emits it.
        pg.run('ALTER TABLE "shop_client" ADD COLUMN "bought" integer DEFAULT 0 NOT NULL')
        pg.run('ALTER TABLE "shop_client" ALTER COLUMN "bought" DROP DEFAULT')
    assert pg.relfilenode("shop_client") == before  # a constant default: no rewrite (PG 11+)
    assert pg.run("SELECT count(*) FROM shop_client WHERE bought = 0") == [(20,)]
    # The code deployed before the migration does not know the column.
    with pytest.raises(psycopg.errors.NotNullViolation):
        pg.run("INSERT INTO shop_client (name) VALUES ('old code')")


def test_db_default_stays_so_old_inserts_work(pg: Session) -> None:
    pg.run('CREATE TABLE "shop_client" ("id" bigserial PRIMARY KEY, "name" varchar(100) NOT NULL)')
    pg.run("INSERT INTO shop_client (name) VALUES ('c')")
    before = pg.relfilenode("shop_client")
    # AddField(models.IntegerField(db_default=0)): the DEFAULT is kept.
    pg.run('ALTER TABLE "shop_client" ADD COLUMN "bought" integer DEFAULT 0 NOT NULL')
    assert pg.relfilenode("shop_client") == before
    pg.run("INSERT INTO shop_client (name) VALUES ('old code')")
    assert pg.run("SELECT bought FROM shop_client ORDER BY id") == [(0,), (0,)]


# -- ML507: SET NOT NULL scans under ACCESS EXCLUSIVE; the plan does not ---------------------------


def _client_with_nullable_bought(pg: Session) -> None:
    pg.run(
        'CREATE TABLE "shop_client" ("id" bigserial PRIMARY KEY, "name" varchar(100) NOT NULL, '
        '"bought" integer NULL)'
    )
    pg.run("INSERT INTO shop_client (name, bought) SELECT 'c', 1 FROM generate_series(1, 50)")


def test_set_not_null_scans_under_access_exclusive(pg: Session) -> None:
    _client_with_nullable_bought(pg)
    with pg.transaction(rollback=True):
        pg.run('ALTER TABLE "shop_client" ALTER COLUMN "bought" SET NOT NULL')
        assert pg.scanned("shop_client")
        assert strongest(pg.locks("shop_client"), "shop_client") == "AccessExclusiveLock"


def test_django_backfill_update_runs_under_the_same_exclusive_lock(pg: Session) -> None:
    _client_with_nullable_bought(pg)
    pg.run("UPDATE shop_client SET bought = NULL WHERE id <= 10")
    with pg.transaction(rollback=True):
        # AlterField(null=True -> PositiveIntegerField(default=0)), as Django emits it.
        pg.run('ALTER TABLE "shop_client" ALTER COLUMN "bought" SET DEFAULT 0')
        assert strongest(pg.locks("shop_client"), "shop_client") == "AccessExclusiveLock"
        pg.run('UPDATE "shop_client" SET "bought" = 0 WHERE "bought" IS NULL')
        pg.run("SET CONSTRAINTS ALL IMMEDIATE")
        pg.run('ALTER TABLE "shop_client" ALTER COLUMN "bought" SET NOT NULL')
        assert pg.scanned("shop_client")


def test_check_not_valid_takes_access_exclusive_without_a_scan(pg: Session) -> None:
    _client_with_nullable_bought(pg)
    pg.run("UPDATE shop_client SET bought = NULL WHERE id = 1")
    with pg.transaction(rollback=True):
        pg.run(
            'ALTER TABLE "shop_client" ADD CONSTRAINT "ck" CHECK ("bought" IS NOT NULL) NOT VALID'
        )
        assert not pg.scanned("shop_client")  # and the NULL row did not stop it
        assert strongest(pg.locks("shop_client"), "shop_client") == "AccessExclusiveLock"


def test_not_null_plan_validates_without_blocking_then_sets_not_null_without_a_scan(
    tmp_path: Path, pg: Session
) -> None:
    """ML507's plan on the seeds' scenario (nullable ``bought``, backfilled, then required)."""
    finding = lint_example_source(tmp_path, "ML507", "flagged", 1)[0]
    fill, *migrations = [run_sql_of(step.code) for step in finding.fix if step.path]
    assert fill == [] and len(migrations) == 2  # the fill is a RunPython: its UPDATE is below
    _client_with_nullable_bought(pg)
    pg.run("UPDATE shop_client SET bought = NULL WHERE id <= 5")
    pg.run('UPDATE "shop_client" SET "bought" = 0 WHERE "bought" IS NULL')
    with pg.transaction():
        for sql in migrations[0]:
            pg.run(sql)
        assert not pg.scanned("shop_client")
        assert strongest(pg.locks("shop_client"), "shop_client") == "AccessExclusiveLock"
    validate, *set_not_null = migrations[1]
    with pg.transaction():
        pg.run(validate)
        assert pg.scanned("shop_client")
        assert strongest(pg.locks("shop_client"), "shop_client") == "ShareUpdateExclusiveLock"
        pg.messages.clear()
        for sql in set_not_null:
            pg.run(sql)
        assert not pg.scanned("shop_client")
        assert any("sufficient to prove" in m for m in pg.messages), pg.messages
    assert pg.run(
        "SELECT is_nullable FROM information_schema.columns "
        "WHERE table_name = 'shop_client' AND column_name = 'bought'"
    ) == [("NO",)]
    assert pg.run(
        "SELECT count(*) FROM pg_constraint WHERE conrelid = 'shop_client'::regclass AND contype = 'c'"
    ) == [(0,)]


# -- ML511: foreign key validation ----------------------------------------------------------------


def _client_and_order(pg: Session, orphan: bool = False) -> None:
    pg.run('CREATE TABLE "shop_client" ("id" bigserial PRIMARY KEY)')
    pg.run(
        'CREATE TABLE "shop_order" ("id" bigserial PRIMARY KEY, "referrer_id" bigint NULL, '
        '"note" text NULL)'
    )
    pg.run("INSERT INTO shop_client DEFAULT VALUES")
    pg.run("INSERT INTO shop_order (referrer_id) SELECT 1 FROM generate_series(1, 100)")
    if orphan:
        pg.run("INSERT INTO shop_order (referrer_id) VALUES (999)")


ADD_FK = (
    'ALTER TABLE "shop_order" ADD CONSTRAINT "fk" FOREIGN KEY ("referrer_id") '
    'REFERENCES "shop_client" ("id") DEFERRABLE INITIALLY DEFERRED'
)


def test_add_foreign_key_scans_under_share_row_exclusive_on_both_tables(pg: Session) -> None:
    _client_and_order(pg)
    with pg.transaction(rollback=True):
        scans = pg.seq_scans("shop_order")
        pg.run(ADD_FK)
        assert pg.seq_scans("shop_order") > scans
        locks = pg.locks("shop_order", "shop_client")
        assert strongest(locks, "shop_order") == "ShareRowExclusiveLock"
        assert strongest(locks, "shop_client") == "ShareRowExclusiveLock"
    _client_and_order_orphan = "INSERT INTO shop_order (referrer_id) VALUES (999)"
    pg.run(_client_and_order_orphan)
    with pytest.raises(psycopg.errors.ForeignKeyViolation), pg.transaction():
        pg.run(ADD_FK)


def test_nullable_foreign_key_column_is_added_without_validation(pg: Session) -> None:
    """AddField(ForeignKey(null=True)) as Django emits it: the new column is all NULL, and
    PostgreSQL skips the scan (why ML511 does not report it)."""
    _client_and_order(pg)
    with pg.transaction(rollback=True):
        scans = pg.seq_scans("shop_order")
        pg.run(
            'ALTER TABLE "shop_order" ADD COLUMN "billed_to_id" bigint NULL CONSTRAINT "fk2" '
            'REFERENCES "shop_client"("id") DEFERRABLE INITIALLY DEFERRED; SET CONSTRAINTS "fk2" IMMEDIATE'
        )
        assert pg.seq_scans("shop_order") == scans
        locks = pg.locks("shop_order", "shop_client")
        assert strongest(locks, "shop_order") == "AccessExclusiveLock"
        assert strongest(locks, "shop_client") == "ShareRowExclusiveLock"


def test_foreign_key_column_with_a_default_is_validated(pg: Session) -> None:
    _client_and_order(pg)
    with pytest.raises(psycopg.errors.ForeignKeyViolation), pg.transaction():
        pg.run(
            'ALTER TABLE "shop_order" ADD COLUMN "billed_to_id" bigint DEFAULT 999 NOT NULL '
            'CONSTRAINT "fk2" REFERENCES "shop_client"("id") DEFERRABLE INITIALLY DEFERRED; '
            'SET CONSTRAINTS "fk2" IMMEDIATE'
        )


def test_foreign_key_plan_not_valid_then_validate(tmp_path: Path, pg: Session) -> None:
    """ML511's plan: NOT VALID scans nothing; VALIDATE lets reads and writes go on."""
    finding = lint_example_source(tmp_path, "ML511", "flagged", 1)[0]
    first, second = (run_sql_of(step.code) for step in finding.fix)
    _client_and_order(pg, orphan=True)
    with pg.transaction():
        scans = pg.seq_scans("shop_order")
        for sql in first:
            pg.run(sql)
        assert pg.seq_scans("shop_order") == scans  # and the orphan row did not stop it
        locks = pg.locks("shop_order", "shop_client")
        assert strongest(locks, "shop_order") == "ShareRowExclusiveLock"
        assert strongest(locks, "shop_client") == "ShareRowExclusiveLock"
    with pytest.raises(psycopg.errors.ForeignKeyViolation), pg.transaction():
        for sql in second:
            pg.run(sql)
    pg.run("DELETE FROM shop_order WHERE referrer_id = 999")
    with pg.transaction():
        for sql in second:
            pg.run(sql)
        locks = pg.locks("shop_order", "shop_client")
        assert strongest(locks, "shop_order") == "ShareUpdateExclusiveLock"
        assert strongest(locks, "shop_client") == "RowShareLock"


# -- ML505: pending trigger events ----------------------------------------------------------------

WRITES = {
    "insert": "INSERT INTO shop_order (referrer_id, note) VALUES (1, 'n')",
    "insert-null-key": "INSERT INTO shop_order (referrer_id, note) VALUES (NULL, 'n')",
    "update-key": "UPDATE shop_order SET referrer_id = 2",
    "update-same-key": "UPDATE shop_order SET note = 'x', referrer_id = referrer_id",
    "update-other-column": "UPDATE shop_order SET note = 'x'",
    "delete-referenced": "DELETE FROM shop_client WHERE id = 3",
    "delete-referencing": "DELETE FROM shop_order",
}
ALTERS = {
    "alter-order": 'ALTER TABLE shop_order ADD COLUMN "x" integer NULL',
    "set-not-null-order": "ALTER TABLE shop_order ALTER COLUMN note SET NOT NULL",
    "index-order": "CREATE INDEX ON shop_order (note)",
    "drop-order": "DROP TABLE shop_order",
    "alter-client": 'ALTER TABLE shop_client ADD COLUMN "x" integer NULL',
}
# (write, later statement, fails?) -- what ML505 reports is exactly the failing pairs.
PENDING = [
    ("insert", "alter-order", True),
    ("insert-null-key", "alter-order", True),
    ("insert", "set-not-null-order", True),
    ("insert", "index-order", True),
    ("insert", "drop-order", True),
    ("insert", "alter-client", False),
    ("update-key", "alter-order", True),
    ("update-same-key", "alter-order", False),
    ("update-other-column", "alter-order", False),
    ("delete-referenced", "alter-client", True),
    ("delete-referenced", "alter-order", False),
    ("delete-referencing", "alter-order", False),
]


@pytest.mark.parametrize(
    ("write", "alter", "fails"), [pytest.param(*p, id=f"{p[0]}-{p[1]}") for p in PENDING]
)
def test_deferred_foreign_key_checks_block_alter_table(
    pg: Session, write: str, alter: str, fails: bool
) -> None:
    pg.run('CREATE TABLE "shop_client" ("id" bigserial PRIMARY KEY)')
    pg.run(
        'CREATE TABLE "shop_order" ("id" bigserial PRIMARY KEY, "note" text NULL, "referrer_id" '
        'bigint NULL CONSTRAINT "fk" REFERENCES "shop_client" ("id") DEFERRABLE INITIALLY DEFERRED)'
    )
    pg.run("INSERT INTO shop_client DEFAULT VALUES; INSERT INTO shop_client DEFAULT VALUES")
    pg.run("INSERT INTO shop_client DEFAULT VALUES")
    pg.run("INSERT INTO shop_order (referrer_id, note) VALUES (1, 'n')")
    with pg.transaction(rollback=True):
        pg.run(WRITES[write])
        try:
            pg.run("SAVEPOINT s")
            pg.run(ALTERS[alter])
            failed = False
        except psycopg.errors.ObjectInUse as error:
            assert "pending trigger events" in str(error)
            failed = True
            pg.run("ROLLBACK TO SAVEPOINT s")
        assert failed is fails
        if fails:
            # The fix ML505 suggests: run the queued checks, then the ALTER goes through.
            pg.run("SET CONSTRAINTS ALL IMMEDIATE")
            pg.run(ALTERS[alter])


MIGRATE = """
import sys

import django
from django.conf import settings

settings.configure(
    DATABASES={"default": %(database)r},
    INSTALLED_APPS=["shop"],
    USE_TZ=True,
    DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
)
django.setup()
from django.core.management import call_command
from django.db import connection

connection.cursor().execute("SELECT 1")
call_command("migrate", "shop", "0001", verbosity=0)
with connection.cursor() as cursor:
    cursor.execute("INSERT INTO shop_client (name, email, orders_count) VALUES ('a', NULL, 0)")
try:
    call_command("migrate", "shop", verbosity=0)
except Exception as error:
    print("FAILED:", error)
    sys.exit(1)
print("OK")
"""


@pytest.mark.parametrize(
    ("kind", "number", "fixed"),
    [
        pytest.param("flagged", 1, False, id="flagged-1-insert-then-alter"),
        pytest.param("flagged", 2, False, id="flagged-2-deferred-index"),
        pytest.param("flagged", 3, False, id="flagged-3-delete-referenced"),
        pytest.param("flagged", 1, True, id="flagged-1-with-set-constraints"),
        pytest.param("accepted", 1, False, id="accepted-1-own-migration"),
        pytest.param("accepted", 3, False, id="accepted-3-update-other-column"),
    ],
)
def test_ml505_examples_under_django_migrate(
    tmp_path: Path, postgres_database: PostgresDatabase, kind: str, number: int, fixed: bool
) -> None:
    """The rule's own examples, applied by Django's ``migrate`` on PostgreSQL."""
    example = getattr(registry()["ML505"], kind)[number - 1]
    files = example_files(example)
    for path, content in files:
        if fixed and path == files[-1][0]:
            function, _, rest = content.partition("\n\n\nclass Migration")
            content = (
                function.rstrip()
                + '\n    schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")\n\n\nclass Migration'
                + rest
            )
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    (tmp_path / "shop" / "__init__.py").touch()
    (tmp_path / "shop" / "migrations" / "__init__.py").touch()
    script = MIGRATE % {"database": postgres_database.django}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        check=False,
    )
    flagged = kind == "flagged" and not fixed
    if flagged:
        assert result.returncode == 1, result.stdout + result.stderr
        assert "pending trigger events" in result.stdout, result.stdout + result.stderr
    else:
        assert result.returncode == 0, result.stdout + result.stderr
