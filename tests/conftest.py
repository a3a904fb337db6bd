"""Fixtures shared by the test modules: throw-away databases on the real servers, and no cache
write of one test's run left running into the next."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from migration_lint import background
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


@pytest.fixture(autouse=True)
def _cache_writes_finished() -> Iterator[None]:
    # A forked cache writer still running would be a child process the next test sees (the
    # worker tests count them) and a file written into a folder pytest is deleting.
    yield
    background.wait()
