"""The new migration that carries an edit made to an applied one, written with the user's names.

The edit is reverted in the applied file; what it meant to change goes into a new migration that
depends on the app's latest: a changed field becomes an ``AlterField``, a changed constraint or
index is removed and added again, an added operation moves as it is, a removed ``AddField`` or
``CreateModel`` is reversed. What cannot be derived is listed for ``makemigrations`` or by hand.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from migration_lint.codegen import render, render_call, render_dependencies, render_migration
from migration_lint.facts import Call, Dependency, MigrationFacts, Operation, Ref, Value
from migration_lint.integrity.normal import Change
from migration_lint.source.signatures import parameters

_M = "django.db.migrations."
# Operations that state their final value: the new version, moved to a new migration, does it.
_RESTATE = frozenset(
    {
        "AlterField",
        "AlterUniqueTogether",
        "AlterIndexTogether",
        "AlterModelOptions",
        "AlterModelTable",
        "AlterModelTableComment",
        "AlterModelManagers",
        "AlterOrderWithRespectTo",
        "RunSQL",
        "RunPython",
    }
)


@dataclass
class Carried:
    """Operations (Python source) for the new migration, and what must be done by hand."""

    operations: list[str] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)
    by_hand: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # for the new migration's name


def number_of(name: str) -> int:
    match = re.match(r"^(\d+)", name)
    return int(match.group(1)) if match else 0


def next_name(existing: Sequence[str], slug: str) -> str:
    number = max((number_of(n) for n in existing), default=0) + 1
    slug = re.sub(r"[^a-z0-9]+", "_", slug.lower()).strip("_")[:40].rstrip("_") or "auto"
    return f"{number:04d}_{slug}"


def _s(value: Value) -> str | None:
    return value if isinstance(value, str) else None


def _op(kind: str, **kwargs: Value) -> str:
    return render_call(_M + kind, (), {k: v for k, v in kwargs.items() if v is not None})


def _slug(*parts: str | None) -> str:
    return "_".join(p.lower() for p in parts if p)


def _field_ops(old: Operation | None, new: Operation, out: Carried) -> bool:
    model, name, fld = _s(new.arg("model_name")), _s(new.arg("name")), new.arg("field")
    if not model or not name or not isinstance(fld, Call):
        return False
    old_name = _s(old.arg("name")) if old else name
    if old_name and old_name != name:
        out.operations.append(
            _op("RenameField", model_name=model, old_name=old_name, new_name=name)
        )
        out.names.append(_slug("rename", model, old_name, name))
        if old is not None and old.arg("field") == fld:
            return True
    out.operations.append(_op("AlterField", model_name=model, name=name, field=fld))
    out.names.append(_slug("alter", model, name))
    return True


def _model_fields(op: Operation) -> dict[str, Value]:
    fields = op.arg("fields")
    out: dict[str, Value] = {}
    if isinstance(fields, tuple):
        for item in fields:
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
                out[item[0]] = item[1]
    return out


def _create_model(old: Operation | None, new: Operation, out: Carried) -> bool:
    model = _s(new.arg("name"))
    if old is None or not model or _s(old.arg("name")) != model:
        return False
    before, after = _model_fields(old), _model_fields(new)
    lower = model.lower()
    for name, value in after.items():
        if name not in before:
            out.operations.append(_op("AddField", model_name=lower, name=name, field=value))
            out.names.append(_slug(lower, name))
        elif before[name] != value:
            out.operations.append(_op("AlterField", model_name=lower, name=name, field=value))
            out.names.append(_slug("alter", lower, name))
    for name in before:
        if name not in after:
            out.operations.append(_op("RemoveField", model_name=lower, name=name))
            out.names.append(_slug("remove", lower, name))
    rest = [k for k in {*old.kwargs, *new.kwargs} - {"name", "fields"} if old.arg(k) != new.arg(k)]
    if rest:
        out.by_hand.append(
            f"CreateModel {model}: the change to {', '.join(sorted(rest))} "
            f"(python manage.py makemigrations writes it once the model says it)"
        )
    return True


def _inner_name(value: Value) -> str | None:
    return _s(value.arg("name")) if isinstance(value, Call) else None


def _readd(old: Operation | None, new: Operation, out: Carried, what: str) -> bool:
    model = _s(new.arg("model_name"))
    old_name = _inner_name(old.arg(what)) if old else None
    if not model or not old_name:
        return False
    remove = "RemoveConstraint" if what == "constraint" else "RemoveIndex"
    out.operations.append(_op(remove, model_name=model, name=old_name))
    out.operations.append(render_call(new.qualname, (), {"model_name": model, what: new.arg(what)}))
    out.names.append(_slug(model, _inner_name(new.arg(what)) or what))
    return True


def _moved(op: Operation, facts: MigrationFacts, out: Carried) -> None:
    """``op`` as it stands, with the module-level functions it calls."""
    order = {name: i for i, name in enumerate(parameters(op.qualname))}
    kwargs = sorted(
        ((k, v) for k, v in op.kwargs.items() if k != "**"), key=lambda kv: order.get(kv[0], 99)
    )
    out.operations.append(render_call(op.qualname, (), dict(kwargs)))
    for value in op.kwargs.values():
        if isinstance(value, Ref) and value.qualname in facts.functions:
            source = facts.functions[value.qualname]
            if source not in out.functions:
                out.functions.append(source)
    name = _s(op.arg("model_name")) or _s(op.arg("name"))
    out.names.append(_slug(op.name, name) if op.name != "RunPython" else "data")


def _reverse(old: Operation, out: Carried) -> bool:
    model, name = _s(old.arg("model_name")), _s(old.arg("name"))
    if old.name == "AddField" and model and name:
        out.operations.append(_op("RemoveField", model_name=model, name=name))
        out.names.append(_slug("remove", model, name))
    elif old.name == "CreateModel" and name:
        out.operations.append(_op("DeleteModel", name=name))
        out.names.append(_slug("delete", name))
    elif old.name in ("AddConstraint", "AddIndex") and model:
        what = "constraint" if old.name == "AddConstraint" else "index"
        inner = _inner_name(old.arg(what))
        if not inner:
            return False
        kind = "RemoveConstraint" if what == "constraint" else "RemoveIndex"
        out.operations.append(_op(kind, model_name=model, name=inner))
        out.names.append(_slug("remove", model, inner))
    else:
        return False
    return True


def carry(changes: Sequence[Change], old: MigrationFacts | None, new: MigrationFacts) -> Carried:
    """What the new migration must do so that databases that ran ``old`` get ``new``'s meaning."""
    out = Carried()
    for change in changes:
        if change.kind != "operation":
            out.by_hand.append(
                f"{change.summary}: this cannot move to another migration; keep the applied "
                "value (a new migration is the place for any new behaviour)"
            )
            continue
        new_op = _index(new.operations, change.new_index)
        old_op = _index(old.operations, change.old_index) if old else None
        done = False
        if new_op is not None and old_op is not None and old_op.name != new_op.name:
            done = False
        elif new_op is not None and change.old_index is None:
            _moved(new_op, new, out)  # an added operation moves as it is
            done = True
        elif new_op is not None and new_op.name in ("AddField", "AlterField"):
            done = _field_ops(old_op, new_op, out)
        elif new_op is not None and new_op.name == "CreateModel":
            done = _create_model(old_op, new_op, out)
        elif new_op is not None and new_op.name in ("AddConstraint", "AddIndex"):
            what = "constraint" if new_op.name == "AddConstraint" else "index"
            done = _readd(old_op, new_op, out, what)
        elif new_op is not None and new_op.name in _RESTATE:
            _moved(new_op, new, out)
            done = True
        elif new_op is None and old_op is not None:
            done = _reverse(old_op, out)
        if not done:
            out.by_hand.append(change.summary)
    return out


def _index(ops: Sequence[Operation], index: int | None) -> Operation | None:
    return ops[index] if index is not None and 0 <= index < len(ops) else None


def migration_code(app: str, latest: str | None, carried: Carried) -> str:
    deps = (Dependency(app, latest),) if latest else ()
    text = "\n".join(carried.operations)
    header = "from django.db import migrations, models\n"
    if "settings." in text:
        header = "from django.conf import settings\n" + header
    return render_migration(
        render_dependencies(deps),
        carried.operations,
        header=header,
        functions="\n\n\n".join(carried.functions),
    )


def reverse_all(old: MigrationFacts) -> Carried:
    """Operations that undo ``old`` (a deleted migration), last first, where they can be derived."""
    out = Carried()
    for op in reversed(old.operations):
        if not _reverse(op, out):
            out.by_hand.append(f"undo {op.name or 'an operation'} {render(op.arg('name'))}")
    return out
