"""Shared by the ML4xx rules: constraint and index calls per target, checked against rendered SQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from migration_lint.context import MigrationContext
from migration_lint.facts import Call, Operation
from migration_lint.portability import Ignored, index, unique_constraint

if TYPE_CHECKING:
    from migration_lint.render import Rendering


@dataclass(frozen=True)
class Case:
    top: Operation
    call: Call
    kind: str  # "unique constraint" or "index"
    vendor: str
    version: str | None
    ignored: tuple[Ignored, ...]
    confirmed: bool | None  # rendered SQL agrees (True), disagrees (False), unavailable (None)


def _calls(op: Operation) -> Iterator[tuple[Call, str]]:
    """UniqueConstraint/Index calls an operation creates in the database."""
    if op.name in ("AddConstraint", "AddIndex", "AddIndexConcurrently"):
        value = op.kwargs.get("constraint", op.kwargs.get("index"))
        if isinstance(value, Call):
            yield value, "constraint" if op.name == "AddConstraint" else "index"
    elif op.name == "CreateModel":
        options = op.kwargs.get("options")
        if hasattr(options, "get"):
            for key, kind in (("constraints", "constraint"), ("indexes", "index")):
                values = options.get(key)  # type: ignore[union-attr]
                for value in values if isinstance(values, tuple) else ():
                    if isinstance(value, Call):
                        yield value, kind


def _database_ops(top: Operation) -> Iterator[Operation]:
    if top.name == "SeparateDatabaseAndState":
        for nested in top.nested.get("database_operations", ()):
            yield from _database_ops(nested)
    else:
        yield top


def cases(ctx: MigrationContext) -> list[Case]:
    """Every ignored option of every constraint and index, per known target."""
    if not ctx.lint.vendors_known:
        return []
    rendering = ctx.lint.rendering()
    out: list[Case] = []
    for top_index, top in enumerate(ctx.migration.operations):
        for op in _database_ops(top):
            for call, kind in _calls(op):
                unique = kind == "constraint" and call.name.endswith("UniqueConstraint")
                if kind == "constraint" and not unique:
                    continue
                for vendor, version in ctx.lint.vendors:
                    ignored = (
                        unique_constraint(call, vendor, version)
                        if unique
                        else index(call, vendor, version)
                    )
                    if not ignored:
                        continue
                    confirmed = _confirmed(rendering, ctx, top_index, vendor, call, ignored)
                    if confirmed is False:
                        continue  # the rendered SQL creates it as asked: reality wins
                    out.append(
                        Case(
                            top,
                            call,
                            "unique constraint" if unique else "index",
                            vendor,
                            version,
                            tuple(ignored),
                            confirmed,
                        )
                    )
    return out


def _confirmed(
    rendering: Rendering | None,
    ctx: MigrationContext,
    top_index: int,
    vendor: str,
    call: Call,
    ignored: list[Ignored],
) -> bool | None:
    if rendering is None:
        return None
    migration = rendering.get(ctx.migration.key, vendor)
    name = call.kwargs.get("name")
    if migration is None or not isinstance(name, str):
        return None
    rendered = migration.operation(top_index)
    if rendered is None or rendered.error:
        return None
    sql = " ".join([*rendered.sql, *migration.deferred])
    mentioned = name in sql
    if any(i.outcome != "degraded" for i in ignored):
        return not mentioned
    # Degraded: the index is there; the option's keyword is not.
    words = {"include": "INCLUDE", "condition": "WHERE", "opclasses": "_ops"}
    return mentioned and not any(words.get(i.option, "\0") in sql for i in ignored)
