"""ML103: a unique set replaced by another one in a single step."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from migration_lint.analysis.builds import Build, builds
from migration_lint.analysis.duplicates import implied_by_existing
from migration_lint.codegen import render_operation
from migration_lint.context import MigrationContext
from migration_lint.facts import ModelState, Operation
from migration_lint.findings import Finding, FixStep, Severity
from migration_lint.plans import concurrent_step, dedupe_step
from migration_lint.rules._shop import ORDER_INITIAL, migration
from migration_lint.rules.base import Example, Rule
from migration_lint.state import together_sets

_TOGETHER = migration(
    '    operations = [migrations.AlterUniqueTogether("order", {("customer", "reference")})]\n'
)
_CONSTRAINT = migration(
    "    operations = [\n"
    '        migrations.AddConstraint("order", models.UniqueConstraint(fields=["customer", "reference"], name="order_customer_reference_uniq")),\n'
    "    ]\n"
)
_AFTER_2 = 'from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n    dependencies = [("shop", "0002_auto")]\n'


@dataclass(frozen=True)
class _Change:
    op: Operation
    model: ModelState
    dropped: tuple[str, ...]
    build: Build


class UniqueChangedInPlace(Rule):
    """Unique constraint replaced by a different one in the same step.

    ## What it does
    Reports an `AlterUniqueTogether` that drops one unique set and adds another, and a migration
    that removes a unique constraint of a model and adds a different one, when existing rows
    could repeat the new set (a wider set, which the old one already guarantees, is not
    reported).

    ## Why is this bad?
    The new set is built over data that only ever had to satisfy the old one. When rows repeat
    it the migration fails mid-deploy, and on MySQL, which has no transactional DDL, the old
    constraint is already gone: the table is left with no unique constraint at all while the
    code still relies on one.

    ## Use instead
    Three steps: drop the old constraint, remove the duplicates of the new set in a data
    migration, then add the new constraint (concurrently on PostgreSQL).
    """

    code = "ML103"
    name = "unique-changed-in-place"
    severity = Severity.WARNING

    flagged = (
        Example(
            title="unique_together swapped for another set",
            history=(ORDER_INITIAL, _TOGETHER),
            source=_AFTER_2
            + '    operations = [migrations.AlterUniqueTogether("order", {("customer", "sku")})]  # noqa: ML101\n',
            line=6,
        ),
        Example(
            title="A UniqueConstraint removed and a different one added",
            history=(ORDER_INITIAL, _CONSTRAINT),
            source=_AFTER_2
            + "    operations = [\n"
            + '        migrations.RemoveConstraint("order", "order_customer_reference_uniq"),\n'
            + '        migrations.AddConstraint("order", models.UniqueConstraint(fields=["reference"], name="order_reference_uniq")),  # noqa: ML101\n'
            + "    ]\n",
        ),
    )
    accepted = (
        Example(
            title="Widening the set: rows unique on the old set are unique on the new one",
            history=(ORDER_INITIAL, _TOGETHER),
            source=_AFTER_2
            + '    operations = [migrations.AlterUniqueTogether("order", {("customer", "reference", "sku")})]  # noqa: ML101\n',
        ),
        Example(
            title="unique_together moved to a UniqueConstraint on the same fields",
            history=(ORDER_INITIAL, _TOGETHER),
            source=_AFTER_2
            + "    operations = [\n"
            + '        migrations.AlterUniqueTogether("order", set()),\n'
            + '        migrations.AddConstraint("order", models.UniqueConstraint(fields=["customer", "reference"], name="order_customer_reference_uniq")),  # noqa: ML101\n'
            + "    ]\n",
        ),
        Example(
            title="Only dropping",
            history=(ORDER_INITIAL, _TOGETHER),
            source=_AFTER_2 + '    operations = [migrations.AlterUniqueTogether("order", set())]\n',
        ),
    )

    def check(self, ctx: MigrationContext) -> Iterator[Finding]:
        for change in _changes(ctx):
            new = ", ".join(change.build.fields)
            old = ", ".join(change.dropped)
            mysql = "mysql" in ctx.lint.vendor_names()
            yield self.finding(
                ctx,
                change.build.top,
                f"{change.op.name} replaces UNIQUE ({old}) of {change.model.name} with UNIQUE ({new}) "
                f"in one step: rows that repeat ({new}) make it fail"
                + (", and on MySQL the old constraint is already dropped by then" if mysql else ""),
                help="drop the old constraint, remove duplicates of the new set, then add it",
                fix=_plan(ctx, change),
                extra=change.build.extra(),
                severity=Severity.ERROR if mysql else None,
            )


def _changes(ctx: MigrationContext) -> Iterator[_Change]:
    dropped_by_model: dict[tuple[str, str], tuple[Operation, tuple[str, ...]]] = {}
    for step in ctx.steps:
        op = step.operation
        model_name = op.kwargs.get("model_name", op.kwargs.get("name"))
        model = step.models.get((ctx.migration.app_label, str(model_name or "").lower()))
        if model is None:
            continue
        if op.name == "AlterUniqueTogether":
            new = set(together_sets(op.kwargs.get("unique_together")))
            for old in set(model.unique_together) - new:
                dropped_by_model.setdefault(model.key, (op, old))
        elif op.name == "RemoveConstraint":
            for unique in model.constraints:
                if unique.name == op.kwargs.get("name") and unique.fields:
                    dropped_by_model.setdefault(model.key, (op, unique.fields))
    for build in builds(ctx):
        if not build.unique or build.model is None or build.model.key not in dropped_by_model:
            continue
        _, dropped = dropped_by_model[build.model.key]
        if {f.lower() for f in dropped} <= {f.lower() for f in build.fields}:
            continue  # wider, or the same set under a new name: cannot fail
        if implied_by_existing(_without(build, dropped)):
            continue
        yield _Change(build.top, build.model, dropped, build)


def _without(build: Build, dropped: tuple[str, ...]) -> Build:
    """The build judged against the model's unique sets minus the one being dropped."""
    from dataclasses import replace

    model = build.model
    assert model is not None
    lowered = tuple(f.lower() for f in dropped)
    kept = replace(
        model,
        unique_together=tuple(
            t for t in model.unique_together if tuple(f.lower() for f in t) != lowered
        ),
        constraints=tuple(
            c for c in model.constraints if tuple(f.lower() for f in c.fields) != lowered
        ),
    )
    return replace(build, model=kept)


def _plan(ctx: MigrationContext, change: _Change) -> tuple[FixStep, ...]:
    op = change.op
    if op.name == "AlterUniqueTogether":
        kept = tuple(t for t in change.model.unique_together if t != change.dropped)
        first = render_operation(op, unique_together=kept)
    else:
        first = "\n".join(
            render_operation(o) for o in ctx.migration.operations if o.name == "RemoveConstraint"
        )
    steps = [
        FixStep(
            title=f"First migration: only drop UNIQUE ({', '.join(change.dropped)})",
            explanation="Deploy the drop on its own; nothing can fail here.",
            code=first,
        ),
        dedupe_step(ctx, change.model, change.build.fields),
    ]
    if "postgresql" in ctx.lint.vendor_names():
        steps.append(concurrent_step(ctx, change.build))
    else:
        steps.append(
            FixStep(
                title="Then add the new constraint", code=render_operation(change.build.operation)
            )
        )
    return tuple(steps)
