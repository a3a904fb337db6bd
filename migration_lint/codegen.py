"""Python source for fix plans: operation and field values back to the code a migration holds."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from migration_lint.facts import Call, Dependency, Operation, Ref, Unknown, Value
from migration_lint.source.signatures import parameters

_SHORT_PREFIXES = (
    ("django.db.migrations.", "migrations."),
    ("django.db.models.functions.", "models.functions."),
    ("django.db.models.", "models."),
    ("django.conf.settings.", "settings."),
)


_NUMBER = re.compile(r"\d+")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=4096)
def migration_number(name: str) -> int:
    """The number a migration's name starts with (``0042_auto`` -> 42), else 1."""
    match = _NUMBER.match(name)
    return int(match.group()) if match else 1


# Memoised: fix plans name functions and migrations after the same few models and fields.
@lru_cache(maxsize=4096)
def slug(*parts: str) -> str:
    """The parts as one lowercase identifier: ``("Order", "total-net")`` -> ``order_total_net``."""
    text = "_".join(parts).lower()
    # Most are identifiers already (``add_order_note``): no pattern to run over them.
    if text.isascii() and text.replace("_", "").isalnum() and "__" not in text:
        return text.strip("_")
    return _NOT_SLUG.sub("_", text).strip("_")


def short_name(qualname: str) -> str:
    """``django.db.models.CharField`` -> ``models.CharField``, as migrations import them."""
    for prefix, short in _SHORT_PREFIXES:
        if qualname.startswith(prefix):
            return short + qualname[len(prefix) :]
    return qualname


# Values spelled by their repr, tested by exact type first: fix plans render every argument of
# every operation they rewrite, and most are plain strings, numbers and booleans.
_PLAIN = frozenset({str, int, bool, float, type(None)})


def render(value: Value) -> str:
    if type(value) in _PLAIN:
        return repr(value)
    if isinstance(value, Call):
        # Positional arguments the parser bound to their names are kept once, as keywords.
        names = parameters(value.qualname)
        args = tuple(
            a
            for i, a in enumerate(value.args)
            if not (i < len(names) and value.kwargs.get(names[i]) is a)
        )
        return render_call(value.qualname, args, value.kwargs)
    if isinstance(value, Ref):
        return short_name(value.qualname)
    if isinstance(value, Unknown):
        return value.source
    if isinstance(value, tuple):
        return _tuple([render(v) for v in value])
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k!r}: {render(v)}" for k, v in value.items()) + "}"
    return repr(value)


def render_by_keyword(value: Value) -> str:
    """``value`` with every call's arguments by keyword, nested calls too (the parser bound
    positional ones to names), as fix plans write operations."""
    if type(value) in _PLAIN:
        return repr(value)
    if isinstance(value, Call):
        parts = [f"{k}={render_by_keyword(v)}" for k, v in value.kwargs.items() if k != "**"]
        return f"{short_name(value.qualname)}({', '.join(parts)})"
    if isinstance(value, tuple):
        return _tuple([render_by_keyword(v) for v in value])
    return render(value)


def _tuple(items: list[str]) -> str:
    inner = ", ".join(items)
    return f"({inner},)" if len(items) == 1 else f"({inner})"


def render_call(
    qualname: str, args: tuple[Value, ...], kwargs: Mapping[str, Value], bound: tuple[str, ...] = ()
) -> str:
    """A call with positional ``args`` first; keyword names in ``bound`` were positional."""
    parts = [render(a) for a in args]
    parts += [f"{k}={render(v)}" for k, v in kwargs.items() if k not in bound and k != "**"]
    return f"{short_name(qualname)}({', '.join(parts)})"


def render_operation(op: Operation, drop: tuple[str, ...] = (), **changes: Value) -> str:
    """The operation as keyword arguments (the source's positional ones were bound to names)."""
    kwargs = {k: v for k, v in op.kwargs.items() if k != "**" and k not in drop}
    kwargs.update(changes)
    return render_call(op.qualname, (), kwargs)


def without(call: Call, *names: str, qualname: str | None = None, **changes: Value) -> Call:
    """``call`` with the keyword arguments ``names`` removed and ``changes`` applied."""
    params = {k: v for k, v in call.kwargs.items() if k not in names}
    params.update(changes)
    # Positional arguments were bound to names too: keep only the keyword spelling.
    return Call(qualname or call.qualname, (), params)


def render_dependencies(deps: tuple[Dependency, ...]) -> str:
    items = []
    for dep in deps:
        if dep.swappable:
            items.append(f"migrations.swappable_dependency(settings.{dep.swappable})")
        else:
            items.append(f"({dep.app_label!r}, {dep.name!r})")
    return "[" + ", ".join(items) + "]"


def indent(text: str, spaces: int) -> str:
    """Every non-empty line of ``text`` indented by ``spaces``."""
    pad = " " * spaces
    lines = text.splitlines()
    if lines and "" not in lines:
        # The common case, in one join: no empty line to leave unpadded.
        return pad + ("\n" + pad).join(lines)
    return "\n".join(pad + line if line else line for line in lines)


def render_migration(
    dependencies: str,
    operations: list[str],
    *,
    atomic: bool = True,
    header: str = "from django.db import migrations, models\n",
    functions: str = "",
    comment: str = "",
) -> str:
    """A whole migration module: ``header`` imports, ``functions``, then the Migration class.

    ``dependencies`` is already rendered (``render_dependencies``); each operation is Python
    source without indentation or trailing comma.
    """
    parts = [header.rstrip("\n") + "\n"]
    if functions:
        parts.append("\n\n" + functions.strip("\n") + "\n")
    body = ""
    if comment:
        body += "".join(f"    # {line}\n" if line else "    #\n" for line in comment.splitlines())
    if not atomic:
        body += "    atomic = False\n\n"
    body += f"    dependencies = {dependencies}\n\n    operations = [\n"
    body += "".join(indent(op, 8) + ",\n" for op in operations)
    body += "    ]\n"
    parts.append("\n\nclass Migration(migrations.Migration):\n" + body)
    return "".join(parts)
