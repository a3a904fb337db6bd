"""Migration files to :class:`MigrationFacts`, without importing them.

Only literals are evaluated; calls become :class:`Call` with a qualified callee; anything that
needs the code to run becomes :class:`Unknown` or a ``dynamic`` operation. Nothing here raises on
strange input: a file that does not parse gets ``parse_error`` instead.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterable, Mapping

from migration_lint.facts import (
    Call,
    Dependency,
    MigrationFacts,
    Operation,
    ParseError,
    Ref,
    Span,
    Suppression,
    Unknown,
    Value,
)
from migration_lint.source.names import Imports
from migration_lint.source.signatures import parameters

# Codes look like flake8's (letters then digits, or our bare "ML" prefix), so the words of a
# trailing explanation (``# noqa: ML101 the table is empty``) are not taken for codes.
_CODE = r"(?:[A-Z]+[0-9]+|ML\b)"
_NOQA = re.compile(rf"#\s*noqa\b(?:\s*:\s*(?P<codes>{_CODE}(?:[\s,]+{_CODE})*))?", re.I)


class _Source:
    """The file's bytes by line, to turn ast's UTF-8 byte offsets into 1-based character columns."""

    def __init__(self, data: bytes) -> None:
        # ast's offsets count UTF-8 bytes of the decoded text, whatever the file's encoding: a
        # latin-1 file (with its coding cookie) is re-encoded so that the offsets line up.
        # In an ASCII file (most migrations) every byte offset is a character offset.
        self.ascii = data.isascii()
        if not any(b"coding" in line for line in data[:512].split(b"\n", 2)[:2]):
            # No cookie, so UTF-8 (the usual case, and a quick one): only a BOM is not text.
            self.lines = data.removeprefix(b"\xef\xbb\xbf").splitlines(keepends=True)
            return
        try:
            encoding = tokenize.detect_encoding(io.BytesIO(data).readline)[0]
            data = data.decode(encoding).encode("utf-8")
        except (SyntaxError, LookupError, UnicodeError):
            pass
        self.lines = data.splitlines(keepends=True)

    def column(self, line: int, byte_offset: int) -> int:
        if not self.ascii and 0 < line <= len(self.lines):
            raw = self.lines[line - 1][:byte_offset]
            if not raw.isascii():
                return len(raw.decode("utf-8", "replace")) + 1
        return byte_offset + 1

    def span(self, node: ast.AST) -> Span:
        line = getattr(node, "lineno", 1)
        end_line = getattr(node, "end_lineno", None) or line
        return Span(
            line,
            self.column(line, getattr(node, "col_offset", 0)),
            end_line,
            self.column(end_line, getattr(node, "end_col_offset", None) or 0),
        )

    def text(self, node: ast.AST) -> str:
        line, end_line = getattr(node, "lineno", 0), getattr(node, "end_lineno", 0)
        if not line or not end_line:
            return ""
        chunk = self.lines[line - 1 : end_line]
        if not chunk:
            return ""
        start, end = node.col_offset, node.end_col_offset  # type: ignore[attr-defined]
        if len(chunk) == 1:
            raw = chunk[0][start:end]
        else:
            raw = chunk[0][start:] + b"".join(chunk[1:-1]) + chunk[-1][:end]
        return raw.decode("utf-8", "replace")


class _Evaluator:
    def __init__(
        self,
        source: _Source,
        imports: Imports,
        module_values: Mapping[str, ast.expr],
        local_functions: frozenset[str],
    ) -> None:
        self.source = source
        self.imports = imports
        # Module-level names: ``operations = OPS`` reads OPS; a call to a local function is a helper.
        self.module_values = module_values
        self.local_functions = local_functions

    def value(self, node: ast.expr) -> Value:
        kind = type(node)
        # The two commonest values first, by exact type: this runs for every argument.
        if kind is ast.Constant:
            value = node.value  # type: ignore[attr-defined]
            if value is Ellipsis or isinstance(value, complex):
                return Unknown(self.source.text(node))
            return value
        if kind is ast.Call:
            return self.call(node)  # type: ignore[arg-type]
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            items = [self.value(e) for e in node.elts if type(e) is not ast.Starred]
            if len(items) != len(node.elts):
                return Unknown(self.source.text(node))
            return tuple(items)
        if isinstance(node, ast.Dict):
            out: dict[str, Value] = {}
            for key, val in zip(node.keys, node.values, strict=False):
                if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                    return Unknown(self.source.text(node))
                out[key.value] = self.value(val)
            return out
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, (ast.Name, ast.Attribute)):
            qualname = self.imports.qualname(node)
            return Ref(qualname) if qualname else Unknown(self.source.text(node))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.value(node.operand)
            if isinstance(operand, (int, float)) and not isinstance(operand, bool):
                return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self.value(node.left), self.value(node.right)
            if isinstance(left, str) and isinstance(right, str):
                return left + right
            if isinstance(left, tuple) and isinstance(right, tuple):
                return left + right
        return Unknown(self.source.text(node))

    def call(self, node: ast.Call) -> Value:
        qualname = self.imports.qualname(node.func)
        if qualname is None:
            return Unknown(self.source.text(node))
        kwargs: dict[str, Value] = {}
        for kw in node.keywords:
            if kw.arg is None:
                kwargs["**"] = Unknown(self.source.text(kw.value))
            else:
                kwargs[kw.arg] = self.value(kw.value)
        args = tuple(
            [
                Unknown(self.source.text(a)) if type(a) is ast.Starred else self.value(a)
                for a in node.args
            ]
        )
        # Bind positional arguments to their names so rules read one spelling.
        for name, arg in zip(parameters(qualname), args, strict=False):
            kwargs.setdefault(name, arg)
        return Call(
            qualname, args, kwargs, node.lineno, self.source.column(node.lineno, node.col_offset)
        )

    # -- operations ----------------------------------------------------------------------------

    def operation_list(
        self,
        node: ast.expr,
        path: tuple[int | str, ...],
        start: int = 0,
        seen: frozenset[str] = frozenset(),
    ) -> tuple[tuple[Operation, ...], bool]:
        """The operations of a list expression, and whether part of it is dynamic.

        ``start`` is the index of the first element (the right side of ``A + B`` starts after
        A's); ``seen`` holds the module-level names already followed (``OPS = OPS + [...]``).
        """
        if isinstance(node, ast.Name) and node.id in self.module_values and node.id not in seen:
            seen = seen | {node.id}
            node = self.module_values[node.id]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, left_dynamic = self.operation_list(node.left, path, start, seen)
            right, right_dynamic = self.operation_list(node.right, path, start + len(left), seen)
            return left + right, left_dynamic or right_dynamic
        if not isinstance(node, (ast.List, ast.Tuple)):
            return (self.dynamic(node, (*path, start), "the operations list is computed"),), True
        ops: list[Operation] = []
        dynamic = False
        for index, element in enumerate(node.elts, start=start):
            op = self.operation(element, (*path, index))
            dynamic = dynamic or op.dynamic
            ops.append(op)
        return tuple(ops), dynamic

    def operation(self, node: ast.expr, path: tuple[int | str, ...]) -> Operation:
        if not isinstance(node, ast.Call):
            return self.dynamic(node, path, "not a constructor call")
        value = self.call(node)
        if not isinstance(value, Call):
            return self.dynamic(node, path, "callee cannot be resolved")
        if value.qualname in self.module_values or value.qualname in self.local_functions:
            return self.dynamic(node, path, f"built by {value.qualname}()", value.qualname)
        nested: dict[str, tuple[Operation, ...]] = {}
        given = dict(zip(parameters(value.qualname), node.args, strict=False))
        given.update((kw.arg, kw.value) for kw in node.keywords if kw.arg)
        for name, arg in given.items():
            if name.endswith("operations") and isinstance(
                arg, (ast.List, ast.Tuple, ast.Name, ast.BinOp)
            ):
                nested[name] = self.operation_list(arg, (*path, name))[0]
        return Operation(
            qualname=value.qualname,
            args=value.args,
            kwargs=value.kwargs,
            span=self.source.span(node),
            path=path,
            nested=nested,
        )

    def dynamic(
        self, node: ast.expr, path: tuple[int | str, ...], why: str, qualname: str = ""
    ) -> Operation:
        return Operation(
            qualname=qualname,
            args=(),
            kwargs={"reason": why},
            span=self.source.span(node),
            path=path,
            dynamic=True,
            source=self.source.text(node),
        )


def _dependencies(evaluator: _Evaluator, node: ast.expr) -> tuple[tuple[Dependency, ...], bool]:
    if not isinstance(node, (ast.List, ast.Tuple)):
        return (), True
    deps: list[Dependency] = []
    dynamic = False
    for element in node.elts:
        value = evaluator.value(element)
        if (
            isinstance(value, tuple)
            and len(value) == 2
            and isinstance(value[0], str)
            and isinstance(value[1], str)
        ):
            deps.append(Dependency(value[0], value[1], line=element.lineno))
        elif isinstance(value, Call) and value.name == "swappable_dependency":
            setting = value.arg("value", 0)
            if isinstance(setting, Ref) and setting.qualname.startswith("django.conf.settings."):
                name = setting.qualname.rpartition(".")[2]
                # The default user model's app: a guess until the project's settings are read.
                app = "auth" if name == "AUTH_USER_MODEL" else name.lower()
                deps.append(Dependency(app, "__first__", swappable=name, line=element.lineno))
            elif isinstance(setting, str) and "." in setting:
                # The setting's value spelled out ("auth.User"): Django depends on its app.
                app = setting.partition(".")[0]
                deps.append(Dependency(app, "__first__", line=element.lineno))
            else:
                dynamic = True
        else:
            dynamic = True
    return tuple(deps), dynamic


def _suppressions(data: bytes) -> tuple[Suppression, ...]:
    if b"noqa" not in data and b"NOQA" not in data.upper():
        return ()
    found: list[Suppression] = []
    try:
        tokens = list(tokenize.tokenize(io.BytesIO(data).readline))
    except (tokenize.TokenError, SyntaxError):
        return ()
    for tok in tokens:
        if tok.type != tokenize.COMMENT:
            continue
        match = _NOQA.search(tok.string)
        if not match:
            continue
        codes = match.group("codes")
        parsed = tuple(c.upper() for c in re.split(r"[\s,]+", codes)) if codes else ()
        found.append(Suppression(tok.start[0], tok.start[1] + 1 + match.start(), parsed))
    return tuple(found)


def parse_migration(
    path: str, data: bytes, app_label: str, module_name: str = ""
) -> MigrationFacts:
    """Facts of the migration file ``path`` whose content is ``data``."""
    name = path.replace("\\", "/").rpartition("/")[2].removesuffix(".py")
    error = _unreadable(data)
    if error is None:
        try:
            return _facts(path, data, app_label, name, module_name)
        except SyntaxError as exc:
            error = ParseError(
                _syntax_message(exc), max(exc.lineno or 1, 1), max(exc.offset or 1, 1)
            )
        except (ValueError, RecursionError, MemoryError) as exc:
            # ast's recursion limit: thousands of nested brackets or chained operators.
            error = ParseError(f"the file cannot be read: {exc}", 1, 1)
    return MigrationFacts(path=path, app_label=app_label, name=name, parse_error=error)


def _unreadable(data: bytes) -> ParseError | None:
    """Bytes that are not text in the file's encoding, or a null byte, at their position.

    Python's own errors for these point at the wrong place or nowhere (a null byte has no line).
    """
    try:
        if any(b"coding" in line for line in data[:512].split(b"\n", 2)[:2]):
            encoding = tokenize.detect_encoding(io.BytesIO(data).readline)[0]
        else:
            encoding = "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
    except SyntaxError as exc:
        # Raised when the first two lines are not UTF-8 (the cookie could be there) too.
        if "invalid or missing encoding declaration" not in str(exc):
            return None  # an unknown or contradictory coding cookie: ast.parse reports it
        encoding = "utf-8"
    try:
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        line, column = _position(data, exc.start, encoding)
        if encoding in ("utf-8", "utf-8-sig"):
            message = "the file is not valid UTF-8 (and declares no other encoding)"
        else:
            message = f"the file is not valid {encoding}, the encoding it declares"
        return ParseError(message, line, column)
    except LookupError:
        return None
    if b"\0" in data:
        line, column = _position(data, data.index(b"\0"), encoding)
        return ParseError("the file contains a null byte", line, column)
    return None


def _position(data: bytes, offset: int, encoding: str) -> tuple[int, int]:
    """1-based line and character column of the byte at ``offset``."""
    lines = data[:offset].splitlines(keepends=True)
    if not lines or lines[-1].endswith((b"\n", b"\r")):
        return len(lines) + 1, 1
    return len(lines), len(lines[-1].decode(encoding, "replace")) + 1


def _facts(path: str, data: bytes, app_label: str, name: str, module_name: str) -> MigrationFacts:
    module = ast.parse(data, filename=path)

    klass = next(
        (n for n in module.body if isinstance(n, ast.ClassDef) and n.name == "Migration"), None
    )
    if klass is None:
        return MigrationFacts(path=path, app_label=app_label, name=name, is_migration=False)

    source = _Source(data)
    imports = Imports(module, module_name)
    module_values: dict[str, ast.expr] = {}
    functions: dict[str, str] = {}
    for node in module.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            module_values[node.targets[0].id] = node.value
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions[node.name] = source.text(node)
    # A module-level list changed after its assignment (``OPS.append(...)``, ``OPS += ...``,
    # in a loop or an ``if``) is not what its literal says: leave it to be dynamic.
    # Walking every node is the costliest part of reading a file; a file without any token
    # that can change a list in place cannot hold such a change.
    may_mutate = _may_mutate(data)
    module_mutated = _mutated(module.body) if may_mutate else set()
    for mutated in module_mutated:
        module_values.pop(mutated, None)
    evaluator = _Evaluator(source, imports, module_values, frozenset(functions))

    attrs: dict[str, ast.expr] = {}
    reassigned: set[str] = set()
    for stmt in klass.body:
        for target, value in _assignments(stmt):
            if target in attrs:
                reassigned.add(target)
            attrs[target] = value
    # ``operations.append(...)`` in the class body (under an ``if``, say), ``operations += ...``,
    # or ``Migration.operations.extend(...)`` after the class.
    if may_mutate:
        reassigned.update(_mutated(klass.body))
    reassigned.update(
        name.partition(".")[2] for name in module_mutated if name.startswith("Migration.")
    )

    operations: tuple[Operation, ...] = ()
    dynamic_ops = "operations" in reassigned
    if "operations" in attrs:
        operations, dynamic = evaluator.operation_list(attrs["operations"], ())
        dynamic_ops = dynamic_ops or dynamic
    dependencies, dynamic_deps = (
        _dependencies(evaluator, attrs["dependencies"]) if "dependencies" in attrs else ((), False)
    )
    run_before = _dependencies(evaluator, attrs["run_before"])[0] if "run_before" in attrs else ()
    replaces = _dependencies(evaluator, attrs["replaces"])[0] if "replaces" in attrs else ()
    atomic = _flag(evaluator, attrs.get("atomic"), True)
    initial = _flag(evaluator, attrs.get("initial"), None)

    return MigrationFacts(
        path=path,
        app_label=app_label,
        name=name,
        # "class Migration", end column exclusive like every span.
        class_span=Span(
            klass.lineno,
            source.column(klass.lineno, klass.col_offset),
            klass.lineno,
            source.column(klass.lineno, klass.col_offset) + len("class Migration"),
        ),
        atomic=atomic,
        initial=initial,
        dependencies=dependencies,
        run_before=run_before,
        replaces=replaces,
        operations=operations,
        dynamic_operations=dynamic_ops,
        dynamic_dependencies=dynamic_deps or "dependencies" in reassigned,
        suppressions=_suppressions(data),
        imports=tuple(imports.modules),
        functions=functions,
    )


_MUTATORS = frozenset(
    {"append", "extend", "insert", "remove", "pop", "clear", "sort", "reverse", "__setitem__"}
)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def _dotted(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Subscript):
        return _dotted(node.value)
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


# One pattern per kind of token, each starting with a literal so the search can skip ahead to
# it (lookbehinds come after the literal): the single alternation this replaces, with ``\b``
# in front, took a third as long as ``ast.parse`` itself on the benchmark corpus.
_MAY_MUTATE = (
    re.compile(rb"=(?<=[-+*/%@&|^<>]=)"),
    re.compile(rb"del(?<!\wdel)\b"),
    re.compile(rb"\]\s*=(?!=)"),
    re.compile(rb"\.\s*[A-Za-z_]\w*\s*=(?!=)"),
    re.compile(rb"\.\s*(?:" + b"|".join(name.encode() for name in sorted(_MUTATORS)) + rb")\s*\("),
)


def _may_mutate(data: bytes) -> bool:
    """False when ``data`` has no token that could change a list in place."""
    return any(pattern.search(data) for pattern in _MAY_MUTATE)


def _mutated(statements: Iterable[ast.stmt]) -> set[str]:
    """Dotted names that ``statements`` change in place or with an augmented assignment.

    Function and class bodies are other scopes and are not entered.
    """
    names: set[str] = set()
    pending: list[ast.AST] = [s for s in statements if not isinstance(s, _SCOPES)]
    while pending:
        node = pending.pop()
        targets: list[ast.expr] = []
        if isinstance(node, ast.AugAssign):
            targets = [node.target]
        elif isinstance(node, (ast.Assign, ast.Delete)):
            targets = [t for t in node.targets if isinstance(t, (ast.Subscript, ast.Attribute))]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _MUTATORS
        ):
            targets = [node.func.value]
        names.update(name for name in map(_dotted, targets) if name)
        pending.extend(
            child for child in ast.iter_child_nodes(node) if not isinstance(child, _SCOPES)
        )
    return names


def _assignments(stmt: ast.stmt) -> Iterable[tuple[str, ast.expr]]:
    if isinstance(stmt, ast.Assign):
        for target in stmt.targets:
            if isinstance(target, ast.Name):
                yield target.id, stmt.value
    elif (
        isinstance(stmt, ast.AnnAssign)
        and isinstance(stmt.target, ast.Name)
        and stmt.value is not None
    ):
        yield stmt.target.id, stmt.value


def _flag(evaluator: _Evaluator, node: ast.expr | None, default: bool | None) -> bool | None:
    """``atomic = False`` and the like; None when the value is not a literal bool."""
    if node is None:
        return default
    value = evaluator.value(node)
    return value if isinstance(value, bool) else None


def _syntax_message(exc: SyntaxError) -> str:
    message = exc.msg
    if "unicode error" in message or "codec can't decode" in message:
        return "the file is not valid UTF-8 (and declares no other encoding)"
    return message
