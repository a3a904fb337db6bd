"""``migrations.lock``: the normalised hash of every migration that has been released, committed
to the repository so that edits to them are caught without git history or a database.

The file is JSON, written one migration per line so that two branches that each add migrations
merge cleanly (and a conflicted file can still be read: both sides are taken)::

    {
      "migration-lint": "lock file: the migrations that have run somewhere. Regenerate with `migration-lint lock`; do not edit.",
      "version": 1,
      "normal-form": 1,
      "migrations": {
        "shop/0001_initial": {"path": "shop/migrations/0001_initial.py", "hash": "…", "dependencies": [], "operations": ["…"], "attributes": "…"},
        "shop/0002_order_note": {"path": "…", "hash": "…", "dependencies": ["shop/0001_initial"], "operations": ["…"], "attributes": "…"}
      },
      "retired": {"shop/0001_initial": "shop/0001_squashed_0004_auto"}
    }

``hash`` is the digest of the whole normal form (:mod:`migration_lint.integrity.normal`);
``content`` a digest of the bytes, so that a file untouched since it was recorded is not parsed;
``dependencies``, ``run_before`` and ``replaces`` are kept in clear and ``operations`` holds one
short digest per operation, so that a finding can say what changed. ``retired`` remembers the
migrations squashed away (deleted once their squash had run), which ``django_migrations`` still
lists.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from migration_lint.errors import UsageError
from migration_lint.integrity.normal import VERSION as NORMAL_FORM_VERSION
from migration_lint.integrity.normal import NormalForm

FILENAME = "migrations.lock"
FORMAT = 1
_ABOUT = (
    "lock file: the migrations that have run somewhere. "
    "Regenerate with `migration-lint lock`; do not edit."
)
_MARKER = re.compile(r"^(<{7}|={7}|>{7}|\|{7})( |$)")
_ENTRY = re.compile(r'^\s*("(?:[^"\\]|\\.)*")\s*:\s*(.*?)\s*,?\s*$')
_SECTION = re.compile(r'^\s*"(migrations|retired)"\s*:\s*\{\s*$')


@dataclass(frozen=True)
class LockEntry:
    """One recorded migration: a :class:`~migration_lint.integrity.normal.Snapshot`."""

    key: str  # "app_label/name"
    path: str  # relative to the lock file's folder, with "/"
    hash: str
    dependencies: tuple[str, ...] = ()
    run_before: tuple[str, ...] = ()
    replaces: tuple[str, ...] = ()
    operation_records: tuple[str, ...] = ()
    attribute_record: str = ""
    content: str = ""  # digest of the file's bytes: unchanged bytes need no parsing

    @property
    def app_label(self) -> str:
        return self.key.partition("/")[0]

    @property
    def name(self) -> str:
        return self.key.partition("/")[2]

    @property
    def operation_digests(self) -> tuple[str, ...]:
        return tuple(r.partition("/")[0] for r in self.operation_records)

    @property
    def attributes_digest(self) -> str:
        return self.attribute_record.partition("/")[0]

    @property
    def body_digest(self) -> tuple[str, tuple[str, ...]]:
        return (self.attributes_digest, self.operation_digests)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"path": self.path, "hash": self.hash}
        if self.content:
            out["content"] = self.content
        out["dependencies"] = list(self.dependencies)
        if self.run_before:
            out["run_before"] = list(self.run_before)
        if self.replaces:
            out["replaces"] = list(self.replaces)
        out["operations"] = list(self.operation_records)
        out["attributes"] = self.attribute_record
        return out

    @classmethod
    def from_json(cls, key: str, data: object, where: str) -> LockEntry:
        if not isinstance(data, dict) or not isinstance(data.get("hash"), str):
            raise UsageError(f"{where}: entry {key!r} is not a migration record")

        def strings(name: str) -> tuple[str, ...]:
            value = data.get(name, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise UsageError(f"{where}: entry {key!r}: {name} must be a list of strings")
            return tuple(value)

        return cls(
            key=key,
            path=str(data.get("path", "")),
            hash=data["hash"],
            dependencies=strings("dependencies"),
            run_before=strings("run_before"),
            replaces=strings("replaces"),
            operation_records=strings("operations"),
            attribute_record=str(data.get("attributes", "")),
            content=str(data.get("content", "")),
        )


def content_digest(data: bytes | str) -> str:
    """A digest of a file's bytes, line endings aside (a Windows checkout reads the same)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return hashlib.blake2b(raw.replace(b"\r\n", b"\n"), digest_size=6).hexdigest()


def entry_for(key: str, path: str, form: NormalForm, content: str = "") -> LockEntry:
    return LockEntry(
        content=content,
        key=key,
        path=path,
        hash=form.digest,
        dependencies=form.dependencies,
        run_before=form.run_before,
        replaces=form.replaces,
        operation_records=form.operation_records,
        attribute_record=form.attribute_record,
    )


@dataclass
class LockFile:
    path: Path
    entries: dict[str, LockEntry] = field(default_factory=dict)
    retired: dict[str, str] = field(default_factory=dict)
    normal_form: int = NORMAL_FORM_VERSION
    conflicted: bool = False  # read from a file with merge conflict markers: both sides taken

    @property
    def folder(self) -> Path:
        return self.path.parent

    def by_path(self) -> dict[Path, LockEntry]:
        return {
            Path(os.path.normpath(self.folder / e.path)): e for e in self.entries.values() if e.path
        }


def read(path: Path) -> LockFile | None:
    """The lock file at ``path``; None when there is none. A file that cannot be read is a
    usage error, except merge conflicts, whose two sides are both taken."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the lock file: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if any(_MARKER.match(line) for line in text.splitlines()):
            return _read_conflicted(path, text)
        raise UsageError(
            f"{path}: not valid JSON (line {exc.lineno}): rerun `migration-lint lock` "
            "or restore it from version control"
        ) from None
    return _from_data(path, data)


def _from_data(path: Path, data: object, conflicted: bool = False) -> LockFile:
    if not isinstance(data, dict) or not isinstance(data.get("migrations"), dict):
        raise UsageError(f'{path}: not a migration-lint lock file (no "migrations" table)')
    version = data.get("version", FORMAT)
    if version != FORMAT:
        raise UsageError(
            f"{path}: lock file format {version!r} is not supported by this migration-lint "
            f"(it reads format {FORMAT}): upgrade migration-lint"
        )
    normal_form = data.get("normal-form", NORMAL_FORM_VERSION)
    entries = {
        key: LockEntry.from_json(key, value, str(path)) for key, value in data["migrations"].items()
    }
    retired = data.get("retired", {})
    if not isinstance(retired, dict) or not all(isinstance(v, str) for v in retired.values()):
        raise UsageError(f'{path}: "retired" must map migrations to the squash that replaced them')
    return LockFile(
        path,
        entries,
        dict(retired),
        normal_form if isinstance(normal_form, int) else -1,
        conflicted,
    )


def _read_conflicted(path: Path, text: str) -> LockFile:
    """Both sides of a merge conflict: every entry line outside the conflict's base section."""
    sections: dict[str, dict[str, object]] = {"migrations": {}, "retired": {}}
    header: dict[str, object] = {}
    section: str | None = None
    in_base = False
    for line in text.splitlines():
        marker = _MARKER.match(line)
        if marker:
            # diff3 style: the lines between ||||||| and ======= are the merge base's.
            in_base = marker.group(1).startswith("|")
            continue
        if in_base:
            continue
        if _SECTION.match(line):
            section = _SECTION.match(line).group(1)  # type: ignore[union-attr]
            continue
        if line.strip().startswith("}"):
            section = None
            continue
        match = _ENTRY.match(line)
        if not match:
            continue
        try:
            key = json.loads(match.group(1))
            value = json.loads(match.group(2))
        except json.JSONDecodeError:
            continue
        target = sections[section] if section else header
        if key in target and target[key] != value:
            raise UsageError(
                f"{path}: merge conflict with two different records of {key!r}: "
                "resolve it, then run `migration-lint lock`"
            )
        target[key] = value
    return _from_data(
        path,
        {**header, "migrations": sections["migrations"], "retired": sections["retired"]},
        conflicted=True,
    )


def render(entries: Iterable[LockEntry], retired: Mapping[str, str]) -> str:
    def line(key: str, value: object, last: bool) -> str:
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
        return f"    {json.dumps(key, ensure_ascii=False)}: {text}{'' if last else ','}"

    ordered = sorted(entries, key=lambda e: e.key)

    def table(name: str, rows: list[str], last: bool) -> list[str]:
        end = "" if last else ","
        if not rows:
            return [f'  "{name}": {{}}{end}']
        return [f'  "{name}": {{', *rows, f"  }}{end}"]

    lines = [
        "{",
        f'  "migration-lint": {json.dumps(_ABOUT)},',
        f'  "version": {FORMAT},',
        f'  "normal-form": {NORMAL_FORM_VERSION},',
        *table(
            "migrations",
            [line(e.key, e.to_json(), i == len(ordered) - 1) for i, e in enumerate(ordered)],
            last=False,
        ),
        *table(
            "retired",
            [line(k, retired[k], i == len(retired) - 1) for i, k in enumerate(sorted(retired))],
            last=True,
        ),
        "}",
    ]
    return "\n".join(lines) + "\n"


def write(path: Path, entries: Iterable[LockEntry], retired: Mapping[str, str]) -> None:
    text = render(entries, retired)
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".migrations-lock-")
    except OSError as exc:
        raise UsageError(f"{path}: cannot write the lock file: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"{path}: cannot write the lock file: {exc.strerror}") from None
