"""Database names exactly as Django computes them, without a database connection."""

from __future__ import annotations

import hashlib

# The longest identifier each vendor takes (``connection.ops.max_name_length()``); SQLite has
# none, and Django then uses 200.
MAX_NAME_LENGTH = {"postgresql": 63, "mysql": 64, "sqlite": 200}


def index_name(
    table: str, columns: list[str] | tuple[str, ...], suffix: str = "", vendor: str = "postgresql"
) -> str:
    """``BaseDatabaseSchemaEditor._create_index_name``: ``<table>_<cols>_<digest><suffix>``.

    Written out rather than imported: importing ``django.db`` costs a source-only run a
    twentieth of a second (asyncio, signals), and tests compare the two."""
    table = _table_part(table)
    hash_suffix = f"{_digest(table, *columns)}{suffix}"
    max_length = MAX_NAME_LENGTH.get(vendor, 200)
    name = f"{table}_{'_'.join(columns)}_{hash_suffix}"
    if len(name) <= max_length:
        return name
    if len(hash_suffix) > max_length / 3:
        hash_suffix = hash_suffix[: max_length // 3]
    other = (max_length - len(hash_suffix)) // 2 - 1
    name = f"{table[:other]}_{'_'.join(columns)[:other]}_{hash_suffix}"
    if name[0] == "_" or name[0].isdigit():
        name = f"D{name[:-1]}"
    return name


def _table_part(table: str) -> str:
    # A schema-qualified db_table ('"sales"."order"') is named after its table alone; a name
    # with more than one such separator is taken whole.
    parts = table.split('"."')
    return (parts[1] if len(parts) == 2 else table).strip('"')


def _digest(*names: str) -> str:
    """The first 8 hex digits of the MD5 of the names, joined without separator."""
    digest = hashlib.md5(usedforsecurity=False)
    for name in names:
        digest.update(name.encode())
    return digest.hexdigest()[:8]


def unique_name(
    table: str, columns: list[str] | tuple[str, ...], vendor: str = "postgresql"
) -> str:
    """The name Django gives a unique constraint it names itself (unique_together, AlterField)."""
    return index_name(table, columns, "_uniq", vendor)


def quote(name: str) -> str:
    """PostgreSQL identifier quoting."""
    return '"' + name.replace('"', '""') + '"'
