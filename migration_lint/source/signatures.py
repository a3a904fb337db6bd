"""Positional parameter names of Django's operations and fields, so that ``AddField("a", "b", f)``
and ``AddField(model_name="a", name="b", field=f)`` give rules the same keyword arguments."""

from __future__ import annotations

_M = "django.db.migrations."
_F = "django.db.models."
_PG = "django.contrib.postgres.operations."

OPERATIONS: dict[str, tuple[str, ...]] = {
    _M + "CreateModel": ("name", "fields", "options", "bases", "managers"),
    _M + "DeleteModel": ("name",),
    _M + "RenameModel": ("old_name", "new_name"),
    _M + "AlterModelTable": ("name", "table"),
    _M + "AlterModelTableComment": ("name", "table_comment"),
    _M + "AlterModelOptions": ("name", "options"),
    _M + "AlterModelManagers": ("name", "managers"),
    _M + "AlterUniqueTogether": ("name", "unique_together"),
    _M + "AlterIndexTogether": ("name", "index_together"),
    _M + "AlterOrderWithRespectTo": ("name", "order_with_respect_to"),
    _M + "AddField": ("model_name", "name", "field", "preserve_default"),
    _M + "RemoveField": ("model_name", "name"),
    _M + "AlterField": ("model_name", "name", "field", "preserve_default"),
    _M + "RenameField": ("model_name", "old_name", "new_name"),
    _M + "AddIndex": ("model_name", "index"),
    _M + "RemoveIndex": ("model_name", "name"),
    _M + "RenameIndex": ("model_name", "new_name", "old_name", "old_fields"),
    _M + "AddConstraint": ("model_name", "constraint"),
    _M + "RemoveConstraint": ("model_name", "name"),
    _M + "AlterConstraint": ("model_name", "name", "constraint"),
    _M + "RunSQL": ("sql", "reverse_sql", "state_operations", "hints", "elidable"),
    _M + "RunPython": ("code", "reverse_code", "atomic", "hints", "elidable"),
    _M + "SeparateDatabaseAndState": ("database_operations", "state_operations"),
    _PG + "AddIndexConcurrently": ("model_name", "index"),
    _PG + "RemoveIndexConcurrently": ("model_name", "name"),
    _PG + "AddConstraintNotValid": ("model_name", "constraint"),
    _PG + "ValidateConstraint": ("model_name", "name"),
}

_RELATED = ("to", "on_delete")
FIELDS: dict[str, tuple[str, ...]] = {
    _F + "ForeignKey": _RELATED,
    _F + "OneToOneField": _RELATED,
    _F + "ForeignObject": ("to", "on_delete", "from_fields", "to_fields"),
    _F + "ManyToManyField": ("to",),
    _F + "CharField": ("verbose_name", "name"),
    _F + "DecimalField": ("verbose_name", "name", "max_digits", "decimal_places"),
}


def parameters(qualname: str) -> tuple[str, ...]:
    """Positional parameter names for ``qualname``; plain fields take (verbose_name, name)."""
    if qualname in OPERATIONS:
        return OPERATIONS[qualname]
    if qualname in FIELDS:
        return FIELDS[qualname]
    if qualname.startswith(_F) and qualname.endswith("Field"):
        return ("verbose_name", "name")
    return ()
