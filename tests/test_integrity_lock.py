"""``migration-lint lock [--check]`` and ``migrations.lock``: writing, checking, merging, errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from migration_lint.cli import main
from migration_lint.errors import UsageError
from migration_lint.integrity import lockfile
from migration_lint.lint import Options, run
from migration_lint.rules._history import HEADER, INITIAL, NOTE, lock_of
from tests.helpers import chdir, write_tree

M = "shop/migrations/"
EDITED = NOTE.replace('models.TextField(default="")', "models.TextField(null=True)")
PAID = (
    HEADER
    + '    dependencies = [("shop", "0002_note")]\n'
    + '    operations = [migrations.AddField("order", "paid", models.BooleanField(default=False))]\n'
)


@pytest.fixture(autouse=True)
def _no_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_tree(tmp_path, [(M + "0001_initial.py", INITIAL), (M + "0002_note.py", NOTE)])
    assert lock(tmp_path)[0] == 0
    return tmp_path


def lock(root: Path, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with chdir(root):
        code = main(["lock", "--source-only", *argv], stdout=out)
    return code, out.getvalue()


def one_error_line(capsys: pytest.CaptureFixture[str], *fragments: str) -> None:
    err = capsys.readouterr().err
    assert err.startswith("migration-lint: error: ") and err.count("\n") == 1, err
    for fragment in fragments:
        assert fragment in err, err


def codes(root: Path) -> list[str]:
    with chdir(root):
        findings = run(Options(source_only=True, use_cache=False, select=("ML2",))).findings
    return [f"{f.path}:{f.line} {f.code}" for f in findings]


# --- writing ---------------------------------------------------------------------------------------


def test_lock_records_every_migration(project: Path) -> None:
    data = json.loads((project / "migrations.lock").read_text())
    assert data["version"] == 1 and data["normal-form"] == 1
    assert sorted(data["migrations"]) == ["shop/0001_initial", "shop/0002_note"]
    note = data["migrations"]["shop/0002_note"]
    assert note["path"] == M + "0002_note.py"
    assert note["dependencies"] == ["shop/0001_initial"]
    assert len(note["hash"]) == 32 and len(note["operations"]) == 1
    assert data["retired"] == {}


def test_lock_is_deterministic_and_one_migration_per_line(project: Path) -> None:
    before = (project / "migrations.lock").read_text()
    assert lock(project) == (
        0,
        "migrations.lock: recorded 2 migrations (0 new, 0 updated, 0 retired, 0 removed)\n",
    )
    assert (project / "migrations.lock").read_text() == before
    assert [line.strip()[:20] for line in before.splitlines() if "/migrations/" in line] == [
        '"shop/0001_initial":',
        '"shop/0002_note": {"',
    ]


def test_new_migrations_are_added(project: Path) -> None:
    write_tree(project, [(M + "0003_paid.py", PAID)])
    assert lock(project) == (
        0,
        "migrations.lock: recorded 3 migrations (1 new, 0 updated, 0 retired, 0 removed)\n",
    )


def test_reformatting_is_not_a_change_of_meaning(project: Path) -> None:
    write_tree(
        project,
        [(M + "0002_note.py", NOTE.replace("    operations", "    # notes\n    operations"))],
    )
    assert lock(project, "--check")[0] == 0
    assert lock(project) == (
        0,
        "migrations.lock: recorded 2 migrations "
        "(0 new, 0 updated, 0 retired, 0 removed; 1 reformatted or moved)\n",
    )


def test_lock_refuses_to_record_an_edit_without_force(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (project / "migrations.lock").read_text()
    write_tree(project, [(M + "0002_note.py", EDITED)])
    code, out = lock(project)
    assert code == 1
    assert "ML201" in out
    assert "not written" in capsys.readouterr().err
    assert (project / "migrations.lock").read_text() == before
    code, out = lock(project, "--force")
    assert code == 0 and "1 updated" in out
    assert lock(project, "--check")[0] == 0


def test_lock_path_from_configuration(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        [
            ("pyproject.toml", '[tool.migration_lint]\nlock-file = "ci/history.lock"\n'),
            (M + "0001_initial.py", INITIAL),
        ],
    )
    (tmp_path / "ci").mkdir()
    assert lock(tmp_path)[0] == 0
    assert (tmp_path / "ci" / "history.lock").exists()
    entry = json.loads((tmp_path / "ci" / "history.lock").read_text())["migrations"]
    assert entry["shop/0001_initial"]["path"] == "../" + M + "0001_initial.py"
    write_tree(
        tmp_path, [(M + "0001_initial.py", INITIAL.replace("max_length=32", "max_length=64"))]
    )
    assert codes(tmp_path) == [M + "0001_initial.py:7 ML201"]


def test_lock_option_path(project: Path) -> None:
    assert lock(project, "--lock-file", "other.lock")[0] == 0
    assert (project / "other.lock").exists()


def test_a_migration_that_does_not_parse_cannot_be_recorded(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree(project, [(M + "0003_broken.py", "class Migration(:\n")])
    assert lock(project)[0] == 2
    one_error_line(capsys, "0003_broken.py", "does not parse")


# --- checking --------------------------------------------------------------------------------------


def test_check_clean(project: Path) -> None:
    assert lock(project, "--check") == (0, "migrations.lock: every recorded migration is intact\n")


def test_check_lists_new_migrations_without_failing(project: Path) -> None:
    write_tree(project, [(M + "0003_paid.py", PAID)])
    code, out = lock(project, "--check")
    assert code == 0
    assert "1 migration not recorded yet (shop/0003_paid)" in out


def test_check_fails_on_an_edit(project: Path) -> None:
    write_tree(project, [(M + "0002_note.py", EDITED)])
    code, out = lock(project, "--check")
    assert code == 1
    assert out.startswith(
        M + "0002_note.py:7:9: ML201 shop.0002_note already ran (migrations.lock records it)"
    )


def test_check_fails_on_a_deletion(project: Path) -> None:
    (project / M / "0002_note.py").unlink()
    code, out = lock(project, "--check")
    assert code == 1
    assert out.startswith(M + "0002_note.py:1:1: ML202 shop.0002_note already ran")


def test_check_without_a_lock_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_tree(tmp_path, [(M + "0001_initial.py", INITIAL)])
    assert lock(tmp_path, "--check") == (2, "")
    one_error_line(capsys, "no lock file", "migration-lint lock")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        pytest.param("{not json", "not valid JSON (line 1)", id="not-json"),
        pytest.param('{"version": 1}', 'no "migrations" table', id="not-a-lock"),
        pytest.param(
            '{"version": 7, "migrations": {}}', "format 7 is not supported", id="newer-format"
        ),
        pytest.param(
            '{"migrations": {"a/b": {"path": "x"}}}', "not a migration record", id="bad-entry"
        ),
    ],
)
def test_unreadable_lock_file_is_a_one_line_error(
    project: Path, capsys: pytest.CaptureFixture[str], content: str, fragment: str
) -> None:
    (project / "migrations.lock").write_text(content)
    assert lock(project, "--check")[0] == 2
    one_error_line(capsys, fragment)
    with chdir(project):
        assert main(["--source-only", "--no-cache"], stdout=io.StringIO()) == 2
    one_error_line(capsys, fragment)


def test_another_normal_form_is_ignored_with_a_note(project: Path) -> None:
    path = project / "migrations.lock"
    path.write_text(path.read_text().replace('"normal-form": 1', '"normal-form": 99'))
    write_tree(project, [(M + "0002_note.py", EDITED)])
    with chdir(project):
        result = run(Options(source_only=True, use_cache=False, select=("ML2",)))
    assert result.findings == []
    assert any("normal form 99" in n for n in result.notes)


# --- merges and squashes ---------------------------------------------------------------------------


def test_a_merge_conflict_in_the_lock_file_takes_both_sides(tmp_path: Path) -> None:
    initial = (M + "0001_initial.py", INITIAL)
    ours = lock_of(initial, (M + "0002_note.py", NOTE)).splitlines()
    theirs = lock_of(initial, (M + "0002_paid.py", PAID)).splitlines()
    conflicted = "\n".join(
        [*ours[:6], "<<<<<<< HEAD", ours[6], "=======", theirs[6], ">>>>>>> branch", *ours[7:]]
    )
    write_tree(
        tmp_path,
        [
            initial,
            (M + "0002_note.py", EDITED),
            (M + "0002_paid.py", PAID),
            ("migrations.lock", conflicted),
        ],
    )
    lock_file = lockfile.read(tmp_path / "migrations.lock")
    assert lock_file is not None and lock_file.conflicted
    assert sorted(lock_file.entries) == ["shop/0001_initial", "shop/0002_note", "shop/0002_paid"]
    assert M + "0002_note.py:7 ML201" in codes(tmp_path)


def test_two_records_of_one_migration_in_a_conflict(tmp_path: Path) -> None:
    initial = (M + "0001_initial.py", INITIAL)
    ours = lock_of(initial, (M + "0002_note.py", NOTE)).splitlines()
    theirs = lock_of(initial, (M + "0002_note.py", EDITED)).splitlines()
    conflicted = "\n".join(
        [*ours[:6], "<<<<<<< HEAD", ours[6], "=======", theirs[6], ">>>>>>> branch", *ours[7:]]
    )
    (tmp_path / "migrations.lock").write_text(conflicted)
    with pytest.raises(UsageError, match="two different records of 'shop/0002_note'"):
        lockfile.read(tmp_path / "migrations.lock")


def test_squash_workflow_retires_the_originals(tmp_path: Path) -> None:
    squash = (
        HEADER
        + '    replaces = [("shop", "0001_initial"), ("shop", "0002_note")]\n'
        + "    operations = []\n"
    )
    write_tree(
        tmp_path,
        [
            (M + "0001_initial.py", INITIAL),
            (M + "0002_note.py", NOTE),
            (M + "0001_squashed_0002_note.py", squash),
            (M + "0003_paid.py", PAID),
        ],
    )
    assert lock(tmp_path)[0] == 0
    # Once the squash ran everywhere: originals deleted, dependents moved, replaces removed.
    (tmp_path / M / "0001_initial.py").unlink()
    (tmp_path / M / "0002_note.py").unlink()
    write_tree(
        tmp_path,
        [
            (M + "0001_squashed_0002_note.py", HEADER + "    operations = []\n"),
            (M + "0003_paid.py", PAID.replace('"0002_note"', '"0001_squashed_0002_note"')),
        ],
    )
    assert lock(tmp_path, "--check") == (0, "migrations.lock: every recorded migration is intact\n")
    assert lock(tmp_path) == (
        0,
        "migrations.lock: recorded 2 migrations (0 new, 2 updated, 2 retired, 0 removed)\n",
    )
    data = json.loads((tmp_path / "migrations.lock").read_text())
    assert data["retired"] == {
        "shop/0001_initial": "shop/0001_squashed_0002_note",
        "shop/0002_note": "shop/0001_squashed_0002_note",
    }
    assert codes(tmp_path) == []


def test_lock_from_a_subfolder_records_the_whole_project(project: Path) -> None:
    write_tree(project, [("billing/migrations/0001_initial.py", INITIAL)])
    assert lock(project / "shop")[0] == 0
    data = json.loads((project / "migrations.lock").read_text())
    assert sorted(data["migrations"]) == [
        "billing/0001_initial",
        "shop/0001_initial",
        "shop/0002_note",
    ]


def test_noqa_on_the_operation_suppresses_ml201(project: Path) -> None:
    write_tree(
        project,
        [(M + "0002_note.py", EDITED.replace("(null=True)),", "(null=True)),  # noqa: ML201"))],
    )
    assert codes(project) == []


def test_lock_file_in_a_missing_folder(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert lock(project, "--lock-file", "no/such/folder/x.lock")[0] == 2
    one_error_line(capsys, "cannot write the lock file")
