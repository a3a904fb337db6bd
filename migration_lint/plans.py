"""The safe sequence for a new unique constraint, written with the user's own names.

PostgreSQL (FACTS.md, "The safe unique constraint on PostgreSQL, as it ran"):
1. a data migration that removes duplicates (only where duplicates can exist);
2. an ``atomic = False`` migration whose SeparateDatabaseAndState drops an invalid leftover,
   builds the unique index CONCURRENTLY and attaches it with ADD CONSTRAINT ... USING INDEX,
   with the original operation as its state operation;
3. a ``lock_timeout`` around the brief ACCESS EXCLUSIVE step (inside step 2).
Partial and expression constraints stop at the concurrent unique index. On SQLite and MySQL the
plan is the dedupe step and the operation itself.
"""

from __future__ import annotations

from pathlib import PurePath

from migration_lint.analysis.builds import Build
from migration_lint.codegen import (
    indent,
    migration_number,
    render,
    render_dependencies,
    render_operation,
    slug,
    without,
)
from migration_lint.context import MigrationContext
from migration_lint.facts import Call, Dependency, ModelState, Ref, Value
from migration_lint.findings import FixStep
from migration_lint.names import index_name, quote, unique_name

LOCK_TIMEOUT = "5s"


def dedupe_step(ctx: MigrationContext, model: ModelState, fields: tuple[str, ...]) -> FixStep:
    """A RunPython that keeps one row per duplicate group: the newest, which is a choice."""
    return dedupe_migration(
        ctx.migration.app_label,
        model,
        fields,
        ctx.migration.dependencies,
        migration_number(ctx.migration.name),
        folder=str(PurePath(ctx.migration.path).parent),
    )


def dedupe_migration(
    app: str,
    model: ModelState,
    fields: tuple[str, ...],
    dependencies: tuple[Dependency, ...],
    number: int,
    folder: str | None = None,
) -> FixStep:
    """:func:`dedupe_step` without a linted migration: the app, its dependencies and the number
    of the migration to write are given (application-code rules use the app's latest migration).
    ``folder`` is where the app's migrations live (``<app>/migrations`` when unknown).
    """
    var = model.name
    function = f"remove_duplicate_{slug(model.name)}_{slug(*fields)}"[:60].rstrip("_")
    nullable = [f for f in fields if (fs := model.field(f)) is not None and fs.null]
    keys = ", ".join(repr(f) for f in fields)
    null_filter = "".join(f"\n        .filter({f}__isnull=False)" for f in nullable)
    group_label = ", ".join(fields)
    code = f'''from django.db import migrations
from django.db.models import Count, Max


def {function}(apps, schema_editor):
    """Keep the newest {var} (highest primary key) of each ({group_label}) group; delete the rest.

    Keeping the newest row is a choice: merge the duplicates instead when the older rows hold
    data, or are referenced by rows, that must survive.
    """
    {var} = apps.get_model({app!r}, {var!r})
    groups = (
        {var}.objects.all(){null_filter}
        .values({keys})
        .order_by()
        .annotate(keep=Max("pk"), rows=Count("pk"))
        .filter(rows__gt=1)
    )
    for group in groups.iterator():
        keep = group.pop("keep")
        del group["rows"]
        {var}.objects.filter(**group).exclude(pk=keep).delete()


class Migration(migrations.Migration):
    dependencies = {render_dependencies(dependencies)}

    operations = [
        # Deleted rows cannot be brought back: the reverse does nothing.
        migrations.RunPython({function}, migrations.RunPython.noop),
    ]
'''
    nulls = (
        f" Rows where {', '.join(nullable)} is NULL are never duplicates of each other, so they stay."
        if nullable
        else ""
    )
    path = f"{folder or f'{app}/migrations'}/{number:04d}_{function}.py"
    return FixStep(
        title=f"Remove duplicate ({group_label}) rows of {var} first",
        explanation=(
            f"A data migration that runs before the constraint, so the build cannot fail on rows "
            f"that already repeat ({group_label}).{nulls} Save it as {path} and make the "
            f"constraint's migration depend on it. Rows inserted between this migration and the "
            f"constraint can repeat again: deploy both together, or run this one again first."
        ),
        code=code,
        path=path,
    )


def _state_operation(build: Build) -> str:
    if build.origin.startswith("AddField"):
        # The column itself is added by the first step; the state learns the unique flag here.
        field = build.operation.kwargs.get("field")
        return render_operation(build.operation, field=field).replace(
            "migrations.AddField(", "migrations.AlterField(", 1
        )
    return render_operation(build.operation)


# Django's ``_like`` index for varchar/text columns that are unique or indexed (PostgreSQL).
_PATTERN_OPS = {
    "CharField": "varchar_pattern_ops",
    "SlugField": "varchar_pattern_ops",
    "EmailField": "varchar_pattern_ops",
    "URLField": "varchar_pattern_ops",
    "TextField": "text_pattern_ops",
}


def _index_sql(build: Build, name: str) -> str | None:
    """CREATE UNIQUE INDEX CONCURRENTLY as Django would write it; None when only Django can
    render it (a condition or expressions need its query compiler)."""
    if build.expression or build.partial or not build.columns:
        return None
    constraint = build.constraint
    opclasses = constraint.kwargs.get("opclasses") if constraint else None
    columns = []
    for position, column in enumerate(build.columns):
        opclass = (
            opclasses[position]
            if isinstance(opclasses, tuple) and position < len(opclasses)
            else None
        )
        columns.append(quote(column) + (f" {opclass}" if isinstance(opclass, str) else ""))
    include = constraint.kwargs.get("include") if constraint else None
    covering = ""
    if isinstance(include, tuple) and include and build.model is not None:
        names = [(f.column if (f := build.model.field(str(n))) else str(n)) for n in include]
        covering = f" INCLUDE ({', '.join(quote(n) for n in names)})"
    nulls = (
        " NULLS NOT DISTINCT"
        if constraint and constraint.kwargs.get("nulls_distinct") is False
        else ""
    )
    return (
        f"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {quote(name)} ON {quote(build.table)} "
        f"({', '.join(columns)}){covering}{nulls};"
    )


def _drop_invalid(name: str) -> str:
    """Drop a leftover of a failed concurrent build, and only that: a valid index (a run that
    timed out while attaching it) is kept, and one a constraint already owns is left alone."""
    literal = name.replace("'", "''")
    return (
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        f"WHERE c.relname = '{literal}' AND NOT i.indisvalid) THEN EXECUTE 'DROP INDEX {quote(name).replace(chr(39), chr(39) * 2)}'; "
        "END IF; END $$;"
    )


def _attach(build: Build, name: str) -> str:
    deferrable = build.constraint.kwargs.get("deferrable") if build.constraint else None
    when = ""
    if isinstance(deferrable, Ref):
        when = " DEFERRABLE INITIALLY " + (
            "IMMEDIATE" if deferrable.qualname.endswith("IMMEDIATE") else "DEFERRED"
        )
    literal = name.replace("'", "''")
    table = quote(build.table).replace("'", "''")
    return (
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_constraint "
        f"WHERE conname = '{literal}' AND conrelid = '{table}'::regclass) THEN "
        f"ALTER TABLE {quote(build.table)} ADD CONSTRAINT {quote(name)} UNIQUE USING INDEX {quote(name)}{when}; "
        "END IF; END $$;"
    )


def _like_index(build: Build) -> tuple[str, str] | None:
    """(name, CREATE INDEX ...) of the pattern-ops index Django adds for a unique char column."""
    field = build.field
    if field is None or len(build.columns) != 1:
        return None
    ops = _PATTERN_OPS.get(field.field_type.rpartition(".")[2])
    if ops is None:
        return None
    name = index_name(build.table, build.columns, "_like")
    sql = f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {quote(name)} ON {quote(build.table)} ({quote(build.columns[0])} {ops});"
    return name, sql


def constraint_name(build: Build) -> str:
    return build.name or unique_name(build.table, build.columns)


def concurrent_step(
    ctx: MigrationContext, build: Build, depends_on: tuple[Dependency, ...] | None = None
) -> FixStep:
    return concurrent_migration(
        ctx.migration.app_label,
        ctx.migration.name,
        build,
        depends_on if depends_on is not None else ctx.migration.dependencies,
    )


def concurrent_migration(
    app: str, migration_name: str, build: Build, dependencies: tuple[Dependency, ...]
) -> FixStep:
    """:func:`concurrent_step` without a linted migration: ``migration_name`` is where Django
    renders the constraint (named in the advice for constraints it must render itself)."""
    name = constraint_name(build)
    index_sql = _index_sql(build, name)
    drop = f"DROP INDEX CONCURRENTLY IF EXISTS {quote(name)};"
    if index_sql is None:
        return FixStep(
            title=f"Build {name} concurrently",
            explanation=(
                "This constraint has a condition or expressions, so Django creates it as a unique "
                f"index with SQL only it can render. Copy the CREATE UNIQUE INDEX statement that "
                f"`python manage.py sqlmigrate {app} {migration_name}` prints for it, add "
                "CONCURRENTLY after INDEX, and run it from a RunSQL in an `atomic = False` "
                "migration inside SeparateDatabaseAndState, with this operation as the state "
                f"operation and `{drop}` as its reverse. PostgreSQL refuses to attach a partial or "
                "expression index to a constraint: the unique index is the final state."
            ),
        )
    # Django creates constraints with include or opclasses as unique indexes, and drops them as
    # indexes later: keep them indexes rather than attach them to a constraint.
    as_index = build.constraint is not None and any(
        o in build.options for o in ("include", "opclasses")
    )
    build_sql = [_drop_invalid(name), index_sql]
    reverse = [drop]
    like = _like_index(build)
    if like is not None:
        build_sql += [_drop_invalid(like[0]), like[1]]
        reverse.append(f"DROP INDEX CONCURRENTLY IF EXISTS {quote(like[0])};")
    operations = [
        _run_sql(build_sql, reverse, "A failed earlier run leaves an INVALID index behind.")
    ]
    if not as_index:
        operations.append(
            _run_sql(
                [
                    f"SET lock_timeout = '{LOCK_TIMEOUT}';",
                    _attach(build, name),
                    "RESET lock_timeout;",
                ],
                [f"ALTER TABLE {quote(build.table)} DROP CONSTRAINT IF EXISTS {quote(name)};"],
                "Give up rather than queue every query behind the exclusive lock.",
            )
        )
    database = "".join(indent(op, 16) + ",\n" for op in operations)
    code = f"""from django.db import migrations, models


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = {render_dependencies(dependencies)}

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
{database}            ],
            state_operations=[
{indent(_state_operation(build), 16)},
            ],
        ),
    ]
"""
    if as_index:
        how = (
            "Django keeps a constraint with include or opclasses as a unique index, so the "
            "concurrent unique index is the final state."
        )
    else:
        how = (
            "ADD CONSTRAINT ... USING INDEX then takes the ACCESS EXCLUSIVE lock only for an "
            f"instant, under a lock_timeout of {LOCK_TIMEOUT}."
        )
    return FixStep(
        title=f"Build {name} concurrently" + ("" if as_index else ", then attach it"),
        explanation=(
            f"In a migration of its own (atomic = False, replacing this operation): the index is "
            f"built with CREATE UNIQUE INDEX CONCURRENTLY, which lets reads and writes on "
            f"{build.table} go on. {how} Running it again is safe: an INVALID leftover of a failed "
            "build is dropped, a valid index is kept, an attached constraint is left as it is."
        ),
        code=code,
    )


def _run_sql(sql: list[str], reverse: list[str], why: str) -> str:
    lines = "".join(f"        {s!r},\n" for s in sql)
    back = reverse[0] if len(reverse) == 1 else reverse
    return f"migrations.RunSQL(\n    sql=[\n        # {why}\n{lines}    ],\n    reverse_sql={back!r},\n)"


def add_column_step(ctx: MigrationContext, build: Build) -> FixStep:
    """AddField of a unique column: first add it without the constraint."""
    field = build.operation.kwargs.get("field")
    assert isinstance(field, Call)
    qualname = "django.db.models.ForeignKey" if field.name.endswith("OneToOneField") else None
    plain: Value = without(field, "unique", "default", "db_default", qualname=qualname, null=True)
    op = render_operation(build.operation, drop=("preserve_default",), field=plain)
    default = field.kwargs.get("default")
    fill = ""
    if default is not None:
        fill = (
            f" Then fill it with a distinct value per row in a data migration (the default "
            f"{render(default)} would give every existing row the same value, which the unique "
            f"index rejects)."
        )
    return FixStep(
        title=f"Add {build.table}.{build.columns[0]} without the unique constraint",
        explanation=(
            "A nullable column without a default is added without rewriting or scanning the "
            f"table.{fill}"
        ),
        code=f"migrations.AddField(\n{indent(op.removeprefix('migrations.AddField(').removesuffix(')'), 4)}\n)",
    )


def unique_plan(ctx: MigrationContext, build: Build, needs_dedupe: bool) -> tuple[FixStep, ...]:
    """Every step, for the targets of this run."""
    steps: list[FixStep] = []
    model = build.model
    depends_on = None
    if build.origin.startswith("AddField") and build.operation.kwargs.get("field") is not None:
        steps.append(add_column_step(ctx, build))
    elif needs_dedupe and model is not None and build.fields:
        step = dedupe_step(ctx, model, build.fields)
        steps.append(step)
        name = (step.path or "").rpartition("/")[2].removesuffix(".py")
        depends_on = (Dependency(ctx.migration.app_label, name),)
    if "postgresql" in ctx.lint.vendor_names():
        steps.append(concurrent_step(ctx, build, depends_on))
    else:
        steps.append(
            FixStep(
                title="Then apply the operation as it is",
                explanation=(
                    "On SQLite and MySQL the build does not block like PostgreSQL's; what fails "
                    "is the duplicates, which the step above removes."
                ),
            )
        )
    return tuple(steps)


def index_plan(ctx: MigrationContext, build: Build) -> tuple[FixStep, ...]:
    """A plain index built CONCURRENTLY in an ``atomic = False`` migration."""
    deps = render_dependencies(ctx.migration.dependencies)
    header = (
        "from django.db import migrations, models\n\n\n"
        "class Migration(migrations.Migration):\n"
        "    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.\n"
        "    atomic = False\n\n"
        f"    dependencies = {deps}\n\n"
    )
    op = build.operation
    if op.name == "AddIndex":
        code = (
            "from django.contrib.postgres.operations import AddIndexConcurrently\n"
            + header
            + "    operations = [\n"
            + indent(
                render_operation(op).replace("migrations.AddIndex(", "AddIndexConcurrently(", 1), 8
            )
            + ",\n    ]\n"
        )
        return (
            FixStep(
                title="Use AddIndexConcurrently in a non-atomic migration",
                explanation="Django's own operation builds the index with CREATE INDEX CONCURRENTLY.",
                code=code,
            ),
        )
    name = build.name or index_name(
        build.table, build.columns, "_idx" if op.name == "AlterIndexTogether" else ""
    )
    columns = ", ".join(quote(c) for c in build.columns)
    create = f"CREATE INDEX CONCURRENTLY {quote(name)} ON {quote(build.table)} ({columns});"
    drop = f"DROP INDEX CONCURRENTLY IF EXISTS {quote(name)};"
    database = [
        f"migrations.RunSQL(\n    sql=[{drop!r}, {create!r}],\n    reverse_sql={drop!r},\n)"
    ]
    if op.name == "AddField" and isinstance(op.kwargs.get("field"), Call):
        field = op.kwargs["field"]
        assert isinstance(field, Call)
        plain = without(field, "db_index", db_index=False)
        database.insert(0, render_operation(op, field=plain))
    if op.name == "RunSQL":
        code = header + "    operations = [\n" + indent(database[0], 8) + ",\n    ]\n"
    else:
        code = (
            header
            + "    operations = [\n        migrations.SeparateDatabaseAndState(\n"
            + "            database_operations=[\n"
            + "".join(indent(d, 16) + ",\n" for d in database)
            + "            ],\n            state_operations=[\n"
            + indent(render_operation(op), 16)
            + ",\n            ],\n        ),\n    ]\n"
        )
    return (
        FixStep(
            title=f"Build {name} concurrently",
            explanation=(
                f"Reads and writes on {build.table} go on during the build. A failed run leaves an "
                "INVALID index behind; the DROP first makes a rerun start clean."
            ),
            code=code,
        ),
    )
