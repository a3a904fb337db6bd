"""``[tool.migration_lint]`` in pyproject.toml, merged under the command line's options."""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migration_lint.errors import UsageError
from migration_lint.findings import Severity

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

VENDORS = ("sqlite", "postgresql", "mysql")
_CODE_PREFIX = re.compile(r"^ML\d{0,3}$")

# key -> expected type; every key has a command-line flag of the same name.
_KEYS: dict[str, type | tuple[type, ...]] = {
    "select": list,
    "ignore": list,
    "fail-on": str,
    "format": str,
    "target": list,
    "base": str,
    "settings": str,
    "exclude": list,
    "severity": dict,
    "cache": bool,
    "main-branch": str,
    "lock-file": str,
    "baseline": str,
}


@dataclass(frozen=True)
class Config:
    """Settings from pyproject.toml (``path`` None when there is none)."""

    path: Path | None = None
    values: Mapping[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)


def find_pyproject(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_config(start: Path) -> Config:
    path = find_pyproject(start.resolve())
    if path is None:
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from None
    tool = data.get("tool", {})
    section = tool.get("migration_lint", {}) if isinstance(tool, dict) else {}
    if not isinstance(section, dict):
        raise UsageError(f"{path}: [tool.migration_lint] must be a table")
    for key, value in section.items():
        expected = _KEYS.get(key)
        if expected is None:
            raise UsageError(
                f"{path}: unknown key {key!r} in [tool.migration_lint] (known: {', '.join(_KEYS)})"
            )
        if not isinstance(value, expected):
            raise UsageError(f"{path}: [tool.migration_lint] {key} has the wrong type")
    return Config(path, section)


def parse_codes(values: list[str] | tuple[str, ...], what: str) -> tuple[str, ...]:
    """``ML1``, ``ML101``; comma-separated lists accepted."""
    codes: list[str] = []
    for value in values:
        for part in str(value).split(","):
            code = part.strip().upper()
            if not code:
                continue
            if not _CODE_PREFIX.match(code):
                raise UsageError(
                    f"{what}: {part.strip()!r} is not a rule code or prefix (like ML1, ML101)"
                )
            codes.append(code)
    return tuple(codes)


def parse_severities(values: Mapping[str, Any]) -> dict[str, Severity]:
    out: dict[str, Severity] = {}
    for code, level in values.items():
        (checked,) = parse_codes([code], "severity")
        try:
            out[checked] = Severity.parse(str(level))
        except ValueError as exc:
            raise UsageError(f"severity for {code}: {exc}") from None
    return out


def parse_targets(values: list[str] | tuple[str, ...]) -> tuple[tuple[str, str | None], ...]:
    """``postgresql:14,sqlite`` -> (("postgresql", "14"), ("sqlite", None))."""
    aliases = {
        "postgres": "postgresql",
        "pg": "postgresql",
        "mariadb": "mysql",
        "sqlite3": "sqlite",
    }
    out: list[tuple[str, str | None]] = []
    for value in values:
        for part in str(value).split(","):
            vendor, _, version = part.strip().partition(":")
            if vendor.lower() == "mariadb":
                # MariaDB runs Django's MySQL backend; the version keeps the flavour.
                version = f"mariadb-{version}" if version else "mariadb"
            vendor = aliases.get(vendor.lower(), vendor.lower())
            if not vendor:
                continue
            if vendor not in VENDORS:
                raise UsageError(
                    f"--target: unknown database {vendor!r} (choose from {', '.join(VENDORS)})"
                )
            out.append((vendor, version or None))
    return tuple(out)
