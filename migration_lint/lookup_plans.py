"""The fix plan for a get_or_create lookup no unique constraint covers (ML301, ML302).

1. the UniqueConstraint the lookup needs, as a model ``Meta`` snippet with a generated name;
2. the safe route to add it to an existing table, reused from the unique-constraint rules: the
   dedupe data migration of ML102 (``plans.dedupe_migration``) and, on PostgreSQL, the
   concurrent build of ML101 (``plans.concurrent_migration``), written as the app's next two
   migrations. No linted migration exists here, so the plans' context-free forms are used with a
   :class:`~migration_lint.analysis.builds.Build` made for the new constraint.
"""

from __future__ import annotations

import re
from dataclasses import replace

from migration_lint.analysis.builds import ACCESS_EXCLUSIVE, Build
from migration_lint.codegen import indent
from migration_lint.facts import Call, Dependency, ModelState, Operation, Span
from migration_lint.findings import FixStep
from migration_lint.history import History
from migration_lint.names import MAX_NAME_LENGTH, unique_name
from migration_lint.plans import concurrent_migration, dedupe_migration

_NO_SPAN = Span(0, 0, 0, 0)


def constraint_name(table: str, fields: tuple[str, ...]) -> str:
    """``<table>_<fields>_uniq``; Django's hashed name when that is longer than PostgreSQL takes."""
    name = f"{table}_{'_'.join(fields)}_uniq".lower()
    if len(name) <= MAX_NAME_LENGTH["postgresql"]:
        return name
    return unique_name(table, fields)


def _latest(history: History, app_label: str) -> tuple[tuple[Dependency, ...], int]:
    leaves = sorted(history.leaves(app_label))
    deps = tuple(Dependency(app, name) for app, name in leaves)
    numbers = [int(m.group(1)) for _, name in leaves if (m := re.match(r"^(\d+)", name))]
    return deps, (max(numbers) if numbers else 0) + 1


def meta_snippet(model: ModelState, fields: tuple[str, ...], name: str, nulls: bool) -> str:
    field_list = ", ".join(f'"{f}"' for f in fields)
    extra = "                nulls_distinct=False,\n" if nulls else ""
    return (
        f"class {model.name}(models.Model):\n"
        "    ...\n\n"
        "    class Meta:\n"
        "        constraints = [\n"
        "            models.UniqueConstraint(\n"
        f"                fields=[{field_list}],\n"
        f'                name="{name}",\n'
        f"{extra}"
        "            ),\n"
        "        ]\n"
    )


def lookup_plan(
    history: History,
    model: ModelState,
    fields: tuple[str, ...],
    vendors: tuple[str, ...],
    nulls: bool = False,
) -> tuple[FixStep, ...]:
    """Declare the constraint, remove existing duplicates, build it without blocking traffic."""
    name = constraint_name(model.table, fields)
    taken = {c.name for c in model.constraints if c.name}
    number = 2
    while name in taken:
        name = constraint_name(model.table, (*fields, str(number)))
        number += 1
    options: tuple[str, ...] = ("nulls_distinct",) if nulls else ()
    kwargs: dict[str, object] = {"fields": fields, "name": name}
    if nulls:
        kwargs["nulls_distinct"] = False
    constraint = Call("django.db.models.UniqueConstraint", (), kwargs)  # type: ignore[arg-type]
    operation = Operation(
        qualname="django.db.migrations.AddConstraint",
        args=(),
        kwargs={"model_name": model.name.lower(), "constraint": constraint},
        span=_NO_SPAN,
        path=(),
    )
    columns = tuple((f.column if (f := model.field(n)) else n) for n in fields)
    build = Build(
        operation=operation,
        top=operation,
        model=model,
        table=model.table,
        fields=fields,
        columns=columns,
        unique=True,
        concurrent=False,
        lock=ACCESS_EXCLUSIVE,
        origin="AddConstraint(UniqueConstraint)",
        name=name,
        options=options,
        constraint=constraint,
    )
    nulls_note = (
        " `nulls_distinct=False` (Django 5.0+, PostgreSQL 15+) makes rows with NULL in these "
        "fields conflict too; MySQL and SQLite do not create such a constraint at all, so there "
        "store a value instead of NULL."
        if nulls
        else ""
    )
    same = [
        u
        for u in model.unique_sets()
        if {f.lower() for f in u.fields} == {f.lower() for f in fields}
    ]
    replaces = (
        f" It replaces the existing {same[0].origin.replace('_', ' ')} over the same fields "
        "(remove that one in the same change)."
        if same
        else ""
    )
    how = (
        "On PostgreSQL add it with the two migrations below instead of the one `makemigrations` "
        "writes; elsewhere let `makemigrations` write it after the dedupe step."
        if "postgresql" in vendors
        else "Let `makemigrations` write it after the dedupe step below."
    )
    steps = [
        FixStep(
            title=f"Declare UniqueConstraint {name} on {model.name}",
            explanation=(
                f"The database then rejects the second insert of the same "
                f"({', '.join(fields)}), and get_or_create returns the row the other request "
                "created instead of a duplicate. If fewer of these fields already identify a "
                f"row, constrain those instead.{nulls_note}{replaces} {how}"
            ),
            code=meta_snippet(model, fields, name, nulls),
        )
    ]
    app = model.app_label
    deps, number = _latest(history, app)
    # With nulls_distinct=False rows with NULL there are duplicates too: the dedupe must see them.
    grouped = (
        replace(
            model,
            fields=tuple(replace(f, null=False) if f.name in fields else f for f in model.fields),
        )
        if nulls
        else model
    )
    dedupe = dedupe_migration(app, grouped, fields, deps, number)
    dedupe_name = (dedupe.path or "").rpartition("/")[2].removesuffix(".py")
    steps.append(
        FixStep(
            title=dedupe.title,
            explanation=(
                "Duplicates are what this call has been creating, so the table may hold some "
                "already: the unique build fails on them (ML102). " + dedupe.explanation
            ),
            code=dedupe.code,
            path=dedupe.path,
        )
    )
    if "postgresql" in vendors:
        migration = f"{number + 1:04d}_{name}"[:80]
        concurrent = concurrent_migration(app, migration, build, (Dependency(app, dedupe_name),))
        steps.append(
            FixStep(
                title=concurrent.title,
                explanation=(
                    f"Instead of the migration makemigrations writes (ML101: ADD CONSTRAINT "
                    f"would lock {model.table} against reads and writes for the whole build): "
                    + concurrent.explanation.removeprefix(
                        "In a migration of its own (atomic = False, replacing this operation): "
                    )
                ),
                code=concurrent.code,
                path=f"{app}/migrations/{migration}.py",
            )
        )
    else:
        steps.append(
            FixStep(
                title="Then add the constraint with makemigrations",
                explanation=(
                    "On SQLite and MySQL the build does not block like PostgreSQL's; what fails "
                    "is the duplicates, which the step above removes. Make the AddConstraint "
                    "migration depend on it."
                ),
                code=indent(f"python manage.py makemigrations {app}", 0),
            )
        )
    return tuple(steps)
