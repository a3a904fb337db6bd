"""The few git questions the linter asks, through the ``git`` command."""

from __future__ import annotations

import subprocess
from pathlib import Path

from migration_lint.errors import UsageError


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise UsageError("--since needs git, and no git command was found") from None


def toplevel(cwd: Path) -> Path:
    result = _git(["rev-parse", "--show-toplevel"], cwd)
    if result.returncode != 0:
        raise UsageError(f"--since: {cwd} is not inside a git repository")
    return Path(result.stdout.strip())


def changed_files(ref: str, cwd: Path) -> set[Path]:
    """Files that differ between ``ref`` and the working tree, plus untracked files."""
    if ref.startswith("-"):
        # It would reach git as an option (``--output=FILE`` writes a file).
        raise UsageError(f"--since: {ref!r} is not a git ref")
    top = toplevel(cwd)
    check = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], top)
    if check.returncode != 0:
        raise UsageError(f"--since: unknown git ref {ref!r}")
    diff = _git(["diff", "--name-only", "--no-renames", "-z", ref, "--"], top)
    if diff.returncode != 0:
        raise UsageError(f"--since: git diff against {ref!r} failed: {diff.stderr.strip()}")
    untracked = _git(["ls-files", "--others", "--exclude-standard", "-z"], top)
    names = [n for n in (diff.stdout + untracked.stdout).split("\0") if n]
    return {(top / name).resolve() for name in names}
