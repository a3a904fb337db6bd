"""The ML4xx claims (``migration_lint/portability.py``, FACTS.md "What Django emits for unique
constraints") checked against what SQLite, PostgreSQL and MariaDB really end up with.

Each case (test id ``<option>-<unique|index>-<database>``) is a tiny Django project on a fresh
database: one app whose ``0001`` creates the table of ``Item`` and whose ``0002`` adds one
UniqueConstraint or Index (``models.py`` declares the same, so migrate's system checks see it).
``probe.py`` runs ``migrate`` and reads the table back in the same process (Django is set up
once per process): Django's introspection says whether the object exists, the database's own
catalog (``sqlite_master.sql``; ``pg_indexes.indexdef`` and ``pg_get_constraintdef``;
``information_schema.statistics``) whether it has the option asked for. The outcome is
``created`` (as asked), ``degraded`` (there, without the option) or ``missing``.

The linter must agree on the same files: ML401 exactly where a unique constraint is missing,
ML402 exactly where an index or unique index is degraded or an index is missing, and neither
where the object is created as asked, in source mode (per database) and in project mode (one
run over every case's app, every database a target). The outcome and the system checks
FACTS.md records are asserted too, so a Django or database version that behaves differently
fails here, saying what the fact was and what the database did. ``scripts/django_matrix.py``
runs this module under each supported Django series.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import django
import pytest

from migration_lint.config import parse_targets
from migration_lint.findings import Finding
from tests.databases import MariaDBDatabase, PostgresDatabase
from tests.helpers import lint_files, lint_project, write_tree

CREATED = "created"
DEGRADED = "degraded"
MISSING = "missing"

DATABASES = ("sqlite", "postgresql", "mariadb")
MIGRATE_TIMEOUT = 120  # seconds, for one probe.py run
DJANGO = django.VERSION[:2]


@dataclass(frozen=True)
class Case:
    option: str  # the id's first part: the option under test, "plain" for the control
    kind: str  # "unique" (UniqueConstraint) or "index" (Index)
    code: str  # the constraint or index, as written in the migration and in models.py
    # What FACTS.md says each database ends up with, and the system checks migrate prints.
    facts: dict[str, str]
    checks: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Does the database's definition of the object show the option? (upper-cased text)
    shows_option: Callable[[str], bool] = lambda definition: True
    since: tuple[int, int] = (4, 2)

    @property
    def id(self) -> str:
        return f"{self.option}-{self.kind}"

    @property
    def app(self) -> App:
        # One app per case, so project mode can lint every case in one run.
        return App(f"{self.kind}_{self.option}")

    @property
    def operation(self) -> str:
        kind = "AddConstraint" if self.kind == "unique" else "AddIndex"
        return f'migrations.{kind}("item", {self.code.format(name=self.app.object)})'

    @property
    def models(self) -> str:
        option = "constraints" if self.kind == "unique" else "indexes"
        return MODELS.format(option=option, code=self.code.format(name=self.app.object))


@dataclass(frozen=True)
class App:
    """An app with the model ``Item``, whose 0001 creates its table and 0002 is the case."""

    label: str

    @property
    def table(self) -> str:
        return f"{self.label}_item"

    @property
    def object(self) -> str:
        """The name of the constraint or index (unique across apps, as PostgreSQL needs)."""
        return f"{self.label}_probe"

    @property
    def migration(self) -> str:
        return f"{self.label}/migrations/0002_probe.py"


def _everywhere(outcome: str = CREATED, **overrides: str) -> dict[str, str]:
    return {db: overrides.get(db, outcome) for db in DATABASES}


CASES = (
    Case(
        "plain",
        "unique",
        'models.UniqueConstraint(fields=["name"], name="{name}")',
        _everywhere(),
    ),
    Case(
        "condition",
        "unique",
        'models.UniqueConstraint(fields=["name"], condition=models.Q(sku__isnull=False), name="{name}")',
        _everywhere(mariadb=MISSING),
        {"mariadb": ("models.W036",)},
        lambda d: " WHERE " in d,
    ),
    Case(
        "include",
        "unique",
        'models.UniqueConstraint(fields=["name"], include=["sku"], name="{name}")',
        _everywhere(sqlite=MISSING, mariadb=MISSING),
        {"sqlite": ("models.W039",), "mariadb": ("models.W039",)},
        lambda d: "INCLUDE (SKU)" in d,
    ),
    Case(
        "deferrable",
        "unique",
        'models.UniqueConstraint(fields=["name"], deferrable=models.Deferrable.DEFERRED, name="{name}")',
        _everywhere(sqlite=MISSING, mariadb=MISSING),
        {"sqlite": ("models.W038",), "mariadb": ("models.W038",)},
        lambda d: "DEFERRABLE INITIALLY DEFERRED" in d,
    ),
    Case(
        "nulls_distinct",
        "unique",
        'models.UniqueConstraint(fields=["sku"], nulls_distinct=False, name="{name}")',
        # SQLite rebuilds the table and leaves the constraint out.
        _everywhere(sqlite=MISSING, mariadb=MISSING),
        {"sqlite": ("models.W047",), "mariadb": ("models.W047",)},
        lambda d: "NULLS NOT DISTINCT" in d,
        since=(5, 0),
    ),
    Case(
        "opclasses",
        "unique",
        'models.UniqueConstraint(fields=["name"], opclasses=["varchar_pattern_ops"], name="{name}")',
        _everywhere(sqlite=DEGRADED, mariadb=DEGRADED),
        {},  # no system check at all
        lambda d: "VARCHAR_PATTERN_OPS" in d,
    ),
    Case(
        "expressions",
        "unique",
        'models.UniqueConstraint(Lower("name"), name="{name}")',
        _everywhere(mariadb=MISSING),
        {"mariadb": ("models.W044",)},
        lambda d: "LOWER(" in d,
    ),
    Case(
        "plain",
        "index",
        'models.Index(fields=["name"], name="{name}")',
        _everywhere(),
    ),
    Case(
        "include",
        "index",
        'models.Index(fields=["name"], include=["sku"], name="{name}")',
        _everywhere(sqlite=DEGRADED, mariadb=DEGRADED),
        {"sqlite": ("models.W040",), "mariadb": ("models.W040",)},
        lambda d: "INCLUDE (SKU)" in d,
    ),
    Case(
        # Not in FACTS.md's table; portability.py says MySQL builds the index over every row.
        "condition",
        "index",
        'models.Index(fields=["name"], condition=models.Q(sku__isnull=False), name="{name}")',
        _everywhere(mariadb=DEGRADED),
        {"mariadb": ("models.W037",)},
        lambda d: " WHERE " in d,
    ),
    Case(
        "opclasses",
        "index",
        'models.Index(fields=["name"], opclasses=["varchar_pattern_ops"], name="{name}")',
        _everywhere(sqlite=DEGRADED, mariadb=DEGRADED),
        {},
        lambda d: "VARCHAR_PATTERN_OPS" in d,
    ),
    Case(
        "expressions",
        "index",
        'models.Index(Lower("name"), name="{name}")',
        _everywhere(mariadb=MISSING),
        {"mariadb": ("models.W043",)},
        lambda d: "LOWER(" in d,
    ),
)

# -- The project ----------------------------------------------------------------------------------

MANAGE = """\
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "probe_site.settings")
from django.core.management import execute_from_command_line

execute_from_command_line(sys.argv)
"""

# Migrates, then prints what the database has for the table, as JSON on the last line.
PROBE = '''\
import io
import json
import os
import re
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "probe_site.settings")
import django

django.setup()
from django.core.management import call_command
from django.db import connection

APP, TABLE = sys.argv[1:3]
output = io.StringIO()
error = None
try:
    # call_command skips the system checks unless told; migrate runs them for its database.
    call_command("migrate", skip_checks=False, verbosity=1, stdout=output, stderr=output)
except Exception as exc:
    error = f"{type(exc).__name__}: {exc}"


def clause(table_sql, name):
    """A named table constraint inside SQLite's CREATE TABLE text."""
    match = re.search(r'CONSTRAINT\\s+"?' + re.escape(name) + r'"?\\s', table_sql)
    if not match:
        return None
    depth, end = 0, match.end()
    while end < len(table_sql):
        char = table_sql[end]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                break
        elif char == "," and depth == 0:
            break
        end += 1
    return table_sql[match.start():end].strip()


def definitions(cursor, names):
    """name -> the database's own text for that constraint or index."""
    out = {}
    if connection.vendor == "sqlite":
        cursor.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = %s AND sql IS NOT NULL",
            [TABLE],
        )
        rows = cursor.fetchall()
        out = {name: sql for kind, name, sql in rows if kind == "index"}
        table_sql = next((sql for kind, _, sql in rows if kind == "table"), "")
        for name in names:
            if name not in out and clause(table_sql, name):
                out[name] = clause(table_sql, name)
    elif connection.vendor == "postgresql":
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [TABLE])
        out = dict(cursor.fetchall())
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = %s::regclass",
            [TABLE],
        )
        for name, definition in cursor.fetchall():
            out[name] = (out[name] + " / " if name in out else "") + definition
    else:
        cursor.execute(
            "SELECT index_name, non_unique, column_name, sub_part, index_type"
            " FROM information_schema.statistics"
            " WHERE table_schema = DATABASE() AND table_name = %s"
            " ORDER BY index_name, seq_in_index",
            [TABLE],
        )
        columns = {}
        heads = {}
        for name, non_unique, column, sub_part, index_type in cursor.fetchall():
            columns.setdefault(name, []).append(column + (f"({sub_part})" if sub_part else ""))
            heads[name] = ("INDEX" if int(non_unique) else "UNIQUE INDEX", index_type)
        for name, (head, index_type) in heads.items():
            out[name] = f"{head} {name} ({', '.join(columns[name])}) USING {index_type}"
    return out


with connection.cursor() as cursor:
    tables = connection.introspection.table_names(cursor)
    constraints = (
        connection.introspection.get_constraints(cursor, TABLE) if TABLE in tables else {}
    )
    texts = definitions(cursor, constraints)
cursor = connection.cursor()
cursor.execute("SELECT name FROM django_migrations WHERE app = %s ORDER BY name", [APP])
applied = [name for (name,) in cursor.fetchall()]
print(json.dumps({
    "error": error,
    "output": output.getvalue(),
    "applied": applied,
    "constraints": constraints,
    "definitions": texts,
}, default=str))
'''

SETTINGS = """\
{preamble}SECRET_KEY = "test"
INSTALLED_APPS = {apps!r}
DATABASES = {{"default": {database!r}}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
"""

# Django's MySQL backend imports MySQLdb; PyMySQL stands in (and claims a version Django accepts).
PYMYSQL = """\
import pymysql

pymysql.version_info = (2, 2, 1, "final", 0)
pymysql.install_as_MySQLdb()

"""

INITIAL = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Item",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=50)),
                ("sku", models.CharField(max_length=20, null=True)),
            ],
        ),
    ]
"""

ADD = """\
{imports}from django.db import migrations, models
from django.db.models.functions import Lower


class Migration(migrations.Migration):
{options}    dependencies = [("{app}", "0001_initial")]
    operations = [{operation}]
"""

MODELS = """\
from django.db import models
from django.db.models.functions import Lower


class Item(models.Model):
    name = models.CharField(max_length=50)
    sku = models.CharField(max_length=20, null=True)

    class Meta:
        {option} = [{code}]
"""


@dataclass(frozen=True)
class Database:
    vendor: str  # the --target name
    settings: dict[str, Any]
    preamble: str = ""


def migration(app: App, operation: str, imports: str = "", options: str = "") -> str:
    return ADD.format(app=app.label, operation=operation, imports=imports, options=options)


def project_files(database: Database, apps: dict[App, tuple[str, str]]) -> list[tuple[str, str]]:
    """A project with ``apps``: each app's (0002 migration, models.py)."""
    labels = [app.label for app in apps]
    settings = SETTINGS.format(preamble=database.preamble, database=database.settings, apps=labels)
    files = [
        ("manage.py", MANAGE),
        ("probe.py", PROBE),
        ("probe_site/__init__.py", ""),
        ("probe_site/settings.py", settings),
    ]
    for app, (second, models) in apps.items():
        files += [
            (f"{app.label}/__init__.py", ""),
            (f"{app.label}/models.py", models),
            (f"{app.label}/migrations/__init__.py", ""),
            (f"{app.label}/migrations/0001_initial.py", INITIAL),
            (app.migration, second),
        ]
    return files


def case_files(database: Database, *cases: Case) -> list[tuple[str, str]]:
    apps = {case.app: (migration(case.app, case.operation), case.models) for case in cases}
    return project_files(database, apps)


@dataclass(frozen=True)
class Observed:
    error: str | None
    output: str  # what migrate printed, system checks included
    applied: list[str]
    constraints: dict[str, dict[str, Any]]  # Django's introspection
    definitions: dict[str, str]  # the database catalog's text

    @property
    def checks(self) -> set[str]:
        return set(re.findall(r"\((models\.W\d{3})\)", self.output))


def migrate_and_probe(root: Path, app: App) -> Observed:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "probe.py", app.label, app.table],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=MIGRATE_TIMEOUT,
        check=False,
    )
    if result.returncode != 0 or not result.stdout.strip():
        pytest.fail(f"probe.py failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return Observed(**json.loads(result.stdout.strip().splitlines()[-1]))


def outcome(case: Case, observed: Observed) -> str:
    info = observed.constraints.get(case.app.object)
    if info is None:
        return MISSING
    if case.kind == "unique" and not info.get("unique"):
        return DEGRADED  # an index, but not a unique one
    definition = observed.definitions.get(case.app.object, "").upper()
    return CREATED if case.shows_option(definition) else DEGRADED


# -- The databases --------------------------------------------------------------------------------


@pytest.fixture
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    vendor = request.param
    if vendor == "sqlite":
        return Database(
            "sqlite", {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "db.sqlite3")}
        )
    if vendor == "postgresql":
        pg: PostgresDatabase = request.getfixturevalue("postgres_database")
        return Database("postgresql", pg.django)
    maria: MariaDBDatabase = request.getfixturevalue("mariadb_database")
    settings = {
        "ENGINE": "django.db.backends.mysql",
        "NAME": maria.name,
        "USER": maria.server.user,
        "PASSWORD": maria.server.password,
        "HOST": maria.server.host,
        "PORT": str(maria.server.port),
    }
    return Database("mariadb", settings, PYMYSQL)


def _param(case: Case, vendor: str) -> Any:
    marks = []
    if case.since > DJANGO:
        marks.append(
            pytest.mark.skip(
                reason=f"UniqueConstraint({case.option}=...) is new in Django "
                f"{case.since[0]}.{case.since[1]}; Django {django.get_version()} cannot load the migration"
            )
        )
    return pytest.param(case, vendor, id=f"{case.id}-{vendor}", marks=marks)


def _codes(findings: list[Finding]) -> set[str]:
    return {f.code for f in findings if f.code in ("ML401", "ML402")}


def expected_codes(case: Case, result: str) -> set[str]:
    if result == CREATED:
        return set()
    if case.kind == "unique" and result == MISSING:
        return {"ML401"}
    return {"ML402"}


ProjectFindings = Callable[[Case], dict[str, set[str]]]


@pytest.fixture(scope="module")
def project_mode(tmp_path_factory: pytest.TempPathFactory) -> ProjectFindings:
    """ML401/ML402 codes per target vendor from project mode, for one case.

    Project mode starts Django in a subprocess, the slow part of these tests, so it runs once:
    a project holding every case's app (the same files as each case's project), every database
    a ``--target``. Each finding says its app and its target. The linter never connects to the
    project's database, so the settings name SQLite.
    """
    cases = [case for case in CASES if case.since <= DJANGO]
    found: list[Finding] = []

    def findings(case: Case) -> dict[str, set[str]]:
        if not found:
            root = tmp_path_factory.mktemp("project-mode")
            files = case_files(SQLITE_IN_MEMORY, *cases)
            paths = [c.app.migration for c in cases]
            found.extend(lint_project(root, files, *paths, targets=DATABASES))
        by_target: dict[str, set[str]] = {}
        for finding in found:
            if finding.app_label == case.app.label and finding.target:
                by_target.setdefault(finding.target, set()).update(_codes([finding]))
        return by_target

    return findings


SQLITE_IN_MEMORY = Database("sqlite", {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"})


def _vendor(target: str) -> str:
    """The vendor name findings carry for a --target (MariaDB runs the MySQL backend)."""
    return parse_targets([target])[0][0]


@pytest.mark.parametrize(
    ("case", "database"),
    [_param(case, vendor) for case in CASES for vendor in DATABASES],
    indirect=["database"],
)
def test_linter_agrees_with_the_database(
    tmp_path: Path,
    case: Case,
    database: Database,
    project_mode: ProjectFindings,
    record_property: Callable[[str, object], None],
) -> None:
    root = tmp_path / "project"
    files = case_files(database, case)
    write_tree(root, files)
    observed = migrate_and_probe(root, case.app)
    assert observed.error is None, f"migrate failed on {database.vendor}: {observed.error}"
    assert observed.applied == ["0001_initial", "0002_probe"], observed.applied
    result = outcome(case, observed)
    # scripts/django_matrix.py reads these from the JUnit XML to print the observed table.
    record_property("outcome", result)
    record_property("checks", " ".join(sorted(observed.checks)))
    evidence = (
        f"{case.id} on {database.vendor} (Django {django.get_version()}): {result}; "
        f"introspection: {observed.constraints.get(case.app.object)}; "
        f"catalog: {observed.definitions.get(case.app.object)!r}; "
        f"checks: {sorted(observed.checks)}"
    )
    problems: list[str] = []
    if result != case.facts[database.vendor]:
        problems.append(f"FACTS.md says {case.facts[database.vendor]}, the database has {result}")
    expected_checks = set(case.checks.get(database.vendor, ()))
    if observed.checks != expected_checks:
        problems.append(
            f"migrate printed the checks {sorted(observed.checks)}, expected {sorted(expected_checks)}"
        )
    want = expected_codes(case, result)
    vendors = parse_targets([database.vendor])
    source = _codes(lint_files(root, files, case.app.migration, vendors=vendors))
    if source != want:
        problems.append(f"source mode reported {sorted(source)}, reality calls for {sorted(want)}")
    project = project_mode(case).get(_vendor(database.vendor), set())
    if project != want:
        problems.append(
            f"project mode reported {sorted(project)}, reality calls for {sorted(want)}"
        )
    assert not problems, evidence + "\n" + "\n".join(problems)


# -- ML403: AddIndexConcurrently ------------------------------------------------------------------

CONCURRENT = App("add_concurrently")  # not "concurrent": that would hide the stdlib package
CONCURRENT_INDEX = f'models.Index(fields=["name"], name="{CONCURRENT.object}")'


def concurrent_files(database: Database) -> list[tuple[str, str]]:
    second = migration(
        CONCURRENT,
        f'AddIndexConcurrently("item", {CONCURRENT_INDEX})',
        imports="from django.contrib.postgres.operations import AddIndexConcurrently\n",
        # A concurrent build cannot run inside a transaction.
        options="    atomic = False\n",
    )
    models = MODELS.format(option="indexes", code=CONCURRENT_INDEX)
    return project_files(database, {CONCURRENT: (second, models)})


@pytest.mark.parametrize("database", DATABASES, indirect=True)
def test_add_index_concurrently(
    tmp_path: Path, database: Database, record_property: Callable[[str, object], None]
) -> None:
    root = tmp_path / "project"
    files = concurrent_files(database)
    write_tree(root, files)
    observed = migrate_and_probe(root, CONCURRENT)
    record_property("outcome", f"fails: {observed.error}" if observed.error else CREATED)
    vendors = parse_targets([database.vendor])
    source = {f.code for f in lint_files(root, files, CONCURRENT.migration, vendors=vendors)}
    project = {
        f.code for f in lint_project(root, files, CONCURRENT.migration, targets=(database.vendor,))
    }
    if database.vendor == "postgresql":
        assert observed.error is None, observed.error
        assert observed.applied == ["0001_initial", "0002_probe"]
        assert observed.constraints[CONCURRENT.object]["index"], observed.constraints
        assert "ML403" not in source
        assert "ML403" not in project
    else:
        # Django passes concurrently=True to a schema editor that has no such parameter.
        assert observed.error is not None
        assert observed.error.startswith("TypeError"), observed.error
        assert "concurrently" in observed.error, observed.error
        assert observed.applied == ["0001_initial"]
        assert CONCURRENT.object not in observed.constraints
        assert "ML403" in source
        assert "ML403" in project
