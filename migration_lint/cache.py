"""A cache of parsed migration facts, keyed by file content and tool version.

One pickle per project root under ``.migration_lint_cache/``; deleting the folder is always safe.
A cache that cannot be read or written is ignored: it only ever saves time.

The folder lives in the checkout, so a pull request can put a file there: unpickling it may
only build the facts' own classes and plain containers, never call anything else.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import tempfile
from pathlib import Path

from migration_lint import __version__
from migration_lint.facts import MigrationFacts

CACHE_DIR = ".migration_lint_cache"
_FACTS_MODULE = "migration_lint.facts"
_BUILTINS = frozenset({"dict", "list", "tuple", "set", "frozenset", "bytes", "str", "int", "float"})


def _fingerprint() -> str:
    """The tool version plus a digest of the loader's code: an edit to the parser (between
    releases, or in a development checkout) must not serve facts the old code produced."""
    package = Path(__file__).resolve().parent
    h = hashlib.blake2b(__version__.encode(), digest_size=6)
    for path in sorted([package / "facts.py", *(package / "source").glob("*.py")]):
        with contextlib.suppress(OSError):
            h.update(path.name.encode() + b"\0" + path.read_bytes())
    return f"{__version__}-{h.hexdigest()}"


class _FactsUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> object:
        if (module == _FACTS_MODULE and not name.startswith("_")) or (
            module == "builtins" and name in _BUILTINS
        ):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in the facts cache")


def digest(data: bytes, app_label: str, display_path: str) -> bytes:
    h = hashlib.blake2b(data, digest_size=16)
    h.update(b"\0" + app_label.encode() + b"\0" + display_path.encode())
    return h.digest()


class FactsCache:
    def __init__(self, root: Path | None) -> None:
        self.file = root / CACHE_DIR / f"facts-{_fingerprint()}.pickle" if root else None
        self.entries: dict[bytes, MigrationFacts] = {}
        self.used: dict[bytes, MigrationFacts] = {}
        self.dirty = False
        if self.file is not None:
            try:
                with self.file.open("rb") as handle:
                    loaded = _FactsUnpickler(handle).load()
                if isinstance(loaded, dict):
                    self.entries = {
                        k: v
                        for k, v in loaded.items()
                        if isinstance(k, bytes) and isinstance(v, MigrationFacts)
                    }
            except Exception:  # noqa: BLE001 - a stale or foreign cache is just a miss
                self.entries = {}

    def get(self, key: bytes) -> MigrationFacts | None:
        facts = self.entries.get(key)
        if facts is not None:
            self.used[key] = facts
        return facts

    def put(self, key: bytes, facts: MigrationFacts) -> None:
        self.used[key] = facts
        self.dirty = True

    def save(self) -> None:
        # Keep only what this run saw, so the file does not grow with every edit.
        if self.file is None or not (self.dirty or len(self.used) != len(self.entries)):
            return
        try:
            self.file.parent.mkdir(exist_ok=True)
            ignore = self.file.parent / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# Created by migration-lint; safe to delete.\n*\n")
            fd, tmp = tempfile.mkstemp(dir=self.file.parent, prefix=".facts-")
            with os.fdopen(fd, "wb") as handle:
                pickle.dump(self.used, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self.file)
            # Caches of other versions of the tool are never read again.
            for stale in self.file.parent.glob("facts-*.pickle"):
                if stale != self.file:
                    stale.unlink()
        except OSError:
            pass
