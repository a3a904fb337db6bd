"""Facts the deploy-safety rules (ML5xx) share: the operations that reach the database with the
models right before them, PostgreSQL column types, and whether a type change rewrites the table.

The rewrite table is what PostgreSQL 15 did on the real server (``tests/test_postgres_deploy_facts.py``
checks each line with ``pg_class.relfilenode``): a length increase of ``varchar`` and
``varchar -> text`` keep the table, a length decrease, ``text -> varchar(n)``, any change between
``smallint``, ``integer`` and ``bigint`` and a change of numeric scale rewrite it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import cast

from migration_lint.analysis.builds import database_operations
from migration_lint.context import MigrationContext
from migration_lint.facts import FieldState, ModelKey, ModelState, Operation
from migration_lint.frozen import direct_init

_M = "django.db.migrations."

# Django's PostgreSQL ``data_types`` for its own fields (``DatabaseWrapper.data_types``).
_PG_TYPES = {
    "AutoField": "integer",
    "BigAutoField": "bigint",
    "SmallAutoField": "smallint",
    "BinaryField": "bytea",
    "BooleanField": "boolean",
    "NullBooleanField": "boolean",
    "DateField": "date",
    "DateTimeField": "timestamp with time zone",
    "DurationField": "interval",
    "FloatField": "double precision",
    "IntegerField": "integer",
    "BigIntegerField": "bigint",
    "SmallIntegerField": "smallint",
    "PositiveIntegerField": "integer",
    "PositiveBigIntegerField": "bigint",
    "PositiveSmallIntegerField": "smallint",
    "IPAddressField": "inet",
    "GenericIPAddressField": "inet",
    "JSONField": "jsonb",
    "TextField": "text",
    "TimeField": "time",
    "UUIDField": "uuid",
}
# Character fields and the max_length Django gives them when the migration does not.
_VARCHAR = {
    "CharField": None,
    "EmailField": 254,
    "SlugField": 50,
    "URLField": 200,
    "FileField": 100,
    "ImageField": 100,
    "FilePathField": 100,
}


@direct_init
@dataclass(frozen=True)
class DbStep:
    """An operation that reaches the database, with the models right before its top operation."""

    operation: Operation
    top: Operation
    index: int
    models: Mapping[ModelKey, ModelState]


def db_steps(ctx: MigrationContext) -> list[DbStep]:
    cached = ctx.memo.get("db_steps")
    if cached is None:
        cached = ctx.memo["db_steps"] = [
            DbStep(op, step.operation, index, step.models)
            for index, step in enumerate(ctx.steps)
            for op in database_operations(step.operation)
        ]
    return cast("list[DbStep]", cached)


def model_of(ctx: MigrationContext, step: DbStep, arg: str = "model_name") -> ModelState | None:
    name = step.operation.kwargs.get(arg)
    if not isinstance(name, str):
        return None
    return step.models.get((ctx.migration.app_label, name.lower()))


def existing_model(
    ctx: MigrationContext, step: DbStep, arg: str = "model_name"
) -> ModelState | None:
    """The model the operation names, when its table existed before this migration."""
    model = model_of(ctx, step, arg)
    if model is None or ctx.created_here(model.key) or not model.managed or model.proxy:
        return None
    return model


def kind(f: FieldState) -> str:
    return f.field_type.rpartition(".")[2]


def is_relation(f: FieldState) -> bool:
    return kind(f) in ("ForeignKey", "OneToOneField") or kind(f).endswith(
        ("ForeignKey", "OneToOneField")
    )


def has_constraint(f: FieldState) -> bool:
    """A relation with a database foreign key constraint (``db_constraint`` not False)."""
    return is_relation(f) and f.kwargs.get("db_constraint") is not False


def default_of(f: FieldState) -> object:
    """The field's ``default`` as the migration spells it (a literal, Ref or Call), or None."""
    return f.kwargs.get("default")


def pg_type(f: FieldState, models: Mapping[ModelKey, ModelState], depth: int = 0) -> str | None:
    """The column type Django creates on PostgreSQL, normalised; None for fields it cannot know."""
    name = kind(f)
    if name in _PG_TYPES:
        return _PG_TYPES[name]
    if name in _VARCHAR:
        length = f.kwargs.get("max_length", _VARCHAR[name])
        if length is None and name == "CharField":
            return "varchar"
        return f"varchar({length})" if isinstance(length, int) else None
    if name == "DecimalField":
        digits, places = f.kwargs.get("max_digits"), f.kwargs.get("decimal_places")
        if isinstance(digits, int) and isinstance(places, int):
            return f"numeric({digits},{places})"
        return None
    if is_relation(f) and f.related_model and depth < 3:
        app, _, model_name = f.related_model.partition(".")
        target = models.get((app, model_name))
        if target is None:
            return None
        to_field = f.kwargs.get("to_field")
        pk = next(
            (
                t
                for t in target.fields
                if (t.name == to_field if isinstance(to_field, str) else t.primary_key)
            ),
            None,
        )
        if pk is None:
            return None
        return pg_type(pk, models, depth + 1)
    return None


_VARCHAR_RE = re.compile(r"^varchar(?:\((\d+)\))?$")
_NUMERIC_RE = re.compile(r"^numeric\((\d+),(\d+)\)$")


def rewrites(old: str, new: str) -> bool:
    """True when ``ALTER COLUMN ... TYPE new`` rewrites a table whose column is ``old``.

    Only the pairs below were observed on the server; every other change of type rewrites (and
    may fail on existing values).
    """
    if old == new:
        return False
    old_char, new_char = _VARCHAR_RE.match(old), _VARCHAR_RE.match(new)
    if old_char and new_char:
        old_len, new_len = old_char.group(1), new_char.group(1)
        if new_len is None:
            return False
        return old_len is None or int(new_len) < int(old_len)
    if old_char and new == "text":
        return False
    if old == "text" and new == "varchar":
        return False
    old_num, new_num = _NUMERIC_RE.match(old), _NUMERIC_RE.match(new)
    if old_num and new_num:
        same_scale = old_num.group(2) == new_num.group(2)
        return not (same_scale and int(new_num.group(1)) >= int(old_num.group(1)))
    return True


def referencing(
    models: Mapping[ModelKey, ModelState], key: ModelKey
) -> Iterator[tuple[ModelState, FieldState]]:
    """Every (model, field) whose foreign key points at the model ``key``."""
    label = f"{key[0]}.{key[1]}"
    for model in models.values():
        for f in model.fields:
            if is_relation(f) and f.related_model == label:
                yield model, f


def related_model(models: Mapping[ModelKey, ModelState], f: FieldState) -> ModelState | None:
    if not f.related_model:
        return None
    app, _, name = f.related_model.partition(".")
    return models.get((app, name))


def is_postgres(ctx: MigrationContext) -> bool:
    return "postgresql" in ctx.lint.vendor_names()


def op_is(op: Operation, *names: str) -> bool:
    # Every rule asks this of every operation: the qualified names are built once per question.
    full = _QUALIFIED.get(names)
    if full is None:
        full = _QUALIFIED[names] = frozenset(_M + name for name in names)
    return op.qualname in full


_QUALIFIED: dict[tuple[str, ...], frozenset[str]] = {}


# Field options Django keeps out of the database: changing only these emits no SQL.
_STATE_ONLY = frozenset(
    {
        "help_text",
        "verbose_name",
        "choices",
        "validators",
        "editable",
        "blank",
        "related_name",
        "related_query_name",
        "limit_choices_to",
        "on_delete",
        "upload_to",
        "storage",
        "serialize",
        "error_messages",
        "auto_now",
        "auto_now_add",
        "default",
        "preserve_default",
        "to",
    }
)


def alters_column(old: FieldState, new: FieldState, models: Mapping[ModelKey, ModelState]) -> bool:
    """True when AlterField from ``old`` to ``new`` makes Django emit SQL (on PostgreSQL)."""
    if old.null != new.null or old.column != new.column:
        return True
    if old.field_type != new.field_type:
        old_type, new_type = pg_type(old, models), pg_type(new, models)
        if old_type is None or new_type is None or old_type != new_type:
            return True
    if old.related_model != new.related_model:
        return True

    def db(f: FieldState) -> dict[str, object]:
        return {k: v for k, v in f.kwargs.items() if k not in _STATE_ONLY}

    # A field class that implies an option (SlugField's index) is compared by its kwargs only:
    # the same spelling in both means the same column.
    return db(old) != db(new)


def index_created(f: FieldState) -> bool:
    """AddField of ``f`` makes Django create an index (deferred to the end of the migration)."""
    if f.many_to_many or f.primary_key or f.unique:
        return False
    return f.db_index or (kind(f) == "SlugField" and f.kwargs.get("db_index") is not False)
