"""The whole run's findings, cached: a run that changes nothing answers from here.

The key covers everything a source-mode result depends on: the tool's code, the options, the
content of every migration file, and, when rules read them, the application code (size and
modification time of each Python file) and the git commits the history rules compare with.
Runs that read databases or need a project are never cached. Like the facts cache, the file
is only ever unpickled into this tool's own classes, and deleting it is always safe.

The findings are stored as the rules' units pickled them, while other processes were still at
work, with the order the suppress stage kept: pickling every finding at the end of a large run
took a tenth of a second with the other cores idle.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import pickle
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from migration_lint import __version__
from migration_lint.cache import CACHE_DIR, committed, replace_file
from migration_lint.findings import Finding

if TYPE_CHECKING:
    from migration_lint.lint import RulesOutput

_ALLOWED = {
    "migration_lint.findings": None,
    "builtins": frozenset(
        {"dict", "list", "tuple", "set", "frozenset", "bytes", "str", "int", "float", "bool"}
    ),
}


def _code_digest() -> bytes:
    package = Path(__file__).resolve().parent
    h = hashlib.blake2b(__version__.encode(), digest_size=16)
    for path in sorted(package.rglob("*.py")):
        with contextlib.suppress(OSError):
            h.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return h.digest()


def _git_heads(root: Path) -> bytes:
    """The commits the history rules may compare with; empty outside git."""
    if not any((d / ".git").exists() for d in (root, *root.parents)):
        return b""
    refs = ["HEAD", "origin/main", "main", "origin/master", "master"]
    try:
        done = subprocess.run(
            ["git", "rev-parse", *refs], cwd=root, capture_output=True, check=False, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return b"no-git"
    return done.stdout


def _app_code(root: Path) -> bytes:
    """Size and modification time of every Python file outside migrations folders."""
    h = hashlib.blake2b(digest_size=16)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d
            for d in dirnames
            if not d.startswith(".") and d not in ("node_modules", "__pycache__")
        )
        if os.path.basename(dirpath) == "migrations":
            continue
        for name in sorted(filenames):
            if name.endswith(".py"):
                with contextlib.suppress(OSError):
                    st = os.stat(os.path.join(dirpath, name))
                    h.update(f"{dirpath}/{name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.digest()


def run_key(
    root: Path,
    options: object,
    file_digests: Iterable[bytes],
    app_code: bool,
    extra_files: Iterable[Path] = (),
) -> bytes:
    h = hashlib.blake2b(_code_digest(), digest_size=20)
    h.update(repr(options).encode())
    for digest in file_digests:
        h.update(digest)
    h.update(_git_heads(root))
    if app_code:
        h.update(_app_code(root))
    for path in extra_files:
        with contextlib.suppress(OSError):
            h.update(path.read_bytes())
    return h.digest()


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> object:
        allowed = _ALLOWED.get(module, frozenset())
        if (allowed is None and not name.startswith("_")) or (allowed and name in allowed):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in the result cache")


def _file(root: Path) -> Path:
    return root / CACHE_DIR / "results.pickle"


def stored(root: Path) -> bool:
    """Whether there is a result to look up (none before a first run)."""
    return _file(root).exists()


def load(root: Path, key: bytes) -> tuple[list[Finding], int, list[str]] | None:
    if _file(root).exists() and committed(_file(root).parent):
        return None
    try:
        with _file(root).open("rb") as handle:
            stored = _Unpickler(handle).load()
        stored_key, pickled, order, checked, notes = stored
        if stored_key != key:
            return None
        found = [f for part in pickled for f in _Unpickler(io.BytesIO(part)).load()]
        findings = [found[entry] if isinstance(entry, int) else entry for entry in order]
    except Exception:  # noqa: BLE001 - a missing or foreign cache is a miss
        return None
    if not all(isinstance(f, Finding) for f in findings):
        return None
    return findings, checked, notes


def save(
    root: Path,
    key: bytes,
    found: RulesOutput,
    findings: list[Finding],
    checked: int,
    notes: list[str],
) -> None:
    """``findings`` (what the run reports) as the rules' ``found`` findings, which their units
    pickled already, and the order the suppress stage kept: only a finding that stage made or
    changed (an unused suppression, a severity) is pickled here."""
    path = _file(root)
    if path.parent.is_dir() and committed(path.parent):
        return  # never rewrite files git tracks
    position = {id(f): index for index, f in enumerate(found.findings)}
    order = [position.get(id(f), f) for f in findings]
    replace_file(path, (key, found.pickled, order, checked, notes), ".results-")
