"""The reading of RunPython functions (analysis/python_code.py)."""

from __future__ import annotations

import ast

import pytest

from migration_lint.analysis.python_code import _Source, read_function

SOURCES = (
    "def fill(apps, schema_editor):\n"
    "    Order = apps.get_model('shop', 'Order')\n"
    "    for order in Order.objects.all():\n"
    "        order.total = (order.net\n"
    "                       + order.tax)\n"
    "        order.save(update_fields=['total'])\n",
    # Windows and old Mac line ends, tabs, a form feed, characters of several UTF-8 bytes.
    "def fill(apps, schema_editor):\r\n\tLabel = apps.get_model('shop', 'Label')\r\n"
    "\tfor label in Label.objects.all():\r\n\t\tlabel.text = {'é': 'ü',\r\n\f  'ß': 'ø'}['é']\r"
    "\t\tlabel.save()",
)


@pytest.mark.parametrize("source", SOURCES)
def test_segments_are_those_of_ast(source: str) -> None:
    lines = _Source(source)
    nodes = [n for n in ast.walk(ast.parse(source)) if hasattr(n, "lineno")]
    assert len(nodes) > 20
    for node in nodes:
        for padded in (False, True):
            expected = ast.get_source_segment(source, node, padded=padded)
            assert lines.segment(node, padded) == expected


def test_a_node_built_by_the_reader_has_no_segment() -> None:
    assert _Source("x = 1\n").segment(ast.BinOp(ast.Name("a"), ast.Add(), ast.Name("b"))) == ""


def test_loop_text_comes_from_the_function() -> None:
    facts = read_function("fill", SOURCES[0], "shop")
    (loop,) = facts.loops
    assert loop.queryset == "Order.objects.all()"
    assert [(a.field, a.source) for a in loop.assignments] == [
        ("total", "order.net\n                       + order.tax")
    ]
    assert "batch.append(order)" in loop.batched_body
