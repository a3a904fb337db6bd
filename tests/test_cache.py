"""The caches under ``.migration_lint_cache/``: what they save, what invalidates them, and that a
planted file can build nothing but the cached values."""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from migration_lint import appscan, background, lint
from migration_lint.cache import CACHE_DIR
from migration_lint.findings import Severity
from migration_lint.lint import Options, run
from tests.helpers import chdir, write_tree

INITIAL = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel("Tag", [("id", models.AutoField(primary_key=True)), ("name", models.CharField(max_length=10))]),
    ]
"""

ADD_NOTE = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.AddField("tag", "note", models.TextField(null=True))]
"""

VIEWS = """\
from shop.models import Tag


def tag(name):
    return Tag.objects.get_or_create(name=name)
"""

MODELS = """\
from django.db import models


class Tag(models.Model):
    name = models.CharField(max_length=10)
"""

FILES = [
    ("shop/__init__.py", ""),
    ("shop/models.py", MODELS),
    ("shop/views.py", VIEWS),
    ("shop/migrations/__init__.py", ""),
    ("shop/migrations/0001_initial.py", INITIAL),
    ("shop/migrations/0002_tag_note.py", ADD_NOTE),
]


def lint_codes(root: Path, *paths: str) -> list[tuple[str, str]]:
    with chdir(root):
        result = run(Options(paths=paths, source_only=True))
    background.wait()  # the caches as a command leaves them
    return sorted((f.code, f.path) for f in result.findings)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many migrations were parsed and application files scanned."""
    counts = {"parsed": 0, "scanned": 0}
    parse, scan = lint.parse_migration, appscan.scan_source

    def parse_migration(*args: Any, **kwargs: Any) -> Any:
        counts["parsed"] += 1
        return parse(*args, **kwargs)

    def scan_source(*args: Any, **kwargs: Any) -> Any:
        counts["scanned"] += 1
        return scan(*args, **kwargs)

    monkeypatch.setattr(lint, "parse_migration", parse_migration)
    monkeypatch.setattr(appscan, "scan_source", scan_source)
    return counts


def test_a_changed_migration_is_parsed_again_and_nothing_else(
    tmp_path: Path, counted: dict[str, int]
) -> None:
    write_tree(tmp_path, FILES)
    first = lint_codes(tmp_path, "shop/migrations/0002_tag_note.py")
    assert ("ML301", "shop/views.py") in first
    assert counted == {"parsed": 2, "scanned": 1}
    cache = tmp_path / CACHE_DIR
    assert sorted(p.name.split("-")[0] for p in cache.glob("*.pickle")) == [
        "appcode",
        "facts",
        "results.pickle",
    ]

    # What a pre-commit run sees after an edit: one migration changed.
    note = tmp_path / "shop/migrations/0002_tag_note.py"
    note.write_text(ADD_NOTE + "# edited\n")
    assert lint_codes(tmp_path, "shop/migrations/0002_tag_note.py") == first
    assert counted == {"parsed": 3, "scanned": 1}

    # An application file that changes is scanned again.
    (tmp_path / "shop/views.py").write_text(VIEWS.replace("name=name", "name=name.lower()"))
    assert lint_codes(tmp_path, "shop/migrations/0002_tag_note.py") == first
    assert counted == {"parsed": 3, "scanned": 2}


def test_without_the_cache_nothing_is_written(tmp_path: Path, counted: dict[str, int]) -> None:
    write_tree(tmp_path, FILES)
    for _ in range(2):
        with chdir(tmp_path):
            run(Options(source_only=True, use_cache=False))
    assert counted == {"parsed": 4, "scanned": 2}
    assert not (tmp_path / CACHE_DIR).exists()


class _Planted:
    """Unpickles as a call of ``Path.touch`` on a marker file: what a planted cache would try."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, ...]:
        return (Path.touch, (self.marker,))


def _plant_files(cache: Path, marker: Path) -> None:
    for path in cache.glob("*.pickle"):
        path.write_bytes(pickle.dumps({b"key": _Planted(marker)}))


def _plant_entries(cache: Path, marker: Path) -> None:
    # Under the real keys of the facts and the scans, where a run looks them up.
    for path in cache.glob("*-*.pickle"):
        keys = pickle.loads(path.read_bytes())
        path.write_bytes(pickle.dumps({key: pickle.dumps(_Planted(marker)) for key in keys}))
    (cache / "results.pickle").unlink()


@pytest.mark.parametrize("plant", [_plant_files, _plant_entries], ids=["files", "entries"])
def test_a_planted_cache_runs_nothing_and_is_a_miss(
    tmp_path: Path, counted: dict[str, int], plant: Callable[[Path, Path], None]
) -> None:
    write_tree(tmp_path, FILES)
    expected = lint_codes(tmp_path)
    marker = tmp_path / "owned"
    plant(tmp_path / CACHE_DIR, marker)
    counted.update(parsed=0, scanned=0)
    assert lint_codes(tmp_path) == expected
    assert not marker.exists()
    assert counted == {"parsed": 2, "scanned": 1}  # every cache was a miss


def test_entries_of_unchanged_files_are_written_back_as_read(tmp_path: Path) -> None:
    write_tree(tmp_path, FILES)
    lint_codes(tmp_path, "shop/migrations/0002_tag_note.py")
    (facts,) = (tmp_path / CACHE_DIR).glob("facts-*.pickle")
    before = pickle.loads(facts.read_bytes())
    note = tmp_path / "shop/migrations/0002_tag_note.py"
    note.write_text(ADD_NOTE + "# edited\n")
    lint_codes(tmp_path, "shop/migrations/0002_tag_note.py")
    after = pickle.loads(facts.read_bytes())
    assert len(before) == len(after) == 2
    kept = set(before) & set(after)
    assert len(kept) == 1  # the initial migration's entry, the same bytes
    assert all(before[key] == after[key] for key in kept)


def test_a_cache_committed_to_git_is_neither_read_nor_written(
    tmp_path: Path, counted: dict[str, int]
) -> None:
    # A pull request can add the folder with ``git add -f``; its values could be false.
    import subprocess

    from migration_lint import cache

    write_tree(tmp_path, FILES)
    expected = lint_codes(tmp_path)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "-A"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "-f", CACHE_DIR], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "planted"], cwd=tmp_path, check=True)
    cache.committed.cache_clear()
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / CACHE_DIR).glob("*.pickle")}
    counted.update(parsed=0, scanned=0)
    (tmp_path / "shop/views.py").write_text(VIEWS + "# edited\n")
    assert lint_codes(tmp_path) == expected
    assert counted == {"parsed": 2, "scanned": 1}  # nothing was read from the cache
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # nor written


@pytest.mark.parametrize(
    ("select", "ignore"),
    [
        (("ML",), ()),
        (("ML3",), ()),
        (("ML302",), ()),
        (("ML1", "ML2"), ()),
        (("ML",), ("ML3",)),
        (("ML",), ("ML301",)),
        (("ML",), ("ML301", "ML302", "ML303")),
    ],
)
def test_the_results_key_covers_application_code_whenever_a_rule_reads_it(
    select: tuple[str, ...], ignore: tuple[str, ...]
) -> None:
    # Decided before the rule modules are imported: never False when an ML3xx rule runs (an
    # edited view would be served stale findings), False when the selection rules them out.
    from migration_lint.rules.base import registry
    from migration_lint.suppress import matches

    runs = [c for c in registry() if matches(c, select) and not matches(c, ignore)]
    reads = lint._reads_app_code(Options(select=select, ignore=ignore))
    if any(code.startswith("ML3") for code in runs):
        assert reads
    if not any(s.startswith("ML3") or "ML3".startswith(s) for s in select) or "ML3" in ignore:
        assert not reads


def test_a_cached_result_is_the_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The cache keeps the findings as the rules' units pickled them and the order the suppress
    # stage kept: suppressed findings, unused suppressions (made by that stage) and changed
    # severities must come back as they were reported.
    edited = ADD_NOTE.replace(
        "models.TextField(null=True))]",
        "models.TextField(null=True)),  # noqa: ML999\n"
        '        migrations.AddField("tag", "rank", models.IntegerField(default=0)),  # noqa: ML506\n'
        '        migrations.AddField("tag", "size", models.IntegerField(default=0)),\n    ]',
    )
    write_tree(tmp_path, [*FILES[:-1], ("shop/migrations/0002_tag_note.py", edited)])
    options = Options(source_only=True, severities={"ML5": Severity.WARNING})

    def findings() -> list[tuple[object, ...]]:
        with chdir(tmp_path):
            result = run(options)
        background.wait()
        return [dataclasses.astuple(f) for f in result.findings]

    first = findings()
    codes = [row[0] for row in first]
    assert "ML903" in codes  # the unused ML999
    assert ("ML506", Severity.WARNING) in [row[:2] for row in first]  # size, not rank
    assert sum(code == "ML506" for code in codes) == 1

    def no_rules(*args: object, **kwargs: object) -> object:
        raise AssertionError("the rules ran: the result was not cached")

    monkeypatch.setattr(lint, "run_rules", no_rules)
    assert findings() == first
