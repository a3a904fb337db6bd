"""Fixtures shared by the test modules: throw-away databases on the real servers."""

from __future__ import annotations

from tests.databases import (
    mariadb_database,
    mariadb_database_factory,
    module_postgres_database_factory,
    postgres_database,
    postgres_database_factory,
)

__all__ = [
    "mariadb_database",
    "mariadb_database_factory",
    "module_postgres_database_factory",
    "postgres_database",
    "postgres_database_factory",
]
