"""The faster walk and visitor give the standard library's order, node for node."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from migration_lint.source import astwalk

PACKAGE = Path(__file__).resolve().parents[1] / "migration_lint"
# The package's own modules with some substance, as samples of Python.
SOURCES = [p for p in sorted(PACKAGE.rglob("*.py")) if p.stat().st_size > 2000]


@pytest.mark.parametrize("path", SOURCES[::7], ids=lambda p: p.name)
def test_walk_is_ast_walk(path: Path) -> None:
    tree = ast.parse(path.read_bytes())
    assert [id(n) for n in astwalk.walk(tree)] == [id(n) for n in ast.walk(tree)]


def _recorder(base: type[ast.NodeVisitor]) -> type[ast.NodeVisitor]:
    class Recorder(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            self.seen: list[tuple[str, int]] = []

        def generic_visit(self, node: ast.AST) -> None:
            self.seen.append(("generic", id(node)))
            super().generic_visit(node)

        def visit_Call(self, node: ast.Call) -> None:
            self.seen.append(("call", id(node)))
            # A visitor that goes on below the node it handles, as the migration reader does.
            self.generic_visit(node)

        def visit_Constant(self, node: ast.Constant) -> None:
            self.seen.append(("constant", id(node)))

    return Recorder


@pytest.mark.parametrize("path", SOURCES[::7], ids=lambda p: p.name)
def test_visitor_visits_as_ast_node_visitor(path: Path) -> None:
    tree = ast.parse(path.read_bytes())
    fast, standard = _recorder(astwalk.NodeVisitor)(), _recorder(ast.NodeVisitor)()
    fast.visit(tree)
    standard.visit(tree)
    assert fast.seen == standard.seen  # type: ignore[attr-defined]
    assert len(fast.seen) > 100  # type: ignore[attr-defined]


def test_a_constant_without_a_method_is_visited_generically() -> None:
    # ast.NodeVisitor's own visit_Constant serves old visit_Num methods only.
    class Names(astwalk.NodeVisitor):
        def __init__(self) -> None:
            self.names: list[str] = []

        def visit_Name(self, node: ast.Name) -> None:
            self.names.append(node.id)

    names = Names()
    names.visit(ast.parse("f(1, x, 'a', y=z)"))
    assert names.names == ["f", "x", "z"]
