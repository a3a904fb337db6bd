"""The git source of "already applied" (ML201-ML204), on real repositories made in a temp dir.

Every edge case of issue 5 is here: a branch's edits against the merge base, an explicit
``--base``, untracked and new files, CRLF only, a base version that does not parse, deletions,
renames (git's and a plain ``mv``), a renamed app folder, the squash workflow, a detached HEAD,
a shallow clone, no git at all, an unknown ref, a main branch that moved on, and migrations in a
MIGRATION_MODULES folder (project mode).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from migration_lint.cli import main
from migration_lint.findings import Finding
from migration_lint.lint import Options, run
from migration_lint.rules._history import HEADER, INITIAL, NOTE
from tests.helpers import chdir, write_tree

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

M = "shop/migrations/"
PAID = (
    HEADER
    + '    dependencies = [("shop", "0002_note")]\n'
    + '    operations = [migrations.AddField("order", "paid", models.BooleanField(default=False))]\n'
)


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        [
            "git",
            "-c",
            "user.email=t@example.com",
            "-c",
            "user.name=t",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
            *args,
        ],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def commit(root: Path, message: str = "change") -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """main: 0001_initial, 0002_note; HEAD: a feature branch from there."""
    root = tmp_path / "repo"
    root.mkdir()
    write_tree(root, [(M + "0001_initial.py", INITIAL), (M + "0002_note.py", NOTE)])
    git(root, "init", "-q")
    commit(root, "initial")
    git(root, "checkout", "-q", "-b", "feature")
    return root


def lint(root: Path, *paths: str, **options: object) -> tuple[list[Finding], list[str]]:
    opts = Options(paths=paths, source_only=True, use_cache=False, select=("ML2",), **options)  # type: ignore[arg-type]
    with chdir(root):
        result = run(opts)
    return result.findings, result.notes


def where(findings: Sequence[Finding]) -> list[str]:
    return [f"{f.path}:{f.line} {f.code}" for f in findings]


def cli(root: Path, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with chdir(root):
        code = main([*argv, "--source-only", "--no-cache", "--select", "ML2"], stdout=out)
    return code, out.getvalue()


EDITED = NOTE.replace('models.TextField(default="")', "models.TextField(null=True)")


# --- what the branch changed ---------------------------------------------------------------------


def test_an_edit_is_reported_against_the_merge_base_with_main(repo: Path) -> None:
    write_tree(repo, [(M + "0002_note.py", EDITED)])
    findings, _ = lint(repo)
    (found,) = findings
    assert (found.code, found.path, found.line) == ("ML201", M + "0002_note.py", 7)
    assert "merge base of HEAD and main" in found.message
    assert "field changed" in found.message
    revert, new = found.fix
    assert "- field=models.TextField(default='')" in revert.explanation
    assert "+ field=models.TextField(null=True)" in revert.explanation
    assert revert.code.startswith("git checkout ") and revert.code.endswith(M + "0002_note.py")
    assert new.path == M + "0003_alter_order_note.py"
    assert "migrations.AlterField(model_name='order', name='note'," in new.code
    assert "dependencies = [('shop', '0002_note')]" in new.code


def test_the_revert_command_restores_the_applied_version(repo: Path) -> None:
    write_tree(repo, [(M + "0002_note.py", EDITED)])
    (found,), _ = lint(repo)
    command = found.fix[0].code.split()
    subprocess.run(command, cwd=repo, check=True, capture_output=True)
    assert (repo / M / "0002_note.py").read_text() == NOTE
    assert lint(repo)[0] == []


def test_an_edit_committed_on_the_branch_is_still_reported(repo: Path) -> None:
    write_tree(repo, [(M + "0002_note.py", EDITED)])
    commit(repo)
    assert where(lint(repo)[0]) == [M + "0002_note.py:7 ML201"]


def test_pre_commit_passes_only_the_staged_file(repo: Path) -> None:
    write_tree(repo, [(M + "0002_note.py", EDITED)])
    git(repo, "add", M + "0002_note.py")
    assert where(lint(repo, M + "0002_note.py")[0]) == [M + "0002_note.py:7 ML201"]
    # Another file of the commit, another app: the edit is not this run's business.
    assert lint(repo, M + "0001_initial.py")[0] == []


def test_a_migration_added_on_the_branch_may_change(repo: Path) -> None:
    write_tree(repo, [(M + "0003_paid.py", PAID)])
    commit(repo)
    write_tree(repo, [(M + "0003_paid.py", PAID.replace("default=False", "null=True"))])
    assert lint(repo)[0] == []


def test_an_untracked_file_is_new(repo: Path) -> None:
    write_tree(repo, [(M + "0003_paid.py", PAID)])
    assert lint(repo)[0] == []


def test_crlf_line_endings_only_are_not_a_change(repo: Path) -> None:
    (repo / M / "0002_note.py").write_bytes(NOTE.replace("\n", "\r\n").encode())
    assert git(repo, "diff", "--name-only").split() == [M + "0002_note.py"]  # git sees a change
    assert lint(repo)[0] == []


def test_reformatting_is_not_a_change(repo: Path) -> None:
    reformatted = NOTE.replace(
        'migrations.AddField("order", "note", models.TextField(default="")),',
        'migrations.AddField(\n            model_name="order",  # the order\n'
        '            name="note",\n            field=models.TextField(default=""),\n        ),',
    )
    write_tree(repo, [(M + "0002_note.py", reformatted)])
    assert lint(repo)[0] == []


def test_a_base_version_that_does_not_parse_is_a_warning(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    broken = NOTE.replace("operations = [", "<<<<<<< HEAD\n    operations = [")
    write_tree(root, [(M + "0001_initial.py", INITIAL), (M + "0002_note.py", broken)])
    git(root, "init", "-q")
    commit(root)
    git(root, "checkout", "-q", "-b", "fix")
    write_tree(root, [(M + "0002_note.py", NOTE)])
    (found,) = lint(root)[0]
    assert (found.code, str(found.severity)) == ("ML201", "warning")
    assert "does not parse" in found.message and "line 6" in found.message


def test_a_file_that_does_not_parse_now_is_left_to_ml901(repo: Path) -> None:
    write_tree(repo, [(M + "0002_note.py", NOTE + "\n    oops(\n")])
    assert lint(repo)[0] == []


# --- explicit base --------------------------------------------------------------------------------


def test_explicit_base(repo: Path) -> None:
    write_tree(repo, [(M + "0002_note.py", EDITED)])
    commit(repo)
    assert where(lint(repo, since="main")[0]) == [M + "0002_note.py:7 ML201"]
    # What exists at the base counts as applied: HEAD holds the edited version already.
    assert lint(repo, since="HEAD")[0] == []


def test_unknown_base_is_a_one_line_error(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = cli(repo, "--base", "no-such-ref")
    assert (code, out) == (2, "")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no-such-ref" in err


def test_base_from_configuration(repo: Path) -> None:
    write_tree(repo, [("pyproject.toml", '[tool.migration_lint]\nmain-branch = "release"\n')])
    git(repo, "branch", "release", "main")
    write_tree(repo, [(M + "0002_note.py", EDITED)])
    findings, _ = lint(repo)
    assert "merge base of HEAD and release" in findings[0].message


def test_no_main_branch_is_a_note(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    write_tree(root, [(M + "0001_initial.py", INITIAL), (M + "0002_note.py", NOTE)])
    git(root, "init", "-q", "-b", "trunk")
    commit(root)
    write_tree(root, [(M + "0002_note.py", EDITED)])
    findings, notes = lint(root)
    assert findings == []
    assert any("no origin/main / main / origin/master / master branch" in n for n in notes)


def test_detached_head(repo: Path) -> None:
    write_tree(repo, [(M + "0002_note.py", EDITED)])
    commit(repo)
    git(repo, "checkout", "-q", "--detach", "HEAD")
    assert where(lint(repo)[0]) == [M + "0002_note.py:7 ML201"]


# --- deleted and renamed --------------------------------------------------------------------------


def test_a_deleted_migration(repo: Path) -> None:
    git(repo, "rm", "-q", M + "0002_note.py")
    (found,) = lint(repo)[0]
    assert (found.code, found.path, found.line) == ("ML202", M + "0002_note.py", 1)
    assert "its file is gone" in found.message
    restore, reverse = found.fix
    assert restore.code.startswith("git checkout ")
    assert "migrations.RemoveField(model_name='order', name='note')" in reverse.code
    assert "dependencies = [('shop', '0001_initial')]" in reverse.code


def test_a_renamed_migration(repo: Path) -> None:
    git(repo, "mv", M + "0002_note.py", M + "0002_memo.py")
    (found,) = lint(repo)[0]
    assert (found.code, found.path) == ("ML202", M + "0002_memo.py")
    assert "renamed to 0002_memo" in found.message
    assert found.fix[0].code == f"git mv {M}0002_memo.py {M}0002_note.py"


def test_a_migration_renamed_without_git_mv(repo: Path) -> None:
    (repo / M / "0002_note.py").rename(repo / M / "0002_memo.py")
    (found,) = lint(repo)[0]
    assert (found.code, found.path) == ("ML202", M + "0002_memo.py")


def test_a_renamed_app_folder(repo: Path) -> None:
    git(repo, "mv", "shop", "store")
    (found,) = lint(repo)[0]
    assert found.code == "ML202"
    assert found.path == "store/migrations/0001_initial.py"
    assert "the 2 migrations of shop" in found.message and "app store" in found.message
    assert "label = 'shop'" in found.fix[0].code


def test_a_renamed_app_folder_that_keeps_its_label(repo: Path) -> None:
    git(repo, "mv", "shop", "store")
    apps = 'from django.apps import AppConfig\n\n\nclass StoreConfig(AppConfig):\n    name = "store"\n    label = "shop"\n'
    write_tree(repo, [("store/apps.py", apps)])
    assert [f.code for f in lint(repo)[0] if f.code == "ML202"] == []


def test_squashed_originals_deleted_after_the_squash_ran(repo: Path) -> None:
    squash = (
        HEADER
        + '    replaces = [("shop", "0001_initial"), ("shop", "0002_note")]\n'
        + "    operations = []\n"
    )
    write_tree(repo, [(M + "0001_squashed_0002_note.py", squash), (M + "0003_paid.py", PAID)])
    git(repo, "checkout", "-q", "main")
    commit(repo, "squash")
    git(repo, "checkout", "-q", "feature")
    git(repo, "merge", "-q", "main")
    # Django's last step: delete the originals, point dependents at the squash, drop replaces.
    git(repo, "rm", "-q", M + "0001_initial.py", M + "0002_note.py")
    write_tree(
        repo,
        [
            (M + "0001_squashed_0002_note.py", HEADER + "    operations = []\n"),
            (M + "0003_paid.py", PAID.replace('"0002_note"', '"0001_squashed_0002_note"')),
        ],
    )
    assert lint(repo)[0] == []


# --- where the base cannot be reached --------------------------------------------------------------


def test_shallow_clone_without_the_merge_base(tmp_path: Path, repo: Path) -> None:
    for n in range(3):
        write_tree(repo, [(f"docs/{n}.txt", "x")])
        commit(repo, f"feature {n}")
    git(repo, "checkout", "-q", "main")
    write_tree(repo, [("docs/main.txt", "x")])
    commit(repo, "main moves on")
    git(repo, "checkout", "-q", "feature")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", "--no-single-branch", repo.as_uri(), str(clone))
    write_tree(clone, [(M + "0002_note.py", EDITED)])
    findings, notes = lint(clone)
    assert findings == []
    assert any("shallow clone" in n and "fetch-depth" in n and "lock file" in n for n in notes)


def test_shallow_clone_with_a_lock_file(tmp_path: Path, repo: Path) -> None:
    with chdir(repo):
        assert main(["lock", "--source-only"], stdout=io.StringIO()) == 0
    commit(repo, "lock")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", repo.as_uri(), str(clone))
    write_tree(clone, [(M + "0002_note.py", EDITED)])
    assert where(lint(clone)[0]) == [M + "0002_note.py:7 ML201"]


def test_explicit_base_missing_from_a_shallow_clone(
    tmp_path: Path, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = git(repo, "rev-parse", "HEAD").strip()
    write_tree(repo, [("docs/a.txt", "x")])
    commit(repo)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", repo.as_uri(), str(clone))
    code, out = cli(clone, "--base", first)
    assert (code, out) == (2, "")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and first in err


def test_no_git_command(repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with chdir(repo):
        assert main(["lock", "--source-only"], stdout=io.StringIO()) == 0
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    write_tree(repo, [(M + "0002_note.py", EDITED)])
    findings, notes = lint(repo)
    assert where(findings) == [M + "0002_note.py:7 ML201"]  # from the lock file
    assert any("not a git work tree (or no git)" in n for n in notes)


def test_not_a_git_work_tree(tmp_path: Path) -> None:
    write_tree(tmp_path, [(M + "0001_initial.py", INITIAL), (M + "0002_note.py", EDITED)])
    findings, notes = lint(tmp_path)
    assert findings == []
    assert any("no git base, no migrations.lock and no --data-url" in n for n in notes)


# --- the main branch moved on ----------------------------------------------------------------------


@pytest.fixture
def behind(repo: Path) -> Path:
    """main gained 0003_refund after the branch forked; the branch adds 0003_paid."""
    git(repo, "checkout", "-q", "main")
    refund = PAID.replace('"paid"', '"refunded"')
    write_tree(repo, [(M + "0003_refund.py", refund)])
    commit(repo, "refund")
    git(repo, "checkout", "-q", "feature")
    write_tree(repo, [(M + "0003_paid.py", PAID)])
    commit(repo, "paid")
    return repo


def test_a_new_migration_that_will_conflict_with_main(behind: Path) -> None:
    (found,) = lint(behind)[0]
    assert (found.code, str(found.severity), found.path) == ("ML204", "warning", M + "0003_paid.py")
    assert "will conflict with 0003_refund" in found.message
    assert "dependencies = [('shop', '0003_refund')]" in found.fix[0].code


def test_explicit_base_ahead_of_the_fork(behind: Path) -> None:
    """main's new migration is not in the work tree, but this branch did not delete it."""
    findings, _ = lint(behind, since="main")
    assert [f.code for f in findings] == ["ML204"]


def test_after_the_merge_the_graph_has_two_leaves(behind: Path) -> None:
    git(behind, "merge", "-q", "--no-edit", "main")
    (found,) = lint(behind)[0]
    assert (found.code, str(found.severity), found.path) == ("ML204", "error", M + "0003_paid.py")
    assert "0003_paid, 0003_refund" in found.message


# --- MIGRATION_MODULES (project mode) --------------------------------------------------------------


def test_migrations_in_a_migration_modules_folder(tmp_path: Path) -> None:
    pytest.importorskip("django")
    root = tmp_path / "repo"
    root.mkdir()
    folder = "shop/db_migrations/"
    settings = (
        "SECRET_KEY = 'x'\nINSTALLED_APPS = ['shop']\n"
        "DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': ':memory:'}}\n"
        "MIGRATION_MODULES = {'shop': 'shop.db_migrations'}\n"
    )
    write_tree(
        root,
        [
            (
                "manage.py",
                "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'proj.settings')\n",
            ),
            ("proj/__init__.py", ""),
            ("proj/settings.py", settings),
            ("shop/__init__.py", ""),
            (folder + "__init__.py", ""),
            (folder + "0001_initial.py", INITIAL),
            (folder + "0002_note.py", NOTE),
        ],
    )
    git(root, "init", "-q")
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    locked = subprocess.run(
        [sys.executable, "-m", "migration_lint", "lock"],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert locked.returncode == 0, locked.stderr
    recorded = json.loads((root / "migrations.lock").read_text())["migrations"]
    assert recorded["shop/0002_note"]["path"] == folder + "0002_note.py"
    commit(root)
    git(root, "checkout", "-q", "-b", "feature")
    write_tree(root, [(folder + "0002_note.py", EDITED)])
    git(root, "mv", folder + "0001_initial.py", folder + "0001_first.py")
    result = subprocess.run(
        [sys.executable, "-m", "migration_lint", "--select", "ML2", "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert f"{folder}0002_note.py:7:9: ML201" in result.stdout
    assert f"{folder}0001_first.py:4:1: ML202" in result.stdout
