"""A baseline: the findings a project already has, written down so that a team adopting the
linter on an old history is shown only what is new.

A finding is matched by rule code, file and message, not by line: editing a migration above
an accepted finding does not bring it back, while a different problem in the same file, or
the same problem with other names, is new. Each entry counts its findings, so a second copy
of an accepted problem in the same file is reported.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from migration_lint.errors import UsageError
from migration_lint.findings import Finding

VERSION = 1
Fingerprint = tuple[str, str, str]


def _fingerprint(finding: Finding, base: Path) -> Fingerprint:
    # Paths relative to the baseline's own folder: the same from any working directory.
    where = Path(os.path.abspath(finding.path))
    return finding.code, Path(os.path.relpath(where, base)).as_posix(), finding.message


def write(path: Path, findings: Iterable[Finding]) -> int:
    """Write every finding to ``path``; returns how many."""
    base = path.resolve().parent
    counts = Counter(_fingerprint(f, base) for f in findings)
    entries = [
        {"code": code, "path": file, "message": message, "count": count}
        for (code, file, message), count in sorted(
            counts.items(), key=lambda i: (i[0][1], i[0][0], i[0][2])
        )
    ]
    document = {"tool": "migration-lint", "version": VERSION, "findings": entries}
    try:
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--write-baseline {path}: cannot write: {exc.strerror or exc}") from None
    return sum(counts.values())


def read(path: Path) -> Counter[Fingerprint]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(
            f"baseline {path}: no such file (create it with --write-baseline {path})"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"baseline {path}: cannot read: {exc}") from None
    if not (
        isinstance(document, dict)
        and document.get("tool") == "migration-lint"
        and isinstance(document.get("findings"), list)
    ):
        raise UsageError(f"baseline {path}: not a migration-lint baseline file")
    if document.get("version") != VERSION:
        raise UsageError(
            f"baseline {path}: version {document.get('version')!r} is not {VERSION}; "
            f"write it again with --write-baseline {path}"
        )
    counts: Counter[Fingerprint] = Counter()
    for entry in document["findings"]:
        try:
            key = (str(entry["code"]), str(entry["path"]), str(entry["message"]))
            counts[key] += int(entry.get("count", 1))
        except (TypeError, KeyError, ValueError):
            raise UsageError(f"baseline {path}: malformed entry {entry!r}") from None
    return counts


def apply(path: Path, findings: Iterable[Finding]) -> tuple[list[Finding], int]:
    """The findings the baseline at ``path`` does not hold, and how many entries went unused."""
    remaining = read(path)
    base = path.resolve().parent
    kept: list[Finding] = []
    for finding in findings:
        key = _fingerprint(finding, base)
        if remaining[key] > 0:
            remaining[key] -= 1
        else:
            kept.append(finding)
    return kept, sum(remaining.values())
