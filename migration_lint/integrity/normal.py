"""A migration's meaning, normalised from its syntax tree: what the lock file hashes and what the
ML2xx rules compare.

The normal form is built with the standard library's ``ast`` (a project's every migration is
hashed for the lock file; ``ast`` is about 20x faster than libcst here, see
``migration_lint/source/names.py``). It is, by construction:

- stable under reformatting, comments, docstrings (of the module, the class and every function),
  the order and spelling of imports (names are resolved to what they import:
  ``models.CharField`` and ``from django.db.models import CharField`` read the same), positional
  versus keyword arguments of Django's operations and fields, keyword order, lists versus tuples
  outside function bodies, the order of ``dependencies``/``replaces``/``run_before``, attributes
  spelled with their default value (``atomic = True``), and whitespace and ``--``/``/* */``
  comments in RunSQL's SQL (outside quoted literals);
- sensitive to everything else in the ``Migration`` class: every operation and each of its
  arguments, ``dependencies``, ``run_before``, ``replaces``, ``atomic``, ``initial``, any other
  attribute or method, and the code of every module-level function, class or constant the class
  uses, followed transitively (what a RunPython runs, the SQL a module constant holds).

Code imported from other modules is seen by name only; module-level statements the class does not
use (an unused helper, a ``print``) are not part of the meaning.

``VERSION`` is recorded in lock files: a change to the normal form changes hashes, so it must
come with a new version number.
"""

from __future__ import annotations

import ast
import difflib
import functools
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from migration_lint.source import astwalk
from migration_lint.source.names import Imports
from migration_lint.source.names import canonical as _uncached_canonical
from migration_lint.source.signatures import parameters

VERSION = 1
SHORT = 12  # hex digits of the per-operation digests kept in the lock file
_TINY = 4  # hex digits per argument: enough to tell which one changed
_SPECIAL = ("operations", "dependencies", "replaces", "run_before")
# Class attributes whose value, spelled out, equals Django's default.
_DEFAULTS = {"atomic": ("True",), "initial": ("False", "None")}
_SKIP_FIELDS = frozenset({"ctx", "type_comment", "kind", "type_ignores"})
_RUN_SQL = "django.db.migrations.RunSQL"
_MAX_DISPLAY = 100


canonical = functools.lru_cache(maxsize=8192)(_uncached_canonical)


class Unreadable(Exception):
    """The file is not Python that ``ast`` can read; the message says where."""


def _tiny(text: str) -> str:
    """A few hex digits: enough to tell which of a handful of values changed."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=2).hexdigest()


def _digest(*parts: str) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


@dataclass(frozen=True)
class NormalOp:
    """One top-level operation: its canonical text and the module-level code it uses."""

    kind: str
    label: str
    text: str
    args: tuple[tuple[str, str], ...]
    code: tuple[tuple[str, str], ...]
    digest: str
    # For messages only (never hashed): the argument and code nodes, to show them as written.
    nodes: Mapping[str, ast.AST] = field(default_factory=dict, compare=False, repr=False)
    code_nodes: Mapping[str, Sequence[ast.AST]] = field(
        default_factory=dict, compare=False, repr=False
    )
    node: ast.AST | None = field(default=None, compare=False, repr=False)

    @property
    def short(self) -> str:
        return self.digest[:SHORT]

    @property
    def record(self) -> str:
        """What the lock file keeps: the digest, then one of the argument names and one per
        argument (in name order), so that a finding can say which argument changed."""
        if not self.args:
            return self.short
        ordered = sorted(self.args)
        names = _tiny("\0".join(n for n, _ in ordered))
        return f"{self.short}/{names}:" + ".".join(_tiny(t) for _, t in ordered)

    def show_arg(self, name: str) -> str:
        node = self.nodes.get(name)
        if node is None:
            return "(absent)"
        if self.kind == "RunSQL" and isinstance(node, ast.Constant) and isinstance(node.value, str):
            return repr(normalise_sql(node.value))  # what is compared, so the difference shows
        return _unparse(node)

    def show(self) -> str:
        return _unparse(self.node) if self.node is not None else self.label

    def show_code(self, name: str) -> list[str]:
        return [line for n in self.code_nodes.get(name, ()) for line in _unparse(n).splitlines()]


@dataclass(frozen=True)
class NormalForm:
    """The meaning of one migration file (see the module docstring)."""

    dependencies: tuple[str, ...]
    run_before: tuple[str, ...]
    replaces: tuple[str, ...]
    attributes: tuple[tuple[str, str], ...]
    operations: tuple[NormalOp, ...]
    other_code: tuple[tuple[str, str], ...]
    digest: str
    attributes_digest: str
    attribute_nodes: Mapping[str, ast.AST] = field(default_factory=dict, compare=False, repr=False)

    @property
    def operation_digests(self) -> tuple[str, ...]:
        return tuple(op.short for op in self.operations)

    @property
    def operation_records(self) -> tuple[str, ...]:
        return tuple(op.record for op in self.operations)

    @property
    def attribute_record(self) -> str:
        """The attributes' digest, then a short digest of each attribute's name and value."""
        if not self.attributes:
            return self.attributes_digest
        return f"{self.attributes_digest}/" + ".".join(
            _tiny(n) + _tiny(t) for n, t in self.attributes
        )

    @property
    def body_digest(self) -> tuple[str, tuple[str, ...]]:
        """Everything but the graph edges: equal for a file renamed with its content intact."""
        return (self.attributes_digest, self.operation_digests)

    def show_attribute(self, name: str) -> str:
        node = self.attribute_nodes.get(name)
        if node is None:
            return _DEFAULTS[name][0] if name in _DEFAULTS else "(absent)"
        return _shorten(_unparse(node))


def _shorten(text: str) -> str:
    text = " ".join(text.split()) if "\n" in text else text
    return text if len(text) <= _MAX_DISPLAY else text[: _MAX_DISPLAY - 1] + "…"


def _pair(before: str, after: str) -> tuple[str, str]:
    """Two long texts cut to the same window around their first difference."""
    if len(before) <= _MAX_DISPLAY and len(after) <= _MAX_DISPLAY:
        return before, after
    common = 0
    for x, y in zip(before, after, strict=False):
        if x != y:
            break
        common += 1
    start = max(0, common - 30)

    def cut(text: str) -> str:
        window = text[start : start + _MAX_DISPLAY - 2]
        return ("…" if start else "") + window + ("…" if start + len(window) < len(text) else "")

    return cut(before), cut(after)


def _unparse(node: ast.AST) -> str:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        body = _strip_docstring(node.body) or [ast.Pass()]
        fields: dict[str, Any] = {f: getattr(node, f, None) for f in node._fields}
        node = type(node)(**{**fields, "body": body})
        ast.fix_missing_locations(node)
    try:
        return ast.unparse(node)
    except Exception:  # noqa: BLE001 - display only; a node unparse cannot handle
        return ast.dump(node)


def _strip_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        return body[1:]
    return body


def normalise_sql(sql: str) -> str:
    """SQL with comments dropped and whitespace runs made one space, outside quoted literals,
    quoted identifiers and dollar-quoted bodies (whose every character counts)."""
    out: list[str] = []
    i, n = 0, len(sql)
    space = False
    while i < n:
        c = sql[i]
        if c.isspace():
            space, i = True, i + 1
            continue
        if c == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            i, space = (n if end < 0 else end), True
            continue
        if c == "/" and sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i, space = (n if end < 0 else end + 2), True
            continue
        if space and out:
            out.append(" ")
        space = False
        if c in "'\"`":
            j = i + 1
            while j < n:
                if sql[j] == "\\" and c == "'":
                    j += 2
                    continue
                if sql[j] == c:
                    if j + 1 < n and sql[j + 1] == c:
                        j += 2
                        continue
                    break
                j += 1
            out.append(sql[i : j + 1])
            i = j + 1
            continue
        if c == "$":
            match = re.match(r"\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$", sql[i:])
            if match:
                tag = match.group(0)
                end = sql.find(tag, i + len(tag))
                stop = n if end < 0 else end + len(tag)
                out.append(sql[i:stop])
                i = stop
                continue
        out.append(c)
        i += 1
    return "".join(out)


@dataclass
class _Scope:
    data: bool
    refs: set[str]
    local: frozenset[str] = frozenset()
    sql: bool = False

    def but(self, **changes: Any) -> _Scope:
        values = {**self.__dict__, **changes}
        return _Scope(**values)


def _bound_names(node: ast.AST) -> frozenset[str]:
    """Names a function (or lambda) binds locally: parameters, assignments, imports, loops."""
    names: set[str] = set()
    for sub in astwalk.walk(node):
        if isinstance(sub, ast.arg):
            names.add(sub.arg)
        elif isinstance(sub, ast.Name) and not isinstance(sub.ctx, ast.Load):
            names.add(sub.id)
        elif (
            isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and sub is not node
        ):
            names.add(sub.name)
        elif isinstance(sub, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).partition(".")[0] for a in sub.names)
        elif isinstance(sub, ast.ExceptHandler) and sub.name:
            names.add(sub.name)
    return frozenset(names)


class _Canon:
    """Canonical text of expressions and statements of one module."""

    def __init__(self, module: ast.Module, module_name: str) -> None:
        self.imports = Imports(module, module_name)
        self.defs: dict[str, list[ast.stmt]] = {}
        for node in module.body:
            for name in _defined(node):
                self.defs.setdefault(name, []).append(node)
        self._definitions: dict[str, tuple[str, frozenset[str]]] = {}

    # -- names ---------------------------------------------------------------------------------

    def name(self, ident: str, scope: _Scope) -> str:
        if ident in scope.local:
            return ident
        if ident in self.defs:
            scope.refs.add(ident)
            return "$" + ident
        if ident in self.imports.aliases:
            return "@" + canonical(self.imports.aliases[ident])
        return ident

    def qualname(self, node: ast.expr, scope: _Scope) -> str | None:
        """The imported dotted name ``node`` stands for, None for anything else."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if (
            isinstance(node, ast.Name)
            and node.id not in scope.local
            and node.id not in self.defs
            and node.id in self.imports.aliases
        ):
            return canonical(".".join([self.imports.aliases[node.id], *reversed(parts)]))
        return None

    # -- nodes ---------------------------------------------------------------------------------

    def node(self, node: ast.AST, scope: _Scope) -> str:
        kind = type(node)
        if kind is ast.Constant:
            value = node.value  # type: ignore[attr-defined]
            if scope.sql and isinstance(value, str):
                return repr(normalise_sql(value))
            return repr(value)
        if kind is ast.Name:
            return self.name(node.id, scope)  # type: ignore[attr-defined]
        if kind is ast.Call:
            return self.call(node, scope)  # type: ignore[arg-type]
        if isinstance(node, ast.Attribute):
            qual = self.qualname(node, scope)
            return "@" + qual if qual else f"{self.node(node.value, scope)}.{node.attr}"
        if isinstance(node, ast.Call):
            return self.call(node, scope)
        if isinstance(node, (ast.List, ast.Tuple)):
            items = [self.node(e, scope) for e in node.elts]
            if scope.data:
                return "(" + "".join(i + ", " for i in items) + ")"
            return ("[%s]" if isinstance(node, ast.List) else "(%s,)") % ", ".join(items)
        if isinstance(node, ast.Set):
            return "{" + ", ".join(sorted(self.node(e, scope) for e in node.elts)) + "}"
        if isinstance(node, ast.Dict):
            pairs = [
                f"{self.node(k, scope)}: {self.node(v, scope)}"
                if k is not None
                else "**" + self.node(v, scope)
                for k, v in zip(node.keys, node.values, strict=False)
            ]
            return "{" + ", ".join(sorted(pairs) if scope.data else pairs) + "}"
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            inner = scope.but(data=False, sql=False, local=scope.local | _bound_names(node))
            if isinstance(node, ast.Lambda):
                return self.generic(node, inner)
            return self.generic(node, inner, body=_strip_docstring(node.body))
        return self.generic(node, scope)

    def generic(self, node: ast.AST, scope: _Scope, **override: object) -> str:
        parts = []
        for name in node._fields:
            if name in _SKIP_FIELDS:
                continue
            value = override.get(name, getattr(node, name, None))
            if value is None or (isinstance(value, list) and not value):
                continue
            parts.append(f"{name}={self.value(value, scope)}")
        return f"{type(node).__name__}({', '.join(parts)})"

    def value(self, value: object, scope: _Scope) -> str:
        if isinstance(value, ast.AST):
            return self.node(value, scope)
        if isinstance(value, list):
            return "[" + ", ".join(self.value(v, scope) for v in value) + "]"
        return repr(value)

    def call(self, node: ast.Call, scope: _Scope) -> str:
        func, _, parts, _ = self.call_parts(node, scope)
        return _call_text(func, parts)

    def call_parts(
        self, node: ast.Call, scope: _Scope
    ) -> tuple[str, str | None, list[tuple[str, str]], dict[str, ast.expr]]:
        """The callee's text, its imported name, ``(argument name, canonical text)`` for every
        argument (positional ones of known callees bound to their names, the others named
        ``#0``, ``#1`` ..., keyword ones sorted, ``**kwargs`` last), and the bound keywords."""
        qual = self.qualname(node.func, scope)
        func = "@" + qual if qual else self.node(node.func, scope)
        positional, keywords = bind(node, qual)
        sql = qual == _RUN_SQL
        parts = [(f"#{i}", self.node(a, scope)) for i, a in enumerate(positional)]
        for name in sorted(keywords):
            sub = scope.but(sql=True) if sql and name in ("sql", "reverse_sql") else scope
            parts.append((name, self.node(keywords[name], sub)))
        parts += [("**", self.node(kw.value, scope)) for kw in node.keywords if kw.arg is None]
        return func, qual, parts, keywords

    # -- module-level definitions --------------------------------------------------------------

    def definition(self, name: str) -> tuple[str, frozenset[str]]:
        """The canonical text of a module-level name's definitions and the names they use."""
        if name not in self._definitions:
            refs: set[str] = set()
            texts = []
            for stmt in self.defs[name]:
                scope = _Scope(data=True, refs=refs)
                if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and stmt.value:
                    texts.append(self.generic(stmt, scope))
                else:
                    texts.append(self.node(stmt, scope))
            self._definitions[name] = ("; ".join(texts), frozenset(refs))
        return self._definitions[name]

    def closure(self, refs: Iterable[str]) -> tuple[tuple[str, str], ...]:
        found: dict[str, str] = {}
        todo = list(refs)
        while todo:
            name = todo.pop()
            if name in found:
                continue
            text, inner = self.definition(name)
            found[name] = text
            todo.extend(inner - found.keys())
        return tuple(sorted(found.items()))


def _call_text(func: str, parts: list[tuple[str, str]]) -> str:
    shown = [
        text if name.startswith("#") else ("**" + text if name == "**" else f"{name}={text}")
        for name, text in parts
    ]
    return f"{func}({', '.join(shown)})"


def _defined(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [] if node.name == "Migration" else [node.name]
    if isinstance(node, ast.Assign):
        return [n.id for t in node.targets for n in astwalk.walk(t) if isinstance(n, ast.Name)]
    if isinstance(node, (ast.AnnAssign, ast.AugAssign)) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []


def bind(node: ast.Call, qual: str | None) -> tuple[list[ast.expr], dict[str, ast.expr]]:
    """Positional arguments left over and keyword arguments, the positional ones of Django's
    operations and fields bound to their parameter names."""
    keywords: dict[str, ast.expr] = {kw.arg: kw.value for kw in node.keywords if kw.arg}
    if not node.args:
        return [], keywords
    positional = list(node.args)
    if qual and not any(isinstance(a, ast.Starred) for a in positional):
        names = parameters(qual)
        if len(names) >= len(positional) and not any(
            n in keywords for n in names[: len(positional)]
        ):
            keywords.update(zip(names, positional, strict=False))
            positional = []
    return positional, keywords


def _string(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _label(kind: str, keywords: Mapping[str, ast.expr]) -> str:
    model = _string(keywords.get("model_name"))
    parts: list[str] = []
    if model:
        name = _string(keywords.get("name")) or _string(keywords.get("old_name"))
        parts.append(f"{model}.{name}" if name else model)
        inner = keywords.get("index") or keywords.get("constraint")
        if isinstance(inner, ast.Call):
            inner_name = next((_string(k.value) for k in inner.keywords if k.arg == "name"), None)
            if inner_name:
                parts.append(inner_name)
    elif _string(keywords.get("name")) or _string(keywords.get("old_name")):
        parts.append(_string(keywords.get("name")) or _string(keywords.get("old_name")) or "")
    code = keywords.get("code")
    if kind == "RunPython" and isinstance(code, ast.Name):
        parts.append(f"{code.id}()")
    return " ".join([kind or "operation", *parts])


def _dependency(node: ast.expr, canon: _Canon) -> str:
    """``shop/0001_initial``; ``swappable(AUTH_USER_MODEL)``; canonical text for anything else."""
    if isinstance(node, (ast.Tuple, ast.List)) and len(node.elts) == 2:
        app, name = _string(node.elts[0]), _string(node.elts[1])
        if app is not None and name is not None:
            return f"{app}/{name}"
    if isinstance(node, ast.Call) and len(node.args) == 1:
        scope = _Scope(data=True, refs=set())
        qual = canon.qualname(node.func, scope)
        if qual and qual.endswith("swappable_dependency"):
            setting = canon.qualname(node.args[0], scope)
            if setting and setting.startswith("django.conf.settings."):
                return f"swappable({setting.rpartition('.')[2]})"
    return "?" + canon.node(node, _Scope(data=True, refs=set()))


def show_dependency(dep: str) -> str:
    """A dependency string of the normal form as the migration spells it."""
    if dep.startswith("swappable("):
        return f"migrations.swappable_dependency(settings.{dep[10:-1]})"
    if dep.startswith("?"):
        return dep[1:]
    app, _, name = dep.partition("/")
    return f"({app!r}, {name!r})"


def _operation_elements(
    canon: _Canon, node: ast.expr, seen: frozenset[str] = frozenset()
) -> list[ast.expr] | None:
    if isinstance(node, ast.Name) and node.id not in seen and len(canon.defs.get(node.id, ())) == 1:
        stmt = canon.defs[node.id][0]
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            return _operation_elements(canon, stmt.value, seen | {node.id})
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left = _operation_elements(canon, node.left, seen)
        right = _operation_elements(canon, node.right, seen)
        return None if left is None or right is None else left + right
    if isinstance(node, (ast.List, ast.Tuple)) and not any(
        isinstance(e, ast.Starred) for e in node.elts
    ):
        return list(node.elts)
    return None


def _operation(canon: _Canon, node: ast.expr, keep_nodes: bool) -> NormalOp:
    refs: set[str] = set()
    scope = _Scope(data=True, refs=refs)
    kind = ""
    nodes: dict[str, ast.AST] = {}
    args: tuple[tuple[str, str], ...] = ()
    if isinstance(node, ast.Call):
        func, qual, parts, keywords = canon.call_parts(node, scope)
        text = _call_text(func, parts)
        kind = (qual or "").rpartition(".")[2]
        args = tuple((name, t) for name, t in parts if name != "**")
        label = _label(kind, keywords)
        if keep_nodes:
            positional = bind(node, qual)[0]
            nodes = {f"#{i}": a for i, a in enumerate(positional)}
            nodes.update(keywords)
    else:
        text = canon.node(node, scope)
        label = "operation built by code"
    code = canon.closure(refs)
    return NormalOp(
        kind=kind,
        label=label,
        text=text,
        args=args,
        code=code,
        digest=_digest(text, *(f"{n}={c}" for n, c in code)),
        nodes=nodes,
        code_nodes={n: canon.defs[n] for n, _ in code} if keep_nodes else {},
        node=node if keep_nodes else None,
    )


def normalise(
    data: bytes | str, module_name: str = "", keep_nodes: bool = False
) -> NormalForm | None:
    """The normal form of a migration file's content; None when it has no ``Migration`` class.

    ``keep_nodes`` keeps references to the syntax tree, so that differences can be shown as
    written (costs memory: only for the few files being compared).

    Raises :class:`Unreadable` when ``ast`` cannot parse it.
    """
    try:
        module = ast.parse(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        where = f" (line {exc.lineno})" if isinstance(exc, SyntaxError) and exc.lineno else ""
        message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        raise Unreadable(f"{message}{where}") from None
    klass = next(
        (n for n in module.body if isinstance(n, ast.ClassDef) and n.name == "Migration"), None
    )
    if klass is None:
        return None
    canon = _Canon(module, module_name)

    special: dict[str, list[ast.expr]] = {}
    for stmt in klass.body:
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
        ):
            special.setdefault(stmt.targets[0].id, []).append(stmt.value)
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value:
            special.setdefault(stmt.target.id, []).append(stmt.value)
    # Assigned once each: read them as the lists they are; otherwise they are plain statements.
    single = {name for name in _SPECIAL if len(special.get(name, ())) == 1}
    augmented = {
        s.target.id
        for s in klass.body
        if isinstance(s, ast.AugAssign) and isinstance(s.target, ast.Name)
    }
    single -= augmented

    refs: set[str] = set()
    attributes: dict[str, str] = {}
    attribute_nodes: dict[str, ast.AST] = {}
    body = _strip_docstring(klass.body)
    for index, stmt in enumerate(body):
        targets = _statement_names(stmt)
        if len(targets) == 1 and targets[0] in single:
            continue
        name = targets[0] if len(targets) == 1 else f"statement {index + 1}"
        scope = _Scope(data=True, refs=refs)
        value = (
            getattr(stmt, "value", None) if isinstance(stmt, (ast.Assign, ast.AnnAssign)) else None
        )
        text = canon.node(value, scope) if value is not None else canon.node(stmt, scope)
        if name in _DEFAULTS and text in _DEFAULTS[name] and name not in attributes:
            continue
        if name in attributes:  # assigned twice: both count, in order
            name = f"statement {index + 1}"
        attributes[name] = text
        attribute_nodes[name] = value if value is not None else stmt
    for base in klass.bases:
        text = canon.node(base, _Scope(data=True, refs=refs))
        if text != "@django.db.migrations.Migration":
            attributes.setdefault("base classes", "")
            attributes["base classes"] += text + ";"
            attribute_nodes["base classes"] = base
    for deco in klass.decorator_list:
        name = f"decorator {canon.node(deco, _Scope(data=True, refs=refs))}"
        attributes[name] = "@"
        attribute_nodes[name] = deco

    def graph(name: str) -> tuple[str, ...]:
        if name not in single:
            return ()
        node = special[name][0]
        elements = _operation_elements(canon, node)
        if elements is None:
            return ("?" + canon.node(node, _Scope(data=True, refs=refs)),)
        return tuple(sorted({_dependency(e, canon) for e in elements}))

    operations: tuple[NormalOp, ...] = ()
    if "operations" in single:
        node = special["operations"][0]
        elements = _operation_elements(canon, node)
        operations = tuple(
            _operation(canon, e, keep_nodes) for e in (elements if elements is not None else [node])
        )

    other_code = canon.closure(refs)
    attribute_items = tuple(sorted(attributes.items()))
    attributes_digest = _digest(
        *(f"{k}={v}" for k, v in attribute_items), *(f"{k}={v}" for k, v in other_code)
    )
    dependencies, run_before, replaces = (
        graph("dependencies"),
        graph("run_before"),
        graph("replaces"),
    )
    digest = _digest(
        f"migration-lint normal form {VERSION}",
        "dependencies", *dependencies,
        "run_before", *run_before,
        "replaces", *replaces,
        "attributes", attributes_digest,
        "operations", *(op.digest for op in operations),
    )  # fmt: skip
    return NormalForm(
        dependencies=dependencies,
        run_before=run_before,
        replaces=replaces,
        attributes=attribute_items,
        operations=operations,
        other_code=other_code,
        digest=digest,
        attributes_digest=attributes_digest[:SHORT],
        attribute_nodes=attribute_nodes,
    )


def _statement_names(stmt: ast.stmt) -> list[str]:
    if isinstance(stmt, ast.Assign):
        return [t.id for t in stmt.targets if isinstance(t, ast.Name)]
    if isinstance(stmt, (ast.AnnAssign, ast.AugAssign)) and isinstance(stmt.target, ast.Name):
        return [stmt.target.id]
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [f"def {stmt.name}"]
    return []


# --- comparing --------------------------------------------------------------------------------


class Snapshot(Protocol):
    """What is known of a migration as it was applied: a :class:`NormalForm` (from git), or the
    parts a lock file records."""

    @property
    def dependencies(self) -> tuple[str, ...]: ...
    @property
    def run_before(self) -> tuple[str, ...]: ...
    @property
    def replaces(self) -> tuple[str, ...]: ...
    @property
    def attributes_digest(self) -> str: ...
    @property
    def operation_digests(self) -> tuple[str, ...]: ...
    @property
    def operation_records(self) -> tuple[str, ...]: ...
    @property
    def attribute_record(self) -> str: ...


@dataclass(frozen=True)
class Change:
    """One difference of meaning: a one-line summary and a few ``-``/``+`` lines."""

    summary: str
    details: tuple[str, ...] = ()
    new_index: int | None = None  # the operation in the current file, for the finding's line
    old_index: int | None = None
    kind: str = "operation"  # operation | dependencies | run_before | attributes


def _substituted(deps: Iterable[str], substitute: Mapping[str, str]) -> set[str]:
    out = set()
    for dep in deps:
        for _ in range(10):  # a squash of squashes
            if dep not in substitute:
                break
            dep = substitute[dep]
        out.add(dep)
    return out


def _edges(
    kind: str, old: Iterable[str], new: Iterable[str], substitute: Mapping[str, str]
) -> Change | None:
    before, after = _substituted(old, substitute), _substituted(new, substitute)
    if before == after:
        return None
    details = tuple(
        [f"- {show_dependency(d)}" for d in sorted(before - after)]
        + [f"+ {show_dependency(d)}" for d in sorted(after - before)]
    )
    return Change(f"{kind} changed", details, kind=kind)


def compare(
    old: Snapshot, new: NormalForm, substitute: Mapping[str, str] | None = None
) -> list[Change]:
    """The differences of meaning between ``old`` and ``new``, ``replaces`` left out (a squash's
    business). A dependency moved from a migration to the squash that replaces it (``substitute``:
    ``app/name`` -> ``app/squash``) is no difference: Django's own squash workflow does that."""
    substitute = substitute or {}
    changes: list[Change] = []
    detailed = isinstance(old, NormalForm)
    for kind, before, after in (
        ("dependencies", old.dependencies, new.dependencies),
        ("run_before", old.run_before, new.run_before),
    ):
        change = _edges(kind, before, after, substitute)
        if change:
            changes.append(change)
    if old.attributes_digest != new.attributes_digest:
        if detailed:
            changes.append(_attributes_change(old, new))  # type: ignore[arg-type]
        else:
            changes.append(_recorded_attributes_change(old.attribute_record, new))
    matcher = difflib.SequenceMatcher(
        None, old.operation_digests, new.operation_digests, autojunk=False
    )
    old_ops = old.operations if isinstance(old, NormalForm) else None
    old_records = old.operation_records
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        pairs = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        for k in range(pairs):
            if old_ops is None:
                record = old_records[i1 + k]
                changes.append(_recorded_change(i1 + k, j1 + k, record, new.operations))
            else:
                changes.append(_changed(i1 + k, j1 + k, old_ops, new.operations))
        for i in range(i1 + pairs, i2):
            what = f" ({old_ops[i].label})" if old_ops else ""
            details = (_shorten(f"- {old_ops[i].show()}"),) if old_ops else ()
            changes.append(
                Change(
                    f"operation {i + 1} of the applied version{what} removed", details, old_index=i
                )
            )
        for j in range(j1 + pairs, j2):
            op = new.operations[j]
            changes.append(
                Change(
                    f"operation {j + 1} ({op.label}) added",
                    (_shorten(f"+ {op.show()}"),),
                    new_index=j,
                )
            )
    return changes


def _recorded_attributes_change(record: str, new: NormalForm) -> Change:
    """What a lock file's attribute record tells: which attributes changed, by name digest."""
    _, _, rest = record.partition("/")
    before = {p[:_TINY]: p[_TINY:] for p in rest.split(".") if p}
    after = {_tiny(n): (n, _tiny(t)) for n, t in new.attributes}
    names = [n for key, (n, value) in after.items() if before.get(key) != value]
    known = {_tiny(n): n for n in ("atomic", "initial", "replaces", "run_before")}
    gone = [known.get(key, "an attribute") for key in before if key not in after]
    details = [f"+ {n} = {new.show_attribute(n)}" for n in names]
    details += [f"- {n} (now {new.show_attribute(n)})" for n in gone if n in _DEFAULTS]
    if not names and not gone:
        return Change("the code the class uses changed", kind="attributes")
    listed = ", ".join([*names, *gone])
    return Change(f"{listed} changed", tuple(details), kind="attributes")


def _recorded_change(i: int, j: int, record: str, new_ops: Sequence[NormalOp]) -> Change:
    """What a lock file's operation record tells: which arguments changed."""
    new = new_ops[j]
    where = f"operation {j + 1} ({new.label})"
    _, _, rest = record.partition("/")
    names_digest, _, values = rest.partition(":")
    ordered = sorted(new.args)
    if not ordered or names_digest != _tiny("\0".join(n for n, _ in ordered)):
        return Change(f"{where} changed (arguments added or removed)", new_index=j, old_index=i)
    before = values.split(".")
    changed = [n for (n, t), old in zip(ordered, before, strict=False) if _tiny(t) != old]
    details = tuple(f"+ {n}={new.show_arg(n)}" for n in changed)
    if not changed:
        what = "the code it runs" if new.code else "it"
        return Change(f"{where}: {what} changed", new_index=j, old_index=i)
    return Change(f"{where}: {', '.join(changed)} changed", details, j, i)


def _attributes_change(old: NormalForm, new: NormalForm) -> Change:
    before, after = dict(old.attributes), dict(new.attributes)
    names = [n for n in sorted(before.keys() | after.keys()) if before.get(n) != after.get(n)]
    details = []
    for name in names:
        details.append(f"- {name} = {old.show_attribute(name)}")
        details.append(f"+ {name} = {new.show_attribute(name)}")
    if not names:
        code = [n for n, _ in set(old.other_code) ^ set(new.other_code)]
        return Change(
            f"code used by the class changed ({', '.join(sorted(set(code)))})", kind="attributes"
        )
    return Change(f"{', '.join(names)} changed", tuple(details), kind="attributes")


def _changed(
    i: int, j: int, old_ops: Sequence[NormalOp] | None, new_ops: Sequence[NormalOp]
) -> Change:
    new = new_ops[j]
    where = f"operation {j + 1} ({new.label})"
    if old_ops is None:
        return Change(f"{where} changed", new_index=j, old_index=i)
    old = old_ops[i]
    if old.kind != new.kind:
        shown = _pair(old.show(), new.show())
        return Change(f"{where} replaces {old.label}", (f"- {shown[0]}", f"+ {shown[1]}"), j, i)
    details: list[str] = []
    changed: list[str] = []
    before, after = dict(old.args), dict(new.args)
    for name in [*after, *(n for n in before if n not in after)]:
        if before.get(name) != after.get(name):
            items = _named_items(old.nodes.get(name), new.nodes.get(name))
            if items is not None:  # CreateModel's fields: say which field
                changed.append(f"{name} ({', '.join(items)})")
                details += [line for text in items.values() for line in text.splitlines()]
                continue
            changed.append(name)
            shown = _pair(f"{name}={old.show_arg(name)}", f"{name}={new.show_arg(name)}")
            details += [f"- {shown[0]}", f"+ {shown[1]}"]
    code_before, code_after = dict(old.code), dict(new.code)
    for name in sorted(code_before.keys() | code_after.keys()):
        if code_before.get(name) != code_after.get(name):
            changed.append(f"the code of {name}")
            diff = difflib.unified_diff(old.show_code(name), new.show_code(name), n=0, lineterm="")
            lines = [d for d in diff if d[:1] in "+-" and not d.startswith(("+++", "---"))]
            details.extend(_shorten(f"{d[0]} {d[1:].strip()}") for d in lines[:6])
            if len(lines) > 6:
                details.append(f"  ... {len(lines) - 6} more changed lines")
    if not changed:
        changed.append("its arguments")
        shown = _pair(old.show(), new.show())
        details += [f"- {shown[0]}", f"+ {shown[1]}"]
    return Change(f"{where}: {', '.join(changed)} changed", tuple(details), j, i)


def _pairs(node: ast.AST | None) -> dict[str, ast.AST] | None:
    """``[("name", value), ...]`` as a mapping, None for anything else."""
    if not isinstance(node, (ast.List, ast.Tuple)):
        return None
    out: dict[str, ast.AST] = {}
    for element in node.elts:
        if not (isinstance(element, (ast.Tuple, ast.List)) and len(element.elts) == 2):
            return None
        name = _string(element.elts[0])
        if name is None:
            return None
        out[name] = element.elts[1]
    return out


def _named_items(old: ast.AST | None, new: ast.AST | None) -> dict[str, str] | None:
    """For two lists of (name, value) pairs: the names that differ, each with its -/+ lines."""
    before, after = _pairs(old), _pairs(new)
    if before is None or after is None:
        return None
    out: dict[str, str] = {}
    for name in [*after, *(n for n in before if n not in after)]:
        was = _unparse(before[name]) if name in before else None
        now = _unparse(after[name]) if name in after else None
        if was == now:
            continue
        lines = []
        if was is not None and now is not None:
            was, now = _pair(was, now)
        if was is not None:
            lines.append(f"- {name}: {was}")
        if now is not None:
            lines.append(f"+ {name}: {now}")
        out[name] = "\n".join(lines)
    return out or None
