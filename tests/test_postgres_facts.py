"""The PostgreSQL behaviour the ML1xx rules and their fix plans rest on, shown on the real server.

Each test is one claim of FACTS.md ("Locks on PostgreSQL", "Failure modes"), named after the rule
that makes it. Locks are read from ``pg_locks`` inside the transaction that claims them; what a
lock blocks is shown by a second session that gives up after a short ``lock_timeout``; a lock
that is waited for (``granted = false``) is read from a third session while the first waits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from psycopg import errors

from tests.databases import PostgresDatabase

# Every statement of these tests is bounded: nothing may hang a test run.
STATEMENT_TIMEOUT = "30s"
# How long a probe waits for a lock before it counts as blocked.
PROBE_LOCK_TIMEOUT = "200ms"
WAIT_LIMIT = 10.0

Connection = psycopg.Connection[Any]


@pytest.fixture
def connect(postgres_database: PostgresDatabase) -> Iterator[Callable[[], Connection]]:
    """Autocommit connections to the test's database with a statement_timeout, closed afterwards."""
    opened: list[Connection] = []

    def open_connection() -> Connection:
        conn = postgres_database.connect()
        conn.execute(f"SET statement_timeout = '{STATEMENT_TIMEOUT}'")
        opened.append(conn)
        return conn

    yield open_connection
    for conn in opened:
        conn.close()


@pytest.fixture
def conn(connect: Callable[[], Connection]) -> Connection:
    """A table ``t (id, a, b)`` with the rows (1, 1), (2, 2)."""
    conn = connect()
    conn.execute("CREATE TABLE t (id serial PRIMARY KEY, a integer NOT NULL, b integer)")
    conn.execute("INSERT INTO t (a, b) VALUES (1, 1), (2, 2)")
    return conn


def own_locks(conn: Connection, table: str = "t") -> set[str]:
    """Lock modes this session holds on ``table``."""
    rows = conn.execute(
        "SELECT mode FROM pg_locks WHERE pid = pg_backend_pid() AND relation = %s::regclass",
        (table,),
    ).fetchall()
    return {mode for (mode,) in rows}


def blocked(connect: Callable[[], Connection], sql: str) -> bool:
    """Does ``sql`` from another session have to wait for a lock?"""
    probe = connect()
    probe.execute(f"SET lock_timeout = '{PROBE_LOCK_TIMEOUT}'")
    try:
        with probe.transaction(force_rollback=True):
            probe.execute(sql)
    except errors.LockNotAvailable:
        return True
    finally:
        probe.close()
    return False


def index_state(conn: Connection, name: str) -> tuple[bool, bool] | None:
    """(indisvalid, indisready) of the index ``name``, or None when there is none."""
    row = conn.execute(
        "SELECT i.indisvalid, i.indisready FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE c.relname = %s",
        (name,),
    ).fetchone()
    return None if row is None else (row[0], row[1])


def unique_constraint(conn: Connection, name: str) -> tuple[str, bool] | None:
    """(definition, its index is valid) of the constraint ``name``, or None."""
    row = conn.execute(
        "SELECT pg_get_constraintdef(c.oid), i.indisvalid FROM pg_constraint c"
        " JOIN pg_index i ON i.indexrelid = c.conindid WHERE c.conname = %s AND c.contype = 'u'",
        (name,),
    ).fetchone()
    return None if row is None else (row[0], row[1])


def add_duplicates(conn: Connection) -> None:
    conn.execute("INSERT INTO t (a, b) VALUES (1, 1)")


def fail_concurrent_build(conn: Connection) -> None:
    """A CREATE UNIQUE INDEX CONCURRENTLY that fails on duplicates and leaves ``t_u`` behind."""
    add_duplicates(conn)
    with pytest.raises(errors.UniqueViolation):
        conn.execute("CREATE UNIQUE INDEX CONCURRENTLY t_u ON t (a, b)")


def open_transaction(connect: Callable[[], Connection], sql: str) -> Connection:
    """Another session whose transaction ran ``sql`` and stays open, holding its locks."""
    holder = connect()
    holder.autocommit = False
    holder.execute(sql)
    return holder


@contextmanager
def held_up(conn: Connection, sql: str, holder: Connection) -> Iterator[Future[object]]:
    """Run ``sql`` on ``conn`` in a thread while ``holder``'s transaction holds it up.

    On leaving the block the holder's transaction ends, and ``sql`` is waited for (its error
    raised). The statement_timeout bounds the wait whatever happens in the block.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        future: Future[object] = pool.submit(conn.execute, sql)
        try:
            yield future
        finally:
            holder.rollback()
        future.result(timeout=WAIT_LIMIT)


def wait_for_lock_request(observer: Connection, pid: int, mode: str) -> None:
    """Wait until session ``pid`` waits for (or holds) ``mode`` on t; fail after WAIT_LIMIT."""
    deadline = time.monotonic() + WAIT_LIMIT
    while time.monotonic() < deadline:
        row = observer.execute(
            "SELECT granted FROM pg_locks WHERE pid = %s AND relation = 't'::regclass AND mode = %s",
            (pid, mode),
        ).fetchone()
        if row is not None:
            return
        time.sleep(0.02)
    pytest.fail(f"session {pid} never asked for {mode} on t")


def waiting_for(observer: Connection, pid: int) -> list[tuple[str, str]]:
    """(locktype, mode) of the locks session ``pid`` waits for."""
    return observer.execute(
        "SELECT locktype, mode FROM pg_locks WHERE pid = %s AND NOT granted", (pid,)
    ).fetchall()


# -- Locks ----------------------------------------------------------------------------------------


def test_ml101_add_constraint_unique_holds_access_exclusive_for_the_build(conn: Connection) -> None:
    with conn.transaction(force_rollback=True):
        conn.execute("ALTER TABLE t ADD CONSTRAINT t_u UNIQUE (a, b)")
        # ACCESS EXCLUSIVE from ALTER TABLE, SHARE from the index build inside it.
        assert own_locks(conn) == {"AccessExclusiveLock", "ShareLock"}


def test_ml101_add_constraint_unique_blocks_reads_and_writes(
    conn: Connection, connect: Callable[[], Connection]
) -> None:
    with conn.transaction(force_rollback=True):
        conn.execute("ALTER TABLE t ADD CONSTRAINT t_u UNIQUE (a, b)")
        assert blocked(connect, "SELECT count(*) FROM t")
        assert blocked(connect, "INSERT INTO t (a, b) VALUES (3, 3)")


def test_ml101_create_unique_index_holds_share_lock(conn: Connection) -> None:
    with conn.transaction(force_rollback=True):
        conn.execute("CREATE UNIQUE INDEX t_u ON t (a, b)")
        assert own_locks(conn) == {"ShareLock"}


def test_ml101_create_unique_index_blocks_writes_not_reads(
    conn: Connection, connect: Callable[[], Connection]
) -> None:
    with conn.transaction(force_rollback=True):
        conn.execute("CREATE UNIQUE INDEX t_u ON t (a, b)")
        assert not blocked(connect, "SELECT count(*) FROM t")
        assert blocked(connect, "INSERT INTO t (a, b) VALUES (3, 3)")


def test_ml105_create_index_holds_share_lock(conn: Connection) -> None:
    with conn.transaction(force_rollback=True):
        conn.execute("CREATE INDEX t_a ON t (a)")
        assert own_locks(conn) == {"ShareLock"}


def test_ml105_create_index_blocks_writes_not_reads(
    conn: Connection, connect: Callable[[], Connection]
) -> None:
    with conn.transaction(force_rollback=True):
        conn.execute("CREATE INDEX t_a ON t (a)")
        assert not blocked(connect, "SELECT count(*) FROM t")
        assert blocked(connect, "UPDATE t SET b = 3 WHERE a = 2")


def test_ml105_index_after_add_column_in_the_same_transaction_holds_access_exclusive(
    conn: Connection, connect: Callable[[], Connection]
) -> None:
    with conn.transaction(force_rollback=True):
        conn.execute("ALTER TABLE t ADD COLUMN c integer")
        conn.execute("CREATE INDEX t_c ON t (c)")
        assert "AccessExclusiveLock" in own_locks(conn)
        assert blocked(connect, "SELECT count(*) FROM t")


@pytest.mark.parametrize(
    ("ddl", "mode"),
    [
        pytest.param(
            "ALTER TABLE t ADD CONSTRAINT t_u UNIQUE (a, b)",
            "AccessExclusiveLock",
            id="add-constraint",
        ),
        pytest.param("CREATE UNIQUE INDEX t_u ON t (a, b)", "ShareLock", id="create-unique-index"),
    ],
)
def test_ml106_outside_a_transaction_the_build_asks_for_the_same_lock(
    conn: Connection, connect: Callable[[], Connection], ddl: str, mode: str
) -> None:
    # atomic = False only drops the transaction around the statement: run in autocommit, as
    # Django then runs it, the statement still asks for its blocking lock (and queues for it).
    holder = open_transaction(connect, "INSERT INTO t (a, b) VALUES (3, 3)")
    observer = connect()
    pid = conn.info.backend_pid
    with held_up(conn, ddl, holder):
        wait_for_lock_request(observer, pid, mode)
        assert waiting_for(observer, pid) == [("relation", mode)]


def test_ml101_concurrent_build_holds_share_update_exclusive_and_blocks_neither(
    conn: Connection, connect: Callable[[], Connection]
) -> None:
    # The fix plan's build. A transaction that wrote to t holds it up (CONCURRENTLY waits for
    # older transactions); meanwhile its lock is SHARE UPDATE EXCLUSIVE and other sessions
    # read and write t.
    holder = open_transaction(connect, "INSERT INTO t (a, b) VALUES (3, 3)")
    observer = connect()
    pid = conn.info.backend_pid
    with held_up(conn, "CREATE UNIQUE INDEX CONCURRENTLY t_u ON t (a, b)", holder):
        deadline = time.monotonic() + WAIT_LIMIT
        while not waiting_for(observer, pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert waiting_for(observer, pid) == [("virtualxid", "ShareLock")]
        held = observer.execute(
            "SELECT mode FROM pg_locks WHERE pid = %s AND relation = 't'::regclass AND granted",
            (pid,),
        ).fetchall()
        assert held == [("ShareUpdateExclusiveLock",)]
        assert not blocked(connect, "SELECT count(*) FROM t")
        assert not blocked(connect, "INSERT INTO t (a, b) VALUES (4, 4)")
    assert index_state(observer, "t_u") == (True, True)


def test_ml110_using_index_holds_access_exclusive(conn: Connection) -> None:
    conn.execute("CREATE UNIQUE INDEX t_u ON t (a, b)")
    with conn.transaction(force_rollback=True):
        conn.execute("ALTER TABLE t ADD CONSTRAINT t_u UNIQUE USING INDEX t_u")
        assert own_locks(conn) == {"AccessExclusiveLock"}
        assert unique_constraint(conn, "t_u") == ("UNIQUE (a, b)", True)


def test_ml110_waiting_using_index_queues_every_query_behind_it(
    conn: Connection, connect: Callable[[], Connection]
) -> None:
    conn.execute("CREATE UNIQUE INDEX t_u ON t (a, b)")
    holder = open_transaction(connect, "SELECT count(*) FROM t")  # a long report query
    observer = connect()
    pid = conn.info.backend_pid
    with held_up(conn, "ALTER TABLE t ADD CONSTRAINT t_u UNIQUE USING INDEX t_u", holder):
        wait_for_lock_request(observer, pid, "AccessExclusiveLock")
        # A plain read, which the holder does not block, now waits behind the ALTER.
        assert blocked(connect, "SELECT count(*) FROM t")
    assert unique_constraint(observer, "t_u") == ("UNIQUE (a, b)", True)


def test_ml110_lock_timeout_makes_using_index_give_up(
    conn: Connection, connect: Callable[[], Connection]
) -> None:
    conn.execute("CREATE UNIQUE INDEX t_u ON t (a, b)")
    holder = open_transaction(connect, "SELECT count(*) FROM t")
    try:
        conn.execute("SET lock_timeout = '200ms'")
        with pytest.raises(
            errors.LockNotAvailable, match="canceling statement due to lock timeout"
        ):
            conn.execute("ALTER TABLE t ADD CONSTRAINT t_u UNIQUE USING INDEX t_u")
    finally:
        holder.rollback()
    # Nothing attached; the index is still there, valid, for a rerun.
    assert unique_constraint(conn, "t_u") is None
    assert index_state(conn, "t_u") == (True, True)


# -- Failure modes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("CREATE INDEX CONCURRENTLY t_a ON t (a)", id="create-index"),
        pytest.param("CREATE UNIQUE INDEX CONCURRENTLY t_u ON t (a, b)", id="create-unique-index"),
        pytest.param("DROP INDEX CONCURRENTLY IF EXISTS t_u", id="drop-index"),
        pytest.param("REINDEX INDEX CONCURRENTLY t_pkey", id="reindex"),
    ],
)
def test_ml104_concurrently_refused_inside_a_transaction(conn: Connection, sql: str) -> None:
    with (
        pytest.raises(errors.ActiveSqlTransaction, match="cannot run inside a transaction block"),
        conn.transaction(),
    ):
        conn.execute(sql)


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("ALTER TABLE t ADD CONSTRAINT t_u UNIQUE (a, b)", id="add-constraint"),
        pytest.param("CREATE UNIQUE INDEX t_u ON t (a, b)", id="create-unique-index"),
        pytest.param("CREATE UNIQUE INDEX CONCURRENTLY t_u ON t (a, b)", id="concurrently"),
    ],
)
def test_ml102_unique_build_over_duplicates_fails(conn: Connection, sql: str) -> None:
    add_duplicates(conn)
    with pytest.raises(errors.UniqueViolation, match='could not create unique index "t_u"') as info:
        conn.execute(sql)
    assert info.value.diag.message_detail == "Key (a, b)=(1, 1) is duplicated."


def test_ml102_rows_repeating_with_a_null_are_not_duplicates(conn: Connection) -> None:
    # Why the dedupe plan leaves rows with a NULL key column alone: the build accepts them.
    conn.execute("INSERT INTO t (a, b) VALUES (5, NULL), (5, NULL)")
    conn.execute("ALTER TABLE t ADD CONSTRAINT t_u UNIQUE (a, b)")
    conn.execute("INSERT INTO t (a, b) VALUES (5, NULL)")
    assert conn.execute("SELECT count(*) FROM t WHERE a = 5").fetchone() == (3,)


def test_ml107_failed_concurrent_build_leaves_an_invalid_index(conn: Connection) -> None:
    fail_concurrent_build(conn)
    assert index_state(conn, "t_u") == (False, False)  # (indisvalid, indisready)


def test_ml107_if_not_exists_rerun_succeeds_silently_and_keeps_the_invalid_index(
    conn: Connection,
) -> None:
    fail_concurrent_build(conn)
    conn.execute("DELETE FROM t WHERE id = 3")  # the duplicate is gone: a real build would pass
    notices: list[str] = []
    conn.add_notice_handler(lambda diag: notices.append(diag.message_primary or ""))
    conn.execute("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_u ON t (a, b)")
    assert notices == ['relation "t_u" already exists, skipping']
    assert index_state(conn, "t_u") == (False, False)
    # ... and it enforces nothing: a new duplicate goes in.
    add_duplicates(conn)
    assert conn.execute("SELECT count(*) FROM t WHERE (a, b) = (1, 1)").fetchone() == (2,)


def test_ml107_rerun_without_if_not_exists_fails_with_already_exists(conn: Connection) -> None:
    fail_concurrent_build(conn)
    conn.execute("DELETE FROM t WHERE id = 3")
    with pytest.raises(errors.DuplicateTable, match='relation "t_u" already exists'):
        conn.execute("CREATE UNIQUE INDEX CONCURRENTLY t_u ON t (a, b)")
    assert index_state(conn, "t_u") == (False, False)


def test_ml107_using_index_refuses_an_invalid_index(conn: Connection) -> None:
    fail_concurrent_build(conn)
    conn.execute("DELETE FROM t WHERE id = 3")
    with pytest.raises(errors.ObjectNotInPrerequisiteState, match='index "t_u" is not valid'):
        conn.execute("ALTER TABLE t ADD CONSTRAINT t_u UNIQUE USING INDEX t_u")


def test_ml107_drop_index_concurrently_if_exists_removes_the_invalid_leftover(
    conn: Connection,
) -> None:
    fail_concurrent_build(conn)
    conn.execute("DELETE FROM t WHERE id = 3")
    # The plan's sequence, from the top, on the leftover of the failed run.
    conn.execute("DROP INDEX CONCURRENTLY IF EXISTS t_u")
    assert index_state(conn, "t_u") is None
    conn.execute("CREATE UNIQUE INDEX CONCURRENTLY t_u ON t (a, b)")
    conn.execute("ALTER TABLE t ADD CONSTRAINT t_u UNIQUE USING INDEX t_u")
    assert unique_constraint(conn, "t_u") == ("UNIQUE (a, b)", True)
    with pytest.raises(errors.UniqueViolation):
        add_duplicates(conn)


def test_ml107_drop_index_concurrently_if_exists_without_a_leftover_is_a_no_op(
    conn: Connection,
) -> None:
    notices: list[str] = []
    conn.add_notice_handler(lambda diag: notices.append(diag.message_primary or ""))
    conn.execute("DROP INDEX CONCURRENTLY IF EXISTS t_u")
    assert notices == ['index "t_u" does not exist, skipping']


@pytest.mark.parametrize(
    ("index", "error"),
    [
        pytest.param(
            "CREATE UNIQUE INDEX CONCURRENTLY t_u ON t (a) WHERE b IS NOT NULL",
            '"t_u" is a partial index',
            id="partial",
        ),
        pytest.param(
            "CREATE UNIQUE INDEX CONCURRENTLY t_u ON t (lower(b::text))",
            'index "t_u" contains expressions',
            id="expression",
        ),
    ],
)
def test_ml108_using_index_refuses_partial_and_expression_indexes(
    conn: Connection, index: str, error: str
) -> None:
    conn.execute(index)
    with pytest.raises(errors.WrongObjectType, match=error) as info:
        conn.execute("ALTER TABLE t ADD CONSTRAINT t_u UNIQUE USING INDEX t_u")
    assert info.value.diag.message_detail == (
        "Cannot create a primary key or unique constraint using such an index."
    )
    # The concurrent unique index, the final state the rule recommends, does enforce uniqueness.
    assert index_state(conn, "t_u") == (True, True)


@pytest.mark.parametrize(
    ("sql", "error"),
    [
        pytest.param(
            "ALTER TABLE t ADD CONSTRAINT t_u UNIQUE (a, b) NOT VALID",
            "UNIQUE constraints cannot be marked NOT VALID",
            id="unique",
        ),
        pytest.param(
            "alter table t add constraint t_u unique (a) not valid",
            "UNIQUE constraints cannot be marked NOT VALID",
            id="lower-case",
        ),
        pytest.param(
            "ALTER TABLE t ADD CONSTRAINT t_pk2 PRIMARY KEY (a) NOT VALID",
            "PRIMARY KEY constraints cannot be marked NOT VALID",
            id="primary-key",
        ),
    ],
)
def test_ml109_unique_not_valid_is_rejected(conn: Connection, sql: str, error: str) -> None:
    with pytest.raises(errors.FeatureNotSupported, match=error):
        conn.execute(sql)
