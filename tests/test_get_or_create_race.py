"""ML301's claim on PostgreSQL: get_or_create without a unique constraint creates duplicates under
concurrency, and the constraint from the fix plan, added the way the plan says, stops it.

The fixture project (``tests/fixtures/race_project``) counts ad impressions with
``ImpressionCounter.objects.get_or_create(ad=ad, impression_date=day)``. ``race.py`` runs two
threads on two connections through that call and forces the interleaving with a barrier in a
``pre_save`` handler: both threads have looked the row up before either inserts, so the outcome
does not depend on timing. Django runs in subprocesses, so this module never sets Django up in
the test process.

1. Without the constraint the race leaves two rows, and the next call raises
   MultipleObjectsReturned (an ML301 finding).
2. The linter, in project mode, reports ML301 at the call, with a fix plan.
3. The plan's migrations (the dedupe data migration, then the concurrent build) are written into
   the project and applied to the database that already holds the duplicate; models.py gets the
   Meta snippet, and ``makemigrations --check`` finds nothing left to write.
4. The same race then leaves one row: the second INSERT fails on the constraint and
   get_or_create returns the first request's row.

A second test shows ML302's NULL case the same way: ``unique_together = [("parent", "name")]``
stops the race for a parent, and not for ``parent=None`` (NULLs are distinct).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.databases import PostgresDatabase

FIXTURE = Path(__file__).parent / "fixtures" / "race_project"


def _env(database: PostgresDatabase) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    server = database.server
    env.update(
        RACE_DB_NAME=database.name,
        RACE_DB_HOST=server.host,
        RACE_DB_PORT=str(server.port),
        RACE_DB_USER=server.user,
        RACE_DB_PASSWORD=server.password,
    )
    return env


def _run(project: Path, env: dict[str, str], *argv: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "race.py", *argv],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def _lint(project: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    result = subprocess.run(
        [sys.executable, "-m", "migration_lint", "--format", "json", "--no-cache"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    findings: list[dict[str, Any]] = json.loads(result.stdout)["findings"]
    return findings


def _apply_meta(models_py: Path, snippet: str) -> None:
    """Put the snippet's ``class Meta`` in ImpressionCounter (the class before Category)."""
    assert snippet.startswith("class ImpressionCounter(models.Model):"), snippet
    meta = snippet[snippet.index("    class Meta:") :]
    head, sep, tail = models_py.read_text(encoding="utf-8").partition("\n\nclass Category(")
    models_py.write_text(f"{head}\n\n{meta}{sep}{tail}", encoding="utf-8")


def test_get_or_create_race_and_the_fix_plan(
    tmp_path: Path, postgres_database: PostgresDatabase
) -> None:
    project = tmp_path / "race_project"
    shutil.copytree(FIXTURE, project)
    env = _env(postgres_database)

    # 1. No unique constraint: both requests insert.
    _run(project, env, "migrate")
    before = _run(project, env, "impressions", "2026-01-01")
    assert [r.get("created") for r in before["results"]] == [True, True], before
    assert before["rows"] == 2
    assert before["afterwards"] == "MultipleObjectsReturned"

    # 2. The linter reports the call.
    findings = [f for f in _lint(project, env) if f["code"] == "ML301"]
    assert [(f["path"], f["line"]) for f in findings] == [("counters/views.py", 8)]
    fix = findings[0]["fix"]
    assert len(fix) == 3
    meta, dedupe, build = (step["code"] for step in fix)

    # 3. The plan, as written: Meta snippet, dedupe migration, concurrent build (it depends on
    # the dedupe migration by name; JSON steps carry no file name, the text output does).
    _apply_meta(project / "counters" / "models.py", meta)
    dedupe_name = re.search(r"\(\'counters\', \'(0002_\w+)\'\)", build)
    assert dedupe_name, build
    migrations = project / "counters" / "migrations"
    (migrations / f"{dedupe_name.group(1)}.py").write_text(dedupe, encoding="utf-8")
    (migrations / "0003_counter_unique.py").write_text(build, encoding="utf-8")
    _run(project, env, "migrate")  # the duplicate from step 1 is removed, then the build runs
    check = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run", "counters"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert [f for f in _lint(project, env) if f["code"] == "ML301"] == []

    # 4. With the constraint: one row, and the loser gets the winner's row.
    after = _run(project, env, "impressions", "2026-01-02")
    assert after["rows"] == 1, after
    assert sorted(r.get("created") for r in after["results"]) == [False, True], after
    assert after["results"][0]["pk"] == after["results"][1]["pk"]
    assert after["afterwards"] == "ok"
    # The day that raced without the constraint is down to one row too.
    assert _run(project, env, "impressions", "2026-01-01")["afterwards"] == "ok"


def test_nulls_are_distinct_for_get_or_create(
    tmp_path: Path, postgres_database: PostgresDatabase
) -> None:
    """ML302's NULL case: unique_together (parent, name) stops the race for a parent, not for
    parent=None, and the linter says so for that call only."""
    project = tmp_path / "race_project"
    shutil.copytree(FIXTURE, project)
    env = _env(postgres_database)
    _run(project, env, "migrate")

    root = _run(project, env, "category-root", "shoes")
    assert [r.get("created") for r in root["results"]] == [True, True], root
    assert (root["rows"], root["afterwards"]) == (2, "MultipleObjectsReturned")

    child = _run(project, env, "category-child", "boots")
    assert sorted(r.get("created") for r in child["results"]) == [False, True], child
    assert (child["rows"], child["afterwards"]) == (1, "ok")

    findings = [f for f in _lint(project, env) if f["code"] in ("ML301", "ML302")]
    assert [(f["code"], f["line"]) for f in findings] == [
        ("ML301", 8),  # the impression counter
        ("ML302", 15),  # parent=None; line 16 passes a parent and is covered
    ]
