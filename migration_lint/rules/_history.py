"""What the ML2xx rules share: findings outside a MigrationContext, and their examples' files.

The examples run without git or a database, so the applied versions come from a lock file in the
example's tree (``lock_of`` computes it from the migrations as they ran).
"""

from __future__ import annotations

from migration_lint.facts import MigrationFacts, Span
from migration_lint.findings import Finding, FixStep, Severity
from migration_lint.integrity import lockfile
from migration_lint.integrity.normal import normalise
from migration_lint.rules.base import Rule

HEADER = "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n"

INITIAL = (
    HEADER
    + """\
    initial = True
    operations = [
        migrations.CreateModel(
            name="Order",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("reference", models.CharField(max_length=32)),
            ],
        ),
    ]
"""
)

NOTE = (
    HEADER
    + """\
    dependencies = [("shop", "0001_initial")]
    operations = [
        migrations.AddField("order", "note", models.TextField(default="")),
    ]
"""
)


def lock_of(*files: tuple[str, str], retired: dict[str, str] | None = None) -> str:
    """The lock file that records ``files`` (relative path, content) as they ran."""
    entries = []
    for path, content in files:
        parts = path.split("/")
        label, name = parts[-3], parts[-1].removesuffix(".py")
        form = normalise(content)
        assert form is not None, path
        key = f"{label}/{name}"
        entries.append(lockfile.entry_for(key, path, form, lockfile.content_digest(content)))
    return lockfile.render(entries, retired or {})


def lock_file(*files: tuple[str, str], retired: dict[str, str] | None = None) -> tuple[str, str]:
    """``Example.files`` entry: ``migrations.lock`` at the example's root."""
    return (lockfile.FILENAME, lock_of(*files, retired=retired))


def finding(
    rule: Rule,
    path: str,
    span: Span | None,
    message: str,
    help: str,
    fix: tuple[FixStep, ...] = (),
    app_label: str | None = None,
    migration: str | None = None,
    severity: Severity | None = None,
    extra: dict[str, object] | None = None,
) -> Finding:
    span = span or Span(1, 1, 1, 1)
    return Finding(
        code=rule.code,
        severity=severity or rule.severity,
        path=path,
        line=span.line,
        column=span.column,
        end_line=span.end_line,
        message=message,
        help=help,
        fix=fix,
        app_label=app_label,
        migration=migration,
        extra=extra or {},
    )


def class_span(facts: MigrationFacts) -> Span:
    return facts.class_span or Span(1, 1, 1, 1)


def dependency_span(facts: MigrationFacts) -> Span:
    if facts.dependencies and facts.dependencies[0].line:
        line = facts.dependencies[0].line
        return Span(line, 1, line, 1)
    return class_span(facts)


def latest(leaves: list[tuple[str, str]]) -> str | None:
    """The name a new migration of the app should depend on: its only (or last) leaf."""
    names = sorted(name for _, name in leaves)
    return names[-1] if names else None
