"""Machine-readable output, version 1: ``{"version": 1, "findings": [...]}``.

The shape is documented by ``migration_lint/schema/findings-v1.json``; changing it bumps
``version`` (and ships a new schema file).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from migration_lint.findings import Finding

if TYPE_CHECKING:
    from migration_lint.reporters import Report

VERSION = 1


def render(report: Report) -> str:
    document = {"version": VERSION, "findings": [finding_dict(f) for f in report.findings]}
    return json.dumps(document, indent=2) + "\n"


def finding_dict(finding: Finding) -> dict[str, object]:
    return {
        "code": finding.code,
        "severity": str(finding.severity),
        "path": finding.path,
        "line": finding.line,
        "column": finding.column,
        "end_line": finding.end_line,
        "message": finding.message,
        "help": finding.help,
        "fix": [
            {"title": step.title, "explanation": step.explanation, "code": step.code}
            for step in finding.fix
        ],
        "app_label": finding.app_label,
        "migration": finding.migration,
        "target": finding.target,
        "extra": dict(finding.extra),
    }
