"""``--explain``: the SQL each linted migration renders per target, and the locks it held."""

from __future__ import annotations

from dataclasses import replace

from migration_lint.context import LintContext
from migration_lint.findings import Finding
from migration_lint.render import Rendering


def attach_locks(findings: list[Finding], rendering: Rendering) -> list[Finding]:
    """Each finding of a migration applied on the scratch database carries the locks it held."""
    out = []
    for finding in findings:
        locks = rendering.locks.get((finding.app_label or "", finding.migration or ""))
        if locks:
            extra = dict(finding.extra)
            extra["locks"] = [{"table": lock.table, "mode": lock.mode} for lock in locks]
            finding = replace(finding, extra=extra)
        out.append(finding)
    return out


def explain(lint: LintContext, rendering: Rendering) -> list[str]:
    lines: list[str] = []
    for facts in lint.targets:
        for vendor, _ in lint.vendors:
            migration = rendering.get(facts.key, vendor)
            if migration is None:
                continue
            source = (
                "applied on --database" if rendering.applied_on == vendor else "rendered offline"
            )
            lines.append(f"{facts.app_label}.{facts.name} on {vendor} ({source}):")
            for op in migration.operations:
                name = facts.operations[op.index].name if op.index < len(facts.operations) else "?"
                lines.append(f"  {op.index + 1}. {name}")
                lines.extend(f"       {sql}" for sql in op.sql)
                if op.error:
                    lines.append(f"       !! {op.error}")
            lines.extend(f"     (deferred) {sql}" for sql in migration.deferred)
            locks = rendering.locks.get(facts.key) if rendering.applied_on == vendor else None
            if locks:
                held = ", ".join(f"{lock.mode} on {lock.table}" for lock in locks)
                lines.append(f"  locks held until commit: {held}")
    return lines
