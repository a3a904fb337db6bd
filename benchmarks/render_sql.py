#!/usr/bin/env python
"""Speed and fidelity of ``migration_lint.render`` against Django's ``sqlmigrate`` (issue 4).

    python benchmarks/render_sql.py [--migrations 300] [--apps 10] [--real wagtail|oscar|both|none]
                                    [--vendors sqlite,postgresql,mysql] [--sample 20] [--no-migrate]

For each project (a generated corpus, benchmarks/corpus.py, and optionally a real installable
one from PyPI), in one process with Django set up on the project's settings:

- ours: ``render(MigrationLoader(None, ignore_no_migrations=True), every migration, {vendor})``,
  one pass over the plan per vendor;
- sqlmigrate: ``call_command("sqlmigrate", app, name, database=alias)`` for every migration, in
  the same process, against an EMPTY throw-away database per vendor (an SQLite file, and a
  PostgreSQL and a MySQL/MariaDB database created here and dropped afterwards);
- ``python -m django sqlmigrate`` as separate processes on ``--sample`` migrations, extrapolated
  to the whole project (what running sqlmigrate per migration from a shell costs);
- migrate (unless ``--no-migrate``): every migration really applied to that database, the
  statements the schema editor executed recorded per migration. This is the ground truth
  sqlmigrate is not: sqlmigrate renders each migration alone against an empty database.

Times are wall clock and CPU time of the process (the machine may be shared; the CPU figure
is the steadier one). The SQL is compared statement by statement after normalising both sides
(BEGIN/COMMIT and ``--`` comment lines dropped, whitespace collapsed, trailing ``;`` dropped).
Each migration is counted as identical; identical once literals that change on every run are
masked (``uuid4``/``now`` defaults); identical up to the column order of a table rebuild;
different; failed in the reference (sqlmigrate cannot render operations that read the live
schema, e.g. removing unique_together, against an empty database); or failed in ours (offline
vendors raise ``Offline`` where Django would introspect the schema).

The real project is installed into a throw-away virtualenv (``--real-venv DIR`` keeps and
reuses one). The goal (issue 4): ours at least 4x faster than sqlmigrate in one process.
"""

from __future__ import annotations

import argparse
import difflib
import io
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENDORS = ("sqlite", "postgresql", "mysql")
ALIASES = {"sqlite": "default", "postgresql": "postgresql", "mysql": "mysql"}
DJANGO_REQUIREMENT = "Django>=5.2,<5.3"

WAGTAIL_APPS = [
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.search_promotions",
    "wagtail.contrib.settings",
    "wagtail.contrib.simple_translation",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.locales",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]
REAL_PACKAGES = {"wagtail": ["wagtail"], "oscar": ["django-oscar"]}
REAL_LABELS = {"wagtail": "wagtail", "oscar": "django-oscar", "both": "wagtail+oscar"}

REAL_SETTINGS = '''"""Minimal settings to load the migrations of {label} (written by benchmarks/render_sql.py)."""

{imports}
SECRET_KEY = "render-sql-benchmark-not-a-secret"
USE_TZ = True
TIME_ZONE = "UTC"
SITE_ID = 1
STATIC_URL = "/static/"
MEDIA_URL = "/media/"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
WAGTAIL_SITE_NAME = "benchmark"
WAGTAILADMIN_BASE_URL = "http://localhost"
HAYSTACK_CONNECTIONS = {{"default": {{"ENGINE": "haystack.backends.simple_backend.SimpleEngine"}}}}
# Enough for the system checks a command line run does (call_command skips them).
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {{
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {{
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        }},
    }}
]
INSTALLED_APPS = {apps}
'''

WRAPPER_SETTINGS = '''"""The project's settings plus the throw-away databases sqlmigrate connects to."""

{mysql_shim}from {base} import *  # noqa: F403

DATABASES = {databases!r}
'''

MYSQL_SHIM = """import pymysql

# Django's MySQL backend imports MySQLdb and checks its version; PyMySQL stands in for it.
pymysql.version_info = (2, 2, 1, "final", 0)
pymysql.install_as_MySQLdb()

"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Timer:
    """Wall clock and CPU time (this process and its finished children) of a ``with`` block."""

    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), self._cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, self._cpu() - self.cpu

    @staticmethod
    def _cpu() -> float:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + children.ru_utime + children.ru_stime


# ---------------------------------------------------------------------------
# Comparing SQL
# ---------------------------------------------------------------------------

_UUID = re.compile(r"'[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}'", re.I)
_STAMP = re.compile(r"'\d{4}-\d\d-\d\d(?:[ T]\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:?\d\d)?)?'")


def normalise(text: str) -> list[str]:
    """Statements of ``text`` with whitespace collapsed, without transaction control and
    ``--`` comment lines (sqlmigrate's operation headers) and without trailing ``;``."""
    import sqlparse

    kept = [
        line
        for line in text.splitlines()
        if line.strip().upper() not in {"BEGIN;", "COMMIT;"} and not line.lstrip().startswith("--")
    ]
    statements = []
    for statement in sqlparse.split("\n".join(kept)):
        flat = " ".join(statement.split()).rstrip(";").rstrip()
        if flat:
            statements.append(flat)
    return statements


def _split_top(text: str) -> list[str]:
    parts, depth, quote, current = [], 0, "", []
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"`":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    return parts


def _unordered_columns(statement: str) -> str:
    """A table rebuild with its column lists sorted (SQLite's CREATE TABLE / INSERT ... SELECT)."""
    create = re.match(r"(CREATE TABLE \S+ \()(.*)(\))$", statement)
    if create:
        return create[1] + ", ".join(sorted(_split_top(create[2]))) + create[3]
    insert = re.match(r"(INSERT INTO \S+ \()(.*?)(\) SELECT )(.*)( FROM \S+)$", statement)
    if insert:
        columns = ", ".join(sorted(_split_top(insert[2])))
        selected = ", ".join(sorted(_split_top(insert[4])))
        return insert[1] + columns + insert[3] + selected + insert[5]
    return statement


def classify(ours: list[str], reference: list[str]) -> str:
    if ours == reference:
        return "identical"

    def masked(statements: list[str]) -> list[str]:
        return [_STAMP.sub("'<now>'", _UUID.sub("'<uuid>'", s)) for s in statements]

    if masked(ours) == masked(reference):
        return "identical but volatile defaults"
    # A SQLite table rebuild lists the columns, and recreates the indexes, in field order;
    # the order of fields in the model state depends on how the state was built.
    if sorted(_unordered_columns(s) for s in masked(ours)) == sorted(
        _unordered_columns(s) for s in masked(reference)
    ):
        return "identical but column order"
    return "different"


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def describe_diff(ours: list[str], theirs: list[str], name: str, width: int = 240) -> list[str]:
    """The differing statements, each cut around the first character that differs."""
    out: list[str] = []
    matcher = difflib.SequenceMatcher(a=theirs, b=ours, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        left, right = theirs[i1:i2], ours[j1:j2]
        for k in range(max(len(left), len(right))):
            a = left[k] if k < len(left) else None
            b = right[k] if k < len(right) else None
            start = 0
            if a is not None and b is not None:
                start = next(
                    (n for n, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                    min(len(a), len(b)),
                )
                start = max(0, start - width // 3)
            for sign, text in ((f"{name:<10}", a), ("ours      ", b)):
                if text is None:
                    out.append(f"      {sign}: (no statement)")
                else:
                    pre = "..." if start else ""
                    post = "..." if start + width < len(text) else ""
                    out.append(f"      {sign}: {pre}{text[start : start + width]}{post}")
    return out


def compare(loader: Any, plan: list, rendering: Any, vendor: str, reference: dict, name: str):
    """Ours against ``reference`` (key -> (sql text, None) or (None, error)): counts, details."""
    counts: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    details: list[dict] = []
    for key in plan:
        rendered = rendering.get(key, vendor)
        text, error = reference.get(key, (None, "not reached"))
        ours = normalise("\n".join(rendered.sql())) if rendered else []
        failed_ops = [op for op in (rendered.operations if rendered else ()) if op.error]
        operations = loader.graph.nodes[key].operations
        our_errors = [f"{operations[op.index].describe()}: {op.error}" for op in failed_ops]
        for op in failed_ops:
            failures[f"{type(operations[op.index]).__name__} {op.error.split(':')[0]}"] += 1
        entry: dict[str, Any] = {"migration": f"{key[0]}.{key[1]}"}
        if error is not None:
            kind = f"{name} failed"
            entry.update(error=error, ours=our_errors)
        else:
            theirs = normalise(text or "")
            outcome = classify(ours, theirs)
            if our_errors:
                kind = "ours failed"
                entry.update(errors=our_errors, same=outcome != "different")
                if outcome == "different":
                    entry["diff"] = describe_diff(ours, theirs, name)
            else:
                kind = outcome
                if outcome != "identical":
                    entry["diff"] = describe_diff(ours, theirs, name)
        counts[kind] += 1
        if kind != "identical":
            entry["kind"] = kind
            details.append(entry)
    return {"counts": dict(counts), "details": details, "our_failures": dict(failures)}


# ---------------------------------------------------------------------------
# Worker: runs inside the project's Python, Django set up on its settings
# ---------------------------------------------------------------------------


def live_version(alias: str, vendor: str) -> str | None:
    from django.db import connections

    conn = connections[alias]
    conn.ensure_connection()
    if vendor == "postgresql":
        number = conn.pg_version
        return f"{number // 10000}.{number % 10000}"
    if vendor == "mysql":
        major, minor = conn.mysql_version[:2]
        return f"mariadb-{major}.{minor}" if conn.mysql_is_mariadb else f"{major}.{minor}"
    return None


def spread(items: list[Any], n: int) -> list[Any]:
    if n <= 0 or not items:
        return []
    if n >= len(items):
        return list(items)
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def sqlmigrate_all(plan: list, alias: str, label: str) -> dict:
    from django.core.management import call_command

    outputs: dict[tuple[str, str], tuple[str | None, str | None]] = {}
    for n, (app, name) in enumerate(plan, 1):
        out = io.StringIO()
        try:
            call_command("sqlmigrate", app, name, database=alias, stdout=out, stderr=io.StringIO())
            outputs[(app, name)] = (out.getvalue(), None)
        except Exception as exc:  # noqa: BLE001 - a failure is a result
            outputs[(app, name)] = (None, first_line(exc))
        if n % 100 == 0:
            log(f"  [{label}] sqlmigrate {alias}: {n}/{len(plan)}")
    return outputs


def migrate_all() -> dict:
    """Apply every migration to the default database (run in a process of its own whose
    default database is the vendor's): the statements its schema editor ran, per migration.
    Statements run from inside RunPython code are only counted: neither sqlmigrate nor
    ``render`` runs user code."""
    from django.db import connection
    from django.db.backends.base.schema import BaseDatabaseSchemaEditor
    from django.db.migrations.executor import MigrationExecutor
    from django.db.migrations.operations.special import RunPython

    current: list[str] = []
    executed: dict[str, list[str]] = {}
    from_python: Counter[str] = Counter()
    in_python: list[bool] = [False]

    def progress(action: str, migration: Any = None, fake: bool = False) -> None:
        if action == "apply_start":
            current[:] = [f"{migration.app_label}.{migration.name}"]
            executed[current[0]] = []

    original_execute = BaseDatabaseSchemaEditor.execute
    original_python = RunPython.database_forwards

    def execute(self: Any, sql: Any, params: Any = ()) -> Any:
        if current and in_python[0]:
            from_python[current[0]] += 1
        elif current:
            text = str(sql)
            if params:
                text = text % tuple(self.quote_value(p) for p in params)
            executed[current[0]].append(text + ";")
        return original_execute(self, sql, params)

    def run_python(self: Any, *args: Any, **kwargs: Any) -> Any:
        in_python[0] = True
        try:
            return original_python(self, *args, **kwargs)
        finally:
            in_python[0] = False

    BaseDatabaseSchemaEditor.execute = execute  # type: ignore[method-assign]
    RunPython.database_forwards = run_python  # type: ignore[method-assign]
    stopped = None
    try:
        executor = MigrationExecutor(connection, progress)
        executor.migrate(executor.loader.graph.leaf_nodes())
    except Exception as exc:  # noqa: BLE001 - where it stopped is reported
        stopped = f"{current[0]}: {first_line(exc)}" if current else first_line(exc)
        if current:
            executed.pop(current[0], None)
    finally:
        BaseDatabaseSchemaEditor.execute = original_execute  # type: ignore[method-assign]
        RunPython.database_forwards = original_python  # type: ignore[method-assign]
    return {
        "executed": {key: "\n".join(sql) for key, sql in executed.items()},
        "stopped": stopped,
        "from_python": dict(from_python),
    }


def migrate_worker(config_path: str, vendor: str) -> int:
    cfg = json.loads(Path(config_path).read_text(encoding="utf-8"))
    sys.path[:0] = cfg["paths"]
    os.environ["DJANGO_SETTINGS_MODULE"] = f"{cfg['settings']}_{vendor}"
    import django

    django.setup()
    out = Path(cfg["out"]).with_name(f"migrate_{vendor}.json")
    out.write_text(json.dumps(migrate_all()), encoding="utf-8")
    return 0


def migrate_in_process(config_path: str, cfg: dict, vendor: str) -> tuple[dict, dict]:
    """``migrate`` in a fresh process whose default database is the vendor's (data
    migrations and vendor checks in real projects look at the default database)."""
    out = Path(cfg["out"]).with_name(f"migrate_{vendor}.json")
    with Timer() as timer:
        done = subprocess.run(
            [sys.executable, __file__, "--migrate-worker", config_path, vendor], check=False
        )
    if done.returncode != 0 or not out.exists():
        info = {"wall_s": timer.wall, "stopped": f"migrate process exit code {done.returncode}"}
        return {}, info
    data = json.loads(out.read_text(encoding="utf-8"))
    executed = {tuple(key.split(".", 1)): (text, None) for key, text in data["executed"].items()}
    info = {
        "wall_s": timer.wall,
        "stopped": data["stopped"],
        "from_python": sum(data["from_python"].values()),
        "from_python_migrations": len(data["from_python"]),
    }
    return executed, info


def state_costs(loader: Any, plan: list) -> dict:
    """CPU time of only carrying the project state over the plan: unrendered (models as
    ModelState, what most rules need) and rendered with a clone per operation (what
    ``render`` does before it asks the schema editor for SQL)."""
    from django.db.migrations.state import ProjectState

    costs = {}
    for name, rendered in (("unrendered", False), ("rendered", True)):
        state = ProjectState(real_apps=set())
        with Timer() as timer:
            if rendered:
                state.apps  # noqa: B018 - render the (empty) registry, then keep it rendered
            for app, migration_name in plan:
                for operation in loader.graph.nodes[(app, migration_name)].operations:
                    if rendered:
                        state.clone()
                    operation.state_forwards(app, state)
        costs[name] = timer.cpu
    return costs


def process_sample(plan: list, alias: str, cfg: dict, n: int) -> dict:
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = cfg["settings"]
    env["PYTHONPATH"] = os.pathsep.join(cfg["paths"])
    walls, failed, error = [], 0, None
    with Timer() as total:
        for app, name in spread(plan, n):
            command = [sys.executable, "-m", "django", "sqlmigrate", app, name, "--database", alias]
            started = time.perf_counter()
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            walls.append(time.perf_counter() - started)
            if done.returncode != 0:
                failed += 1
                lines = (done.stderr or done.stdout).strip().splitlines()
                error = error or (lines[-1] if lines else f"exit code {done.returncode}")
    count = len(walls)
    return {
        "n": count,
        "failed": failed,
        "error": error,
        "wall_s": total.wall / count if count else 0.0,
        "cpu_s": total.cpu / count if count else 0.0,
    }


def worker(config_path: str) -> int:
    cfg = json.loads(Path(config_path).read_text(encoding="utf-8"))
    sys.path[:0] = [*cfg["paths"], str(ROOT)]
    os.environ["DJANGO_SETTINGS_MODULE"] = cfg["settings"]
    import django

    with Timer() as setup:
        django.setup()

    from django.db.migrations.loader import MigrationLoader

    from migration_lint.render import plan_of, render

    with Timer() as load:
        loader = MigrationLoader(None, ignore_no_migrations=True)
    plan = plan_of(loader.graph)
    targets = set(plan)
    label = cfg["label"]
    result: dict[str, Any] = {
        "label": label,
        "django": django.get_version(),
        "migrations": len(plan),
        "apps": len({app for app, _ in plan}),
        "setup_s": setup.wall,
        "load_s": load.wall,
        "vendors": {},
    }
    result["state_cpu_s"] = state_costs(loader, plan)
    for vendor in cfg["vendors"]:
        alias = cfg["aliases"].get(vendor)
        row: dict[str, Any] = {"unavailable": cfg["unavailable"].get(vendor)}
        result["vendors"][vendor] = row
        version = None
        if alias and vendor != "sqlite":
            try:
                version = live_version(alias, vendor)
            except Exception as exc:  # noqa: BLE001
                row["unavailable"] = f"cannot connect: {first_line(exc)}"
                alias = None
        row["version"] = version
        with Timer() as timer:
            rendering = render(loader, targets, {vendor: version})
        row["ours"] = {"wall_s": timer.wall, "cpu_s": timer.cpu}
        log(f"  [{label}] ours, {vendor} {version or ''}: {timer.wall:.2f}s ({timer.cpu:.2f}s CPU)")
        if vendor in rendering.unavailable:
            row["unavailable"] = rendering.unavailable[vendor]
            continue
        if alias is None:
            continue
        with Timer() as timer:
            outputs = sqlmigrate_all(plan, alias, label)
        row["sqlmigrate"] = {"wall_s": timer.wall, "cpu_s": timer.cpu}
        log(f"  [{label}] sqlmigrate, {vendor}: {timer.wall:.2f}s ({timer.cpu:.2f}s CPU)")
        row["vs_sqlmigrate"] = compare(loader, plan, rendering, vendor, outputs, "sqlmigrate")
        if cfg["sample"] and cfg["sample_vendor"] in ("all", vendor):
            row["processes"] = process_sample(plan, alias, cfg, cfg["sample"])
            log(
                f"  [{label}] sqlmigrate processes, {vendor}: {row['processes']['wall_s']:.2f}s each"
            )
        if cfg["migrate"]:
            # Last: the database is no longer empty afterwards.
            executed, row["migrate"] = migrate_in_process(config_path, cfg, vendor)
            stopped = row["migrate"]["stopped"]
            log(
                f"  [{label}] migrate, {vendor}: {row['migrate']['wall_s']:.2f}s"
                + (f", stopped at {stopped}" if stopped else "")
            )
            row["vs_migrate"] = compare(loader, plan, rendering, vendor, executed, "migrate")
            row["sqlmigrate_vs_migrate"] = dict(
                Counter(
                    classify(normalise(outputs[key][0] or ""), normalise(executed[key][0] or ""))
                    if outputs[key][1] is None and key in executed
                    else "failed or not reached"
                    for key in plan
                )
            )
    Path(cfg["out"]).write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


# ---------------------------------------------------------------------------
# Driver: temp dirs, throw-away databases, virtualenv, report
# ---------------------------------------------------------------------------


class Databases:
    """One empty throw-away database per server vendor, dropped by :meth:`drop`."""

    def __init__(self, args: argparse.Namespace, vendors: list[str]) -> None:
        self.args = args
        self.name = f"mlbench_render_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.created: list[str] = []
        self.unavailable: dict[str, str] = {}
        for vendor in vendors:
            if vendor == "sqlite":
                continue
            try:
                getattr(self, f"_{vendor}")(f"CREATE DATABASE {self.name}")
                self.created.append(vendor)
            except Exception as exc:  # noqa: BLE001 - the vendor is then reported unavailable
                self.unavailable[vendor] = f"no throw-away database: {first_line(exc)}"

    def _postgresql(self, statement: str) -> None:
        import psycopg

        a = self.args
        with psycopg.connect(
            host=a.pg_host,
            port=a.pg_port,
            user=a.pg_user,
            password=os.environ.get("PGPASSWORD"),
            dbname="postgres",  # only to create and drop our own database
            autocommit=True,
            connect_timeout=5,
        ) as conn:
            conn.execute(statement)

    def _mysql(self, statement: str) -> None:
        import pymysql

        a = self.args
        conn = pymysql.connect(
            host=a.mysql_host,
            port=a.mysql_port,
            user=a.mysql_user,
            password=os.environ.get("MYSQL_PWD", ""),
            connect_timeout=5,
        )
        try:
            with conn.cursor() as cursor:
                if statement.startswith("CREATE"):
                    statement += " CHARACTER SET utf8mb4"
                cursor.execute(statement)
        finally:
            conn.close()

    def settings(self, sqlite_path: Path) -> dict[str, dict[str, Any]]:
        a = self.args
        databases: dict[str, dict[str, Any]] = {
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(sqlite_path)}
        }
        if "postgresql" in self.created:
            databases["postgresql"] = {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": self.name,
                "USER": a.pg_user,
                "PASSWORD": os.environ.get("PGPASSWORD", ""),
                "HOST": a.pg_host,
                "PORT": str(a.pg_port),
            }
        if "mysql" in self.created:
            databases["mysql"] = {
                "ENGINE": "django.db.backends.mysql",
                "NAME": self.name,
                "USER": a.mysql_user,
                "PASSWORD": os.environ.get("MYSQL_PWD", ""),
                "HOST": a.mysql_host,
                "PORT": str(a.mysql_port),
                # ANSI_QUOTES: hand-written RunSQL in the corpus quotes names with "".
                "OPTIONS": {
                    "charset": "utf8mb4",
                    "init_command": "SET sql_mode='STRICT_TRANS_TABLES,ANSI_QUOTES'",
                },
            }
        return databases

    def drop(self) -> None:
        for vendor in self.created:
            statement = f"DROP DATABASE IF EXISTS {self.name}"
            if vendor == "postgresql":
                statement += " WITH (FORCE)"
            try:
                getattr(self, f"_{vendor}")(statement)
            except Exception as exc:  # noqa: BLE001
                log(f"could not drop {vendor} database {self.name}: {first_line(exc)}")


def measure(python: str, work: Path, label: str, base: str, paths: list[Path], args) -> dict | None:
    """Create the databases, write the wrapper settings, run the worker; its JSON result."""
    work.mkdir(parents=True)
    dbs = Databases(args, args.vendors)
    try:
        databases = dbs.settings(work / "sqlmigrate.sqlite3")
        shim = MYSQL_SHIM if "mysql" in databases else ""
        wrapper = WRAPPER_SETTINGS.format(mysql_shim=shim, base=base, databases=databases)
        (work / "render_sql_settings.py").write_text(wrapper, encoding="utf-8")
        for vendor in args.vendors:
            # For migrate: the vendor's database as the default one.
            (work / f"render_sql_settings_{vendor}.py").write_text(
                "from render_sql_settings import *  # noqa: F403\n\n"
                f"DATABASES = {{'default': DATABASES[{ALIASES[vendor]!r}]}}  # noqa: F405\n",
                encoding="utf-8",
            )
        cfg = {
            "label": label,
            "settings": "render_sql_settings",
            "paths": [str(work), *map(str, paths)],
            "vendors": args.vendors,
            "aliases": {v: ALIASES[v] for v in args.vendors if ALIASES[v] in databases},
            "unavailable": dbs.unavailable,
            "sample": args.sample,
            "sample_vendor": args.sample_vendor,
            "migrate": args.migrate,
            "out": str(work / "result.json"),
        }
        (work / "config.json").write_text(json.dumps(cfg), encoding="utf-8")
        log(f"[{label}] measuring with {python}")
        done = subprocess.run(
            [python, __file__, "--worker", str(work / "config.json")], check=False
        )
    finally:
        dbs.drop()
    if done.returncode != 0:
        log(f"[{label}] worker failed with exit code {done.returncode}")
        return None
    return json.loads((work / "result.json").read_text(encoding="utf-8"))


def real_venv(which: str, venv: Path) -> str:
    python = venv / "bin" / "python"
    if not python.exists():
        log(f"[real] creating virtualenv {venv}")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    packages = [
        p for key in ("wagtail", "oscar") if which in (key, "both") for p in REAL_PACKAGES[key]
    ]
    requirements = [
        DJANGO_REQUIREMENT,
        *packages,
        "psycopg[binary]>=3.1",
        "PyMySQL>=1.1",
        "sqlparse",
    ]
    log(f"[real] pip install {' '.join(requirements)}")
    started = time.perf_counter()
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *requirements],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        log(done.stdout + done.stderr)
        raise SystemExit(f"pip install failed with exit code {done.returncode}")
    log(f"[real] installed in {time.perf_counter() - started:.0f}s")
    return str(python)


def real_settings(which: str, directory: Path) -> str:
    """Write the real project's settings module; its module name."""
    imports, apps = "", []
    if which in ("oscar", "both"):
        imports = "import oscar\nfrom oscar.defaults import *  # noqa: F403\n"
        apps.append("*oscar.INSTALLED_APPS")
    if which in ("wagtail", "both"):
        wagtail = [repr(app) for app in WAGTAIL_APPS]
        if which == "both":  # oscar's list already has the contrib apps
            wagtail = [app for app in wagtail if not app.startswith("'django.contrib.")]
        apps += wagtail
    directory.mkdir(parents=True, exist_ok=True)
    text = REAL_SETTINGS.format(
        label=REAL_LABELS[which],
        imports=imports,
        apps="[\n    " + ",\n    ".join(apps) + ",\n]",
    )
    (directory / "real_project_settings.py").write_text(text, encoding="utf-8")
    return "real_project_settings"


def _fidelity(comparison: dict | None) -> str:
    if not comparison:
        return "-"
    c = comparison["counts"]
    order = [
        ("identical", "same"),
        ("identical but volatile defaults", "volatile"),
        ("identical but column order", "col-order"),
        ("different", "DIFF"),
        ("sqlmigrate failed", "ref-failed"),
        ("migrate failed", "ref-failed"),
        ("ours failed", "ours-failed"),
    ]
    return " ".join(f"{short}={c[k]}" for k, short in order if c.get(k))


def report(results: list[dict], show: int) -> None:
    header = (
        f"{'project':<22} {'vendor':<20} {'migs':>4}  {'ours wall/cpu s':>15}  "
        f"{'sqlmigrate wall/cpu s':>21}  {'ratio cpu':>9}"
    )
    print()
    print("Time: ours = render() one pass over the plan; sqlmigrate = one call per migration,")
    print("one process. Loader/django.setup() excluded from both.")
    print(header)
    print("-" * len(header))
    for result in results:
        name = f"{result['label']} ({result['apps']} apps)"
        sums = [0.0, 0.0, 0.0, 0.0]
        for vendor, row in result["vendors"].items():
            shown = f"{vendor} {row.get('version') or ''}".strip()
            ours = row["ours"]
            line = f"{name:<22} {shown:<20} {result['migrations']:>4}  {ours['wall_s']:>7.2f}/{ours['cpu_s']:<7.2f}"
            if "sqlmigrate" not in row:
                print(f"{line}  ({row.get('unavailable') or 'not compared'})")
                continue
            theirs = row["sqlmigrate"]
            sums = [
                sums[0] + ours["wall_s"],
                sums[1] + ours["cpu_s"],
                sums[2] + theirs["wall_s"],
                sums[3] + theirs["cpu_s"],
            ]
            print(
                f"{line}  {theirs['wall_s']:>13.2f}/{theirs['cpu_s']:<7.2f}  "
                f"{theirs['cpu_s'] / ours['cpu_s']:>8.1f}x"
            )
        if sums[1]:
            ratio = sums[3] / sums[1]
            verdict = "meets" if ratio >= 4 else "MISSES"
            print(
                f"{name:<22} {'all compared':<20} {result['migrations']:>4}  {sums[0]:>7.2f}/{sums[1]:<7.2f}"
                f"  {sums[2]:>13.2f}/{sums[3]:<7.2f}  {ratio:>8.1f}x  {verdict} the 4x goal"
            )
    print()
    for result in results:
        n = result["migrations"]
        print(
            f"{result['label']}: Django {result['django']}, {n} migrations in {result['apps']} apps; "
            f"django.setup() {result['setup_s']:.2f}s, MigrationLoader {result['load_s']:.2f}s"
        )
        state = result["state_cpu_s"]
        print(
            f"  carrying the state over the plan alone (CPU): unrendered {state['unrendered']:.2f}s, "
            f"rendered with a clone per operation (as render() does) {state['rendered']:.2f}s"
        )
        for vendor, row in result["vendors"].items():
            sample = row.get("processes")
            if sample and sample["n"]:
                print(
                    f"  sqlmigrate as separate processes ({vendor}): {sample['n']} sampled, "
                    f"{sample['wall_s']:.2f}s wall / {sample['cpu_s']:.2f}s CPU each "
                    f"({sample['failed']} failed{': ' + sample['error'] if sample['error'] else ''}) "
                    f"-> ~{sample['wall_s'] * n:.0f}s wall, "
                    f"~{sample['cpu_s'] * n:.0f}s CPU for {n} migrations "
                    f"({sample['cpu_s'] * n / row['ours']['cpu_s']:.0f}x ours, CPU)"
                )
        for vendor, row in result["vendors"].items():
            if "vs_sqlmigrate" not in row:
                continue
            print(f"  {vendor}: ours vs sqlmigrate: {_fidelity(row['vs_sqlmigrate'])}")
            failures = row["vs_sqlmigrate"]["our_failures"]
            if failures:
                listed = ", ".join(f"{k} x{v}" for k, v in sorted(failures.items()))
                print(f"  {vendor}: operations ours failed to render: {listed}")
            if "vs_migrate" in row:
                m = row["migrate"]
                stopped = f" (migrate stopped at {m['stopped']})" if m["stopped"] else ""
                print(f"  {vendor}: ours vs migrate:    {_fidelity(row['vs_migrate'])}{stopped}")
                if m.get("from_python"):
                    print(
                        f"  {vendor}: migrate also ran {m['from_python']} statements from RunPython "
                        f"code in {m['from_python_migrations']} migrations (not compared)"
                    )
                other = ", ".join(
                    f"{k}={v}" for k, v in sorted(row["sqlmigrate_vs_migrate"].items())
                )
                print(f"  {vendor}: sqlmigrate vs migrate: {other}")
    for result in results:
        for vendor, row in result["vendors"].items():
            for name in ("vs_migrate", "vs_sqlmigrate"):
                if not row.get(name, {}).get("details"):
                    continue
                print(
                    f"\n{result['label']} / {vendor}: ours {name.replace('_', ' ')}, not identical:"
                )
                shown: Counter[str] = Counter()
                for entry in row[name]["details"]:
                    kind = entry["kind"]
                    shown[kind] += 1
                    if shown[kind] > show:
                        continue
                    if kind.endswith("migrate failed"):
                        ours = "; ".join(entry["ours"]) or "rendered"
                        print(f"  [{kind}] {entry['migration']}: {entry['error']} -- ours: {ours}")
                        continue
                    if kind == "ours failed":
                        same = "same statements" if entry["same"] else "statements differ"
                        print(
                            f"  [ours failed, {same}] {entry['migration']}: "
                            + "; ".join(entry["errors"])
                        )
                    else:
                        print(f"  [{kind}] {entry['migration']}")
                    for line in entry.get("diff", [])[:6]:
                        print(line)
                for kind, count in shown.items():
                    if count > show:
                        print(f"  ... and {count - show} more [{kind}]")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--migrations", type=int, default=300, help="0 skips the corpus")
    parser.add_argument("--apps", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--real", choices=["wagtail", "oscar", "both", "none"], default="wagtail")
    parser.add_argument("--real-venv", type=Path, help="reuse (or create and keep) this venv")
    parser.add_argument("--vendors", default=",".join(VENDORS))
    parser.add_argument("--sample", type=int, default=20, help="separate sqlmigrate processes")
    parser.add_argument("--sample-vendor", default="sqlite", help="a vendor, or 'all'")
    parser.add_argument("--no-migrate", dest="migrate", action="store_false")
    parser.add_argument("--show", type=int, default=3, help="examples shown per kind")
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--mysql-host", default="127.0.0.1")
    parser.add_argument("--mysql-port", type=int, default=3306)
    parser.add_argument("--mysql-user", default="root")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (not databases)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--migrate-worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker)
    if args.migrate_worker:
        return migrate_worker(*args.migrate_worker)
    args.vendors = [v.strip() for v in args.vendors.split(",") if v.strip()]
    unknown = set(args.vendors) - set(VENDORS)
    if unknown:
        parser.error(f"unknown vendors: {', '.join(sorted(unknown))}")

    tmp = Path(tempfile.mkdtemp(prefix="mlbench_render_"))
    results: list[dict] = []
    try:
        if args.migrations > 0:
            sys.path.insert(0, str(ROOT))
            from benchmarks.corpus import generate

            corpus = tmp / "corpus"
            generate(
                corpus, migrations=args.migrations, apps=args.apps, seed=args.seed, portable=True
            )
            label = f"corpus {args.migrations}"
            base = "benchproject.settings"
            result = measure(sys.executable, tmp / "corpus_run", label, base, [corpus], args)
            if result:
                results.append(result)
        if args.real != "none":
            python = real_venv(args.real, args.real_venv or tmp / "venv")
            base = real_settings(args.real, tmp / "real_settings")
            label = REAL_LABELS[args.real]
            paths = [tmp / "real_settings"]
            result = measure(python, tmp / "real_run", label, base, paths, args)
            if result:
                results.append(result)
    finally:
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    report(results, args.show)
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())
