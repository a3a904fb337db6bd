"""SARIF 2.1.0, for GitHub code scanning and other SARIF viewers."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import quote

from migration_lint import __version__
from migration_lint.findings import Finding, Severity

if TYPE_CHECKING:
    from migration_lint.reporters import Report
    from migration_lint.rules.base import Rule

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def render(report: Report) -> str:
    codes = sorted(report.rules)
    index = {code: i for i, code in enumerate(codes)}
    root = Path(report.root).resolve()
    run = {
        "tool": {
            "driver": {
                "name": "migration-lint",
                "version": __version__,
                "informationUri": "https://pypi.org/project/migration-lint/",
                "rules": [_rule(report.rules[code]) for code in codes],
            }
        },
        "originalUriBaseIds": {"%SRCROOT%": {"uri": root.as_uri().rstrip("/") + "/"}},
        # Finding columns count characters of a Python str, not UTF-16 units (SARIF's default).
        "columnKind": "unicodeCodePoints",
        "results": [_result(f, index, root) for f in report.findings],
    }
    return json.dumps({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2) + "\n"


def _rule(rule: type[Rule]) -> dict[str, object]:
    body = rule.body() or rule.summary()
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary()},
        "fullDescription": {"text": body},
        "help": {"text": body, "markdown": body},
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
    }


def _result(finding: Finding, index: dict[str, int], root: Path) -> dict[str, object]:
    text = f"{finding.message}\n{finding.help}" if finding.help else finding.message
    result: dict[str, object] = {"ruleId": finding.code}
    if finding.code in index:
        result["ruleIndex"] = index[finding.code]
    result.update(
        {
            "level": _LEVEL[finding.severity],
            "message": {"text": text},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": _artifact(finding.path, root),
                        "region": {
                            "startLine": finding.line,
                            "startColumn": finding.column,
                            "endLine": finding.end_line or finding.line,
                        },
                    }
                }
            ],
            "properties": {
                "fix": [
                    {"title": s.title, "explanation": s.explanation, "code": s.code}
                    for s in finding.fix
                ]
            },
        }
    )
    return result


def _artifact(path: str, root: Path) -> dict[str, str]:
    posix = path.replace("\\", "/")
    if Path(posix).is_absolute():
        try:
            posix = Path(posix).relative_to(root).as_posix()
        except ValueError:  # outside the project root: keep the absolute location
            return {"uri": Path(posix).as_uri()}
    # PurePosixPath drops "." segments: "./shop/x.py" -> "shop/x.py".
    relative = PurePosixPath(posix).as_posix()
    return {"uri": quote(relative, safe="/"), "uriBaseId": "%SRCROOT%"}
