"""Reporters: turn a run's findings into text for people or for machines.

Every format is a function ``Report -> str``; nothing here prints, so the CLI decides where the
output goes. Every non-empty output ends with a newline (write it with ``sys.stdout.write``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from migration_lint.findings import Finding

if TYPE_CHECKING:
    from migration_lint.rules.base import Rule


@dataclass(frozen=True)
class Report:
    """What a run produced: its findings (already sorted) and the metadata of every rule that ran.

    Reporters read only ``code``, ``name``, ``severity``, ``summary()`` and ``body()`` of a rule.
    """

    findings: tuple[Finding, ...]
    rules: Mapping[str, type[Rule]]
    files_checked: int
    color: bool = False
    root: str = "."


def _renderers() -> dict[str, Callable[[Report], str]]:
    # Imported here: the format modules import Report from this module.
    from migration_lint.reporters import github, sarif, text
    from migration_lint.reporters import json as json_format

    return {
        "text": text.render,
        "json": json_format.render,
        "sarif": sarif.render,
        "github": github.render,
    }


FORMATS: tuple[str, ...] = ("text", "json", "sarif", "github")


def render(fmt: str, report: Report) -> str:
    """``report`` in format ``fmt`` (one of :data:`FORMATS`)."""
    renderer = _renderers().get(fmt)
    if renderer is None:
        raise ValueError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    return renderer(report)
