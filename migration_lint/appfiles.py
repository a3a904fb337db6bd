"""Which application files the get_or_create scan reads, found without parsing: a run in
which no file mentions the methods never imports the scan (:mod:`migration_lint.appscan`), and
a file is parsed only when its bytes name one of them."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from migration_lint.discover import _SKIP_DIRS

if TYPE_CHECKING:
    from migration_lint.context import LintContext

METHODS = ("get_or_create", "update_or_create", "aget_or_create", "aupdate_or_create")
# ``aget_or_create`` contains ``get_or_create``: two needles find all four spellings.
NEEDLES = (b"get_or_create", b"update_or_create")


def _skip_dir(dirpath: str, name: str) -> bool:
    return (
        name.startswith(".")
        or name in _SKIP_DIRS
        or name == "migrations"
        or os.path.exists(os.path.join(dirpath, name, "pyvenv.cfg"))
    )


def walk_python_files(root: Path) -> Iterator[Path]:
    """Every ``.py`` file under ``root`` outside venvs, hidden folders and migrations folders."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not _skip_dir(dirpath, d))
        for name in sorted(filenames):
            if name.endswith(".py"):
                yield Path(dirpath, name)


def is_migration_path(path: Path) -> bool:
    return path.parent.name == "migrations"


def application_files(root: Path, paths: Sequence[str]) -> list[Path]:
    """The application modules to scan: the non-migration paths given, else the whole root."""
    explicit: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            if path.name == "migrations":
                continue
            explicit.extend(walk_python_files(path.resolve()))
        elif path.suffix == ".py" and path.is_file() and not is_migration_path(path.resolve()):
            explicit.append(path.resolve())
    if explicit or any(Path(p).is_dir() and Path(p).name != "migrations" for p in paths):
        return sorted(set(explicit))
    return list(walk_python_files(root))


def module_name(path: Path, root: Path) -> str:
    """``root/shop/views.py`` -> ``shop.views``; ``shop/__init__.py`` -> ``shop``."""
    try:
        parts = list(path.resolve().relative_to(root.resolve()).parts)
    except ValueError:
        parts = [path.parent.name, path.name]
    if not parts:
        return ""
    parts[-1] = parts[-1].removesuffix(".py")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(p for p in parts if p.isidentifier())


def contains_needle(data: bytes) -> bool:
    return any(needle in data for needle in NEEDLES)


def any_call(ctx: LintContext) -> bool:
    """Whether any file the scan would read (application files, linted migrations) mentions
    one of the methods; the answer is kept for the run."""
    found = ctx.memo.get("appfiles_any_call")
    if found is None:
        paths = ctx.options.paths if ctx.options else ()
        found = ctx.memo["appfiles_any_call"] = any(
            _mentions(path) for path in application_files(ctx.root, paths)
        ) or any(contains_needle(migration_bytes(ctx, t.path) or b"") for t in ctx.targets)
    return bool(found)


def migration_bytes(ctx: LintContext, shown: str) -> bytes | None:
    """A linted migration's content as the run read it (the run keeps what it read, so that
    thousands of files are not read again), or from disk; None when it cannot be read."""
    sources: Mapping[str, bytes] = ctx.memo.get("sources", {})  # type: ignore[assignment]
    data = sources.get(shown)
    if data is not None:
        return data
    try:
        return Path(shown).read_bytes()
    except OSError:
        return None


def _mentions(path: Path) -> bool:
    try:
        return contains_needle(path.read_bytes())
    except OSError:
        return False
