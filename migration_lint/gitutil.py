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
        raise UsageError(f"--since: {missing_ref_message(ref, top)}")
    # Compare with where the branch left REF (as `git diff REF...` does), so that commits made
    # on REF since then are not taken for this branch's changes.
    base = _git(["merge-base", ref, "HEAD"], top)
    since = base.stdout.strip() if base.returncode == 0 and base.stdout.strip() else ref
    diff = _git(["diff", "--name-only", "--no-renames", "-z", since, "--"], top)
    if diff.returncode != 0:
        raise UsageError(f"--since: git diff against {ref!r} failed: {diff.stderr.strip()}")
    untracked = _git(["ls-files", "--others", "--exclude-standard", "-z"], top)
    names = [n for n in (diff.stdout + untracked.stdout).split("\0") if n]
    return {(top / name).resolve() for name in names}


# --- history integrity (ML2xx): the base a branch started from, and what a commit holds --------


def _git_bytes(
    args: list[str], cwd: Path, data: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, input=data, capture_output=True, check=False)
    except FileNotFoundError:
        raise UsageError("no git command was found") from None


def find_toplevel(cwd: Path) -> Path | None:
    """The work tree's top folder, None outside a git work tree (or without git)."""
    try:
        result = _git(["rev-parse", "--show-toplevel"], cwd)
    except UsageError:
        return None
    if result.returncode != 0 or not result.stdout.strip():
        return None
    return Path(result.stdout.strip())


def commit_of(ref: str, top: Path) -> str | None:
    """The full hash of the commit ``ref`` names, None when this repository does not have it."""
    result = _git(
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"], top
    )
    return result.stdout.strip() or None if result.returncode == 0 else None


def is_shallow(top: Path) -> bool:
    result = _git(["rev-parse", "--is-shallow-repository"], top)
    return result.stdout.strip() == "true"


def merge_base(a: str, b: str, top: Path) -> str | None:
    """The best common ancestor of two commits; None when this clone holds none (shallow)."""
    result = _git(["merge-base", a, b], top)
    return result.stdout.strip() or None if result.returncode == 0 else None


def missing_ref_message(ref: str, top: Path) -> str:
    """Why ``ref`` cannot be used, with the way out (a shallow clone lacks old commits)."""
    if is_shallow(top):
        return (
            f"git ref {ref!r} is not in this shallow clone: fetch more history "
            "(git fetch --deepen=N, or fetch-depth: 0 in CI) or commit a lock file "
            "(migration-lint lock)"
        )
    return f"unknown git ref {ref!r}"


def diff_status(base: str, top: Path) -> list[tuple[str, str, str]]:
    """``(status, old path, new path)`` for every file that differs between the commit ``base``
    and the work tree, renames detected (paths relative to ``top``; untracked files are not
    listed). Status is git's letter: A, D, M, R, T ...; ``old`` is empty for A, ``new`` for D."""
    result = _git_bytes(
        ["diff", "--name-status", "-z", "-M", "--no-ext-diff", "--ignore-submodules", base, "--"],
        top,
    )
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UsageError(f"git diff against {base[:12]} failed: {message[0] if message else ''}")
    fields = result.stdout.decode("utf-8", "surrogateescape").split("\0")
    out: list[tuple[str, str, str]] = []
    i = 0
    while i < len(fields) and fields[i]:
        status = fields[i][0]
        if status in "RC":
            out.append((status, fields[i + 1], fields[i + 2]))
            i += 3
        elif status == "D":
            out.append((status, fields[i + 1], ""))
            i += 2
        elif status == "A":
            out.append((status, "", fields[i + 1]))
            i += 2
        else:
            out.append((status, fields[i + 1], fields[i + 1]))
            i += 2
    return out


def added_between(old: str, new: str, top: Path) -> list[str]:
    """Paths (relative to ``top``) of files that commit ``new`` has and commit ``old`` had not."""
    result = _git_bytes(
        ["diff", "--name-only", "-z", "--no-renames", "--diff-filter=A", old, new, "--"], top
    )
    if result.returncode != 0:
        return []
    return [p for p in result.stdout.decode("utf-8", "surrogateescape").split("\0") if p]


def read_blobs(commit: str, paths: list[str], top: Path) -> dict[str, bytes | None]:
    """The content of each path at ``commit`` (None where the commit has no such file), read in
    one ``git cat-file --batch`` process."""
    paths = [p for p in paths if "\n" not in p]
    if not paths:
        return {}
    request = "".join(f"{commit}:{p}\n" for p in paths).encode("utf-8", "surrogateescape")
    result = _git_bytes(["cat-file", "--batch"], top, request)
    out: dict[str, bytes | None] = {}
    data = result.stdout
    pos = 0
    for path in paths:
        end = data.find(b"\n", pos)
        if end < 0:
            out[path] = None
            continue
        header = data[pos:end].split()
        pos = end + 1
        if len(header) == 3 and header[1] == b"blob":
            size = int(header[2])
            out[path] = data[pos : pos + size]
            pos += size + 1
        elif len(header) == 3:  # a tree or a submodule at that path: not a file
            pos += int(header[2]) + 1
            out[path] = None
        else:  # "<object> missing"
            out[path] = None
    return out


def exists_at(commit: str, paths: list[str], top: Path) -> set[str]:
    """Which of ``paths`` are files at ``commit`` (one ``git cat-file --batch-check``)."""
    paths = [p for p in paths if "\n" not in p]
    if not paths:
        return set()
    request = "".join(f"{commit}:{p}\n" for p in paths).encode("utf-8", "surrogateescape")
    result = _git_bytes(["cat-file", "--batch-check"], top, request)
    lines = result.stdout.decode("utf-8", "replace").splitlines()
    return {p for p, line in zip(paths, lines, strict=False) if line.split()[1:2] == ["blob"]}
