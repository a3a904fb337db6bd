"""The pre-commit hook, run by the real pre-commit against a throw-away git repository.

``pre-commit try-repo`` installs this project into pre-commit's own virtualenv (from PyPI for
Django and sqlparse) and runs the hook from ``.pre-commit-hooks.yaml`` on the files given,
as a user's commit would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

pytest.importorskip("pre_commit", reason="pre-commit is not installed (pip install -e '.[test]')")
pytestmark = pytest.mark.skipif(
    shutil.which("git") is None, reason="git is not installed: pre-commit needs it"
)

ROOT = Path(__file__).resolve().parent.parent
# What a build of the project needs, when the project is not a git work tree to ask.
PROJECT_PATHS = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "migration_lint", "rules")

GOOD = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.AddField("order", "note", models.TextField(null=True))]
"""

CONFLICTED = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
<<<<<<< HEAD
    operations = [migrations.AddField("order", "note", models.TextField(default=""))]
=======
    operations = [migrations.AddField("order", "memo", models.TextField(default=""))]
>>>>>>> feature
"""

INITIAL = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel("Order", [("id", models.AutoField(primary_key=True))]),
    ]
"""


def git(cwd: Path, *args: str, env: Mapping[str, str]) -> str:
    result = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def commit_all(repo: Path, env: Mapping[str, str]) -> None:
    git(repo, "add", "-A", env=env)
    git(repo, "commit", "-q", "--no-verify", "-m", "snapshot", env=env)


def project_files() -> list[Path]:
    """The project's files: tracked and untracked-but-not-ignored when it is a git work tree."""
    if (ROOT / ".git").exists():
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            env={k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
            capture_output=True,
            check=True,
        ).stdout.decode()
        return [Path(name) for name in listed.split("\0") if name and (ROOT / name).is_file()]
    files: list[Path] = []
    for name in PROJECT_PATHS:
        path = ROOT / name
        found = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        files.extend(p.relative_to(ROOT) for p in found if "__pycache__" not in p.parts)
    return files


@pytest.fixture(scope="session")
def git_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A git and pre-commit environment that no user or outer repository configuration reaches."""
    gitconfig = tmp_path_factory.mktemp("git") / "config"
    gitconfig.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env.update(
        GIT_CONFIG_GLOBAL=str(gitconfig),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Test",
        GIT_AUTHOR_EMAIL="test@example.com",
        GIT_COMMITTER_NAME="Test",
        GIT_COMMITTER_EMAIL="test@example.com",
        # try-repo builds the hook's environment in a store of its own; this keeps anything
        # else pre-commit writes out of the user's cache.
        PRE_COMMIT_HOME=str(tmp_path_factory.mktemp("pre-commit-home")),
        NO_COLOR="1",
    )
    return env


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory, git_env: dict[str, str]) -> Path:
    """A committed copy of this project, which is what ``try-repo`` clones."""
    repo = tmp_path_factory.mktemp("hook-repo")
    for relative in project_files():
        target = repo / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / relative, target)
    assert (repo / ".pre-commit-hooks.yaml").is_file()
    git(repo, "init", "-q", env=git_env)
    commit_all(repo, git_env)
    return repo


@pytest.fixture
def user_repo(tmp_path: Path, git_env: dict[str, str]) -> Path:
    repo = tmp_path / "project"
    migrations = repo / "shop" / "migrations"
    migrations.mkdir(parents=True)
    (repo / "shop" / "__init__.py").write_text("")
    (migrations / "__init__.py").write_text("")
    (migrations / "0001_initial.py").write_text(INITIAL)
    git(repo, "init", "-q", env=git_env)
    commit_all(repo, git_env)
    return repo


def try_repo(
    user_repo: Path, hook_repo: Path, env: Mapping[str, str], *files: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *(sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), "migration-lint"),
            *("--color", "never", "--verbose", "--files", *files),
        ],
        cwd=user_repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_hook_fails_on_conflicted_migration(
    user_repo: Path, hook_repo: Path, git_env: dict[str, str]
) -> None:
    path = "shop/migrations/0002_order_note.py"
    (user_repo / path).write_text(CONFLICTED)
    commit_all(user_repo, git_env)

    result = try_repo(user_repo, hook_repo, git_env, path)

    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Failed" in output, output
    assert f"{path}:6:1: ML901" in output, output


def test_hook_passes_good_migration(
    user_repo: Path, hook_repo: Path, git_env: dict[str, str]
) -> None:
    path = "shop/migrations/0002_order_note.py"
    (user_repo / path).write_text(GOOD)
    commit_all(user_repo, git_env)

    result = try_repo(user_repo, hook_repo, git_env, path, "shop/migrations/__init__.py")

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Passed" in output, output
    assert "ML9" not in output, output
