"""Database names as Django computes them (migration_lint/names.py), compared with Django."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

from migration_lint.names import MAX_NAME_LENGTH, index_name, unique_name

CASES = [
    ("shop_order", ("reference",), ""),
    ("shop_order", ("customer_id", "reference"), "_uniq"),
    ('"sales"."order"', ("number",), "_uniq"),
    ('"a"."b"."c"', ("x",), ""),
    ("shop_" + "lineitemwithaverylongname" * 3, ("product_variant_id", "warehouse_id"), "_uniq"),
    ("t", ("c" * 120,), "_like"),
    ("_private_table" * 6, ("column",), ""),
    ("2fa_device" * 8, ("user_id",), "_uniq"),
    ("café_ordre", ("numéro",), "_uniq"),
]


def _django(table: str, columns: tuple[str, ...], suffix: str, limit: int) -> str:
    editor = SimpleNamespace(
        connection=SimpleNamespace(ops=SimpleNamespace(max_name_length=lambda: limit))
    )
    return BaseDatabaseSchemaEditor._create_index_name(editor, table, list(columns), suffix)  # type: ignore[arg-type]


@pytest.mark.parametrize("vendor", sorted(MAX_NAME_LENGTH))
@pytest.mark.parametrize(("table", "columns", "suffix"), CASES)
def test_index_names_are_djangos(
    table: str, columns: tuple[str, ...], suffix: str, vendor: str
) -> None:
    expected = _django(table, columns, suffix, MAX_NAME_LENGTH[vendor])
    assert index_name(table, columns, suffix, vendor) == expected


def test_unique_names_carry_the_uniq_suffix() -> None:
    assert unique_name("shop_order", ("reference",)) == _django(
        "shop_order", ("reference",), "_uniq", 63
    )
