"""Unique sets a model declares in models.py, to tell "not in any migration yet" from "nowhere".

Project mode only: the model's ``_meta`` from Django's app registry (models.py as Django
loaded it, inherited fields and constraints included). The result is the migration state with
the declared unique sets added, so a lookup that only models.py covers can be told apart from
one nothing covers. Without a project nothing is read: models.py is not imported.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from migration_lint.facts import FieldState, ModelKey, ModelState, UniqueSet

if TYPE_CHECKING:
    from migration_lint.analysis.lookups import ModelIndex, _Detail
    from migration_lint.appcode import AppCodeScan, CallSite
    from migration_lint.context import LintContext


def declared_index(
    ctx: LintContext, scan: AppCodeScan, site: CallSite, index: ModelIndex
) -> ModelIndex | None:
    """``index`` with the model's models.py unique sets added; None when models.py is not known."""
    assert site.app_label is not None and site.model is not None
    key = (site.app_label, site.model.lower())
    cache: dict[ModelKey, ModelIndex | None] = ctx.memo.setdefault("appcode.declared", {})  # type: ignore[assignment]
    if key not in cache:
        cache[key] = _from_registry(key, index) if ctx.project is not None else None
    return cache[key]


def _merge(
    state: ModelState,
    unique_fields: set[str],
    together: list[tuple[str, ...]],
    constraints: list[tuple[UniqueSet, _Detail]],
    details: dict[tuple[ModelKey, str], _Detail],
) -> ModelState:
    fields = []
    known = {f.name for f in state.fields}
    for f in state.fields:
        fields.append(replace(f, unique=True) if f.name in unique_fields and not f.unique else f)
    for name in sorted(unique_fields - known):
        fields.append(FieldState(name=name, column=name, field_type="", unique=True))
    existing_together = set(state.unique_together)
    merged_together = (*state.unique_together, *(t for t in together if t not in existing_together))
    existing = {c.name for c in state.constraints}
    new_constraints = []
    for unique, detail in constraints:
        if unique.name in existing:
            continue
        new_constraints.append(unique)
        if unique.name:
            details[(state.key, unique.name)] = detail
    return replace(
        state,
        fields=tuple(fields),
        unique_together=merged_together,
        constraints=(*state.constraints, *new_constraints),
    )


# --- project mode --------------------------------------------------------------------------------


def _from_registry(key: ModelKey, index: ModelIndex) -> ModelIndex | None:
    from django.apps import apps
    from django.db.migrations.state import ModelState as DjangoModelState
    from django.db.models import UniqueConstraint

    from migration_lint.analysis.lookups import ModelIndex, _django_detail
    from migration_lint.project import convert_model

    try:
        model = apps.get_model(key[0], key[1])
    except LookupError:
        return None
    models: dict[ModelKey, ModelState] = {}
    details: dict[tuple[ModelKey, str], _Detail] = {}
    for cls in [model, *model._meta.get_parent_list()]:
        cls_key = (cls._meta.app_label, cls._meta.model_name)
        state = index.get(cls_key)
        if state is None:
            continue
        declared = convert_model(DjangoModelState.from_model(cls))
        unique = {f.name for f in declared.fields if f.unique or f.primary_key}
        constraints = []
        for constraint in cls._meta.constraints:
            if isinstance(constraint, UniqueConstraint) and constraint.fields:
                constraints.append(
                    (
                        UniqueSet(
                            fields=tuple(constraint.fields),
                            origin="constraint",
                            name=constraint.name,
                            condition=constraint.condition is not None,
                            expressions=bool(constraint.expressions),
                            nulls_distinct=getattr(constraint, "nulls_distinct", None),
                        ),
                        _django_detail(constraint),
                    )
                )
        together = [tuple(t) for t in cls._meta.unique_together]
        models[cls_key] = _merge(state, unique, together, constraints, details)
    if not models:
        return None
    return ModelIndex(models, details, {}, fallback=index)
