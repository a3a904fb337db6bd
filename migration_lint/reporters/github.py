"""GitHub Actions workflow commands: one annotation per finding on the pull request's diff.

Escaping follows @actions/core (``toCommandValue``/``escapeData``/``escapeProperty``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from migration_lint.findings import Finding, Severity

if TYPE_CHECKING:
    from migration_lint.reporters import Report

_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def render(report: Report) -> str:
    return "".join(_command(f, report) + "\n" for f in report.findings)


def _command(finding: Finding, report: Report) -> str:
    rule = report.rules.get(finding.code)
    title = f"{finding.code} ({rule.name})" if rule is not None else finding.code
    properties = {
        "file": finding.path.replace("\\", "/"),
        "line": finding.line,
        "col": finding.column,
        "endLine": finding.end_line or finding.line,
        "title": title,
    }
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items())
    message = f"{finding.message}\n{finding.help}" if finding.help else finding.message
    return f"::{_COMMAND[finding.severity]} {props}::{escape_data(message)}"


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")
