"""Findings and fix plans: what rules produce and reporters print."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

from migration_lint.frozen import direct_init


class Severity(enum.IntEnum):
    """Ordered so that ``--fail-on`` can compare: info < warning < error."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            choices = ", ".join(str(s) for s in cls)
            raise ValueError(f"unknown severity {text!r} (choose from {choices})") from None


@direct_init
@dataclass(frozen=True)
class FixStep:
    """One step of the safe sequence: a title, why, and ready-to-paste code."""

    title: str
    explanation: str = ""
    code: str = ""
    path: str | None = None


@direct_init
@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    path: str
    line: int
    column: int
    message: str
    help: str = ""
    end_line: int | None = None
    fix: tuple[FixStep, ...] = ()
    app_label: str | None = None
    migration: str | None = None
    target: str | None = None
    extra: dict[str, object] = field(default_factory=dict, compare=False, hash=False)

    def with_severity(self, severity: Severity) -> Finding:
        return replace(self, severity=severity)

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.code)
