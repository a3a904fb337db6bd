"""Caches of what parsing a file gives (migration facts, application-code scans), keyed by
file content and the code that parses it.

One pickle per kind under ``.migration_lint_cache/``; deleting the folder is always safe.
A cache that cannot be read or written is ignored: it only ever saves time. The file maps each
key to its value's own pickle, so that a run that changed one file writes the others back as
the bytes it read, without building and pickling them again. New values come pickled by the
processes that made them (the parse units, :meth:`PickleCache.put_pickled`), or are pickled
when the file is written, by a forked process where one can be had
(:mod:`migration_lint.background`).

The folder lives in the checkout, so a pull request can put a file there: unpickling it may
only build the cached values' own classes, paths and plain containers, never call anything
else.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import io
import os
import pickle
import subprocess
import tempfile
from pathlib import Path
from typing import IO, ClassVar, Generic, TypeVar

from migration_lint import __version__, background
from migration_lint.facts import MigrationFacts

V = TypeVar("V")

CACHE_DIR = ".migration_lint_cache"
_BUILTINS = frozenset({"dict", "list", "tuple", "set", "frozenset", "bytes", "str", "int", "float"})
_PATHS = frozenset({"Path", "PosixPath", "WindowsPath", "PurePosixPath", "PureWindowsPath"})


def _fingerprint(sources: list[Path]) -> str:
    """The tool version plus a digest of the code that builds the cached values: an edit to
    it (between releases, or in a development checkout) must not serve what the old code made."""
    h = hashlib.blake2b(__version__.encode(), digest_size=6)
    for path in sorted(sources):
        with contextlib.suppress(OSError):
            h.update(path.name.encode() + b"\0" + path.read_bytes())
    return f"{__version__}-{h.hexdigest()}"


class _Unpickler(pickle.Unpickler):
    """Builds only the given modules' public classes, plain containers and paths."""

    def __init__(self, handle: IO[bytes], modules: frozenset[str]) -> None:
        super().__init__(handle)
        self.modules = modules

    def find_class(self, module: str, name: str) -> object:
        if (module == "builtins" and name in _BUILTINS) or (module == "pathlib" and name in _PATHS):
            return super().find_class(module, name)
        if module in self.modules and not name.startswith("_"):
            # Only the value classes: a function of the module (or another class) could be
            # called by the pickle with arguments of its choosing.
            found = super().find_class(module, name)
            if isinstance(found, type) and dataclasses.is_dataclass(found):
                return found
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in the cache")


@functools.cache
def committed(folder: Path) -> bool:
    """Whether git tracks a file in the cache folder. Such a cache came with the checkout (a
    pull request can add one with ``git add -f``) and could hold false values for the exact
    content of a file, hiding a finding: it is neither read nor written."""
    if not folder.is_dir():
        return False
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--", "."],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return listed.returncode == 0 and bool(listed.stdout.strip())


def digest(data: bytes, app_label: str, display_path: str) -> bytes:
    h = hashlib.blake2b(data, digest_size=16)
    h.update(b"\0" + app_label.encode() + b"\0" + display_path.encode())
    return h.digest()


class PickleCache(Generic[V]):
    """Values by key in one pickle per kind and code version; only what a run used is kept."""

    kind: ClassVar[str]
    value_type: ClassVar[type]
    modules: ClassVar[frozenset[str]]
    sources: ClassVar[tuple[str, ...]]  # package-relative globs of the code that builds values

    def __init__(self, root: Path | None) -> None:
        package = Path(__file__).resolve().parent
        sources = [path for pattern in self.sources for path in package.glob(pattern)]
        name = f"{self.kind}-{_fingerprint(sources)}.pickle"
        self.file = root / CACHE_DIR / name if root else None
        if self.file is not None and self.file.exists() and committed(self.file.parent):
            self.file = None
        # Each value as its own pickle, unpickled when a run asks for it.
        self.entries: dict[bytes, bytes] = {}
        self.used: dict[bytes, bytes] = {}
        # Values this run computed, pickled only when the file is written.
        self.fresh: dict[bytes, V] = {}
        # Whether ``used`` holds values this run made (put_pickled), not only ones it read.
        self.added = False
        if self.file is not None:
            try:
                with self.file.open("rb") as handle:
                    # The outer pickle holds bytes only: no class of any module is allowed.
                    loaded = _Unpickler(handle, frozenset()).load()
                if isinstance(loaded, dict):
                    self.entries = {
                        k: v
                        for k, v in loaded.items()
                        if isinstance(k, bytes) and isinstance(v, bytes)
                    }
            except Exception:  # noqa: BLE001 - a stale or foreign cache is just a miss
                self.entries = {}

    def get(self, key: bytes) -> V | None:
        raw = self.entries.get(key)
        if raw is None:
            return None
        try:
            value = _Unpickler(io.BytesIO(raw), self.modules).load()
        except Exception:  # noqa: BLE001 - a damaged entry is a miss, like a missing one
            return None
        if not isinstance(value, self.value_type):
            return None
        self.used[key] = raw
        return value  # type: ignore[return-value]

    @property
    def keeps(self) -> bool:
        """Whether values put here are written to a file (else they need no pickling)."""
        return self.file is not None

    def put(self, key: bytes, value: V) -> None:
        if self.file is not None:
            self.fresh[key] = value

    def put_pickled(self, key: bytes, pickled: bytes) -> None:
        """A value already pickled (by the process that made it), kept as it is written."""
        if self.file is not None:
            self.used[key] = pickled
            self.added = True

    def save(self, fork: bool = True) -> None:
        """Write what this run saw (only that, so the file does not grow with every edit); in a
        forked process when there is much to pickle, unless ``fork`` is False (``--jobs 1``)."""
        unchanged = not self.added and len(self.used) == len(self.entries)
        if self.file is None or (not self.fresh and unchanged):
            return
        large = fork and len(self.fresh) >= 256
        background.write(functools.partial(self._write, self.file), large)

    def _write(self, file: Path) -> None:
        entries = dict(self.used)
        for key, value in self.fresh.items():
            entries[key] = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        replace_file(file, entries, f".{self.kind}-")
        # Caches of other versions of the tool are never read again.
        with contextlib.suppress(OSError):
            for stale in file.parent.glob(f"{self.kind}-*.pickle"):
                if stale != file:
                    stale.unlink()


def replace_file(file: Path, value: object, prefix: str) -> None:
    """``value`` pickled into ``file``, which is replaced at once (a reader sees the old file or
    the new one); the folder is made, with a ``.gitignore`` that keeps it out of git."""
    tmp = None
    try:
        file.parent.mkdir(exist_ok=True)
        ignore = file.parent / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# Created by migration-lint; safe to delete.\n*\n")
        fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=prefix)
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, file)
        tmp = None
    except OSError:
        pass
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


class FactsCache(PickleCache[MigrationFacts]):
    """Parsed migration facts."""

    kind = "facts"
    value_type = MigrationFacts
    modules = frozenset({"migration_lint.facts"})
    sources = ("facts.py", "source/*.py")
