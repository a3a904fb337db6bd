"""``ast.walk`` and ``ast.NodeVisitor`` with the same order, in half the time.

The standard ones go through two nested generators per node (``iter_child_nodes`` over
``iter_fields``), and the visitor builds a method name for every node it meets. The RunPython
functions of a large project are walked several times over (names they bind, rows they save),
where that overhead was most of the time (``benchmarks/source_lint.py``).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any, ClassVar

_AST = ast.AST


def walk(node: ast.AST) -> list[ast.AST]:
    """Every node under ``node``, itself first, breadth first: the order of ``ast.walk``."""
    found = [node]
    # The list grows while it is read: each node's children are put at its end.
    for each in found:
        for name in each._fields:
            value = getattr(each, name, None)
            if isinstance(value, _AST):
                found.append(value)
            elif type(value) is list:
                found.extend([item for item in value if isinstance(item, _AST)])
    return found


class NodeVisitor(ast.NodeVisitor):
    """``ast.NodeVisitor``, with each node class's method looked up once per visitor class."""

    _methods: ClassVar[dict[type, Callable[[Any, Any], Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._methods = {}

    def visit(self, node: ast.AST) -> Any:
        kind = type(node)
        method = self._methods.get(kind)
        if method is None:
            method = getattr(type(self), "visit_" + kind.__name__, None)
            # ast.NodeVisitor's own visit_Constant only serves the visit_Num of old visitors.
            if method is None or method is ast.NodeVisitor.visit_Constant:
                method = type(self).generic_visit
            self._methods[kind] = method
        return method(self, node)

    def generic_visit(self, node: ast.AST) -> None:
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, _AST):
                self.visit(value)
            elif type(value) is list:
                for item in value:
                    if isinstance(item, _AST):
                        self.visit(item)
