"""The libcst parse of application code for the get_or_create scan (:mod:`migration_lint.appcode`
says what it finds and why). A module of its own so that libcst, whose import alone takes a
quarter of a second, is loaded only when a file has to be parsed."""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst
from libcst.metadata import (
    Assignment,
    ImportAssignment,
    MetadataWrapper,
    PositionProvider,
    QualifiedNameSource,
    ScopeProvider,
)

from migration_lint.appcode import (
    METHODS,
    ClassInfo,
    FileScan,
    LookupValue,
    ModelRef,
    RawCall,
    Target,
)
from migration_lint.appfiles import contains_needle
from migration_lint.facts import Suppression

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


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def _literal(node: cst.BaseExpression) -> LookupValue:
    text = _code(node)
    literal_types = (
        cst.SimpleString,
        cst.ConcatenatedString,
        cst.Integer,
        cst.Float,
        cst.UnaryOperation,
    )
    if isinstance(node, cst.Name) and node.value in ("None", "True", "False"):
        return LookupValue(text, True, {"None": None, "True": True, "False": False}[node.value])
    if isinstance(node, literal_types):
        try:
            return LookupValue(text, True, ast.literal_eval(text))
        except (ValueError, SyntaxError):
            pass
    return LookupValue(text)


def _keywords(
    args: Sequence[cst.Arg], drop: tuple[str, ...] = ()
) -> tuple[list[tuple[str, LookupValue]], str]:
    """Keyword arguments as lookups; the second item says why they are not all known."""
    out: list[tuple[str, LookupValue]] = []
    dynamic = ""
    for arg in args:
        if arg.star == "**":
            if isinstance(arg.value, cst.Dict) and all(
                isinstance(e, cst.DictElement) and isinstance(e.key, cst.SimpleString)
                for e in arg.value.elements
            ):
                for element in arg.value.elements:
                    assert isinstance(element, cst.DictElement)
                    key = ast.literal_eval(_code(element.key))
                    if key not in drop:
                        out.append((key, _literal(element.value)))
                continue
            dynamic = f"**{_code(arg.value)}"
        elif arg.keyword is not None and arg.keyword.value not in drop:
            out.append((arg.keyword.value, _literal(arg.value)))
    return out, dynamic


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


class _Scanner(cst.CSTVisitor):
    # Qualified names are asked of the scope for the few nodes that need them: the
    # QualifiedNameProvider computes them for every node (a third of the scan's time).
    METADATA_DEPENDENCIES = (ScopeProvider, PositionProvider)

    def __init__(
        self,
        path: Path,
        module: str,
        lines: Sequence[str],
        is_package: bool,
        parents: Mapping[cst.CSTNode, cst.CSTNode],
    ) -> None:
        super().__init__()
        self.parents = parents
        self.path = path
        self.module = module
        self.lines = lines
        self.package = module if is_package else module.rpartition(".")[0]
        self.calls: list[RawCall] = []
        self.classes: list[ClassInfo] = []
        self.class_stack: list[tuple[cst.ClassDef, str, bool]] = []
        self.function_stack: list[cst.FunctionDef] = []
        self._manager_like: dict[str, bool] = {}

    # -- names ---------------------------------------------------------------------------------

    def absolute(self, name: str, source: QualifiedNameSource) -> str | None:
        if source == QualifiedNameSource.IMPORT:
            if name.startswith("."):
                level = len(name) - len(name.lstrip("."))
                parts = self.package.split(".") if self.package else []
                if level > 1:
                    parts = parts[: len(parts) - (level - 1)]
                rest = name.lstrip(".")
                return ".".join([*parts, rest] if rest else parts)
            return name
        if source == QualifiedNameSource.LOCAL and "<locals>" not in name:
            return f"{self.module}.{name}" if self.module else name
        return None

    def qualnames(self, node: cst.CSTNode) -> set[str]:
        out = set()
        scope = self.get_metadata(ScopeProvider, node, None)
        for qn in scope.get_qualified_names_for(node) if scope is not None else ():
            absolute = self.absolute(qn.name, qn.source)
            if absolute:
                out.add(absolute)
        return out

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.parents.get(node)

    # -- classes and functions -----------------------------------------------------------------

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        names = self.qualnames(node)
        qualname = min(names) if names else f"{self.module}.{node.name.value}"
        bases: list[str] = []
        manager_like = False
        for base in node.bases:
            value = base.value
            if isinstance(value, cst.Call):  # models.Manager.from_queryset(QS)
                value = value.func
                manager_like = True
            for name in self.qualnames(value):
                bases.append(name)
                manager_like = manager_like or _is_manager_base(name)
        methods = set()
        managers: list[tuple[str, tuple[str, ...]]] = []
        for statement in node.body.body:
            if isinstance(statement, cst.FunctionDef):
                methods.add(statement.name.value)
            elif isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if isinstance(small, cst.Assign) and isinstance(small.value, cst.Call):
                        classes = self.manager_classes(small.value)
                        if classes:
                            for target in small.targets:
                                if isinstance(target.target, cst.Name):
                                    managers.append((target.target.value, classes))
        self._manager_like[qualname] = manager_like
        self.classes.append(
            ClassInfo(
                qualname=qualname,
                name=node.name.value,
                module=self.module,
                bases=tuple(bases),
                methods=frozenset(methods),
                managers=tuple(managers),
                manager_like=manager_like,
            )
        )
        self.class_stack.append((node, qualname, manager_like))

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.class_stack.pop()

    def manager_classes(self, call: cst.Call) -> tuple[str, ...]:
        """``X()``, ``X.as_manager()``, ``X.from_queryset(Y)()``: the classes that make the manager."""
        func = call.func
        out: list[str] = []
        if isinstance(func, cst.Attribute) and func.attr.value == "as_manager":
            out.extend(self.qualnames(func.value))
        elif isinstance(func, cst.Call):
            inner = func.func
            if isinstance(inner, cst.Attribute) and inner.attr.value == "from_queryset":
                out.extend(self.qualnames(inner.value))
                for arg in func.args:
                    out.extend(self.qualnames(arg.value))
        else:
            names = self.qualnames(func)
            if any(_is_manager_base(n) for n in names):
                out.extend(names)
        return tuple(sorted(set(out)))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.function_stack.append(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.function_stack.pop()

    def enclosing_class(self, function: cst.FunctionDef) -> tuple[str, bool] | None:
        """The class whose method ``function`` is (qualname, manager-like)."""
        parent = self.parent(function)
        if isinstance(parent, cst.IndentedBlock):
            owner = self.parent(parent)
            if isinstance(owner, cst.ClassDef):
                for node, qualname, manager_like in reversed(self.class_stack):
                    if node is owner:
                        return qualname, manager_like
                names = self.qualnames(owner)
                qualname = min(names) if names else f"{self.module}.{owner.name.value}"
                return qualname, self._manager_like.get(qualname, False)
        return None

    # -- calls ---------------------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not (isinstance(func, cst.Attribute) and func.attr.value in METHODS):
            return
        method = func.attr.value
        if self.function_stack and self.function_stack[-1].name.value in METHODS:
            owner = self.enclosing_class(self.function_stack[-1])
            if owner is not None:
                return  # the override itself (super().get_or_create ...): quiet by design
        position = self.get_metadata(PositionProvider, node)
        drop = ("defaults", "create_defaults")
        kwargs, dynamic = _keywords(node.args, drop)
        resolver = _Resolver(self)
        query = resolver.queryset(func.value, 0)
        target = query.target if query else None
        chain = tuple(query.lookups) if query else ()
        if query and query.dynamic:
            dynamic = dynamic or query.dynamic
        unresolved = ""
        if target is None:
            unresolved = (
                resolver.why or f"`{_short(_code(func.value))}` is not a known model's manager"
            )
        line, end_line = position.start.line, position.end.line
        self.calls.append(
            RawCall(
                path=self.path,
                line=line,
                column=position.start.column + 1,
                end_line=end_line,
                end_column=position.end.column + 1,
                method=method,
                text=_call_text(node),
                receiver=_code(func.value),
                target=target,
                kwargs=tuple(kwargs),
                chain=chain,
                dynamic=dynamic,
                unresolved=unresolved,
                noqa=_noqa(self.lines, line, end_line),
            )
        )


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _call_text(node: cst.Call) -> str:
    """The call as one line; long values shortened to ``...``."""
    text = " ".join(_code(node).split()).replace("( ", "(").replace(" )", ")")
    if len(text) <= 100:
        return text
    func = " ".join(_code(node.func).split())
    parts = []
    for arg in node.args:
        if arg.keyword is not None:
            parts.append(f"{arg.keyword.value}=...")
        elif arg.star:
            parts.append(f"{arg.star}{_short(_code(arg.value), 20)}")
        else:
            parts.append("...")
    return f"{_short(func, 60)}({', '.join(parts)})"


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

    def __init__(self, scanner: _Scanner) -> None:
        self.s = scanner
        self.why = ""

    # -- model classes -------------------------------------------------------------------------

    def model_class(self, node: cst.BaseExpression, depth: int) -> ModelRef | None:
        if depth > _MAX_DEPTH:
            return None
        if isinstance(node, cst.Name):
            return self._name_class(node, depth)
        if isinstance(node, cst.Attribute):
            if node.attr.value == "__class__":
                inst = self.instance(node.value, depth + 1)
                return inst.model if inst and not inst.path else None
            if node.attr.value == "model":  # self.model inside a manager: the manager's model
                return None
            names = self.s.qualnames(node)
            if len(names) == 1:
                name = next(iter(names))
                if name.endswith(".AUTH_USER_MODEL"):
                    return None
                return ModelRef(qualname=name)
            return None
        if isinstance(node, cst.Call):
            return self._call_class(node, depth)
        return None

    def _call_class(self, node: cst.Call, depth: int) -> ModelRef | None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "get_model":
            strings = [a.value for a in node.args if a.keyword is None]
            values = [_literal(v) for v in strings]
            if len(values) == 2 and all(isinstance(v.value, str) for v in values):
                return ModelRef(app_label=str(values[0].value), name=str(values[1].value))
            if len(values) == 1 and isinstance(values[0].value, str) and "." in values[0].value:
                app, _, name = str(values[0].value).rpartition(".")
                return ModelRef(app_label=app, name=name)
            if len(strings) == 1 and any(
                n.endswith("AUTH_USER_MODEL") for n in self.s.qualnames(strings[0])
            ):
                return ModelRef(setting="AUTH_USER_MODEL")
            return None
        names = self.s.qualnames(func)
        if any(n.endswith("get_user_model") for n in names):
            return ModelRef(setting="AUTH_USER_MODEL")
        if isinstance(func, cst.Name) and func.value == "type" and len(node.args) == 1:
            inst = self.instance(node.args[0].value, depth + 1)
            return inst.model if inst and not inst.path else None
        return None

    def _assignments(self, node: cst.Name) -> list[object]:
        scope = self.s.get_metadata(ScopeProvider, node, None)
        if scope is None:
            return []
        try:
            return list(scope[node.value])
        except KeyError:
            return []

    def _name_class(self, node: cst.Name, depth: int) -> ModelRef | None:
        found: set[ModelRef] = set()
        for assignment in self._assignments(node):
            ref: ModelRef | None = None
            if isinstance(assignment, ImportAssignment):
                names = self.s.qualnames(node)
                ref = ModelRef(qualname=next(iter(names))) if len(names) == 1 else None
            elif isinstance(assignment, Assignment):
                target = assignment.node
                if isinstance(target, cst.ClassDef):
                    names = self.s.qualnames(target)
                    if len(names) == 1:
                        ref = ModelRef(qualname=next(iter(names)))
                elif isinstance(target, cst.Param):
                    ref = self._param_class(target, depth)
                else:
                    value = self._assigned_value(target)
                    if value is not None:
                        ref = self.model_class(value, depth + 1)
            if ref is None:
                return None
            found.add(ref)
        return found.pop() if len(found) == 1 else None

    def _param_class(self, param: cst.Param, depth: int) -> ModelRef | None:
        """``cls`` of a classmethod, or a parameter annotated ``type[Model]``."""
        function = self._function_of(param)
        if function is None:
            return None
        if self._is_first_param(function, param) and self._decorated(function, "classmethod"):
            owner = self.s.enclosing_class(function)
            if owner is not None and not owner[1]:
                return ModelRef(qualname=owner[0])
            return None
        annotation = param.annotation.annotation if param.annotation else None
        if isinstance(annotation, cst.Subscript) and _code(annotation.value) in ("type", "Type"):
            element = annotation.slice[0].slice
            if isinstance(element, cst.Index):
                return self.model_class(element.value, depth + 1)
        return None

    # -- instances -----------------------------------------------------------------------------

    def instance(self, node: cst.BaseExpression, depth: int) -> _Instance | None:
        if depth > _MAX_DEPTH:
            return None
        if isinstance(node, cst.Await):
            return self.instance(node.expression, depth + 1)
        if isinstance(node, cst.Name):
            return self._name_instance(node, depth)
        if isinstance(node, cst.Attribute):
            base = self.instance(node.value, depth + 1)
            if base is not None:
                return _Instance(base.model, (*base.path, node.attr.value))
            return None
        if isinstance(node, cst.Subscript):
            # ``Model.objects.get_or_create(...)[0]``
            if (
                isinstance(node.value, cst.Call)
                and isinstance(node.value.func, cst.Attribute)
                and node.value.func.attr.value in METHODS
                and len(node.slice) == 1
                and isinstance(node.slice[0].slice, cst.Index)
                and _code(node.slice[0].slice.value) == "0"
            ):
                query = self.queryset(node.value.func.value, depth + 1)
                return self._query_instance(query)
            return None
        if isinstance(node, cst.Call):
            return self._call_instance(node, depth)
        return None

    def _query_instance(self, query: _Query | None) -> _Instance | None:
        if query is None or query.target.model is None:
            return None
        return _Instance(query.target.model, query.target.path)

    def _call_instance(self, node: cst.Call, depth: int) -> _Instance | None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in _INSTANCE_METHODS:
            return self._query_instance(self.queryset(func.value, depth + 1))
        names = self.s.qualnames(func)
        if any(n.endswith(("get_object_or_404", "aget_object_or_404")) for n in names):
            if node.args:
                first = node.args[0].value
                ref = self.model_class(first, depth + 1)
                if ref is not None:
                    return _Instance(ref)
                return self._query_instance(self.queryset(first, depth + 1))
            return None
        ref = self.model_class(func, depth + 1)
        return _Instance(ref) if ref is not None else None

    def _name_instance(self, node: cst.Name, depth: int) -> _Instance | None:
        found: set[_Instance] = set()
        for assignment in self._assignments(node):
            inst: _Instance | None = None
            if isinstance(assignment, Assignment):
                target = assignment.node
                if isinstance(target, cst.Param):
                    inst = self._param_instance(target, depth)
                elif isinstance(target, cst.Name):
                    inst = self._target_instance(target, depth)
            if inst is None:
                return None
            found.add(inst)
        return found.pop() if len(found) == 1 else None

    def _target_instance(self, target: cst.Name, depth: int) -> _Instance | None:
        parent = self.s.parent(target)
        if isinstance(parent, cst.AnnAssign):
            return self._annotation_instance(parent.annotation.annotation, depth)
        if isinstance(parent, (cst.For, cst.CompFor)) and parent.target is target:
            query = self.queryset(parent.iter, depth + 1)
            return self._query_instance(query)
        if isinstance(parent, cst.Element):
            # ``obj, created = Model.objects.get_or_create(...)``
            tuple_node = self.s.parent(parent)
            holder = self.s.parent(tuple_node) if tuple_node is not None else None
            if (
                isinstance(tuple_node, (cst.Tuple, cst.List))
                and tuple_node.elements
                and tuple_node.elements[0] is parent
                and isinstance(holder, cst.AssignTarget)
            ):
                assign = self.s.parent(holder)
                if isinstance(assign, cst.Assign) and isinstance(
                    assign.value, (cst.Call, cst.Await)
                ):
                    call = (
                        assign.value.expression
                        if isinstance(assign.value, cst.Await)
                        else assign.value
                    )
                    if (
                        isinstance(call, cst.Call)
                        and isinstance(call.func, cst.Attribute)
                        and call.func.attr.value in METHODS
                    ):
                        return self._query_instance(self.queryset(call.func.value, depth + 1))
            return None
        value = self._assigned_value(target)
        return self.instance(value, depth + 1) if value is not None else None

    def _assigned_value(self, target: cst.CSTNode) -> cst.BaseExpression | None:
        parent = self.s.parent(target)
        if isinstance(parent, cst.AssignTarget):
            assign = self.s.parent(parent)
            if isinstance(assign, cst.Assign):
                return assign.value
        if isinstance(parent, cst.AnnAssign) and parent.target is target:
            return parent.value
        if isinstance(parent, cst.NamedExpr) and parent.target is target:
            return parent.value
        return None

    def _annotation_instance(self, annotation: cst.BaseExpression, depth: int) -> _Instance | None:
        if isinstance(annotation, cst.SimpleString):
            try:
                parsed = cst.parse_expression(ast.literal_eval(annotation.value))
            except (cst.ParserSyntaxError, ValueError, SyntaxError):
                return None
            # A name inside a string annotation has no scope metadata: match imports by name.
            if isinstance(parsed, cst.Name):
                return self._by_name(annotation, parsed.value)
            return None
        if isinstance(annotation, cst.BinaryOperation) and isinstance(
            annotation.operator, cst.BitOr
        ):
            # ``Ad | None``
            sides = [annotation.left, annotation.right]
            real = [s for s in sides if _code(s) != "None"]
            return self._annotation_instance(real[0], depth) if len(real) == 1 else None
        if isinstance(annotation, cst.Subscript) and _code(annotation.value).endswith("Optional"):
            element = annotation.slice[0].slice
            if isinstance(element, cst.Index):
                return self._annotation_instance(element.value, depth)
            return None
        ref = self.model_class(annotation, depth + 1)
        return _Instance(ref) if ref is not None else None

    def _by_name(self, node: cst.CSTNode, name: str) -> _Instance | None:
        """A name inside a string annotation (it has no scope metadata): the file's own binding."""
        scope = self.s.get_metadata(ScopeProvider, node, None)
        if scope is None or name not in scope:
            return None
        found: set[str] = set()
        for assignment in scope[name]:
            for qn in assignment.get_qualified_names_for(name):
                absolute = self.s.absolute(qn.name, qn.source)
                if absolute:
                    found.add(absolute)
        return _Instance(ModelRef(qualname=found.pop())) if len(found) == 1 else None

    def _function_of(self, param: cst.Param) -> cst.FunctionDef | None:
        node: cst.CSTNode | None = param
        for _ in range(3):
            node = self.s.parent(node) if node is not None else None
            if isinstance(node, cst.FunctionDef):
                return node
        return None

    @staticmethod
    def _is_first_param(function: cst.FunctionDef, param: cst.Param) -> bool:
        params = [*function.params.posonly_params, *function.params.params]
        return bool(params) and params[0] is param

    @staticmethod
    def _decorated(function: cst.FunctionDef, name: str) -> bool:
        return any(_code(d.decorator) == name for d in function.decorators)

    def _param_instance(self, param: cst.Param, depth: int) -> _Instance | None:
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
        return self._annotation_instance(param.annotation.annotation, depth)

    # -- managers and querysets ------------------------------------------------------------------

    def _self_manager(self, node: cst.BaseExpression) -> str | None:
        """``self`` (or ``super()``) inside a Manager or QuerySet method: that class's qualname."""
        is_self = isinstance(node, cst.Name) and node.value == "self"
        is_super = (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Name)
            and node.func.value == "super"
        )
        if not (is_self or is_super) or not self.s.function_stack:
            return None
        owner = self.s.enclosing_class(self.s.function_stack[-1])
        if owner is not None and owner[1]:
            return owner[0]
        return None

    def queryset(self, node: cst.BaseExpression, depth: int) -> _Query | None:
        if depth > _MAX_DEPTH:
            return None
        manager_class = self._self_manager(node)
        if manager_class is not None:
            return _Query(Target(manager_class=manager_class))
        if isinstance(node, cst.Attribute):
            ref = self.model_class(node.value, depth + 1)
            if ref is not None:
                return _Query(Target(model=ref, manager=node.attr.value))
            inst = self.instance(node.value, depth + 1)
            if inst is not None:
                return _Query(Target(model=inst.model, path=(*inst.path, node.attr.value)))
            if not self.why:
                self.why = f"the model of `{_short(_code(node.value))}` is not known statically"
            return None
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            method = node.func.attr.value
            base = self.queryset(node.func.value, depth + 1)
            if base is None:
                return None
            if method == "filter":
                lookups, dynamic = _keywords(node.args)
                if any(a.keyword is None and not a.star for a in node.args):
                    dynamic = (
                        dynamic
                        or f"the positional filter of `.filter({_short(_code(node.args[0].value), 30)})`"
                    )
                base.lookups.extend(lookups)
                base.dynamic = base.dynamic or dynamic
            elif method not in _PASS_THROUGH:
                base.dynamic = base.dynamic or f"the custom queryset method `.{method}()`"
            return base
        if isinstance(node, cst.Name):
            found: list[_Query] = []
            for assignment in self._assignments(node):
                if not isinstance(assignment, Assignment) or not isinstance(
                    assignment.node, cst.Name
                ):
                    return None
                value = self._assigned_value(assignment.node)
                query = self.queryset(value, depth + 1) if value is not None else None
                if query is None:
                    return None
                found.append(query)
            if len(found) == 1:
                return found[0]
        return None


def prune(data: bytes) -> bytes:
    """``data`` with every function that does not mention a method name reduced to ``pass``.

    libcst with scope and name metadata costs about 100 times ``ast.parse`` per file, and a
    file that mentions get_or_create usually does so in one function of many: only that one
    (with the imports, module-level names and class bodies it may refer to) is analysed.
    Lines keep their numbers, so positions stay exact. Falls back to ``data`` when ``ast``
    cannot read it (libcst then reports why).
    """
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError):
        return data
    lines = data.splitlines(keepends=True)
    spans: list[tuple[int, int]] = []

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                end = node.end_lineno or node.lineno
                first = lines[start - 1].lstrip()
                if not first.startswith((b"def ", b"async ", b"@")):
                    continue  # shares its line with something else: keep it whole
                if not contains_needle(b"".join(lines[start - 1 : end])):
                    spans.append((start, end))
            elif isinstance(node, ast.ClassDef) and node.name == "Migration":
                # A migration's operations list is most of its file and holds no call to
                # resolve; RunPython refers to module-level functions, kept above.
                for stmt in node.body:
                    end = stmt.end_lineno or stmt.lineno
                    before = lines[stmt.lineno - 1][: stmt.col_offset]
                    after = lines[end - 1][stmt.end_col_offset or 0 :].strip()
                    alone = not before.strip() and (not after or after.startswith(b"#"))
                    if alone and not contains_needle(b"".join(lines[stmt.lineno - 1 : end])):
                        spans.append((stmt.lineno, end))
            elif isinstance(node, ast.ClassDef):
                visit(node.body)

    visit(tree.body)
    for start, end in spans:
        first = lines[start - 1]
        indent = first[: len(first) - len(first.lstrip())]
        lines[start - 1] = indent + b"pass\n"
        for index in range(start, end):
            lines[index] = b"\n"
    return b"".join(lines)


class _Parents(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.parents: dict[cst.CSTNode, cst.CSTNode] = {}
        self.stack: list[cst.CSTNode] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self.stack:
            self.parents[node] = self.stack[-1]
        self.stack.append(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.stack.pop()


def scan_source(path: Path, module: str, data: bytes) -> FileScan:
    """The calls and classes of one file, already known to contain a needle."""
    try:
        tree = cst.parse_module(prune(data))
    except cst.ParserSyntaxError as exc:
        return FileScan(path, module, error=f"cannot parse: {exc.message} (line {exc.raw_line})")
    except (UnicodeDecodeError, ValueError) as exc:
        return FileScan(path, module, error=f"cannot decode: {exc}")
    lines = tree.code.splitlines()
    # A plain parent map: ParentNodeProvider would cost one more batched metadata pass.
    collector = _Parents()
    tree.visit(collector)
    scanner = _Scanner(path, module, lines, path.name == "__init__.py", collector.parents)
    MetadataWrapper(tree, unsafe_skip_copy=True).visit(scanner)
    return FileScan(path, module, tuple(scanner.calls), tuple(scanner.classes))
