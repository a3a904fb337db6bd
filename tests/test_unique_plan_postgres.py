"""The fix plan of ML101/ML102, run on PostgreSQL: it applies, reverses, survives duplicates and a
failed run, and lets writes through while the migration that it replaces blocks them.

Each test builds a small Django project (app ``shop``, model ``Order``) in ``tmp_path`` whose
``0002`` adds ``unique_together = {("customer", "reference")}`` (or, in one test, the same as a
UniqueConstraint or a unique field), lints it in-process to get the plan, writes the plan's
migrations in place of that ``0002``, and runs ``manage.py`` in subprocesses, so each project has
its own settings. Each test has its own database, a copy of a template migrated to shop 0001.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from migration_lint.findings import FixStep
from migration_lint.lint import Options, run
from tests.databases import PostgresDatabase
from tests.helpers import chdir

Connection = psycopg.Connection[Any]

MANAGE_TIMEOUT = 120  # seconds, for one manage.py command

INITIAL = """\
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = [migrations.swappable_dependency(settings.AUTH_USER_MODEL)]
    operations = [
        migrations.CreateModel(
            name="Order",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("customer", models.ForeignKey(on_delete=models.CASCADE, to=settings.AUTH_USER_MODEL)),
                ("reference", models.CharField(max_length=32)),
            ],
        ),
    ]
"""

FLAGGED_PATH = "shop/migrations/0002_order_unique.py"


@dataclass(frozen=True)
class Variant:
    """A flagged ``0002`` that ML101 reports and the model it leads to."""

    operation: str  # the 0002's one operation
    model: str  # Order's ``reference`` field and Meta, as models.py has them
    definition: str  # pg_get_constraintdef of the constraint

    @property
    def migration(self) -> str:
        return (
            "from django.db import migrations, models\n\n\n"
            "class Migration(migrations.Migration):\n"
            '    dependencies = [("shop", "0001_initial")]\n'
            f"    operations = [{self.operation}]\n"
        )

    @property
    def models(self) -> str:
        return (
            "from django.conf import settings\nfrom django.db import models\n\n\n"
            "class Order(models.Model):\n"
            "    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)\n"
            f"{self.model}"
        )


TOGETHER = Variant(
    operation='migrations.AlterUniqueTogether(name="order", unique_together={("customer", "reference")})',
    model=(
        "    reference = models.CharField(max_length=32)\n\n"
        "    class Meta:\n"
        '        unique_together = [("customer", "reference")]\n'
    ),
    definition="UNIQUE (customer_id, reference)",
)
CONSTRAINT = Variant(
    operation=(
        'migrations.AddConstraint(model_name="order", constraint=models.UniqueConstraint('
        'fields=["customer", "reference"], name="order_customer_reference_uniq"))'
    ),
    model=(
        "    reference = models.CharField(max_length=32)\n\n"
        "    class Meta:\n"
        "        constraints = [\n"
        "            models.UniqueConstraint(\n"
        '                fields=["customer", "reference"], name="order_customer_reference_uniq"\n'
        "            )\n"
        "        ]\n"
    ),
    definition="UNIQUE (customer_id, reference)",
)
FIELD = Variant(
    operation='migrations.AlterField("order", "reference", models.CharField(max_length=32, unique=True))',
    model="    reference = models.CharField(max_length=32, unique=True)\n",
    definition="UNIQUE (reference)",
)

MANAGE = """\
import os
import sys

os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings"
from django.core.management import execute_from_command_line

execute_from_command_line(sys.argv)
"""


def settings(database: PostgresDatabase) -> str:
    return f"""\
SECRET_KEY = "test"
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "shop"]
DATABASES = {{"default": {database.django!r}}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
"""


def make_project(root: Path, database: PostgresDatabase, variant: Variant = TOGETHER) -> Path:
    files = {
        "pyproject.toml": "",  # the linter's project root
        "manage.py": MANAGE,
        "project/__init__.py": "",
        "project/settings.py": settings(database),
        "shop/__init__.py": "",
        "shop/models.py": variant.models,
        "shop/migrations/__init__.py": "",
        "shop/migrations/0001_initial.py": INITIAL,
        FLAGGED_PATH: variant.migration,
    }
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def manage_command(project: Path, *args: str) -> list[str]:
    return [sys.executable, str(project / "manage.py"), *args]


def manage_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def manage(project: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        manage_command(project, *args),
        cwd=project,
        env=manage_env(),
        capture_output=True,
        text=True,
        timeout=MANAGE_TIMEOUT,
        check=False,
    )
    if ok and result.returncode != 0:
        pytest.fail(
            f"manage.py {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


# -- The plan -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    dedupe: FixStep
    concurrent: FixStep
    name: str  # the constraint (and index) name the plan builds

    @property
    def dedupe_name(self) -> str:
        assert self.dedupe.path is not None
        return Path(self.dedupe.path).stem

    @property
    def concurrent_name(self) -> str:
        number = int(self.dedupe_name[:4]) + 1
        return f"{number:04d}_order_unique_concurrently"


def lint_plan(project: Path) -> Plan:
    """The ML101 finding's fix plan for the flagged migration."""
    with chdir(project):
        result = run(
            Options(
                paths=(FLAGGED_PATH,),
                source_only=True,
                use_cache=False,
                vendors=(("postgresql", None),),
            )
        )
    by_code = {f.code: f for f in result.findings}
    assert {"ML101", "ML102"} <= set(by_code), [f.code for f in result.findings]
    steps = by_code["ML101"].fix
    assert len(steps) == 2, steps
    dedupe, concurrent = steps
    assert dedupe.path is not None and dedupe.code
    assert concurrent.path is None and concurrent.code
    names = set(re.findall(r'ADD CONSTRAINT "([^"]+)" UNIQUE USING INDEX', concurrent.code))
    assert len(names) == 1, concurrent.code
    plan = Plan(dedupe, concurrent, names.pop())
    # The concurrent migration must run after the dedupe, as its code says.
    depends = rf"dependencies = \[\(['\"]shop['\"], ['\"]{plan.dedupe_name}['\"]\)\]"
    assert re.search(depends, concurrent.code), concurrent.code
    return plan


def install_plan(project: Path, plan: Plan) -> None:
    """The plan's migrations instead of the flagged one."""
    (project / FLAGGED_PATH).unlink()
    assert plan.dedupe.path is not None
    (project / plan.dedupe.path).write_text(plan.dedupe.code, encoding="utf-8")
    concurrent = project / "shop" / "migrations" / f"{plan.concurrent_name}.py"
    concurrent.write_text(plan.concurrent.code, encoding="utf-8")


# -- The database ---------------------------------------------------------------------------------


def unique_constraints(conn: Connection) -> list[tuple[str, str, bool, bool]]:
    """(name, definition, index valid, index ready) of each unique constraint of shop_order."""
    return conn.execute(
        "SELECT c.conname, pg_get_constraintdef(c.oid), i.indisvalid, i.indisready"
        " FROM pg_constraint c JOIN pg_index i ON i.indexrelid = c.conindid"
        " WHERE c.conrelid = 'shop_order'::regclass AND c.contype = 'u' ORDER BY c.conname"
    ).fetchall()


def index_state(conn: Connection, name: str) -> tuple[bool, bool] | None:
    row = conn.execute(
        "SELECT i.indisvalid, i.indisready FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE c.relname = %s",
        (name,),
    ).fetchone()
    return None if row is None else (row[0], row[1])


def schema(conn: Connection) -> set[tuple[str, str]]:
    """(name, definition) of every index and constraint of shop_order."""
    rows = conn.execute(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index"
        " WHERE indrelid = 'shop_order'::regclass"
        " UNION ALL SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = 'shop_order'::regclass"
    ).fetchall()
    return set(rows)


def applied(conn: Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM django_migrations WHERE app = 'shop' ORDER BY id"
    ).fetchall()
    return [name for (name,) in rows]


def add_users(conn: Connection, count: int) -> list[int]:
    rows = conn.execute(
        "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,"
        " is_staff, is_active, date_joined)"
        " SELECT '!', false, 'user' || n, '', '', '', false, true, now()"
        " FROM generate_series(1, %s) n RETURNING id",
        (count,),
    ).fetchall()
    return [user_id for (user_id,) in rows]


def add_orders(conn: Connection, rows: Sequence[tuple[int, str]]) -> list[int]:
    ids = []
    for customer, reference in rows:
        row = conn.execute(
            "INSERT INTO shop_order (customer_id, reference) VALUES (%s, %s) RETURNING id",
            (customer, reference),
        ).fetchone()
        assert row is not None
        ids.append(row[0])
    return ids


def orders(conn: Connection) -> set[tuple[int, int, str]]:
    return set(conn.execute("SELECT id, customer_id, reference FROM shop_order").fetchall())


@pytest.fixture
def variant(request: pytest.FixtureRequest) -> Variant:
    return getattr(request, "param", TOGETHER)


@pytest.fixture(scope="module")
def migrated(
    module_postgres_database_factory: Callable[..., PostgresDatabase],
    tmp_path_factory: pytest.TempPathFactory,
) -> PostgresDatabase:
    """A template database migrated up to shop 0001 (auth and contenttypes too), made once."""
    database = module_postgres_database_factory()
    root = make_project(tmp_path_factory.mktemp("template") / "site", database)
    manage(root, "migrate", "auth")
    manage(root, "migrate", "shop", "0001")
    return database


@pytest.fixture
def database(
    postgres_database_factory: Callable[..., PostgresDatabase], migrated: PostgresDatabase
) -> PostgresDatabase:
    """This test's own copy of the migrated template."""
    return postgres_database_factory(template=migrated.name)


@pytest.fixture
def project(tmp_path: Path, database: PostgresDatabase, variant: Variant) -> Path:
    """The project with its flagged 0002, its database migrated up to shop 0001."""
    root = make_project(tmp_path / "site", database, variant)
    assert applied_in(database) == ["0001_initial"]
    return root


def applied_in(database: PostgresDatabase) -> list[str]:
    with database.connect() as conn:
        return applied(conn)


@pytest.fixture
def conn(database: PostgresDatabase) -> Iterator[Connection]:
    with database.connect() as conn:
        conn.execute("SET statement_timeout = '60s'")
        yield conn


def with_duplicates(
    conn: Connection,
) -> tuple[set[tuple[int, int, str]], set[tuple[int, int, str]]]:
    """Orders, some repeating (customer, reference): (all rows, the rows the dedupe should keep)."""
    alice, bob = add_users(conn, 2)
    add_orders(
        conn,
        [
            (alice, "A-1"),
            (alice, "A-1"),
            (alice, "A-2"),
            (bob, "A-1"),
            (alice, "A-1"),  # the newest of alice's three "A-1"
            (bob, "B-1"),
            (bob, "B-1"),
            (bob, "B-2"),
        ],
    )
    rows = orders(conn)
    newest: dict[tuple[int, str], int] = {}
    for order_id, customer, reference in rows:
        newest[customer, reference] = max(order_id, newest.get((customer, reference), 0))
    keep = {row for row in rows if newest[row[1], row[2]] == row[0]}
    assert len(rows) == 8 and len(keep) == 5
    return rows, keep


# -- a. It applies, matches what Django makes, and reverses ---------------------------------------


def test_plan_applies_reverses_and_reapplies(project: Path, conn: Connection) -> None:
    plan = lint_plan(project)
    baseline = schema(conn)
    install_plan(project, plan)

    manage(project, "migrate")
    built = [(plan.name, TOGETHER.definition, True, True)]
    assert unique_constraints(conn) == built
    assert applied(conn) == ["0001_initial", plan.dedupe_name, plan.concurrent_name]
    manage(project, "makemigrations", "--check", "--dry-run")

    manage(project, "migrate", "shop", "0001")
    assert schema(conn) == baseline  # constraint and index gone
    assert applied(conn) == ["0001_initial"]

    manage(project, "migrate")
    assert unique_constraints(conn) == built


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(TOGETHER, id="AlterUniqueTogether"),
        pytest.param(CONSTRAINT, id="AddConstraint"),
        pytest.param(FIELD, id="AlterField"),
    ],
    indirect=True,
)
def test_plan_ends_in_the_schema_django_makes(
    project: Path, conn: Connection, variant: Variant
) -> None:
    # The same constraint, index and name as the flagged migration makes, so Django's later
    # operations on them (which find them by name or by introspection) work.
    plan = lint_plan(project)
    baseline = schema(conn)
    manage(project, "migrate")
    by_django = schema(conn)
    manage(project, "migrate", "shop", "0001")
    assert schema(conn) == baseline

    install_plan(project, plan)
    manage(project, "migrate")
    assert unique_constraints(conn) == [(plan.name, variant.definition, True, True)]
    manage(project, "makemigrations", "--check", "--dry-run")
    # Including the varchar_pattern_ops `_like` index Django adds for a unique CharField.
    assert schema(conn) == by_django


# -- b. Duplicates --------------------------------------------------------------------------------


def test_flagged_migration_fails_on_duplicates_and_the_plan_keeps_the_newest_row(
    project: Path, conn: Connection
) -> None:
    rows, keep = with_duplicates(conn)
    plan = lint_plan(project)

    failed = manage(project, "migrate", ok=False)
    assert failed.returncode != 0
    assert f'could not create unique index "{plan.name}"' in failed.stderr
    assert "is duplicated" in failed.stderr
    assert applied(conn) == ["0001_initial"]
    assert orders(conn) == rows  # the failed migration's transaction rolled back

    install_plan(project, plan)
    manage(project, "migrate")
    assert orders(conn) == keep
    assert unique_constraints(conn) == [(plan.name, "UNIQUE (customer_id, reference)", True, True)]


# -- c. A failed concurrent build, then a rerun ---------------------------------------------------


def test_rerun_after_a_failed_concurrent_build_recovers(project: Path, conn: Connection) -> None:
    _, keep = with_duplicates(conn)
    plan = lint_plan(project)
    install_plan(project, plan)
    # Skip the dedupe, so the concurrent build meets the duplicates and fails.
    manage(project, "migrate", "shop", plan.dedupe_name, "--fake")

    failed = manage(project, "migrate", ok=False)
    assert failed.returncode != 0
    assert f'could not create unique index "{plan.name}"' in failed.stderr
    assert index_state(conn, plan.name) == (False, False)  # the INVALID leftover
    assert unique_constraints(conn) == []
    assert plan.concurrent_name not in applied(conn)

    conn.execute("DELETE FROM shop_order WHERE NOT id = ANY(%s)", ([row[0] for row in keep],))
    manage(project, "migrate")
    assert unique_constraints(conn) == [(plan.name, "UNIQUE (customer_id, reference)", True, True)]
    assert applied(conn)[-1] == plan.concurrent_name


def test_rerun_after_the_attach_step_timed_out_recovers(
    project: Path, conn: Connection, database: PostgresDatabase
) -> None:
    # The plan's promise: "If it times out, run the migration again". A transaction that read
    # the table and stays open keeps ADD CONSTRAINT ... USING INDEX from its ACCESS EXCLUSIVE
    # lock until lock_timeout gives up (a SELECT's ACCESS SHARE does not hold up the build).
    plan = lint_plan(project)
    install_plan(project, plan)
    manage(project, "migrate", "shop", plan.dedupe_name)

    holder = database.connect(autocommit=False)
    try:
        holder.execute("SET statement_timeout = '60s'")
        holder.execute("SELECT count(*) FROM shop_order")  # opens a transaction, keeps ACCESS SHARE
        started = time.monotonic()
        failed = manage(project, "migrate", ok=False)
        waited = time.monotonic() - started
    finally:
        holder.rollback()
        holder.close()
    assert failed.returncode != 0
    assert "canceling statement due to lock timeout" in failed.stderr
    assert waited >= 5  # the plan's lock_timeout is 5s
    assert index_state(conn, plan.name) == (True, True)  # built, not attached
    assert unique_constraints(conn) == []

    manage(project, "migrate")
    assert unique_constraints(conn) == [(plan.name, "UNIQUE (customer_id, reference)", True, True)]


# -- d. Writes during the migration ---------------------------------------------------------------

# Enough rows that the blocking build takes clearly longer than 1 s on a 2-core machine. Measured
# there (PostgreSQL 15, other jobs running): 600,000 rows over 1,000 customers built in about
# 1.1 s, too close to call; 800,000 rows over 10 customers in 3.5-5.5 s, the concurrent migration
# in 4.3-7.2 s. Few customers make the sort compare the md5 references, which is the slow part.
# The table grows from ROWS until building the unique index on it takes BUILD_SECONDS: the
# durations asserted below must not depend on how fast the machine is (800,000 rows took
# 0.66 s on a quiet machine and 0.96 s on a busy one, under the 1 s the test needs).
ROWS = 800_000
MAX_ROWS = 12_800_000
BUILD_SECONDS = 2.0
CUSTOMERS = 10
# Bounds of the insert loop, whatever the migration does.
MAX_INSERTS = 200_000
RUN_LIMIT = 90.0  # seconds
INSERT = "INSERT INTO shop_order (customer_id, reference) VALUES (%s, %s)"


def load_orders(conn: Connection, rows: int, customers: int) -> tuple[int, int]:
    """Orders with distinct (customer, reference), in no particular order, until a unique index
    on them takes BUILD_SECONDS to build: a customer id, and how many rows that took."""
    add_users(conn, customers)
    loaded = 0
    while True:
        _add_orders(conn, loaded + 1, loaded + rows)
        loaded += rows
        if loaded >= MAX_ROWS or _unique_build_seconds(conn) >= BUILD_SECONDS:
            break
        rows = loaded  # double the table
    row = conn.execute("SELECT min(id) FROM auth_user").fetchone()
    assert row is not None
    return int(row[0]), loaded


def _add_orders(conn: Connection, first: int, last: int) -> None:
    # The rows are valid; skipping the per-row foreign key trigger makes loading several times
    # faster (it needs a superuser, which the test server's user is).
    conn.execute("SET session_replication_role = replica")
    conn.execute(
        "WITH u AS (SELECT array_agg(id ORDER BY id) AS ids FROM auth_user)"
        " INSERT INTO shop_order (customer_id, reference)"
        " SELECT u.ids[1 + i %% cardinality(u.ids)], md5(i::text)"
        " FROM u, generate_series(%s, %s) i",
        (first, last),
    )
    conn.execute("RESET session_replication_role")
    # Set hint bits and statistics now, so the builds compared below scan the same table.
    conn.execute("VACUUM ANALYZE shop_order")


def _unique_build_seconds(conn: Connection) -> float:
    """How long the flagged migration's index takes to build on the table as it is now."""
    started = time.monotonic()
    conn.execute(
        "CREATE UNIQUE INDEX probe_customer_reference ON shop_order (customer_id, reference)"
    )
    elapsed = time.monotonic() - started
    conn.execute("DROP INDEX probe_customer_reference")
    return elapsed


@dataclass(frozen=True)
class Traffic:
    latencies: list[float] = field(repr=False)  # seconds, one per insert, in order
    elapsed: dict[str, float]  # seconds per migration, as `migrate -v 2` prints them

    @property
    def worst(self) -> float:
        return max(self.latencies)


def migrate_under_traffic(project: Path, conn: Connection, customer: int, tag: str) -> Traffic:
    """``manage.py migrate`` in a subprocess while this process inserts one order per
    transaction, timing each insert, until the subprocess ends."""
    log = project / f"migrate-{tag}.log"
    latencies: list[float] = []
    with log.open("w") as output:
        process = subprocess.Popen(
            manage_command(project, "migrate", "-v", "2"),
            cwd=project,
            env=manage_env(),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + RUN_LIMIT
            while process.poll() is None:
                if len(latencies) >= MAX_INSERTS or time.monotonic() > deadline:
                    pytest.fail(f"migrate still running after {len(latencies)} inserts")
                reference = f"live-{tag}-{len(latencies)}"
                start = time.perf_counter()
                conn.execute(INSERT, (customer, reference))
                latencies.append(time.perf_counter() - start)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)
    text = log.read_text()
    if process.returncode != 0:
        pytest.fail(f"migrate failed ({process.returncode}):\n{text}")
    elapsed = {
        name: float(seconds)
        for name, seconds in re.findall(r"Applying shop\.(\w+)\.\.\. OK \(([\d.]+)s\)", text)
    }
    assert latencies, "no insert ran during the migration"
    return Traffic(latencies, elapsed)


def test_plan_lets_writes_through_where_the_flagged_migration_blocks_them(
    project: Path, conn: Connection, request: pytest.FixtureRequest
) -> None:
    # The measured figures, for --junitxml (junit_family=legacy) and for whoever reads the test.
    def record_property(name: str, value: object) -> None:
        request.node.user_properties.append((name, value))

    plan = lint_plan(project)
    started = time.monotonic()
    customer, rows = load_orders(conn, ROWS, CUSTOMERS)
    record_property("rows", rows)
    record_property("load_seconds", round(time.monotonic() - started, 2))

    # The flagged migration: ALTER TABLE ... ADD CONSTRAINT ... UNIQUE holds ACCESS EXCLUSIVE
    # from the start of the build until the migration's transaction commits, so an insert that
    # arrives during the build waits for the rest of it. The loop inserts back to back, so one
    # insert arrives within milliseconds of the lock being taken and waits nearly the whole
    # migration. Criterion: the worst insert waited more than 1 s AND at least half of the
    # migration's own duration (the half leaves room for the milliseconds the migration spends
    # before taking the lock and for scheduling noise); without blocking the worst insert takes
    # milliseconds, far below both.
    blocking = migrate_under_traffic(project, conn, customer, "flagged")
    build = blocking.elapsed[Path(FLAGGED_PATH).stem]
    record_property("flagged_migration_seconds", build)
    record_property("flagged_worst_insert_seconds", round(blocking.worst, 3))
    record_property("flagged_inserts", len(blocking.latencies))
    assert build > 1.0, f"the table is too small to show blocking: the build took {build:.2f}s"
    waited = f"worst insert {blocking.worst:.3f}s during a {build:.2f}s migration"
    assert blocking.worst > 1.0, waited
    assert blocking.worst >= 0.5 * build, waited

    manage(project, "migrate", "shop", "0001")
    assert unique_constraints(conn) == []
    install_plan(project, plan)

    concurrent = migrate_under_traffic(project, conn, customer, "plan")
    concurrent_build = concurrent.elapsed[plan.concurrent_name]
    record_property("plan_migration_seconds", concurrent_build)
    record_property("plan_worst_insert_seconds", round(concurrent.worst, 3))
    record_property("plan_inserts", len(concurrent.latencies))
    # The build ran long enough that a blocking lock would have shown ...
    waited = f"worst insert {concurrent.worst:.3f}s during a {concurrent_build:.2f}s migration"
    assert concurrent_build > 1.0, waited
    # ... and no insert waited for it.
    assert concurrent.worst < 1.0, waited
    assert unique_constraints(conn) == [(plan.name, "UNIQUE (customer_id, reference)", True, True)]
    live = conn.execute("SELECT count(*) FROM shop_order WHERE reference LIKE 'live-plan-%'")
    assert live.fetchone() == (len(concurrent.latencies),)
