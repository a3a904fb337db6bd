"""A cache of parsed migration facts, keyed by file content and tool version.

One pickle per project root under ``.migration_lint_cache/``; deleting the folder is always safe.
A cache that cannot be read or written is ignored: it only ever saves time.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path

from migration_lint import __version__
from migration_lint.facts import MigrationFacts

CACHE_DIR = ".migration_lint_cache"


def digest(data: bytes, app_label: str, display_path: str) -> bytes:
    h = hashlib.blake2b(data, digest_size=16)
    h.update(b"\0" + app_label.encode() + b"\0" + display_path.encode())
    return h.digest()


class FactsCache:
    def __init__(self, root: Path | None) -> None:
        self.file = root / CACHE_DIR / f"facts-{__version__}.pickle" if root else None
        self.entries: dict[bytes, MigrationFacts] = {}
        self.used: dict[bytes, MigrationFacts] = {}
        self.dirty = False
        if self.file is not None:
            try:
                with self.file.open("rb") as handle:
                    loaded = pickle.load(handle)
                if isinstance(loaded, dict):
                    self.entries = loaded
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
        except OSError:
            pass
