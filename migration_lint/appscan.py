"""The parse of application code for the get_or_create scan (:mod:`migration_lint.appcode` says
what it finds and why): the calls, their receivers resolved to a :class:`Target` where the file
says statically which model they are about, and the classes the file defines.

Built on the standard library's ``ast`` and the scope model of :mod:`migration_lint.pyscope`.
It was built on libcst with ``ScopeProvider`` and ``PositionProvider`` metadata: 10-50 ms a
file, the largest cost of a cold lint. Measured on the 36 data migrations of the
3,000-migration benchmark corpus that call get_or_create: libcst 0.31 s, this module 0.010 s,
``ast.parse`` alone 0.003 s; on the 13 Django modules that mention the methods: 1.5 s, 0.08 s
and 0.05 s. The walk that builds the scopes costs about what the parse does, so every function
is analysed (libcst's cost called for reducing the functions that do not mention a method to
``pass`` first). Syntax newer than the running Python (``type`` statements before 3.12) does
not parse: the file gets an error, as any file that does not parse.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from migration_lint.appcode import (
    METHODS,
    ClassInfo,
    FileScan,
    LookupValue,
    ModelRef,
    RawCall,
    Target,
)
from migration_lint.facts import Suppression
from migration_lint.pyscope import FUNCTIONS, Function, Text, Tree, decode, node_start

# Queryset methods that return a queryset of the same model without changing what
# get_or_create looks up (``filter`` adds its exact lookups).
_PASS_THROUGH = frozenset(
    {
        "all",
        "using",
        "db_manager",
        "get_queryset",
        "select_for_update",
        "select_related",
        "prefetch_related",
        "order_by",
        "only",
        "defer",
        "annotate",
        "alias",
        "distinct",
        "exclude",
        "reverse",
    }
)
# Queryset methods that return one instance of the model.
_INSTANCE_METHODS = frozenset(
    {
        "get",
        "create",
        "first",
        "last",
        "earliest",
        "latest",
        "aget",
        "acreate",
        "afirst",
        "alast",
        "aearliest",
        "alatest",
    }
)
_MANAGER_BASES = ("Manager", "QuerySet", "BaseManager")
_MAX_DEPTH = 12
_NOQA = re.compile(r"#\s*noqa\b(?:\s*:\s*(?P<codes>[A-Z]+[0-9]*(?:[\s,]+[A-Z]+[0-9]*)*))?", re.I)
# --- values --------------------------------------------------------------------------------------


def _is_simple_string(tree: Tree, node: ast.AST) -> bool:
    """A string literal made of one token (``"a" "b"`` is two, an f-string is no literal)."""
    if not (isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes))):
        return False
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(tree.inner_code(node)).readline))
    except (tokenize.TokenError, SyntaxError):
        return False
    return sum(token.type == tokenize.STRING for token in tokens) == 1


def _literal(tree: Tree, node: ast.AST) -> LookupValue:
    text = tree.code(node)
    if isinstance(node, ast.Constant):
        value = node.value
        if value is None or isinstance(value, bool):
            return LookupValue(text, True, value)
        if not isinstance(value, (str, bytes, int, float)):
            return LookupValue(text)  # ``...``, ``1j``
    elif not isinstance(node, ast.UnaryOp):
        return LookupValue(text)
    # The text, not the node's value: a string spread over lines is no literal this way,
    # as before.
    try:
        return LookupValue(text, True, ast.literal_eval(text))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return LookupValue(text)


def _keywords(
    tree: Tree, keywords: Sequence[ast.keyword], drop: tuple[str, ...] = ()
) -> tuple[list[tuple[str, LookupValue]], str]:
    """Keyword arguments as lookups; the second item says why they are not all known."""
    out: list[tuple[str, LookupValue]] = []
    dynamic = ""
    for keyword in keywords:
        if keyword.arg is None:
            value = keyword.value
            if isinstance(value, ast.Dict) and all(
                key is not None and _is_simple_string(tree, key) for key in value.keys
            ):
                for key_node, item in zip(value.keys, value.values, strict=True):
                    assert key_node is not None
                    key = ast.literal_eval(tree.code(key_node))
                    if key not in drop:
                        out.append((key, _literal(tree, item)))
                continue
            dynamic = f"**{tree.code(value)}"
        elif keyword.arg not in drop:
            out.append((keyword.arg, _literal(tree, keyword.value)))
    return out, dynamic


@dataclass(frozen=True)
class _Arg:
    """A call argument as written: ``star`` is ``""``, ``"*"`` or ``"**"``."""

    value: ast.expr
    keyword: str | None = None
    star: str = ""


def _arguments(call: ast.Call) -> list[_Arg]:
    """The call's arguments in source order (ast keeps positional and keyword apart)."""
    found: list[tuple[tuple[int, int], _Arg]] = []
    for arg in call.args:
        if isinstance(arg, ast.Starred):
            found.append((node_start(arg), _Arg(arg.value, star="*")))
        else:
            found.append((node_start(arg), _Arg(arg)))
    for keyword in call.keywords:
        if keyword.arg is None:
            found.append((node_start(keyword), _Arg(keyword.value, star="**")))
        else:
            found.append((node_start(keyword), _Arg(keyword.value, keyword=keyword.arg)))
    found.sort(key=lambda item: item[0])
    return [arg for _, arg in found]


def _noqa(lines: Sequence[str], line: int, end_line: int) -> tuple[Suppression, ...]:
    """The ``# noqa`` comments on a call's lines, where they are."""
    found: list[Suppression] = []
    for number, text in enumerate(lines[line - 1 : end_line], start=line):
        for match in _NOQA.finditer(text):
            codes = match.group("codes") or ""
            parsed = tuple(c.upper() for c in re.split(r"[\s,]+", codes) if c)
            found.append(Suppression(number, match.start() + 1, parsed))
    return tuple(found)


def _is_manager_base(qualname: str) -> bool:
    last = qualname.rpartition(".")[2]
    return last.endswith(_MANAGER_BASES)


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _call_text(tree: Tree, node: ast.Call) -> str:
    """The call as one line; long values shortened to ``...``."""
    text = " ".join(tree.code(node, raw=True).split()).replace("( ", "(").replace(" )", ")")
    if len(text) <= 100:
        return text
    func = " ".join(tree.code(node.func, raw=True).split())
    parts = []
    for arg in _arguments(node):
        if arg.keyword is not None:
            parts.append(f"{arg.keyword}=...")
        elif arg.star:
            parts.append(f"{arg.star}{_short(tree.code(arg.value, raw=True), 20)}")
        else:
            parts.append("...")
    return f"{_short(func, 60)}({', '.join(parts)})"


# --- classes and calls ---------------------------------------------------------------------------


class _Scanner:
    def __init__(self, path: Path, tree: Tree) -> None:
        self.path = path
        self.t = tree
        self._classes: dict[ast.ClassDef, ClassInfo] = {}

    def class_info(self, node: ast.ClassDef) -> ClassInfo:
        found = self._classes.get(node)
        if found is None:
            found = self._classes[node] = self._class_info(node)
        return found

    def _class_info(self, node: ast.ClassDef) -> ClassInfo:
        t = self.t
        names = t.qualnames(node)
        qualname = min(names) if names else f"{t.module}.{node.name}"
        bases: list[str] = []
        manager_like = False
        for base in node.bases:
            value: ast.expr = base.value if isinstance(base, ast.Starred) else base
            if isinstance(value, ast.Call):  # models.Manager.from_queryset(QS)
                value = value.func
                manager_like = True
            for name in sorted(t.qualnames(value)):
                bases.append(name)
                manager_like = manager_like or _is_manager_base(name)
        methods = set()
        managers: list[tuple[str, tuple[str, ...]]] = []
        # A body on the class's own line (``class A: x = 1``) holds no methods or managers.
        first = node.body[0]
        if not t.text.lines[first.lineno - 1][: first.col_offset].strip():
            for statement in node.body:
                if isinstance(statement, FUNCTIONS):
                    methods.add(statement.name)
                elif isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call):
                    classes = self.manager_classes(statement.value)
                    if classes:
                        for target in statement.targets:
                            if isinstance(target, ast.Name):
                                managers.append((target.id, classes))
        return ClassInfo(
            qualname=qualname,
            name=node.name,
            module=t.module,
            bases=tuple(bases),
            methods=frozenset(methods),
            managers=tuple(managers),
            manager_like=manager_like,
        )

    def manager_classes(self, call: ast.Call) -> tuple[str, ...]:
        """``X()``, ``X.as_manager()``, ``X.from_queryset(Y)()``: the classes that make the manager."""
        func = call.func
        out: list[str] = []
        if isinstance(func, ast.Attribute) and func.attr == "as_manager":
            out.extend(self.t.qualnames(func.value))
        elif isinstance(func, ast.Call):
            inner = func.func
            if isinstance(inner, ast.Attribute) and inner.attr == "from_queryset":
                out.extend(self.t.qualnames(inner.value))
                for arg in _arguments(func):
                    out.extend(self.t.qualnames(arg.value))
        else:
            names = self.t.qualnames(func)
            if any(_is_manager_base(n) for n in names):
                out.extend(names)
        return tuple(sorted(set(out)))

    def enclosing_class(self, function: Function) -> tuple[str, bool] | None:
        """The class whose method ``function`` is (qualname, manager-like)."""
        owner = self.t.parent(function)
        if isinstance(owner, ast.ClassDef):
            info = self.class_info(owner)
            return info.qualname, info.manager_like
        return None

    def call(self, node: ast.Call, function: Function | None) -> RawCall | None:
        t = self.t
        func = node.func
        assert isinstance(func, ast.Attribute)
        if (
            function is not None
            and function.name in METHODS
            and self.enclosing_class(function) is not None
        ):
            return None  # the override itself (super().get_or_create ...): quiet by design
        kwargs, dynamic = _keywords(t, node.keywords, ("defaults", "create_defaults"))
        resolver = _Resolver(self, function)
        query = resolver.queryset(func.value, 0)
        target = query.target if query else None
        chain = tuple(query.lookups) if query else ()
        if query and query.dynamic:
            dynamic = dynamic or query.dynamic
        unresolved = ""
        if target is None:
            unresolved = (
                resolver.why
                or f"`{_short(t.code(func.value, raw=True))}` is not a known model's manager"
            )
        line, end_line = node.lineno, node.end_lineno or node.lineno
        return RawCall(
            path=self.path,
            line=line,
            column=t.column(line, node.col_offset) + 1,
            end_line=end_line,
            end_column=t.column(end_line, node.end_col_offset or 0) + 1,
            method=func.attr,
            text=_call_text(t, node),
            receiver=t.code(func.value),
            target=target,
            kwargs=tuple(kwargs),
            chain=chain,
            dynamic=dynamic,
            unresolved=unresolved,
            noqa=_noqa(t.text.lines, line, end_line),
        )


@dataclass
class _Query:
    target: Target
    lookups: list[tuple[str, LookupValue]] = field(default_factory=list)
    dynamic: str = ""


@dataclass(frozen=True)
class _Instance:
    model: ModelRef
    path: tuple[str, ...] = ()


class _Resolver:
    """Static answers to "which model is this expression about?" within one file."""

    def __init__(self, scanner: _Scanner, function: Function | None) -> None:
        self.s = scanner
        self.t = scanner.t
        self.function = function  # the function around the call being resolved
        self.why = ""

    # -- model classes -------------------------------------------------------------------------

    def model_class(self, node: ast.AST, depth: int) -> ModelRef | None:
        if depth > _MAX_DEPTH:
            return None
        if isinstance(node, ast.Name):
            return self._name_class(node, depth)
        if isinstance(node, ast.Attribute):
            if node.attr == "__class__":
                inst = self.instance(node.value, depth + 1)
                return inst.model if inst and not inst.path else None
            if node.attr == "model":  # self.model inside a manager: the manager's model
                return None
            names = self.t.qualnames(node)
            if len(names) == 1:
                name = next(iter(names))
                if name.endswith(".AUTH_USER_MODEL"):
                    return None
                return ModelRef(qualname=name)
            return None
        if isinstance(node, ast.Call):
            return self._call_class(node, depth)
        return None

    def _call_class(self, node: ast.Call, depth: int) -> ModelRef | None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "get_model":
            strings = [a.value for a in _arguments(node) if a.keyword is None]
            values = [_literal(self.t, v) for v in strings]
            if len(values) == 2 and all(isinstance(v.value, str) for v in values):
                return ModelRef(app_label=str(values[0].value), name=str(values[1].value))
            if len(values) == 1 and isinstance(values[0].value, str) and "." in values[0].value:
                app, _, name = str(values[0].value).rpartition(".")
                return ModelRef(app_label=app, name=name)
            if len(strings) == 1 and any(
                n.endswith("AUTH_USER_MODEL") for n in self.t.qualnames(strings[0])
            ):
                return ModelRef(setting="AUTH_USER_MODEL")
            return None
        names = self.t.qualnames(func)
        if any(n.endswith("get_user_model") for n in names):
            return ModelRef(setting="AUTH_USER_MODEL")
        args = _arguments(node)
        if isinstance(func, ast.Name) and func.id == "type" and len(args) == 1:
            inst = self.instance(args[0].value, depth + 1)
            return inst.model if inst and not inst.path else None
        return None

    def _name_class(self, node: ast.Name, depth: int) -> ModelRef | None:
        found: set[ModelRef] = set()
        for binding in self.t.bindings(node):
            ref: ModelRef | None = None
            target = binding.node
            if isinstance(target, (ast.Import, ast.ImportFrom)):
                names = self.t.qualnames(node)
                ref = ModelRef(qualname=next(iter(names))) if len(names) == 1 else None
            elif isinstance(target, ast.ClassDef):
                names = self.t.qualnames(target)
                if len(names) == 1:
                    ref = ModelRef(qualname=next(iter(names)))
            elif isinstance(target, ast.arg):
                ref = self._param_class(target, depth)
            else:
                value = self._assigned_value(target)
                if value is not None:
                    ref = self.model_class(value, depth + 1)
            if ref is None:
                return None
            found.add(ref)
        return found.pop() if len(found) == 1 else None

    def _param_class(self, param: ast.arg, depth: int) -> ModelRef | None:
        """``cls`` of a classmethod, or a parameter annotated ``type[Model]``."""
        function = self._function_of(param)
        if function is None:
            return None
        if self._is_first_param(function, param) and self._decorated(function, "classmethod"):
            owner = self.s.enclosing_class(function)
            if owner is not None and not owner[1]:
                return ModelRef(qualname=owner[0])
            return None
        annotation = param.annotation
        if isinstance(annotation, ast.Subscript) and self.t.code(annotation.value) in (
            "type",
            "Type",
        ):
            element = self._first_element(annotation)
            if element is not None:
                return self.model_class(element, depth + 1)
        return None

    # -- instances -----------------------------------------------------------------------------

    def instance(self, node: ast.AST, depth: int) -> _Instance | None:
        if depth > _MAX_DEPTH:
            return None
        if isinstance(node, ast.Await):
            return self.instance(node.value, depth + 1)
        if isinstance(node, ast.Name):
            return self._name_instance(node, depth)
        if isinstance(node, ast.Attribute):
            base = self.instance(node.value, depth + 1)
            if base is not None:
                return _Instance(base.model, (*base.path, node.attr))
            return None
        if isinstance(node, ast.Subscript):
            # ``Model.objects.get_or_create(...)[0]``
            value = node.value
            if (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Attribute)
                and value.func.attr in METHODS
                and len(self._elements(node)) == 1
            ):
                element = self._first_element(node)
                if element is not None and self.t.code(element) == "0":
                    return self._query_instance(self.queryset(value.func.value, depth + 1))
            return None
        if isinstance(node, ast.Call):
            return self._call_instance(node, depth)
        return None

    def _elements(self, node: ast.Subscript) -> list[ast.expr]:
        """What is between the brackets, one item per comma-separated element."""
        index = node.slice
        if isinstance(index, ast.Tuple) and not self._parenthesized(index):
            return list(index.elts)
        return [index]

    def _first_element(self, node: ast.Subscript) -> ast.expr | None:
        """The first element between the brackets, unless it is a slice."""
        elements = self._elements(node)
        if not elements or isinstance(elements[0], ast.Slice):
            return None
        return elements[0]

    def _parenthesized(self, node: ast.Tuple) -> bool:
        if not node.elts:
            return True
        return self.t.text.offset(*node_start(node)) < self.t.span(node.elts[0])[0]

    def _query_instance(self, query: _Query | None) -> _Instance | None:
        if query is None or query.target.model is None:
            return None
        return _Instance(query.target.model, query.target.path)

    def _call_instance(self, node: ast.Call, depth: int) -> _Instance | None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in _INSTANCE_METHODS:
            return self._query_instance(self.queryset(func.value, depth + 1))
        names = self.t.qualnames(func)
        if any(n.endswith(("get_object_or_404", "aget_object_or_404")) for n in names):
            args = _arguments(node)
            if args:
                first = args[0].value
                ref = self.model_class(first, depth + 1)
                if ref is not None:
                    return _Instance(ref)
                return self._query_instance(self.queryset(first, depth + 1))
            return None
        ref = self.model_class(func, depth + 1)
        return _Instance(ref) if ref is not None else None

    def _name_instance(self, node: ast.Name, depth: int) -> _Instance | None:
        found: set[_Instance] = set()
        for binding in self.t.bindings(node):
            inst: _Instance | None = None
            target = binding.node
            if isinstance(target, ast.arg):
                inst = self._param_instance(target, depth)
            elif isinstance(target, ast.Name):
                inst = self._target_instance(target, depth)
            if inst is None:
                return None
            found.add(inst)
        return found.pop() if len(found) == 1 else None

    def _target_instance(self, target: ast.Name, depth: int) -> _Instance | None:
        parent = self.t.parent(target)
        if isinstance(parent, ast.AnnAssign):
            return self._annotation_instance(parent.annotation, depth)
        if isinstance(parent, (ast.For, ast.AsyncFor, ast.comprehension)) and (
            parent.target is target
        ):
            query = self.queryset(parent.iter, depth + 1)
            return self._query_instance(query)
        if isinstance(parent, (ast.Tuple, ast.List)):
            # ``obj, created = Model.objects.get_or_create(...)``
            assign = self.t.parent(parent)
            if (
                parent.elts[0] is target
                and isinstance(assign, ast.Assign)
                and any(t is parent for t in assign.targets)
            ):
                call = assign.value.value if isinstance(assign.value, ast.Await) else assign.value
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and call.func.attr in METHODS
                ):
                    return self._query_instance(self.queryset(call.func.value, depth + 1))
            return None
        value = self._assigned_value(target)
        return self.instance(value, depth + 1) if value is not None else None

    def _assigned_value(self, target: ast.AST) -> ast.expr | None:
        parent = self.t.parent(target)
        if isinstance(parent, ast.Assign) and any(t is target for t in parent.targets):
            return parent.value
        if isinstance(parent, (ast.AnnAssign, ast.NamedExpr)) and parent.target is target:
            return parent.value
        return None

    def _annotation_instance(self, annotation: ast.AST, depth: int) -> _Instance | None:
        if _is_simple_string(self.t, annotation):
            assert isinstance(annotation, ast.Constant)
            name = _string_annotation_name(annotation.value)
            # A name inside a string annotation is not a node of the tree: look it up by name.
            return self._by_name(annotation, name) if name is not None else None
        if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
            # ``Ad | None``
            sides = [annotation.left, annotation.right]
            real = [s for s in sides if self.t.code(s) != "None"]
            return self._annotation_instance(real[0], depth) if len(real) == 1 else None
        if isinstance(annotation, ast.Subscript) and self.t.code(annotation.value).endswith(
            "Optional"
        ):
            element = self._first_element(annotation)
            return self._annotation_instance(element, depth) if element is not None else None
        ref = self.model_class(annotation, depth + 1)
        return _Instance(ref) if ref is not None else None

    def _by_name(self, node: ast.AST, name: str) -> _Instance | None:
        found = self.t.names_in_scope(node, name)
        return _Instance(ModelRef(qualname=found.pop())) if len(found) == 1 else None

    def _function_of(self, param: ast.arg) -> Function | None:
        function = self.t.parent(self.t.parent(param) or param)
        return function if isinstance(function, FUNCTIONS) else None

    @staticmethod
    def _is_first_param(function: Function, param: ast.arg) -> bool:
        params = [*function.args.posonlyargs, *function.args.args]
        return bool(params) and params[0] is param

    def _decorated(self, function: Function, name: str) -> bool:
        return any(self.t.code(d) == name for d in function.decorator_list)

    def _param_instance(self, param: ast.arg, depth: int) -> _Instance | None:
        function = self._function_of(param)
        if function is None:
            return None
        if self._is_first_param(function, param) and not self._decorated(function, "staticmethod"):
            owner = self.s.enclosing_class(function)
            if owner is not None:
                if owner[1] or self._decorated(function, "classmethod"):
                    return None
                return _Instance(ModelRef(qualname=owner[0]))
        if param.annotation is None:
            return None
        return self._annotation_instance(param.annotation, depth)

    # -- managers and querysets ------------------------------------------------------------------

    def _self_manager(self, node: ast.AST) -> str | None:
        """``self`` (or ``super()``) inside a Manager or QuerySet method: that class's qualname."""
        is_self = isinstance(node, ast.Name) and node.id == "self"
        is_super = (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "super"
        )
        if not (is_self or is_super) or self.function is None:
            return None
        owner = self.s.enclosing_class(self.function)
        if owner is not None and owner[1]:
            return owner[0]
        return None

    def queryset(self, node: ast.AST, depth: int) -> _Query | None:
        if depth > _MAX_DEPTH:
            return None
        manager_class = self._self_manager(node)
        if manager_class is not None:
            return _Query(Target(manager_class=manager_class))
        if isinstance(node, ast.Attribute):
            ref = self.model_class(node.value, depth + 1)
            if ref is not None:
                return _Query(Target(model=ref, manager=node.attr))
            inst = self.instance(node.value, depth + 1)
            if inst is not None:
                return _Query(Target(model=inst.model, path=(*inst.path, node.attr)))
            if not self.why:
                self.why = f"the model of `{_short(self.t.code(node.value, raw=True))}` is not known statically"
            return None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method = node.func.attr
            base = self.queryset(node.func.value, depth + 1)
            if base is None:
                return None
            if method == "filter":
                lookups, dynamic = _keywords(self.t, node.keywords)
                if any(not isinstance(a, ast.Starred) for a in node.args):
                    first = self.t.code(_arguments(node)[0].value, raw=True)
                    dynamic = dynamic or f"the positional filter of `.filter({_short(first, 30)})`"
                base.lookups.extend(lookups)
                base.dynamic = base.dynamic or dynamic
            elif method not in _PASS_THROUGH:
                base.dynamic = base.dynamic or f"the custom queryset method `.{method}()`"
            return base
        if isinstance(node, ast.Name):
            found: list[_Query] = []
            for binding in self.t.bindings(node):
                if not isinstance(binding.node, ast.Name):
                    return None
                value = self._assigned_value(binding.node)
                query = self.queryset(value, depth + 1) if value is not None else None
                if query is None:
                    return None
                found.append(query)
            if len(found) == 1:
                return found[0]
        return None


def _string_annotation_name(value: object) -> str | None:
    """The name a string annotation holds (``"Order"``), if it is a bare name."""
    if not isinstance(value, str) or value[:1] in (" ", "\t"):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = ast.parse(value, mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    return parsed.id if isinstance(parsed, ast.Name) else None


def _parse(data: bytes) -> tuple[ast.Module, Text] | str:
    """The tree and text, or why there are none."""
    try:
        text = decode(data)
    except (UnicodeDecodeError, SyntaxError, LookupError) as exc:
        return f"cannot decode: {exc}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences and the like
            tree = ast.parse(text)
    except SyntaxError as exc:
        where = f" (line {exc.lineno})" if exc.lineno else ""
        return f"cannot parse: {exc.msg}{where}"
    except (ValueError, MemoryError, RecursionError) as exc:
        return f"cannot parse: {exc}"
    return tree, Text(text)


def scan_source(path: Path, module: str, data: bytes) -> FileScan:
    """The calls and classes of one file, already known to contain a needle."""
    parsed = _parse(data)
    if isinstance(parsed, str):
        return FileScan(path, module, error=parsed)
    tree = Tree(*parsed, module, path.name == "__init__.py", METHODS)
    scanner = _Scanner(path, tree)
    classes = tuple(scanner.class_info(node) for node in tree.classes)
    calls = tuple(found for node, function in tree.calls if (found := scanner.call(node, function)))
    return FileScan(path, module, calls, classes)
