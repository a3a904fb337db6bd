"""Can a new unique constraint meet rows that already repeat? What tells it cannot.

It cannot when the columns are new (created by the same operation, no default), when an
existing unique set is a subset of the new one (the rows are unique already), or when a data
migration on the same model runs just before it (the same migration, or the app's previous
migration): that is where a dedupe step lives.
"""

from __future__ import annotations

from migration_lint.analysis.builds import Build, sql_texts
from migration_lint.context import MigrationContext
from migration_lint.facts import MigrationFacts, ModelState, Operation, Ref

_DATA_OPS = ("django.db.migrations.RunPython", "django.db.migrations.RunSQL")


def implied_by_existing(build: Build) -> bool:
    model = build.model
    if model is None:
        return False
    new = {c.lower() for c in build.columns} or {f.lower() for f in build.fields}
    if not new or build.partial or build.expression:
        return False
    for existing in model.unique_sets():
        if existing.condition or existing.expressions or not existing.fields:
            continue
        columns = set()
        for name in existing.fields:
            field = model.field(name)
            columns.add((field.column if field else name).lower())
        names = {n.lower() for n in existing.fields}
        if columns <= new or names <= new:
            return True
    return False


def _mentions(facts: MigrationFacts, op: Operation, model: ModelState) -> bool:
    """Does this RunPython/RunSQL touch the model? By its name in the code or its table in SQL."""
    if op.name == "RunSQL":
        return any(model.table.lower() in sql.lower() for sql in sql_texts(op.kwargs.get("sql")))
    code = op.kwargs.get("code")
    if isinstance(code, Ref):
        body = facts.functions.get(code.qualname, "")
        return model.name.lower() in body.lower()
    return False


def _data_step_before(ctx: MigrationContext, build: Build) -> bool:
    model = build.model
    if model is None:
        return False
    facts = ctx.migration
    for op in facts.all_operations():
        if op.span.line >= build.top.span.line:
            break
        if op.qualname in _DATA_OPS and _mentions(facts, op, model):
            return True
    history = ctx.lint.history
    for parent in history.parents.get(facts.key, ()):
        previous = history.migrations.get(parent)
        if previous is None or parent[0] != facts.app_label:
            continue
        if any(
            op.qualname in _DATA_OPS and _mentions(previous, op, model)
            for op in previous.all_operations()
        ):
            return True
    return False


def needs_dedupe(ctx: MigrationContext, build: Build) -> bool:
    """True when existing rows may already repeat the new unique columns."""
    if not build.unique or not build.existing_table or build.new_columns:
        return False
    return not implied_by_existing(build) and not _data_step_before(ctx, build)


def data_step_before(ctx: MigrationContext, build: Build) -> bool:
    return _data_step_before(ctx, build)
