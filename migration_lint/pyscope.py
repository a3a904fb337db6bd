"""Python source as the get_or_create scan reads it: one ``ast`` walk that records each node's
parent and scope, every scope's bindings, the calls of given method names and the classes,
with the source text and character positions of nodes (:class:`Tree`).

The scope model answers the two questions the scan's resolver asks:

- the qualified name of a name or attribute (:meth:`Tree.qualnames`): an import (relative
  imports resolved against the module's package), a class or function of the module
  (``module.Name``, ``module.Outer.Inner``); names bound inside functions are not qualified;
- which bindings of a name a node sees (:meth:`Tree.bindings`): assignment targets,
  annotated and augmented assignments, walrus, ``for`` and comprehension targets,
  ``with ... as``, ``except ... as``, parameters, imports, ``class`` and ``def``.

Python's rules: a name bound anywhere in a function is local to all of it unless declared
``global`` or ``nonlocal``; functions see enclosing functions and the module, never a class
body; class bodies see the module and enclosing functions; comprehensions and lambdas are
scopes of their own (the first iterable is evaluated outside); parameter defaults,
annotations and decorators belong to the enclosing scope; a walrus in a comprehension binds
in the enclosing function. For a qualified name, a load of a name sees the bindings of its own
scope made before it (``from x import User`` then ``class User(User)``), or those of the
enclosing scopes whenever they were made.

Not modelled (too rare to matter here): builtins (a builtin name has no binding), star
imports, ``del``, ``match`` capture patterns, control flow (every binding of a name counts,
whichever branch made it), and a name read before a local binding of it in the same function
(which Python rejects at run time) sees the enclosing scopes.

Positions are character columns (ast counts UTF-8 bytes); a node's text is the source's with
the parentheses that belong to the node and, on lines continued inside brackets, without the
block's indentation (:meth:`Tree.code`), which is how the scan's messages quote code.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

_NEWLINE = re.compile(r"\r\n?")

Function = ast.FunctionDef | ast.AsyncFunctionDef
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
# ``Binding.ready`` of the bindings seen from the start of their scope.
_ALWAYS = (0, 0)


def node_start(node: ast.AST) -> tuple[int, int]:
    return node.lineno, node.col_offset  # type: ignore[attr-defined]


def node_end(node: ast.AST) -> tuple[int, int]:
    return node.end_lineno or 0, node.end_col_offset or 0  # type: ignore[attr-defined]


# --- scopes --------------------------------------------------------------------------------------


@dataclass(eq=False)
class Binding:
    """``name`` bound by ``node``: a target ``Name``, an ``arg``, a ``ClassDef`` or function, an
    ``Import``/``ImportFrom`` statement, or an ``ExceptHandler``. In its own scope, loads from
    ``ready`` on see it: where the statement that makes it ends (a ``for`` target: where the
    target ends); parameters and comprehension targets from the start."""

    name: str
    scope: Scope
    node: ast.AST
    ready: tuple[int, int]


@dataclass(eq=False)
class Scope:
    kind: str  # "module", "class", "function" (def and lambda) or "comprehension"
    parent: Scope | None
    # The qualified-name prefix of the names bound here: "" for the module, "Outer.Inner"
    # for a class, "f.<locals>" for a function, "<comprehension>" appended for comprehensions.
    prefix: str
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    declared: dict[str, str] = field(default_factory=dict)  # name -> "global" / "nonlocal"

    def child(self, kind: str, name: str | None) -> Scope:
        if kind == "class":
            parts = [self.prefix, name]
        elif kind == "function":
            parts = [self.prefix, name, "<locals>"]
        else:
            parts = [self.prefix, "<comprehension>"]
        return Scope(kind, self, ".".join(p for p in parts if p))

    @property
    def module(self) -> Scope:
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope

    def visible_parent(self) -> Scope | None:
        """The next enclosing scope whose names this one sees: class bodies are skipped."""
        scope = self.parent
        while scope is not None and scope.kind == "class":
            scope = scope.parent
        return scope

    def _declared_target(self, name: str) -> Scope | None:
        declared = self.declared.get(name)
        if declared is None:
            return None
        return self.module if declared == "global" else self.visible_parent()

    def target_for(self, name: str) -> Scope:
        """The scope a binding of ``name`` made here lands in."""
        scope = self
        while True:
            target = scope._declared_target(name)
            if target is None:
                return scope
            scope = target

    def resolve(self, name: str) -> list[Binding]:
        """Every binding of ``name`` this scope sees: those of the nearest scope that has one."""
        scope: Scope | None = self
        while scope is not None:
            target = scope._declared_target(name)
            if target is not None:
                scope = target
                continue
            found = scope.bindings.get(name)
            if found:
                return found
            scope = scope.visible_parent()
        return []

    def bind(self, name: str, node: ast.AST, ready: tuple[int, int]) -> None:
        target = self.target_for(name)
        target.bindings.setdefault(name, []).append(Binding(name, target, node, ready))


# --- source text ---------------------------------------------------------------------------------


class Text:
    """The decoded source, with ast's UTF-8 byte columns turned into character offsets."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.split("\n")
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line) + 1)

    def column(self, line: int, byte_column: int) -> int:
        text = self.lines[line - 1]
        if text.isascii():
            return byte_column
        return len(text.encode("utf-8")[:byte_column].decode("utf-8", "replace"))

    def offset(self, line: int, byte_column: int) -> int:
        return self.starts[line - 1] + self.column(line, byte_column)


def decode(data: bytes) -> str:
    """The source as ``str`` with ``\\n`` newlines (ast's line numbers count those)."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return _NEWLINE.sub("\n", data.decode(encoding))


# --- the tree ------------------------------------------------------------------------------------


class Tree:
    """One parsed file: each node's parent and scope, the scopes' bindings, the calls to scan
    and the classes, and the source text of nodes."""

    def __init__(
        self,
        tree: ast.Module,
        text: Text,
        module: str,
        is_package: bool,
        methods: Collection[str],
    ) -> None:
        self.text = text
        self.module = module
        self.methods = methods
        self.package = module if is_package else module.rpartition(".")[0]
        self.parents: dict[ast.AST, ast.AST] = {}
        self.scopes: dict[ast.AST, Scope] = {}
        self.root = Scope("module", None, "")
        # The method calls with the innermost function around them (its decorators and
        # parameters count as inside it), and the classes, in source order.
        self.calls: list[tuple[ast.Call, Function | None]] = []
        self.classes: list[ast.ClassDef] = []
        self._spans: dict[ast.AST, tuple[int, int]] = {}
        _Binder(self).run(tree)
        self.calls.sort(key=lambda item: (*node_start(item[0]), *(-n for n in node_end(item[0]))))

    def parent(self, node: ast.AST) -> ast.AST | None:
        return self.parents.get(node)

    # -- names ---------------------------------------------------------------------------------

    def absolute(self, name: str, imported: bool) -> str | None:
        """A qualified name as the resolver uses it: imports made absolute, the module's own
        names prefixed with the module, names inside functions dropped."""
        if imported:
            if name.startswith("."):
                level = len(name) - len(name.lstrip("."))
                parts = self.package.split(".") if self.package else []
                if level > 1:
                    parts = parts[: len(parts) - (level - 1)]
                rest = name.lstrip(".")
                return ".".join([*parts, rest] if rest else parts)
            return name
        if "<locals>" not in name:
            return f"{self.module}.{name}" if self.module else name
        return None

    def names_of(self, binding: Binding, full_name: str) -> set[str]:
        """What ``full_name`` (a dotted name starting with the bound one) stands for."""
        node = binding.node
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found = [self.absolute(n, True) for n in _imported_names(node, full_name)]
        else:
            prefix = binding.scope.prefix
            found = [self.absolute(f"{prefix}.{full_name}" if prefix else full_name, False)]
        return {name for name in found if name}

    def bindings(self, node: ast.Name) -> list[Binding]:
        """Every binding of the name that the node's scope sees, wherever in the scope."""
        scope = self.scopes.get(node)
        return scope.resolve(node.id) if scope is not None else []

    def _referents(self, node: ast.Name, scope: Scope) -> list[Binding]:
        """The bindings a load of a name reads: its own scope's made before it, else the
        enclosing scopes'."""
        found = scope.resolve(node.id)
        here = node_start(node)
        seen = [b for b in found if b.scope is not scope or b.ready <= here]
        if not seen and found and scope.parent is not None:
            outer = scope.visible_parent()
            seen = outer.resolve(node.id) if outer is not None else []
        return seen

    def qualnames(self, node: ast.AST) -> set[str]:
        scope = self.scopes.get(node)
        if scope is None:
            return set()
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store):
            out: set[str] = set()
            for binding in self._referents(node, scope):
                out |= self.names_of(binding, binding.name)
            return out
        full_name = _full_name(node)
        if full_name is None:
            return set()
        # The longest dotted prefix with a binding (``import a.b`` binds ``a.b``).
        found: list[Binding] = []
        prefix: str | None = full_name
        while prefix:
            found = scope.resolve(prefix)
            if found:
                break
            index = prefix.rfind(".")
            prefix = prefix[:index] if index != -1 else None
        for binding in found:
            if binding.node is node:  # a class or function's own name
                return self.names_of(binding, full_name)
        out = set()
        for binding in found:
            out |= self.names_of(binding, full_name)
        return out

    def names_in_scope(self, node: ast.AST, name: str) -> set[str]:
        """What ``name`` stands for in the scope of ``node`` (a string annotation's contents)."""
        scope = self.scopes.get(node)
        found: set[str] = set()
        for binding in scope.resolve(name) if scope is not None else ():
            found |= self.names_of(binding, name)
        return found

    # -- text ----------------------------------------------------------------------------------

    def code(self, node: ast.AST, raw: bool = False) -> str:
        """The node's source text. Lines continued inside brackets lose the indentation of
        the statement's block, as libcst printed a node on its own (``raw``: as written, for
        text that is put on one line anyway)."""
        start, end = self.span(node)
        text = self.text.text[start:end]
        if raw or "\n" not in text:
            return text
        indent = self._block_indent(node)
        return _dedent(text, indent) if indent else text

    def _block_indent(self, node: ast.AST) -> str:
        statement: ast.AST | None = node
        while statement is not None and not isinstance(statement, ast.stmt):
            statement = self.parent(statement)
        if statement is None:
            return ""
        line = self.text.lines[statement.lineno - 1]
        return line[: len(line) - len(line.lstrip(" \t\f"))]

    def inner_code(self, node: ast.AST) -> str:
        """The node's text without its own parentheses."""
        text = self.text
        return text.text[text.offset(*node_start(node)) : text.offset(*node_end(node))]

    def column(self, line: int, byte_column: int) -> int:
        return self.text.column(line, byte_column)

    def span(self, node: ast.AST) -> tuple[int, int]:
        """Where the node's text starts and ends, with the parentheses around it that belong
        to no other construct (``(a.b).c``: ``(a.b)``), as libcst printed nodes."""
        cached = self._spans.get(node)
        if cached is not None:
            return cached
        text = self.text
        start, end = text.offset(*node_start(node)), text.offset(*node_end(node))
        opens = self._opens(node, start)
        if opens and self._wrapped_by_parent(node):
            opens.pop()  # ``f((x))``: the outermost pair is the call's
        if opens:
            closes = self._closes(end, len(opens))
            own = min(len(opens), len(closes))
            if own:
                start, end = opens[own - 1], closes[own - 1] + 1
        self._spans[node] = start, end
        return start, end

    def _wrapped_by_parent(self, node: ast.AST) -> bool:
        """Whether the parent's own parentheses are right around the node: the only argument
        of a call, the only base of a class."""
        parent = self.parent(node)
        if isinstance(parent, ast.Call):
            return (
                len(parent.args) + len(parent.keywords) == 1
                and bool(parent.args)
                and (parent.args[0] is node)
            )
        if isinstance(parent, ast.ClassDef):
            return (
                len(parent.bases) + len(parent.keywords) == 1
                and bool(parent.bases)
                and (parent.bases[0] is node)
            )
        return False

    def _opens(self, node: ast.AST, start: int) -> list[int]:
        """Offsets of the ``(`` right before ``start``, nearest first."""
        source = self.text.text
        opens: list[int] = []
        index = start - 1
        line_start = source.rfind("\n", 0, start) + 1
        while index >= line_start and source[index] in " \t\f(":
            if source[index] == "(":
                opens.append(index)
            index -= 1
        if index >= line_start or line_start == 0:
            return opens
        # The node starts its line: go on over the lines above, which may end in comments.
        # Between the previous node and this one there are no string literals, so a ``#``
        # there starts a comment.
        floor = self._preceding_end(node, start)
        end = line_start - 1
        while end > floor:
            begin = max(source.rfind("\n", 0, end) + 1, floor)
            segment = source[begin:end]
            hash_at = segment.find("#")
            if hash_at != -1:
                segment = segment[:hash_at]
            for offset in range(len(segment) - 1, -1, -1):
                char = segment[offset]
                if char == "(":
                    opens.append(begin + offset)
                elif char not in " \t\f\\":
                    return opens
            end = begin - 1
        return opens

    def _preceding_end(self, node: ast.AST, start: int) -> int:
        """The end of the code before ``node`` inside its parent (the previous child, else the
        parent's start), or the start of its line."""
        anchor = self.parent(node)
        while anchor is not None and not hasattr(anchor, "lineno"):
            anchor = self.parent(anchor)
        text = self.text
        best = -1
        if anchor is not None:
            for child in _positioned_children(anchor):
                if child is not node:
                    child_end = text.offset(*node_end(child))
                    if best < child_end <= start:
                        best = child_end
            if best == -1:
                anchor_start = text.offset(*node_start(anchor))
                if anchor_start <= start:
                    best = anchor_start
        if best == -1:
            best = text.text.rfind("\n", 0, start) + 1
        return best

    def _closes(self, end: int, limit: int) -> list[int]:
        """Offsets of the ``)`` right after ``end`` (comments skipped), nearest first."""
        source = self.text.text
        closes: list[int] = []
        index, size = end, len(source)
        while index < size and len(closes) < limit:
            char = source[index]
            if char == ")":
                closes.append(index)
            elif char == "#":
                index = source.find("\n", index)
                if index == -1:
                    break
                continue
            elif char not in " \t\f\n\\":
                break
            index += 1
        return closes


def _dedent(text: str, indent: str) -> str:
    """``text`` with ``indent`` taken off the lines that follow a newline inside brackets (not
    those inside a string literal, nor those after a backslash)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(f"({text})").readline))
    except (tokenize.TokenError, SyntaxError):
        return text
    after_nl = {token.end[0] + 1 for token in tokens if token.type == tokenize.NL}
    lines = text.split("\n")
    for number in range(1, len(lines)):
        if number + 1 in after_nl and lines[number].startswith(indent):
            lines[number] = lines[number][len(indent) :]
    return "\n".join(lines)


def _positioned_children(node: ast.AST) -> Iterable[ast.AST]:
    for child in ast.iter_child_nodes(node):
        if hasattr(child, "lineno"):
            yield child
        elif not isinstance(child, ast.expr_context):
            yield from _positioned_children(child)  # arguments, comprehension, withitem...


def _full_name(node: ast.AST) -> str | None:
    """``a.b.c`` for an attribute chain; a call or subscript stands for what it is made on
    (``get_user_model().objects``: ``get_user_model.objects``)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_full_name(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return _full_name(node.func)
    if isinstance(node, ast.Subscript):
        return _full_name(node.value)
    if isinstance(node, (*FUNCTIONS, ast.ClassDef)):
        return node.name
    return None


def _imported_names(node: ast.Import | ast.ImportFrom, full_name: str) -> list[str]:
    """What ``full_name`` stands for through an import statement, before relative names are
    made absolute (``from . import x``: ``.x``)."""
    module = ""
    if isinstance(node, ast.ImportFrom):
        module = "." * node.level + (node.module or "")
    out: list[str] = []
    for alias in node.names:
        parts = alias.name.split(".")
        # ``import a.b.c`` binds ``a``, ``a.b`` and ``a.b.c``: the longest that matches.
        for size in range(len(parts), 0, -1):
            real = ".".join(parts[:size])
            bound = alias.asname or real
            if module.endswith("."):
                real = f"{module}{real}"
            elif module:
                real = f"{module}.{real}"
            if not full_name.startswith(bound):
                continue
            rest = full_name[len(bound) :]
            if rest and not rest.startswith("."):
                continue
            rest = rest.lstrip(".")
            out.append(f"{real}.{rest}" if rest else real)
            break
    return out


# Nodes without child nodes, and fields that never hold one worth visiting (operators and
# contexts are shared singletons): the walk skips them.
_LEAVES = frozenset({ast.Name, ast.Constant, ast.Pass, ast.Break, ast.Continue})
_NOT_CHILDREN = frozenset({"ctx", "op", "ops", "id", "attr", "arg", "name", "names", "module"})
_CHILD_FIELDS: dict[type[ast.AST], tuple[str, ...]] = {}


def _child_fields(kind: type[ast.AST]) -> tuple[str, ...]:
    found = _CHILD_FIELDS.get(kind)
    if found is None:
        found = _CHILD_FIELDS[kind] = tuple(f for f in kind._fields if f not in _NOT_CHILDREN)
    return found


class _Binder:
    """One walk over the tree (iterative: deeply nested expressions must not exhaust the
    stack) that records parents, scopes, bindings, calls and classes."""

    def __init__(self, tree: Tree) -> None:
        self.t = tree
        self.stack: list[tuple[ast.AST, ast.AST | None, Scope, Function | None]] = []

    def run(self, module: ast.Module) -> None:
        scope = self.t.root
        self.stack.extend((s, None, scope, None) for s in reversed(module.body))
        parents, scopes, handlers = self.t.parents, self.t.scopes, self._HANDLERS
        while self.stack:
            node, parent, scope, function = self.stack.pop()
            if parent is not None:
                parents[node] = parent
            scopes[node] = scope
            kind = type(node)
            if kind in _LEAVES:
                continue
            handler = handlers.get(kind)
            if handler is not None:
                handler(self, node, scope, function)
            else:
                self.children(node, scope, function)

    def push(self, items: Sequence[tuple[ast.AST, ast.AST, Scope, Function | None]]) -> None:
        self.stack.extend(reversed(items))

    def children(self, node: ast.AST, scope: Scope, function: Function | None) -> None:
        items: list[tuple[ast.AST, ast.AST, Scope, Function | None]] = []
        for name in _child_fields(type(node)):
            value = getattr(node, name, None)
            if isinstance(value, list):
                items.extend((v, node, scope, function) for v in value if isinstance(v, ast.AST))
            elif isinstance(value, ast.AST):
                items.append((value, node, scope, function))
        self.push(items)

    def bind_target(self, scope: Scope, target: ast.AST, ready: tuple[int, int]) -> None:
        if isinstance(target, ast.Name):
            scope.bind(target.id, target, ready)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.bind_target(scope, element, ready)
        elif isinstance(target, ast.Starred):
            self.bind_target(scope, target.value, ready)

    def parameters(
        self, args: ast.arguments, outer: Scope, inner: Scope, function: Function | None
    ) -> list[tuple[ast.AST, ast.AST, Scope, Function | None]]:
        """Bind the parameters in ``inner``; their defaults and annotations belong to ``outer``."""
        self.t.scopes[args] = inner
        items: list[tuple[ast.AST, ast.AST, Scope, Function | None]] = []
        params = [*args.posonlyargs, *args.args, args.vararg, *args.kwonlyargs, args.kwarg]
        for param in params:
            if param is None:
                continue
            self.t.parents[param] = args
            self.t.scopes[param] = inner
            inner.bind(param.arg, param, _ALWAYS)
            if param.annotation is not None:
                items.append((param.annotation, param, outer, function))
        defaults = [*args.defaults, *(d for d in args.kw_defaults if d is not None)]
        items.extend((default, args, outer, function) for default in defaults)
        return items

    def function(self, node: Function, scope: Scope, function: Function | None) -> None:
        scope.bind(node.name, node, node_end(node))
        inner = scope.child("function", node.name)
        self.t.parents[node.args] = node
        items: list[tuple[ast.AST, ast.AST, Scope, Function | None]] = [
            (d, node, scope, node) for d in node.decorator_list
        ]
        items.extend(self.parameters(node.args, scope, inner, node))
        if node.returns is not None:
            items.append((node.returns, node, scope, node))
        items.extend((statement, node, inner, node) for statement in node.body)
        self.push(items)

    def lambda_(self, node: ast.Lambda, scope: Scope, function: Function | None) -> None:
        inner = scope.child("function", None)
        self.t.parents[node.args] = node
        items = self.parameters(node.args, scope, inner, function)
        items.append((node.body, node, inner, function))
        self.push(items)

    def class_(self, node: ast.ClassDef, scope: Scope, function: Function | None) -> None:
        scope.bind(node.name, node, node_end(node))
        self.t.classes.append(node)
        inner = scope.child("class", node.name)
        outer = [*node.decorator_list, *node.bases, *node.keywords]
        items = [(child, node, scope, function) for child in outer]
        items.extend((statement, node, inner, function) for statement in node.body)
        self.push(items)

    def comprehension(
        self,
        node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp,
        scope: Scope,
        function: Function | None,
    ) -> None:
        inner = scope.child("comprehension", None)
        items: list[tuple[ast.AST, ast.AST, Scope, Function | None]] = []
        if isinstance(node, ast.DictComp):
            items.extend([(node.key, node, inner, function), (node.value, node, inner, function)])
        else:
            items.append((node.elt, node, inner, function))
        for index, generator in enumerate(node.generators):
            self.t.parents[generator] = node
            self.t.scopes[generator] = inner
            self.bind_target(inner, generator.target, _ALWAYS)
            # The first iterable is evaluated outside the comprehension.
            iter_scope = scope if index == 0 else inner
            items.append((generator.target, generator, inner, function))
            items.append((generator.iter, generator, iter_scope, function))
            items.extend((condition, generator, inner, function) for condition in generator.ifs)
        self.push(items)

    def assign(self, node: ast.Assign, scope: Scope, function: Function | None) -> None:
        for target in node.targets:
            self.bind_target(scope, target, node_end(node))
        self.children(node, scope, function)

    def single_target(
        self, node: ast.AugAssign | ast.AnnAssign, scope: Scope, function: Function | None
    ) -> None:
        if isinstance(node.target, ast.Name):
            scope.bind(node.target.id, node.target, node_end(node))
        self.children(node, scope, function)

    def for_(self, node: ast.For | ast.AsyncFor, scope: Scope, function: Function | None) -> None:
        self.bind_target(scope, node.target, node_end(node.target))
        self.children(node, scope, function)

    def withitem(self, node: ast.withitem, scope: Scope, function: Function | None) -> None:
        if node.optional_vars is not None:
            self.bind_target(scope, node.optional_vars, node_end(node.optional_vars))
        self.children(node, scope, function)

    def named(self, node: ast.NamedExpr, scope: Scope, function: Function | None) -> None:
        target = scope
        while target.kind == "comprehension" and target.parent is not None:
            target = target.parent  # PEP 572: binds in the enclosing function
        if isinstance(node.target, ast.Name):
            target.bind(node.target.id, node.target, node_end(node))
        self.children(node, scope, function)

    def handler(self, node: ast.ExceptHandler, scope: Scope, function: Function | None) -> None:
        if node.name:
            scope.bind(node.name, node, node_end(node.type) if node.type else node_start(node))
        self.children(node, scope, function)

    def import_(
        self, node: ast.Import | ast.ImportFrom, scope: Scope, function: Function | None
    ) -> None:
        for alias in node.names:
            if alias.name == "*":
                continue
            if alias.asname:
                names = [alias.asname]
            elif isinstance(node, ast.Import):
                parts = alias.name.split(".")
                names = [".".join(parts[:size]) for size in range(len(parts), 0, -1)]
            else:
                names = [alias.name]
            for name in names:
                scope.bind(name, node, node_end(node))

    def declare(
        self, node: ast.Global | ast.Nonlocal, scope: Scope, function: Function | None
    ) -> None:
        if scope.kind != "module":
            kind = "global" if isinstance(node, ast.Global) else "nonlocal"
            for name in node.names:
                scope.declared[name] = kind

    def call(self, node: ast.Call, scope: Scope, function: Function | None) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in self.t.methods:
            self.t.calls.append((node, function))
        self.children(node, scope, function)

    _HANDLERS: ClassVar[dict[type[ast.AST], Callable[..., None]]] = {
        ast.FunctionDef: function,
        ast.AsyncFunctionDef: function,
        ast.Lambda: lambda_,
        ast.ClassDef: class_,
        ast.ListComp: comprehension,
        ast.SetComp: comprehension,
        ast.GeneratorExp: comprehension,
        ast.DictComp: comprehension,
        ast.Assign: assign,
        ast.AugAssign: single_target,
        ast.AnnAssign: single_target,
        ast.For: for_,
        ast.AsyncFor: for_,
        ast.withitem: withitem,
        ast.NamedExpr: named,
        ast.ExceptHandler: handler,
        ast.Import: import_,
        ast.ImportFrom: import_,
        ast.Global: declare,
        ast.Nonlocal: declare,
        ast.Call: call,
    }
