"""What the functions a RunPython runs do with models, read from their source with ``ast``.

The source loader keeps every module-level function of a migration as text
(``MigrationFacts.functions``); this module parses each once per migration and tells the ML5xx
rules which models a function reaches through ``apps.get_model`` and which through an import,
which rows it inserts, updates or deletes, and which loops save one row at a time (with what
they assign, so that a fix plan can choose between one ``update()`` and a batched
``bulk_update``). Nothing is executed; what cannot be read statically is left out.
"""

from __future__ import annotations

import ast
import builtins
import re
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import cast

from migration_lint.context import MigrationContext
from migration_lint.facts import ModelKey, Operation, Ref
from migration_lint.source import astwalk

_MANAGERS = ("objects", "_default_manager", "_base_manager")
_INSERTS = ("create", "bulk_create", "get_or_create", "update_or_create")
_ONE_ROW = ("get", "first", "last", "earliest", "latest")
_CAP = re.compile(r"^_?[A-Z][A-Za-z0-9_]*$")
_BUILTINS = frozenset(dir(builtins))
# A line with its end, as ast counts lines: only \r\n, \r and \n end one.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_NOT_PADDING = re.compile(r"[^\f\t]")
BATCH_SIZE = 2000


@dataclass(frozen=True)
class Write:
    """Rows a function changes: ``kind`` is ``insert``, ``update`` or ``delete``."""

    model: ModelKey
    kind: str
    # Fields an update sets; None when the code does not say which.
    fields: tuple[str, ...] | None = None
    line: int = 0
    # For ``create(name="Walk-in")``: the literal keyword arguments, as source (a lookup).
    lookup: str = ""


@dataclass(frozen=True)
class Assignment:
    """``obj.<field> = <source>`` inside a row loop.

    ``kind``: ``row`` (constants and the row's own fields, numbers only in arithmetic),
    ``related_count`` (``obj.orders.count()``, accessor in ``related``) or ``python``.
    ``expression`` is the value as a query expression (``F("price") * 2``) for ``row``.
    """

    field: str
    source: str
    kind: str
    related: str | None = None
    expression: str = ""
    reads: tuple[str, ...] = ()
    arithmetic: bool = False


@dataclass(frozen=True)
class RowLoop:
    """``for obj in Model.objects...: ... obj.save()``: one UPDATE per row."""

    model: ModelKey
    variable: str
    model_variable: str
    queryset: str
    line: int
    iterator: bool
    assignments: tuple[Assignment, ...]
    save_fields: tuple[str, ...] | None
    conditional: bool
    # The loop body with each ``obj.save(...)`` replaced by ``batch.append(obj)`` (dedented).
    batched_body: str = ""

    @property
    def fields(self) -> tuple[str, ...]:
        if self.save_fields:
            return self.save_fields
        return tuple(dict.fromkeys(a.field for a in self.assignments))

    @property
    def strategy(self) -> str:
        """``update`` (one UPDATE with F expressions), ``subquery`` (related counts) or ``batch``."""
        kinds = {a.kind for a in self.assignments}
        if not self.assignments or self.conditional or "python" in kinds:
            return "batch"
        if self.save_fields and set(self.save_fields) - {a.field for a in self.assignments}:
            return "batch"
        return "update" if kinds == {"row"} else "subquery"


@dataclass(frozen=True)
class DirectModel:
    """A model class a function reaches through an import instead of ``apps.get_model``."""

    name: str
    # The module it comes from where the code says so (``shop.models``), else "".
    module: str
    # How the code spells it: ``Client`` or ``shop.models.Client``.
    spelling: str
    imported_in_function: bool


@dataclass(frozen=True)
class FunctionFacts:
    name: str
    models: Mapping[str, ModelKey] = field(default_factory=dict)
    writes: tuple[Write, ...] = ()
    loops: tuple[RowLoop, ...] = ()
    direct: tuple[DirectModel, ...] = ()
    calls: tuple[str, ...] = ()
    parsed: bool = True


def is_models_module(module: str) -> bool:
    """An app's models module (``shop.models``, ``django.contrib.auth.models``, ``..models``),
    not Django's field toolbox ``django.db.models`` (F, Count, CharField ...) or a variant of it."""
    parts = module.split(".")
    if "models" not in parts:
        return False
    head = parts[: parts.index("models")]
    return not head or head[-1] != "db"


def app_of(module: str, default: str) -> str:
    """``shop.models`` -> ``shop``; ``django.contrib.auth.models`` -> ``auth``."""
    parts = module.split(".")
    head = [p for p in parts[: parts.index("models")] if p] if "models" in parts else []
    return head[-1] if head else default


def _string(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _dotted(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None


def _names(node: ast.expr | None) -> tuple[str, ...] | None:
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        out = [_string(e) for e in node.elts]
        if all(out):
            return tuple(o for o in out if o)
    return None


def _keyword(node: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in node.keywords if k.arg == name), None)


def _is_save(node: ast.AST, variable: str) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "save"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == variable
    )


class _ToExpression(ast.NodeTransformer):
    """``obj.price * 2`` -> ``F("price") * 2``."""

    def __init__(self, variable: str) -> None:
        self.variable = variable

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        if isinstance(node.value, ast.Name) and node.value.id == self.variable:
            return ast.Call(ast.Name("F", ast.Load()), [ast.Constant(node.attr)], [])
        return node


class _Source:
    """A function's source split into lines once. ``ast.get_source_segment`` splits the whole
    source again on every call, and a loop of a few dozen assignments asks for each of them."""

    def __init__(self, text: str) -> None:
        self.lines: list[str] = _LINE.findall(text)

    def segment(self, node: ast.AST, padded: bool = False) -> str:
        """``ast.get_source_segment(text, node, padded=padded)``, or "" for a node built here."""
        end_line = getattr(node, "end_lineno", None)
        end_col = getattr(node, "end_col_offset", None)
        if end_line is None or end_col is None:
            return ""
        line, col = node.lineno, node.col_offset  # type: ignore[attr-defined]
        first = self.lines[line - 1].encode()
        if end_line == line:
            return first[col:end_col].decode()
        padding = _NOT_PADDING.sub(" ", first[:col].decode()) if padded else ""
        last = self.lines[end_line - 1].encode()[:end_col].decode()
        return padding + first[col:].decode() + "".join(self.lines[line : end_line - 1]) + last


class _Reader(astwalk.NodeVisitor):
    def __init__(
        self, source: str, bound: set[str], model_modules: tuple[str, ...], default_app: str
    ) -> None:
        self.source = _Source(source)
        self.bound = bound
        self.model_modules = model_modules
        self.default_app = default_app
        self.local_imports: dict[str, str] = {}
        self.models: dict[str, ModelKey] = {}
        self.querysets: dict[str, str] = {}
        self.new_instances: dict[str, str] = {}
        self.rows: dict[str, str] = {}
        self.assigned: dict[str, list[str]] = {}
        self.writes: list[Write] = []
        self.loops: list[RowLoop] = []
        self.direct: dict[str, DirectModel] = {}
        self.calls: list[str] = []

    # -- models --------------------------------------------------------------------------------

    @staticmethod
    def get_model(node: ast.expr) -> ModelKey | None:
        """``apps.get_model("shop", "Client")`` or ``apps.get_model("shop.Client")``."""
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get_model"
        ):
            return None
        args = [_string(a) for a in node.args]
        app = args[0] if args else _string(_keyword(node, "app_label"))
        model = args[1] if len(args) > 1 else _string(_keyword(node, "model_name"))
        if app and model is None and "." in app:
            app, _, model = app.partition(".")
        return (app, model.lower()) if app and model else None

    def direct_model(self, node: ast.expr) -> DirectModel | None:
        """A class reached through an import: an import in the function, or a module-level name."""
        dotted = _dotted(node)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        if head in self.models:
            return None
        if head in self.local_imports:
            full = ".".join(filter(None, [self.local_imports[head], rest]))
            module, _, cls = full.rpartition(".")
            if is_models_module(module) and _CAP.match(cls):
                return DirectModel(cls, module, dotted, True)
            return None
        if head in self.bound or head in _BUILTINS:
            return None
        module, _, cls = dotted.rpartition(".")
        if not _CAP.match(cls):
            return None
        if not module:
            # A bare module-level name: its import is one of the migration's model modules.
            module = self.model_modules[0] if len(self.model_modules) == 1 else ""
        return DirectModel(cls, module, dotted, False)

    def remember(self, found: DirectModel) -> str:
        self.direct.setdefault(found.spelling, found)
        app = app_of(found.module, self.default_app) if found.module else self.default_app
        self.models.setdefault(found.spelling, (app, found.name.lower()))
        return found.spelling

    def model_variable(self, node: ast.expr) -> str | None:
        """The model a ``Model.objects...`` chain or a queryset variable starts from."""
        while True:
            if isinstance(node, ast.Call):
                node = node.func
            elif isinstance(node, ast.Attribute):
                if node.attr in _MANAGERS:
                    base = node.value
                    if isinstance(base, ast.Name) and base.id in self.models:
                        return base.id
                    found = self.direct_model(base)
                    return self.remember(found) if found is not None else None
                node = node.value
            elif isinstance(node, ast.Name):
                return self.querysets.get(node.id)
            else:
                return None

    # -- statements ----------------------------------------------------------------------------

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.local_imports[alias.asname] = alias.name
            else:
                top = alias.name.partition(".")[0]
                self.local_imports[top] = top

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = "." * node.level + (node.module or "")
        for alias in node.names:
            local = alias.asname or alias.name
            self.local_imports[local] = f"{base}.{alias.name}" if base else alias.name
            found = self.direct_model(ast.Name(local, ast.Load()))
            if found is not None:
                self.remember(found)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.generic_visit(node)
        for each in node.targets:
            if isinstance(each, ast.Attribute) and isinstance(each.value, ast.Name):
                self.assigned.setdefault(each.value.id, []).append(each.attr)
        if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
            return
        target = node.targets[0].id
        value = node.value
        key = self.get_model(value)
        if key is not None:
            self.models[target] = key
            return
        if isinstance(value, ast.Call):
            func = value.func
            if isinstance(func, ast.Name) and func.id in self.models:
                self.new_instances[target] = func.id
                return
            model = self.model_variable(value)
            if model is not None:
                method = func.attr if isinstance(func, ast.Attribute) else ""
                if method in _ONE_ROW:
                    self.rows[target] = model
                elif method not in _INSERTS:
                    self.querysets[target] = model
        elif isinstance(value, ast.Attribute) and value.attr in _MANAGERS:
            model = self.model_variable(value)
            if model is not None:
                self.querysets[target] = model

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.generic_visit(node)
        target = node.target
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
            self.assigned.setdefault(target.value.id, []).append(target.attr)

    def visit_For(self, node: ast.For) -> None:
        model = self.model_variable(node.iter)
        if model is not None and isinstance(node.target, ast.Name):
            self.rows[node.target.id] = model
            self.assigned.pop(node.target.id, None)
            loop = self.row_loop(node, node.target.id, model)
            if loop is not None:
                self.loops.append(loop)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        func = node.func
        if isinstance(func, ast.Name):
            self.calls.append(func.id)
            return
        if not isinstance(func, ast.Attribute):
            return
        method, receiver = func.attr, func.value
        if (
            isinstance(receiver, ast.Name)
            and method in ("save", "delete")
            and (receiver.id in self.new_instances or receiver.id in self.rows)
        ):
            self.instance_write(node, receiver.id, method)
            return
        if method in _MANAGERS:
            return
        model = self.model_variable(receiver)
        if model is None:
            return
        key = self.models[model]
        if method in _INSERTS:
            literal = all(isinstance(k.value, ast.Constant) and k.arg for k in node.keywords)
            lookup = (
                ", ".join(f"{k.arg}={ast.unparse(k.value)}" for k in node.keywords)
                if literal and node.keywords and method == "create" and not node.args
                else ""
            )
            self.writes.append(Write(key, "insert", None, node.lineno, lookup))
        elif method == "update":
            fields = tuple(k.arg for k in node.keywords if k.arg)
            self.writes.append(Write(key, "update", fields, node.lineno))
        elif method == "bulk_update":
            given = _keyword(node, "fields") or (node.args[1] if len(node.args) > 1 else None)
            self.writes.append(Write(key, "update", _names(given), node.lineno))
        elif method == "delete":
            self.writes.append(Write(key, "delete", None, node.lineno))

    def instance_write(self, node: ast.Call, variable: str, method: str) -> None:
        if variable in self.new_instances:
            model = self.new_instances[variable]
            kind = "insert" if method == "save" else "delete"
        else:
            model = self.rows[variable]
            kind = "update" if method == "save" else "delete"
        fields: tuple[str, ...] | None = None
        if kind == "update":
            fields = _names(_keyword(node, "update_fields"))
            if fields is None and variable in self.assigned:
                fields = tuple(dict.fromkeys(self.assigned[variable]))
        self.writes.append(Write(self.models[model], kind, fields, node.lineno))

    # -- row loops -----------------------------------------------------------------------------

    def row_loop(self, node: ast.For, variable: str, model: str) -> RowLoop | None:
        assignments: list[Assignment] = []
        save_fields: tuple[str, ...] | None = None
        saves = False
        conditional = False
        for stmt in astwalk.walk(node):
            if stmt is not node and isinstance(
                stmt, (ast.If, ast.Try, ast.While, ast.For, ast.With, ast.IfExp)
            ):
                conditional = True
            if isinstance(stmt, (ast.Assign, ast.AugAssign)):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                for target in targets:
                    if (
                        isinstance(target, ast.Attribute)
                        and isinstance(target.value, ast.Name)
                        and target.value.id == variable
                    ):
                        value = stmt.value
                        if isinstance(stmt, ast.AugAssign):
                            value = ast.BinOp(
                                ast.Attribute(ast.Name(variable, ast.Load()), target.attr),
                                stmt.op,
                                stmt.value,
                            )
                        assignments.append(self.assignment(target.attr, value, variable))
            elif _is_save(stmt, variable):
                saves = True
                assert isinstance(stmt, ast.Call)
                save_fields = _names(_keyword(stmt, "update_fields")) or save_fields
        if not saves:
            return None
        segment = self.source.segment(node.iter)
        fields = save_fields or tuple(dict.fromkeys(a.field for a in assignments))
        return RowLoop(
            model=self.models[model],
            variable=variable,
            model_variable=model,
            queryset=segment,
            line=node.lineno,
            iterator=".iterator(" in segment,
            assignments=tuple(assignments),
            save_fields=save_fields,
            conditional=conditional,
            batched_body=self.batched_body(node, variable, model, fields),
        )

    def batched_body(
        self, node: ast.For, variable: str, model: str, fields: tuple[str, ...]
    ) -> str:
        """The loop body, each ``<variable>.save(...)`` replaced by appending to the batch."""
        lines: list[str] = []
        flush = (
            f"if len(batch) >= {BATCH_SIZE}:\n"
            f"    {model}.objects.bulk_update(batch, {list(fields)!r})\n"
            f"    batch.clear()"
        )
        for stmt in node.body:
            padded = self.source.segment(stmt, padded=True)
            text = textwrap.dedent(padded)
            if isinstance(stmt, ast.Expr) and _is_save(stmt.value, variable):
                lines.append(f"batch.append({variable})")
                lines.append(flush)
                continue
            saves = [n for n in astwalk.walk(stmt) if _is_save(n, variable)]
            for call in saves:
                call_text = self.source.segment(call)
                text = text.replace(call_text, f"batch.append({variable})")
            lines.append(text)
            if saves:
                lines.append(flush)
        return "\n".join(lines)

    def assignment(self, name: str, value: ast.expr, variable: str) -> Assignment:
        text = self.source.segment(value) or ast.unparse(value)
        related = _related_count(value, variable)
        if related is not None:
            return Assignment(name, text, "related_count", related)
        if _row_only(value, variable):
            expression = ast.unparse(_ToExpression(variable).visit(_copy(value)))
            reads = tuple(
                n.attr
                for n in astwalk.walk(value)
                if isinstance(n, ast.Attribute)
                and isinstance(n.value, ast.Name)
                and n.value.id == variable
            )
            arithmetic = any(isinstance(n, (ast.BinOp, ast.UnaryOp)) for n in astwalk.walk(value))
            return Assignment(name, text, "row", None, expression, reads, arithmetic)
        return Assignment(name, text, "python")


def _copy(node: ast.expr) -> ast.expr:
    return ast.parse(ast.unparse(node), mode="eval").body


def _related_count(value: ast.expr, variable: str) -> str | None:
    """``obj.orders.count()`` / ``obj.order_set.all().count()``: the related accessor's name."""
    if not (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Attribute)
        and value.func.attr == "count"
        and not value.args
    ):
        return None
    inner = value.func.value
    if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute):
        if inner.func.attr != "all" or inner.args or inner.keywords:
            return None
        inner = inner.func.value
    if (
        isinstance(inner, ast.Attribute)
        and isinstance(inner.value, ast.Name)
        and inner.value.id == variable
    ):
        return inner.attr
    return None


def _row_only(value: ast.expr, variable: str) -> bool:
    """Constants, the row's own attributes, and numeric arithmetic over them."""
    if isinstance(value, ast.Constant):
        return True
    if isinstance(value, ast.Attribute):
        return isinstance(value.value, ast.Name) and value.value.id == variable
    if isinstance(value, ast.BinOp):
        numeric = not any(
            isinstance(n, ast.Constant) and isinstance(n.value, str) for n in astwalk.walk(value)
        )
        return (
            numeric
            and isinstance(value.op, (ast.Add, ast.Sub, ast.Mult, ast.Div))
            and _row_only(value.left, variable)
            and _row_only(value.right, variable)
        )
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub):
        return _row_only(value.operand, variable)
    return False


def _function_node(source: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    try:
        module = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    node = module.body[0] if module.body else None
    return node if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else None


def _bound_in(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Names the function binds itself: parameters, assignments, loop targets, imports."""
    args = node.args
    bound = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    bound.update(a.arg for a in (args.vararg, args.kwarg) if a is not None)
    for sub in astwalk.walk(node):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
            bound.add(sub.id)
        elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if sub is not node:
                bound.add(sub.name)
        elif isinstance(sub, ast.arg):
            bound.add(sub.arg)
    return bound


def read_function(
    name: str, source: str, default_app: str, model_modules: tuple[str, ...] = ()
) -> FunctionFacts:
    """What the module-level function ``name`` (its ``source``) does with models."""
    node = _function_node(source)
    if node is None:
        return FunctionFacts(name, parsed=False)
    # Imports inside the function are tracked by the reader itself, not as bound names.
    bound = _bound_in(node)
    reader = _Reader(source, bound, model_modules, default_app)
    for stmt in node.body:
        reader.visit(stmt)
    return FunctionFacts(
        name=name,
        models=dict(reader.models),
        writes=tuple(reader.writes),
        loops=tuple(reader.loops),
        direct=tuple(reader.direct.values()),
        calls=tuple(dict.fromkeys(reader.calls)),
    )


def model_modules(ctx: MigrationContext) -> tuple[str, ...]:
    """The app model modules the migration imports at module level (``shop.models`` ...)."""
    return tuple(dict.fromkeys(m for m in ctx.migration.imports if m and is_models_module(m)))


def function_facts(ctx: MigrationContext) -> dict[str, FunctionFacts]:
    """Every module-level function of the migration, read once per migration."""
    cached = ctx.memo.get("function_facts")
    if cached is None:
        modules = model_modules(ctx)
        cached = ctx.memo["function_facts"] = {
            name: read_function(name, source, ctx.migration.app_label, modules)
            for name, source in ctx.migration.functions.items()
        }
    return cast("dict[str, FunctionFacts]", cached)


def function_name(op: Operation, arg: str = "code") -> str | None:
    """The module-level function a RunPython names as ``code`` (or ``reverse_code``)."""
    value = op.kwargs.get(arg)
    if isinstance(value, Ref) and "." not in value.qualname:
        return value.qualname
    return None


def reached(ctx: MigrationContext, name: str) -> Iterator[FunctionFacts]:
    """The function and the module-level functions it calls, each once."""
    facts = function_facts(ctx)
    seen: set[str] = set()
    pending = [name]
    while pending:
        current = pending.pop()
        if current in seen or current not in facts:
            continue
        seen.add(current)
        yield facts[current]
        pending.extend(facts[current].calls)
