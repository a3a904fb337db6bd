"""Which migration files exist under a root, which of them to lint, and their app labels.

Without a Django project the app label is the name of the package holding ``migrations/``
(Django's default label); the project loader replaces this with the registry's labels.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from migration_lint.errors import UsageError

_SKIP_DIRS = frozenset(
    {"node_modules", "__pycache__", "site-packages", "venv", "env", "build", "dist", "htmlcov"}
)


@dataclass(frozen=True)
class MigrationFile:
    path: Path
    app_label: str
    module: str = ""

    @property
    def name(self) -> str:
        return self.path.stem


def is_migration_name(name: str) -> bool:
    # Django's loader skips modules whose names start with "_" or "~"; ".py" alone has no
    # suffix, as pathlib sees it.
    return name.endswith(".py") and len(name) > 3 and not name.startswith(("_", "~"))


def migration_files(directory: Path, app_label: str, module: str = "") -> list[MigrationFile]:
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return []
    return [
        # ``directory / name`` parses the name only, where Path(e.path) parses the whole path.
        MigrationFile(directory / e.name, app_label, f"{module}.{e.name[:-3]}" if module else "")
        for e in entries
        if e.is_file() and is_migration_name(e.name)
    ]


def _walk_migration_dirs(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, _ in os.walk(root):
        # Virtual environments and tool caches hold other projects' migrations.
        dirnames[:] = [
            d
            for d in dirnames
            if not d.startswith(".")
            and d not in _SKIP_DIRS
            and not os.path.exists(os.path.join(dirpath, d, "pyvenv.cfg"))
        ]
        if os.path.basename(dirpath) == "migrations":
            yield Path(dirpath)


def find_all(root: Path) -> list[MigrationFile]:
    """Every migration file under ``root``, app label taken from the folder above ``migrations``."""
    files: list[MigrationFile] = []
    for directory in _walk_migration_dirs(root):
        files.extend(migration_files(directory, directory.parent.name))
    return files


def app_label_for(path: Path) -> str:
    """``shop/migrations/0002_x.py`` -> ``shop``; a file elsewhere takes its folder's parent."""
    parent = path.parent
    if parent.name == "migrations":
        return parent.parent.name
    return parent.parent.name if parent.parent.name else parent.name


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is below ``folder`` (both resolved)."""
    if os.name != "posix":  # paths may differ in case only: pathlib decides
        return folder in path.parents
    # A prefix test: ``folder in path.parents`` builds and compares every parent, for each of
    # the thousands of files under the folder a command line names (``migration-lint .``).
    base = str(folder)
    return str(path).startswith(base if base.endswith(os.sep) else base + os.sep)


def select_paths(paths: Iterable[str], known: Iterable[MigrationFile]) -> list[MigrationFile]:
    """The migration files named by ``paths`` (files or folders); missing paths are usage errors."""
    # Known files come from a resolved root already; resolving 3,000 paths again is slow.
    by_path = {f.path: f for f in known}
    selected: dict[Path, MigrationFile] = {}
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise UsageError(f"{raw}: no such file or directory")
        if path.is_dir():
            folder = path.resolve()
            found = [f for f in by_path.values() if _inside(f.path, folder)]
            if not found and path.name == "migrations":
                found = migration_files(folder, folder.parent.name)
            for f in found:
                selected.setdefault(f.path, f)
            continue
        if path.suffix != ".py" or path.name.startswith("~"):
            continue  # pre-commit may pass any file its pattern matched; not ours to judge
        resolved = path.resolve()
        selected.setdefault(
            resolved, by_path.get(resolved) or MigrationFile(resolved, app_label_for(resolved))
        )
    return sorted(selected.values(), key=lambda f: (f.app_label, f.path.name))
