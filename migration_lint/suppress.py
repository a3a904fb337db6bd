"""``# noqa: ML101`` comments and config ignores, and the suppressions that matched nothing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from migration_lint.facts import MigrationFacts, Span, Suppression
from migration_lint.findings import Finding, Severity

UNUSED_CODE = "ML903"


def matches(code: str, prefixes: Iterable[str]) -> bool:
    return any(code.startswith(prefix) for prefix in prefixes)


def _spans(facts: MigrationFacts) -> list[Span]:
    return [op.span for op in facts.operations]


def _covering(facts: MigrationFacts, line: int) -> Span:
    """The lines a finding at ``line`` may be suppressed on: its top-level operation's lines."""
    for span in _spans(facts):
        if span.covers(line):
            return span
    return Span(line, 1, line, 1)


def apply(
    findings: Iterable[Finding],
    migrations: Mapping[str, MigrationFacts],
    selected: tuple[str, ...],
    ignored: tuple[str, ...],
) -> list[Finding]:
    """Drop suppressed findings; add an ML903 finding for every ``noqa`` code that matched nothing.

    ``migrations`` maps a finding's path to its facts. Only ``ML`` codes are ours to judge:
    ``# noqa: E501`` and a bare ``# noqa`` belong to other tools as much as to this one.
    """
    kept: list[Finding] = []
    used: set[tuple[str, int, str]] = set()
    for finding in findings:
        facts = migrations.get(finding.path)
        # Most files have no comment at all: no need to find the finding's operation.
        hit = _suppressed_by(finding, facts) if facts and facts.suppressions else None
        if hit is None:
            kept.append(finding)
        else:
            used.add((finding.path, hit[0].line, hit[1]))

    if matches(UNUSED_CODE, selected) and not matches(UNUSED_CODE, ignored):
        for path, facts in migrations.items():
            for suppression in facts.suppressions:
                for code in _unused(suppression, path, used, selected, ignored):
                    kept.append(
                        _unused_finding(path, suppression, code, facts.app_label, facts.name)
                    )
    return kept


def apply_application(
    findings: Iterable[Finding],
    calls: Iterable[Any],
    selected: tuple[str, ...],
    ignored: tuple[str, ...],
) -> list[Finding]:
    """The same for application files: a finding on a call is suppressed by a ``noqa`` comment
    on that call's lines (``calls``: the scanned get_or_create calls, with their comments)."""
    comments: dict[tuple[str, int], tuple[Suppression, ...]] = {}
    for call in calls:
        if call.migration is None and call.noqa:
            comments[(call.path, call.line)] = call.noqa
    kept: list[Finding] = []
    used: set[tuple[str, int, str]] = set()
    for finding in findings:
        hit = _first_match(finding.code, comments.get((finding.path, finding.line), ()))
        if hit is None:
            kept.append(finding)
        else:
            used.add((finding.path, hit[0].line, hit[1]))
    if matches(UNUSED_CODE, selected) and not matches(UNUSED_CODE, ignored):
        seen: set[tuple[str, Suppression]] = set()
        for (path, _), suppressions in comments.items():
            for suppression in suppressions:
                if (path, suppression) in seen:
                    continue  # two calls on one line share the comment
                seen.add((path, suppression))
                for code in _unused(suppression, path, used, selected, ignored):
                    kept.append(_unused_finding(path, suppression, code))
    return kept


def _unused_finding(
    path: str,
    suppression: Suppression,
    code: str,
    app_label: str | None = None,
    migration: str | None = None,
) -> Finding:
    return Finding(
        code=UNUSED_CODE,
        severity=Severity.WARNING,
        path=path,
        line=suppression.line,
        column=suppression.column,
        message=f"`# noqa: {code}` suppresses nothing on this line",
        help=f"remove {code} from the comment",
        app_label=app_label,
        migration=migration,
    )


def _unused(
    suppression: Suppression,
    path: str,
    used: set[tuple[str, int, str]],
    selected: tuple[str, ...],
    ignored: tuple[str, ...],
) -> list[str]:
    """The codes of ``suppression`` that suppressed nothing, in the comment's order."""
    candidates = [
        code
        for code in suppression.codes
        # Other tools' codes are not ours to judge, nor a code of a rule that did not run.
        if code.startswith("ML")
        and (path, suppression.line, code) not in used
        and matches(code, selected)
        and not matches(code, ignored)
    ]
    # A comment listing ML101 and ML903 keeps a deliberately unused ML101 quiet: the ML903
    # report is itself suppressed, and that uses the ML903 code (a code never silences its own
    # report).
    guards = [code for code in suppression.codes if UNUSED_CODE.startswith(code)]
    silenced = {code for code in candidates if any(g != code for g in guards)}
    guards_used = {g for g in guards if any(code != g for code in silenced)}
    return [code for code in candidates if code not in silenced and code not in guards_used]


def _suppressed_by(finding: Finding, facts: MigrationFacts) -> tuple[Suppression, str] | None:
    span = _covering(facts, finding.line)
    return _first_match(finding.code, (s for s in facts.suppressions if span.covers(s.line)))


def _first_match(code: str, suppressions: Iterable[Suppression]) -> tuple[Suppression, str] | None:
    """The comment, and its code ("" for a bare noqa), that suppresses a finding of ``code``."""
    for suppression in suppressions:
        if not suppression.codes:
            return suppression, ""
        for prefix in suppression.codes:
            if code.startswith(prefix):
                return suppression, prefix
    return None
