"""Fix plans of the deploy-safety rules (ML5xx), written with the user's own names.

Every plan is a tuple of :class:`FixStep`; code is ready to paste: whole migration modules where
a step is a migration of its own, an operation or a function where it replaces one in place.
The PostgreSQL sequences follow what ran on the server (``tests/test_postgres_deploy_facts.py``):
CHECK ... NOT VALID then VALIDATE then SET NOT NULL for a NOT NULL column, NOT VALID then
VALIDATE for a foreign key.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence

from migration_lint.analysis.python_code import BATCH_SIZE, FunctionFacts, RowLoop
from migration_lint.codegen import (
    indent,
    migration_number,
    render,
    render_by_keyword,
    render_dependencies,
    render_migration,
    short_name,
    slug,
    without,
)
from migration_lint.context import MigrationContext
from migration_lint.facts import (
    Call,
    Dependency,
    FieldState,
    ModelState,
    Operation,
    Ref,
    Value,
    evolve,
)
from migration_lint.findings import FixStep
from migration_lint.names import MAX_NAME_LENGTH, index_name, quote
from migration_lint.plans import LOCK_TIMEOUT

NOOP = Ref("django.db.migrations.RunPython.noop")


def render_operation(op: Operation, drop: tuple[str, ...] = (), **changes: Value) -> str:
    """The operation by keyword, nested calls too, with ``drop`` removed and ``changes`` applied."""
    kwargs = {k: v for k, v in op.kwargs.items() if k not in drop}
    kwargs.update(changes)
    parts = [f"{k}={render_by_keyword(v)}" for k, v in kwargs.items() if k != "**"]
    return f"{short_name(op.qualname)}({', '.join(parts)})"


SQL_NOOP = Ref("django.db.migrations.RunSQL.noop")


def migration_path(ctx: MigrationContext, offset: int, suffix: str) -> tuple[str, str]:
    """(name, path) of a new migration ``offset`` after the linted one's number."""
    name = f"{migration_number(ctx.migration.name) + offset:04d}_{slug(suffix)}"[:60].rstrip("_")
    return name, f"{ctx.migration.app_label}/migrations/{name}.py"


def deps(ctx: MigrationContext, previous: str | None = None) -> str:
    if previous is None:
        # Every fix plan of the migration starts from its dependencies: rendered once.
        rendered = ctx.memo.get("dependencies")
        if rendered is None:
            rendered = ctx.memo["dependencies"] = render_dependencies(ctx.migration.dependencies)
        return rendered  # type: ignore[return-value]
    return render_dependencies((Dependency(ctx.migration.app_label, previous),))


def short(name: str, limit: int = MAX_NAME_LENGTH["postgresql"]) -> str:
    return name if len(name) <= limit else name[:limit]


def not_null_check_name(table: str, column: str) -> str:
    return short(f"{table}_{column}_not_null")


def fk_constraint_name(table: str, column: str, to_table: str, to_column: str) -> str:
    """The name Django gives a foreign key constraint (``_fk_constraint_name``)."""
    return index_name(table, (column,), f"_fk_{to_table}_{to_column}")


def model_var(model: ModelState) -> str:
    return model.name


def get_model_line(app: str, model: ModelState | str) -> str:
    name = model.name if isinstance(model, ModelState) else model
    return f"{name} = apps.get_model({app!r}, {name!r})"


def _field_call(op: Operation) -> Call | None:
    field = op.kwargs.get("field")
    return field if isinstance(field, Call) else None


# -- RunPython / RunSQL reversibility ----------------------------------------------------------


def run_python_reverse(
    ctx: MigrationContext, op: Operation, function: str | None, facts: Sequence[FunctionFacts]
) -> tuple[FixStep, ...]:
    kinds = {w.kind for f in facts for w in f.writes}
    noop_op = render_operation(op, reverse_code=NOOP)
    if function is None or not facts:
        return (
            FixStep(
                title="Give the RunPython a reverse",
                explanation=(
                    "`migrations.RunPython.noop` when undoing the forward code needs nothing "
                    "(a backfill of a column the schema reversal drops anyway), else a function "
                    "that undoes it."
                ),
                code=noop_op,
            ),
        )
    if kinds and kinds <= {"update"}:
        return (
            FixStep(
                title=f"Reverse {function} with RunPython.noop",
                explanation=(
                    f"{function} only updates existing rows: reversing it needs no data change "
                    "(reversing the schema migration before it drops or restores the column), so "
                    "a no-op reverse lets `migrate` go back past this migration."
                ),
                code=noop_op,
            ),
        )
    if "delete" in kinds:
        return (
            FixStep(
                title=f"Reverse {function} with RunPython.noop, knowingly",
                explanation=(
                    f"{function} deletes rows, which no reverse can bring back. A no-op reverse "
                    "lets `migrate` go back past this migration without restoring them; keep a "
                    "backup (or copy the rows to an archive table first) if they may be needed."
                ),
                code=noop_op,
            ),
        )
    reverse = f"{function}_reverse"[:60]
    created: dict[str, list[str]] = {}
    for f in facts:
        names = {key: var for var, key in f.models.items() if "." not in var}
        for w in f.writes:
            if w.kind == "insert" and w.model in names:
                created.setdefault(names[w.model], []).append(w.lookup)
    lines = [f"def {reverse}(apps, schema_editor):", f'    """Undo {function}."""']
    for var in created:
        app = next(key[0] for f in facts for v, key in f.models.items() if v == var)
        lines.append(f"    {get_model_line(app, var)}")
    for var, lookups in created.items():
        for lookup in dict.fromkeys(lookups):
            if lookup:
                lines.append(f"    {var}.objects.filter({lookup}).delete()")
            else:
                lines.append(
                    f"    {var}.objects.filter(pk__in=[]).delete()  # the rows {function} created"
                )
    if not created:
        lines.append("    pass  # undo what the forward function did")
    code = "\n".join(lines) + "\n\n\n" + render_operation(op, reverse_code=Ref(reverse))
    return (
        FixStep(
            title=f"Write {reverse} and pass it as reverse_code",
            explanation=(
                f"{function} creates rows: the reverse deletes them, so that `migrate` can go "
                "back past this migration and forward again without duplicates. Check that "
                "each filter selects exactly those rows."
            ),
            code=code,
        ),
    )


_CREATE_TABLE = re.compile(
    r"^\s*CREATE\s+(?:UNLOGGED\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\"[^\"]+\"|[\w.]+)", re.I
)
_CREATE_EXTENSION = re.compile(r"^\s*CREATE\s+EXTENSION", re.I)


def _reverse_statement(statement: object) -> str | None:
    from migration_lint.sql import SqlStatement

    assert isinstance(statement, SqlStatement)
    s = statement
    if s.kind == "create_index" and s.name:
        concurrently = " CONCURRENTLY" if s.concurrently else ""
        return f"DROP INDEX{concurrently} IF EXISTS {quote(s.name)};"
    if s.kind == "add_constraint" and s.table and s.name:
        return f"ALTER TABLE {quote(s.table)} DROP CONSTRAINT IF EXISTS {quote(s.name)};"
    if s.kind == "add_column" and s.table and s.columns:
        return f"ALTER TABLE {quote(s.table)} DROP COLUMN IF EXISTS {quote(s.columns[0])};"
    if s.kind in ("set", "begin", "commit"):
        return ""
    match = _CREATE_TABLE.match(s.text)
    if match:
        return f"DROP TABLE IF EXISTS {match.group(1)};"
    return None


def run_sql_reverse(ctx: MigrationContext, op: Operation) -> tuple[FixStep, ...]:
    from migration_lint.analysis.builds import statements

    parsed = statements(op)
    reverses = [_reverse_statement(s) for s in parsed]
    noop = FixStep(
        title="Or, when nothing needs undoing, say so",
        explanation=(
            "`migrations.RunSQL.noop` as reverse_sql when the SQL leaves nothing behind that "
            "an earlier schema would trip over (a data fix, a SET)."
        ),
        code=render_operation(op, reverse_sql=SQL_NOOP),
    )
    if parsed and all(r is not None for r in reverses):
        undo = tuple(r for r in reversed(reverses) if r)
        reverse: Value = (undo[0] if len(undo) == 1 else undo) if undo else SQL_NOOP
        return (
            FixStep(
                title="Give the RunSQL the statements that undo it",
                explanation=(
                    "Each statement's inverse, last first, with IF EXISTS so that a partly "
                    "applied migration can be reversed too."
                ),
                code=render_operation(op, reverse_sql=reverse),
            ),
        )
    if any(_CREATE_EXTENSION.match(s.text) for s in parsed):
        return (
            FixStep(
                title="Reverse the extension with RunSQL.noop",
                explanation=(
                    "Dropping an extension drops every object that uses it; leaving it installed "
                    "on the way back is the safe reverse."
                ),
                code=render_operation(op, reverse_sql=SQL_NOOP),
            ),
        )
    return (
        FixStep(
            title="Write reverse_sql",
            explanation=(
                "The SQL that undoes these statements (DROP what they create, the old "
                "definition for what they change), or `migrations.RunSQL.noop` if there is "
                "nothing to undo."
            ),
        ),
        noop,
    )


# -- models through apps.get_model ---------------------------------------------------------------


def historical_models(
    ctx: MigrationContext, function: str, models: Sequence[tuple[str, str, str]]
) -> FixStep:
    """``models``: (spelling in the code, app label, class name)."""
    lines = [get_model_line(app, name) for _, app, name in dict.fromkeys(models)]
    renames = [f"{spelling} -> {name}" for spelling, _, name in models if spelling != name]
    rename = f" and use {', '.join(renames)} in the body" if renames else ""
    return FixStep(
        title=f"Get the historical models from apps in {function}",
        explanation=(
            f"Delete the import and put these lines first in {function}(apps, schema_editor)"
            f"{rename}: apps holds each model as this point of the history left it, so the "
            "function keeps working when the model changes later."
        ),
        code="\n".join(lines),
    )


# -- row-by-row backfills -------------------------------------------------------------------------


def _related_subquery(
    loop: RowLoop, models: dict[tuple[str, str], ModelState], accessor: str
) -> tuple[str, str] | None:
    """(model variable, lookup) of the rows behind ``obj.<accessor>``, from the state."""
    label = f"{loop.model[0]}.{loop.model[1]}"
    for model in models.values():
        for f in model.fields:
            if f.related_model != label or f.many_to_many:
                continue
            related_name = f.kwargs.get("related_name")
            if accessor in (related_name, f"{model.name.lower()}_set"):
                return model.name, f.name
    return None


def backfill(
    ctx: MigrationContext,
    loop: RowLoop,
    function: str,
    models: dict[tuple[str, str], ModelState],
) -> FixStep:
    var = loop.model_variable
    app = loop.model[0]
    queryset = loop.queryset
    if loop.iterator:
        queryset = re.sub(r"\.iterator\([^)]*\)", "", queryset)
    strategy = loop.strategy
    model = models.get(loop.model)
    if strategy == "update" and model is not None:
        for a in loop.assignments:
            if not a.arithmetic:
                continue
            kinds = [model.field(r) for r in a.reads]
            if any(k is None or "Char" in k.field_type or "Text" in k.field_type for k in kinds):
                strategy = "batch"
    if strategy == "update":
        assigned = ",\n".join(f"    {a.field}={a.expression}" for a in loop.assignments)
        code = (
            "from django.db.models import F\n\n\n"
            f"def {function}(apps, schema_editor):\n"
            f"    {get_model_line(app, var)}\n"
            f"    {queryset}.update(\n{indent(assigned, 4)}\n    )\n"
        )
        return FixStep(
            title=f"One UPDATE instead of a save() per row in {function}",
            explanation=(
                "Every value the loop assigns comes from the row itself, so the database can "
                "compute it: one statement, no rows sent to Python. On a very large table, "
                "run it in primary key ranges to keep each transaction short."
            ),
            code=code,
        )
    if strategy == "subquery":
        sets: list[str] = []
        imports: set[str] = set()
        for a in loop.assignments:
            if a.kind == "row":
                sets.append(f"{a.field}={a.expression}")
                if "F(" in a.expression:
                    imports.add("F")
                continue
            found = _related_subquery(loop, models, a.related or "")
            if found is None:
                return _batch(ctx, loop, function, app, var, queryset)
            related, lookup = found
            imports |= {"Count", "OuterRef", "Subquery", "Value"}
            sets.append(
                f"{a.field}=Coalesce(\n"
                f"    Subquery(\n"
                f'        {related}.objects.filter({lookup}=OuterRef("pk"))\n'
                f"        .order_by()\n"
                f"        .values({lookup!r})\n"
                f'        .annotate(n=Count("pk"))\n'
                f'        .values("n")\n'
                f"    ),\n"
                f"    Value(0),\n"
                f")"
            )
        related_lines = sorted(
            {
                get_model_line(app, found[0])
                for a in loop.assignments
                if a.kind == "related_count"
                and (found := _related_subquery(loop, models, a.related or "")) is not None
            }
        )
        body = ",\n".join(sets)
        code = (
            f"from django.db.models import {', '.join(sorted(imports))}\n"
            "from django.db.models.functions import Coalesce\n\n\n"
            f"def {function}(apps, schema_editor):\n"
            f"    {get_model_line(app, var)}\n"
            + "".join(f"    {line}\n" for line in related_lines)
            + f"    {queryset}.update(\n{indent(body, 8)}\n    )\n"
        )
        return FixStep(
            title=f"One UPDATE with a subquery instead of a save() per row in {function}",
            explanation=(
                "The loop stores a count of related rows: a correlated subquery computes it for "
                "every row in one statement. On a very large table, run it in primary key "
                "ranges to keep each transaction short."
            ),
            code=code,
        )
    return _batch(ctx, loop, function, app, var, queryset)


def _batch(
    ctx: MigrationContext, loop: RowLoop, function: str, app: str, var: str, queryset: str
) -> FixStep:
    fields = list(loop.fields)
    body = loop.batched_body or f"batch.append({loop.variable})"
    code = (
        f"def {function}(apps, schema_editor):\n"
        f"    {get_model_line(app, var)}\n"
        f"    batch = []\n"
        f"    for {loop.variable} in {queryset}.iterator(chunk_size={BATCH_SIZE}):\n"
        f"{indent(body, 8)}\n"
        f"    if batch:\n"
        f"        {var}.objects.bulk_update(batch, {fields!r})\n"
    )
    return FixStep(
        title=f"Stream the rows and write them in batches in {function}",
        explanation=(
            f"`.iterator()` reads the table in chunks instead of loading every row, and "
            f"`bulk_update` writes {BATCH_SIZE} rows per statement instead of one: the Python "
            "that computes each value stays as it is."
        ),
        code=code,
    )


# -- pending trigger events ----------------------------------------------------------------------


def pending_triggers(
    ctx: MigrationContext,
    run_python: Operation,
    function: str | None,
    table: str,
    functions: Sequence[str] = (),
) -> tuple[FixStep, ...]:
    steps: list[FixStep] = []
    if function is not None:
        steps.append(
            FixStep(
                title=f"Fire the deferred checks at the end of {function}",
                explanation=(
                    "Django creates foreign keys DEFERRABLE INITIALLY DEFERRED on PostgreSQL, so "
                    f"the rows {function} writes leave checks queued on {table} until COMMIT, and "
                    "PostgreSQL refuses to ALTER a table with queued checks. Running them at the "
                    "end of the function clears the queue (a violation is reported there, "
                    "which is also clearer)."
                ),
                code=(
                    f"def {function}(apps, schema_editor):\n"
                    "    ...  # the function as it is\n"
                    '    schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")\n'
                ),
            )
        )
    _, path = migration_path(ctx, 1, function or "data_migration")
    sources = [ctx.migration.functions[f] for f in functions if f in ctx.migration.functions]
    steps.append(
        FixStep(
            title="Or give the data migration a migration of its own",
            explanation=(
                f"Move the RunPython to {path} (each migration is its own transaction, so the "
                "checks run at its COMMIT) and make the migration that changes the table depend "
                "on it, or come before it."
            ),
            code=render_migration(
                deps(ctx),
                [render_operation(run_python)],
                header="from django.db import migrations\n",
                functions="\n\n\n".join(sources),
            ),
            path=path,
        )
    )
    return tuple(steps)


# -- NOT NULL ------------------------------------------------------------------------------------


def _literal_default(field: Call) -> Value | None:
    default = field.kwargs.get("default")
    if isinstance(default, (bool, int, float, str)) and not isinstance(default, bytes):
        return default
    return None


def add_not_null(
    ctx: MigrationContext, op: Operation, model: ModelState, new: FieldState
) -> tuple[FixStep, ...]:
    field = _field_call(op)
    assert field is not None
    app = ctx.migration.app_label
    steps: list[FixStep] = []
    literal = _literal_default(field)
    if literal is not None:
        with_db_default = without(field, "default", db_default=literal)
        steps.append(
            FixStep(
                title=f"Django 5.0+: give {model.table}.{new.column} a database default",
                explanation=(
                    "With db_default the DEFAULT stays on the column, so the code still "
                    "running, which does not know the column, keeps inserting rows. On "
                    "PostgreSQL 11+ a constant default is added without rewriting the table."
                ),
                code=render_operation(op, drop=("preserve_default",), field=with_db_default),
            )
        )
    nullable = without(field, "default", "db_default", null=True)
    add_name, add_path = migration_path(ctx, 0, f"add_{model.name}_{new.name}")
    fill_name, fill_path = migration_path(ctx, 1, f"fill_{model.name}_{new.name}")
    _, required_path = migration_path(ctx, 2, f"{model.name}_{new.name}_required")
    value = render(literal) if literal is not None else "..."
    function = f"fill_{slug(model.name)}_{slug(new.name)}"
    fill_code = render_migration(
        deps(ctx, add_name),
        [f"migrations.RunPython({function}, migrations.RunPython.noop)"],
        functions=(
            f"def {function}(apps, schema_editor):\n"
            f"    {get_model_line(app, model)}\n"
            f"    # Existing rows get the value new rows will have; run in pk ranges on a huge table.\n"
            f"    {model.name}.objects.filter({new.name}__isnull=True).update({new.name}={value})\n"
        ),
    )
    steps += [
        FixStep(
            title=f"Or add {new.column} as a nullable column first",
            explanation=(
                "A nullable column without a default is added without a rewrite and does not "
                "break the running code's inserts. Deploy the code that writes it."
            ),
            code=render_migration(
                deps(ctx), [render_operation(op, drop=("preserve_default",), field=nullable)]
            ),
            path=add_path,
        ),
        FixStep(
            title=f"Then fill {new.column} on existing rows",
            explanation="A data migration, after the code that writes the column is deployed.",
            code=fill_code,
            path=fill_path,
        ),
    ]
    alter = Operation(
        "django.db.migrations.AlterField",
        (),
        {k: v for k, v in op.kwargs.items() if k in ("model_name", "name", "field")},
        op.span,
        op.path,
    )
    if "postgresql" in ctx.lint.vendor_names():
        # ML507's sequence, so that the last step does not scan under ACCESS EXCLUSIVE.
        for step in set_not_null(ctx, alter, model, new, False, start=2, after=fill_name):
            steps.append(evolve(step, title=f"Then {step.title[0].lower()}{step.title[1:]}"))
    else:
        steps.append(
            FixStep(
                title=f"Then make {new.column} NOT NULL",
                explanation="An AlterField to the field as you wrote it.",
                code=render_migration(deps(ctx, fill_name), [render_operation(alter)]),
                path=required_path,
            )
        )
    return tuple(steps)


def set_not_null(
    ctx: MigrationContext,
    op: Operation,
    model: ModelState,
    new: FieldState,
    backfill: bool,
    start: int = 0,
    after: str | None = None,
) -> tuple[FixStep, ...]:
    """``start``: the first new migration's number after the linted one's; ``after``: the
    migration it depends on (default: the linted migration's dependencies)."""
    table, column = model.table, new.column
    check = not_null_check_name(table, column)
    app = ctx.migration.app_label
    steps: list[FixStep] = []
    field = _field_call(op)
    literal = _literal_default(field) if field is not None else None
    offset = start
    previous: str | None = after
    if backfill:
        function = f"fill_{slug(model.name)}_{slug(new.name)}"
        value = render(literal) if literal is not None else "..."
        fill_after = previous
        previous, fill_path = migration_path(ctx, offset, function)
        offset += 1
        steps.append(
            FixStep(
                title=f"Fill the NULL {column} values first, in a data migration",
                explanation=(
                    "Django would run this UPDATE inside the ALTER's transaction, under the "
                    "exclusive lock; on its own it locks only the rows it changes."
                ),
                code=render_migration(
                    deps(ctx, fill_after),
                    [f"migrations.RunPython({function}, migrations.RunPython.noop)"],
                    header="from django.db import migrations\n",
                    functions=(
                        f"def {function}(apps, schema_editor):\n"
                        f"    {get_model_line(app, model)}\n"
                        f"    {model.name}.objects.filter({new.name}__isnull=True).update("
                        f"{new.name}={value})\n"
                    ),
                ),
                path=fill_path,
            )
        )
    add_name, add_path = migration_path(ctx, offset, f"{model.name}_{new.name}_not_null_check")
    add = (
        "migrations.RunSQL(\n"
        "    sql=[\n"
        f"        \"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}';\",\n"
        f"        {f'ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(check)} CHECK ({quote(column)} IS NOT NULL) NOT VALID;'!r},\n"
        "    ],\n"
        f"    reverse_sql={f'ALTER TABLE {quote(table)} DROP CONSTRAINT IF EXISTS {quote(check)};'!r},\n"
        ")"
    )
    steps.append(
        FixStep(
            title=f"Add CHECK ({column} IS NOT NULL) NOT VALID",
            explanation=(
                "NOT VALID checks new rows only: the ACCESS EXCLUSIVE lock it takes lasts an "
                "instant, with no scan."
            ),
            code=render_migration(deps(ctx, previous), [add]),
            path=add_path,
        )
    )
    _, set_path = migration_path(ctx, offset + 1, f"{model.name}_{new.name}_not_null")
    state_op = render_operation(op)
    validate = (
        "migrations.RunSQL(\n"
        f"    sql={f'ALTER TABLE {quote(table)} VALIDATE CONSTRAINT {quote(check)};'!r},\n"
        "    reverse_sql=migrations.RunSQL.noop,\n"
        ")"
    )
    set_not_null_op = (
        "migrations.SeparateDatabaseAndState(\n"
        "    database_operations=[\n"
        "        migrations.RunSQL(\n"
        "            sql=[\n"
        f"                \"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}';\",\n"
        "                # The validated CHECK proves there are no NULLs: no scan.\n"
        f"                {f'ALTER TABLE {quote(table)} ALTER COLUMN {quote(column)} SET NOT NULL;'!r},\n"
        f"                {f'ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(check)};'!r},\n"
        "            ],\n"
        "            reverse_sql=[\n"
        f"                {f'ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(check)} CHECK ({quote(column)} IS NOT NULL) NOT VALID;'!r},\n"
        f"                {f'ALTER TABLE {quote(table)} ALTER COLUMN {quote(column)} DROP NOT NULL;'!r},\n"
        "            ],\n"
        "        ),\n"
        "    ],\n"
        "    state_operations=[\n"
        f"{indent(state_op, 8)},\n"
        "    ],\n"
        ")"
    )
    steps.append(
        FixStep(
            title="Validate it, then SET NOT NULL without a scan",
            explanation=(
                "In the next migration: VALIDATE CONSTRAINT scans the table under SHARE UPDATE "
                "EXCLUSIVE, which lets reads and writes go on; SET NOT NULL then finds the "
                "validated CHECK and skips its own scan, so its ACCESS EXCLUSIVE lock is brief; "
                "the CHECK is dropped, and Django's state learns null=False."
            ),
            code=render_migration(deps(ctx, add_name), [validate, set_not_null_op]),
            path=set_path,
        )
    )
    return tuple(steps)


# -- drops and renames ---------------------------------------------------------------------------


def drop_in_two_deploys(
    ctx: MigrationContext, op: Operation, model: ModelState, field: FieldState | None
) -> tuple[FixStep, ...]:
    """Remove from Django's state first; drop in a later migration."""
    table = model.table
    state_name, state_path = migration_path(
        ctx, 0, f"remove_{model.name}_{field.name if field else ''}_from_state"
    )
    _, drop_path = migration_path(ctx, 1, f"drop_{table}_{field.column if field else ''}")
    database: list[str] = []
    explanation = (
        "Django forgets the "
        + (
            f"field; the column {table}.{field.column} stays"
            if field
            else f"model; the table {table} stays"
        )
        + ", so the code still running keeps working, and the new code no longer uses it."
    )
    if field is not None and not field.null and not field.has_db_default and not field.many_to_many:
        database.append(
            "migrations.RunSQL(\n"
            f"    sql={f'ALTER TABLE {quote(table)} ALTER COLUMN {quote(field.column)} DROP NOT NULL;'!r},\n"
            f"    reverse_sql={f'ALTER TABLE {quote(table)} ALTER COLUMN {quote(field.column)} SET NOT NULL;'!r},\n"
            ")"
        )
        explanation += (
            " The column is NOT NULL without a database default: it becomes nullable here, "
            "or the new code's inserts (which leave it out) would fail."
        )
    ops = [
        "migrations.SeparateDatabaseAndState(\n"
        + (
            "    database_operations=[\n"
            + "".join(indent(d, 8) + ",\n" for d in database)
            + "    ],\n"
            if database
            else ""
        )
        + "    state_operations=[\n"
        + indent(render_operation(op), 8)
        + ",\n    ],\n)"
    ]
    if field is not None:
        drop_sql = f"ALTER TABLE {quote(table)} DROP COLUMN IF EXISTS {quote(field.column)};"
    else:
        drop_sql = f"DROP TABLE IF EXISTS {quote(table)} CASCADE;"
    drop = (
        "migrations.RunSQL(\n"
        f"    sql={drop_sql!r},\n"
        "    # The data is gone; a reverse cannot bring it back.\n"
        "    reverse_sql=migrations.RunSQL.noop,\n"
        ")"
    )
    return (
        FixStep(
            title="Deploy 1: remove it from Django's state only",
            explanation=explanation,
            code=render_migration(deps(ctx), ops),
            path=state_path,
        ),
        FixStep(
            title="Deploy 2: drop it from the database",
            explanation=(
                "Once no running code uses it (the next release, after deploy 1 is everywhere), "
                "a later migration drops it."
            ),
            code=render_migration(deps(ctx, state_name), [drop]),
            path=drop_path,
        ),
    )


def rename_in_state(
    ctx: MigrationContext, op: Operation, model: ModelState | None
) -> tuple[FixStep, ...]:
    """Rename in Django only; the database keeps its column or table name."""
    name = op.name
    if name == "RenameField" and model is not None:
        old, new = op.kwargs.get("old_name"), op.kwargs.get("new_name")
        field = model.field(old) if isinstance(old, str) else None
        if field is not None and isinstance(new, str):
            call = Call(field.field_type, (), {**field.kwargs, "db_column": field.column})
            alter = render_operation(
                Operation(
                    "django.db.migrations.AlterField",
                    (),
                    {"model_name": op.kwargs.get("model_name"), "name": new, "field": call},
                    op.span,
                    op.path,
                )
            )
            code = render_migration(
                deps(ctx),
                [
                    "migrations.SeparateDatabaseAndState(\n"
                    "    state_operations=[\n"
                    f"{indent(render_operation(op), 8)},\n"
                    f"{indent(alter, 8)},\n"
                    "    ],\n"
                    ")"
                ],
            )
            return (
                FixStep(
                    title=f"Rename the field in Django only, keep the column {field.column}",
                    explanation=(
                        f"With db_column={field.column!r} on the renamed field (put it on the "
                        f"model too), the code calls it {new} while the column keeps its name: "
                        "old and new code both work, and nothing is locked."
                    ),
                    code=code,
                ),
            )
    if name == "RenameModel" and model is not None:
        new = op.kwargs.get("new_name")
        state_ops = [
            render_operation(op),
            f"migrations.AlterModelTable(name={str(new).lower()!r}, table={model.table!r})",
        ]
        code = render_migration(
            deps(ctx),
            [
                "migrations.SeparateDatabaseAndState(\n"
                "    state_operations=[\n"
                + "".join(indent(s, 8) + ",\n" for s in state_ops)
                + "    ],\n)"
            ],
        )
        return (
            FixStep(
                title=f"Rename the model in Django only, keep the table {model.table}",
                explanation=(
                    f"Put db_table = {model.table!r} in the renamed model's Meta too: the code "
                    "uses the new name while the table keeps its own, so old and new code both "
                    "work."
                ),
                code=code,
            ),
        )
    if name == "AlterModelTable" and model is not None:
        return (
            FixStep(
                title=f"Keep the table name {model.table}",
                explanation=(
                    f"Leave db_table as {model.table!r}: the table name is invisible to the code "
                    "that uses the model. If the table itself must be renamed, do it when no "
                    "old code runs any more, or keep a view with the old name during the switch."
                ),
            ),
        )
    return (
        FixStep(
            title="Rename in Django only",
            explanation=(
                "Keep the database name (db_column / db_table) and rename in Django's state with "
                "SeparateDatabaseAndState, so that old and new code both work."
            ),
        ),
    )


# -- type changes --------------------------------------------------------------------------------


def type_change(
    ctx: MigrationContext,
    op: Operation,
    model: ModelState,
    old: FieldState,
    new: FieldState,
    old_type: str,
    new_type: str,
) -> tuple[FixStep, ...]:
    table, column = model.table, old.column
    app = ctx.migration.app_label
    shrink = re.match(r"^varchar\((\d+)\)$", new_type)
    if shrink and (old_type == "text" or old_type.startswith("varchar")):
        length = int(shrink.group(1))
        check = short(f"{table}_{column}_max_length")
        first, first_path = migration_path(ctx, 0, f"{model.name}_{new.name}_max_length")
        _, second_path = migration_path(ctx, 1, f"validate_{model.name}_{new.name}_max_length")
        add = (
            "migrations.SeparateDatabaseAndState(\n"
            "    database_operations=[\n"
            "        migrations.RunSQL(\n"
            "            sql=[\n"
            f"                \"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}';\",\n"
            f"                {f'ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(check)} CHECK (char_length({quote(column)}) <= {length}) NOT VALID;'!r},\n"
            "            ],\n"
            f"            reverse_sql={f'ALTER TABLE {quote(table)} DROP CONSTRAINT IF EXISTS {quote(check)};'!r},\n"
            "        ),\n"
            "    ],\n"
            "    state_operations=[\n"
            f"{indent(render_operation(op), 8)},\n"
            "    ],\n"
            ")"
        )
        validate = (
            "migrations.RunSQL(\n"
            f"    sql={f'ALTER TABLE {quote(table)} VALIDATE CONSTRAINT {quote(check)};'!r},\n"
            "    reverse_sql=migrations.RunSQL.noop,\n"
            ")"
        )
        return (
            FixStep(
                title=f"Keep the column {old_type}, limit it with a CHECK",
                explanation=(
                    f"Django's state learns max_length={length} (forms and validation use it); "
                    f"the database keeps {old_type} and gets CHECK (char_length(...) <= {length}) "
                    "NOT VALID, which takes its lock for an instant and rewrites nothing."
                ),
                code=render_migration(deps(ctx), [add]),
                path=first_path,
            ),
            FixStep(
                title="Validate the CHECK in the next migration",
                explanation=(
                    "VALIDATE CONSTRAINT scans under SHARE UPDATE EXCLUSIVE: reads and writes go "
                    "on. It fails if a value is longer: shorten those first."
                ),
                code=render_migration(deps(ctx, first), [validate]),
                path=second_path,
            ),
        )
    field = _field_call(op)
    temp = f"{new.name}_new"
    new_call = (
        without(field, "primary_key", "unique", "db_index", "default", null=True) if field else None
    )
    add_op = (
        f"migrations.AddField(model_name={op.kwargs.get('model_name')!r}, name={temp!r}, field={render(new_call)})"
        if new_call is not None
        else f"migrations.AddField(model_name={op.kwargs.get('model_name')!r}, name={temp!r}, field=...)"
    )
    function = f"copy_{slug(model.name)}_{slug(new.name)}"
    first, first_path = migration_path(ctx, 0, f"add_{model.name}_{temp}")
    _, second_path = migration_path(ctx, 1, function)
    copy = render_migration(
        deps(ctx, first),
        [f"migrations.RunPython({function}, migrations.RunPython.noop)"],
        header="from django.db import migrations\nfrom django.db.models import F\n",
        functions=(
            f"def {function}(apps, schema_editor):\n"
            f"    {get_model_line(app, model)}\n"
            f"    # In primary key ranges, so that each UPDATE locks a bounded set of rows.\n"
            f'    last = {model.name}.objects.order_by("-pk").values_list("pk", flat=True).first() or 0\n'
            f"    for start in range(0, last + 1, {BATCH_SIZE * 5}):\n"
            f"        {model.name}.objects.filter(pk__gte=start, pk__lt=start + {BATCH_SIZE * 5}).update({temp}=F({old.name!r}))\n"
        ),
    )
    return (
        FixStep(
            title=f"Add a {new_type} column next to {column}",
            explanation=(
                "A new nullable column is added without a rewrite. Deploy code that writes both "
                "columns (a save() override or a trigger)."
            ),
            code=render_migration(deps(ctx), [add_op]),
            path=first_path,
        ),
        FixStep(
            title=f"Copy {column} into {temp} in batches",
            explanation=(
                f"Then switch the code to {temp} (db_column, or a rename in Django's state only) "
                f"and drop {column} in a later deploy (ML508's two steps)."
            ),
            code=copy,
            path=second_path,
        ),
    )


# -- foreign keys --------------------------------------------------------------------------------


def foreign_key(
    ctx: MigrationContext,
    op: Operation,
    model: ModelState,
    field: FieldState,
    target_table: str,
    target_column: str,
) -> tuple[FixStep, ...]:
    table, column = model.table, field.column
    name = fk_constraint_name(table, column, target_table, target_column)
    call = _field_call(op)
    first, first_path = migration_path(ctx, 0, f"{model.name}_{field.name}_not_valid")
    _, second_path = migration_path(ctx, 1, f"validate_{model.name}_{field.name}")
    database_op = render_operation(op, field=without(call, db_constraint=False)) if call else ""
    add_fk = (
        "migrations.RunSQL(\n"
        "    sql=[\n"
        f"        \"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}';\",\n"
        f"        {f'ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} FOREIGN KEY ({quote(column)}) REFERENCES {quote(target_table)} ({quote(target_column)}) DEFERRABLE INITIALLY DEFERRED NOT VALID;'!r},\n"
        "    ],\n"
        f"    reverse_sql={f'ALTER TABLE {quote(table)} DROP CONSTRAINT IF EXISTS {quote(name)};'!r},\n"
        ")"
    )
    first_op = (
        "migrations.SeparateDatabaseAndState(\n"
        "    database_operations=[\n"
        f"{indent(database_op, 8)},\n"
        f"{indent(add_fk, 8)},\n"
        "    ],\n"
        "    state_operations=[\n"
        f"{indent(render_operation(op), 8)},\n"
        "    ],\n"
        ")"
    )
    validate = (
        "migrations.RunSQL(\n"
        f"    sql={f'ALTER TABLE {quote(table)} VALIDATE CONSTRAINT {quote(name)};'!r},\n"
        "    reverse_sql=migrations.RunSQL.noop,\n"
        ")"
    )
    return (
        FixStep(
            title=f"Create the column without the constraint, then add {name} NOT VALID",
            explanation=(
                f"db_constraint=False makes Django leave the constraint out; NOT VALID adds it "
                f"for new rows only, so it takes SHARE ROW EXCLUSIVE on {table} and "
                f"{target_table} for an instant and scans nothing. Django's state keeps the "
                "field as you wrote it."
            ),
            code=render_migration(deps(ctx), [first_op]),
            path=first_path,
        ),
        FixStep(
            title=f"Validate {name} in the next migration",
            explanation=(
                f"VALIDATE CONSTRAINT scans {table} under SHARE UPDATE EXCLUSIVE (and takes ROW "
                f"SHARE on {target_table}): reads and writes on both go on."
            ),
            code=render_migration(deps(ctx, first), [validate]),
            path=second_path,
        ),
    )


# -- data that is not carried over ---------------------------------------------------------------


def carry_over(
    ctx: MigrationContext,
    model: ModelState,
    removed: FieldState,
    added: Operation | None,
    remove: Operation | None = None,
) -> tuple[FixStep, ...]:
    app = ctx.migration.app_label
    if removed.many_to_many and added is None and remove is not None:
        join = short(f"{model.table}_{removed.name.lower()}")
        state_name, state_path = migration_path(
            ctx, 0, f"remove_{model.name}_{removed.name}_from_state"
        )
        _, drop_path = migration_path(ctx, 1, f"drop_{join}")
        return (
            FixStep(
                title=f"Deploy 1: remove {removed.name} from Django's state only",
                explanation=(
                    f"The join table {join} stays, so the code still running keeps working; copy "
                    "the links elsewhere first (a RunPython) if they are still needed."
                ),
                code=render_migration(
                    deps(ctx),
                    [
                        "migrations.SeparateDatabaseAndState(\n    state_operations=[\n"
                        + indent(render_operation(remove), 8)
                        + ",\n    ],\n)"
                    ],
                ),
                path=state_path,
            ),
            FixStep(
                title=f"Deploy 2: drop {join}",
                explanation="Once no running code uses it, a later migration drops the table.",
                code=render_migration(
                    deps(ctx, state_name),
                    [
                        "migrations.RunSQL(\n"
                        f"    sql={f'DROP TABLE IF EXISTS {quote(join)};'!r},\n"
                        "    reverse_sql=migrations.RunSQL.noop,\n"
                        ")"
                    ],
                ),
                path=drop_path,
            ),
        )
    if removed.many_to_many and added is not None:
        new = added.kwargs.get("name")
        function = f"copy_{slug(model.name)}_{slug(removed.name)}"
        temp = f"{new}_new" if isinstance(new, str) else "new"
        code = (
            f"def {function}(apps, schema_editor):\n"
            f"    {get_model_line(app, model)}\n"
            f"    Through = {model.name}.{removed.name}.through\n"
            "    # One link per row survives: a foreign key holds one related row.\n"
            f"    batch = []\n"
            f"    for row in {model.name}.objects.all().iterator(chunk_size={BATCH_SIZE}):\n"
            f'        link = Through.objects.filter({model.name.lower()}_id=row.pk).order_by("pk").first()\n'
            f"        if link is not None:\n"
            f"            row.{temp}_id = link.{(removed.related_model or '.').partition('.')[2]}_id\n"
            f"            batch.append(row)\n"
            f"    {model.name}.objects.bulk_update(batch, [{temp + '_id'!r}], batch_size={BATCH_SIZE})\n"
        )
        return (
            FixStep(
                title=f"Copy the {removed.name} links before removing them",
                explanation=(
                    f"Add the new field under a temporary name ({temp}) first, fill it from the "
                    f"join table with this RunPython, then remove {removed.name} and rename "
                    f"{temp} in a later migration. Decide which link wins where a row has several."
                ),
                code=code,
            ),
        )
    return (
        FixStep(
            title="Copy the data before it is dropped",
            explanation=(
                "Add the new field or model under a temporary name, copy the rows with a "
                "RunPython (batched), and only then remove the old one, in a later migration."
            ),
        ),
    )


def dedent(text: str) -> str:
    return textwrap.dedent(text)
