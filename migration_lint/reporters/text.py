"""The default, human-readable format: ``path:line:col: CODE message``, help and the fix plan."""

from __future__ import annotations

from typing import TYPE_CHECKING

from migration_lint.findings import Finding, Severity

if TYPE_CHECKING:
    from migration_lint.reporters import Report

_RESET = "\x1b[0m"
_BOLD = "\x1b[1m"
_DIM = "\x1b[2m"
_SEVERITY_COLOR = {
    Severity.ERROR: "\x1b[31m",
    Severity.WARNING: "\x1b[33m",
    Severity.INFO: "\x1b[36m",
}


def render(report: Report) -> str:
    blocks = [_finding(f, report.color) for f in report.findings]
    blocks.append(_summary(report))
    return "\n\n".join(blocks) + "\n"


def _finding(finding: Finding, color: bool) -> str:
    def paint(text: str, style: str) -> str:
        return f"{style}{text}{_RESET}" if color else text

    location = paint(f"{finding.path}:{finding.line}:{finding.column}:", _BOLD)
    code = paint(finding.code, _BOLD + _SEVERITY_COLOR[finding.severity])
    lines = [f"{location} {code} {finding.message}"]
    if finding.help:
        lines += [paint(line, _DIM) for line in _indent(f"help: {finding.help}", "  ")]
    if finding.fix:
        lines.append("  fix:")
    for number, step in enumerate(finding.fix, start=1):
        head = f"    {number}. "
        where = f" (in {step.path})" if step.path else ""
        lines.append(f"{head}{step.title}{where}")
        body = " " * len(head)
        if step.explanation:
            lines += _indent(step.explanation, body)
        if step.code:
            # Four more spaces than the explanation: a code block that copies cleanly.
            lines += _indent(step.code.strip("\n"), body + "    ")
    return "\n".join(lines)


def _indent(text: str, prefix: str) -> list[str]:
    # Blank lines stay empty, so pasted code carries no trailing whitespace.
    return [prefix + line if line.strip() else "" for line in text.splitlines()]


def _summary(report: Report) -> str:
    files = _plural(report.files_checked, "file")
    if not report.findings:
        return f"All checks passed ({files})."
    counts = [
        _plural(n, str(severity), uncountable=severity is Severity.INFO)
        for severity in sorted(Severity, reverse=True)
        if (n := sum(f.severity is severity for f in report.findings))
    ]
    problems = _plural(len(report.findings), "problem")
    return f"Found {problems} ({', '.join(counts)}) in {files}."


def _plural(n: int, word: str, uncountable: bool = False) -> str:
    return f"{n} {word}" if n == 1 or uncountable else f"{n} {word}s"
