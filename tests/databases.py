"""Throw-away PostgreSQL and MariaDB databases for tests that check claims on the real server.

Each fixture creates a database named ``mlt_<pid>_<random hex>`` on the server given by the
``MIGRATION_LINT_PG_*`` / ``MIGRATION_LINT_MYSQL_*`` environment variables and drops it after
the test, whatever the test left connected to it. When the server cannot be reached the test is
skipped, except under ``CI=true``, where it fails: CI must never pass by skipping.

``postgres_database`` / ``mariadb_database`` give one database per test;
``postgres_database_factory`` / ``mariadb_database_factory`` give a function that creates as
many as a test needs (all dropped at teardown), ``module_postgres_database_factory`` the same
for databases a module shares, such as a migrated template that
``postgres_database_factory(template=...)`` copies.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import quote

import pytest

if TYPE_CHECKING:
    import psycopg
    import pymysql

# A server that is down should cost a test seconds, not the client's default of minutes.
CONNECT_TIMEOUT = 5


@dataclass(frozen=True)
class Server:
    label: str
    host: str
    port: int
    user: str
    password: str

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def postgres_server() -> Server:
    env = os.environ.get
    return Server(
        label="PostgreSQL",
        host=env("MIGRATION_LINT_PG_HOST", "127.0.0.1"),
        port=int(env("MIGRATION_LINT_PG_PORT", "5432")),
        user=env("MIGRATION_LINT_PG_USER", "postgres"),
        password=env("MIGRATION_LINT_PG_PASSWORD", ""),
    )


def mariadb_server() -> Server:
    env = os.environ.get
    return Server(
        label="MariaDB",
        host=env("MIGRATION_LINT_MYSQL_HOST", "127.0.0.1"),
        port=int(env("MIGRATION_LINT_MYSQL_PORT", "3306")),
        user=env("MIGRATION_LINT_MYSQL_USER", "root"),
        password=env("MIGRATION_LINT_MYSQL_PASSWORD", ""),
    )


def unique_database_name() -> str:
    # The pid keeps parallel runs (pytest-xdist, two checkouts) apart; the hex keeps tests apart.
    return f"mlt_{os.getpid()}_{secrets.token_hex(4)}"


def unavailable(message: str) -> NoReturn:
    """Skip the test, or fail it under CI=true."""
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def unreachable(server: Server, error: object) -> NoReturn:
    detail = " ".join(str(error).split())  # drivers' messages span lines
    unavailable(f"{server.label} not reachable at {server.address}: {detail}")


# -- PostgreSQL ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostgresDatabase:
    server: Server
    name: str

    @property
    def params(self) -> dict[str, Any]:
        """Keyword arguments for ``psycopg.connect``."""
        return {
            "host": self.server.host,
            "port": self.server.port,
            "user": self.server.user,
            "password": self.server.password,
            "dbname": self.name,
            "connect_timeout": CONNECT_TIMEOUT,
        }

    @property
    def url(self) -> str:
        s = self.server
        credentials = quote(s.user, safe="") + (
            ":" + quote(s.password, safe="") if s.password else ""
        )
        return f"postgresql://{credentials}@{s.host}:{s.port}/{self.name}"

    @property
    def django(self) -> dict[str, Any]:
        """An entry for Django's ``DATABASES``."""
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": self.name,
            "USER": self.server.user,
            "PASSWORD": self.server.password,
            "HOST": self.server.host,
            "PORT": str(self.server.port),
        }

    def connect(self, **kwargs: Any) -> psycopg.Connection[Any]:
        """A psycopg 3 connection in autocommit mode: open a transaction with ``conn.transaction()``."""
        import psycopg

        return psycopg.connect(**{**self.params, "autocommit": True, **kwargs})


def _postgres_admin(server: Server) -> psycopg.Connection[Any]:
    try:
        import psycopg
    except ImportError as error:
        unavailable(f"psycopg is not installed, so PostgreSQL tests cannot run: {error}")
    try:
        return psycopg.connect(
            host=server.host,
            port=server.port,
            user=server.user,
            password=server.password,
            dbname="postgres",
            connect_timeout=CONNECT_TIMEOUT,
            autocommit=True,
        )
    except psycopg.OperationalError as error:
        unreachable(server, error)


class PostgresDatabases:
    """Creates databases on one server and drops every one of them on :meth:`close`."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.created: list[str] = []

    def create(self, template: str | None = None) -> PostgresDatabase:
        """An empty database, or a copy of ``template`` (which must have no connections)."""
        name = unique_database_name()
        sql = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
        with _postgres_admin(self.server) as admin:
            admin.execute(sql)
        self.created.append(name)
        return PostgresDatabase(self.server, name)

    def close(self) -> None:
        if not self.created:
            return
        with _postgres_admin(self.server) as admin:
            while self.created:
                # FORCE: a connection the test left open (or a killed subprocess) must not keep it.
                admin.execute(f'DROP DATABASE IF EXISTS "{self.created.pop()}" WITH (FORCE)')


@pytest.fixture
def postgres_database_factory() -> Iterator[Callable[..., PostgresDatabase]]:
    """``create(template=None)``: a fresh PostgreSQL database; all are dropped after the test."""
    databases = PostgresDatabases(postgres_server())
    try:
        yield databases.create
    finally:
        databases.close()


@pytest.fixture(scope="module")
def module_postgres_database_factory() -> Iterator[Callable[..., PostgresDatabase]]:
    """The same for databases a whole module shares (a template, say); dropped after the module."""
    databases = PostgresDatabases(postgres_server())
    try:
        yield databases.create
    finally:
        databases.close()


@pytest.fixture
def postgres_database(
    postgres_database_factory: Callable[..., PostgresDatabase],
) -> PostgresDatabase:
    """A fresh, empty PostgreSQL database for this test."""
    return postgres_database_factory()


# -- MariaDB / MySQL ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MariaDBDatabase:
    server: Server
    name: str

    @property
    def params(self) -> dict[str, Any]:
        """Keyword arguments for ``pymysql.connect``."""
        return {
            "host": self.server.host,
            "port": self.server.port,
            "user": self.server.user,
            "password": self.server.password,
            "database": self.name,
            "connect_timeout": CONNECT_TIMEOUT,
        }

    @property
    def url(self) -> str:
        s = self.server
        credentials = quote(s.user, safe="") + (
            ":" + quote(s.password, safe="") if s.password else ""
        )
        return f"mysql://{credentials}@{s.host}:{s.port}/{self.name}"

    def connect(self, **kwargs: Any) -> pymysql.connections.Connection[Any]:
        """A PyMySQL connection in autocommit mode."""
        import pymysql

        return pymysql.connect(**{**self.params, "autocommit": True, **kwargs})


def _mariadb_admin(server: Server) -> pymysql.connections.Connection[Any]:
    try:
        import pymysql
    except ImportError as error:
        unavailable(f"PyMySQL is not installed, so MariaDB tests cannot run: {error}")
    try:
        return pymysql.connect(
            host=server.host,
            port=server.port,
            user=server.user,
            password=server.password,
            connect_timeout=CONNECT_TIMEOUT,
            autocommit=True,
        )
    except pymysql.err.OperationalError as error:
        unreachable(server, error)


@pytest.fixture
def mariadb_database_factory() -> Iterator[Callable[[], MariaDBDatabase]]:
    """A function that creates a fresh MariaDB database; every one is dropped afterwards."""
    server = mariadb_server()
    created: list[str] = []

    def create() -> MariaDBDatabase:
        name = unique_database_name()
        admin = _mariadb_admin(server)
        try:
            with admin.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        finally:
            admin.close()
        created.append(name)
        return MariaDBDatabase(server, name)

    yield create
    if created:
        admin = _mariadb_admin(server)
        try:
            with admin.cursor() as cursor:
                for name in created:
                    cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        finally:
            admin.close()


@pytest.fixture
def mariadb_database(
    mariadb_database_factory: Callable[[], MariaDBDatabase],
) -> MariaDBDatabase:
    """A fresh, empty MariaDB database for this test."""
    return mariadb_database_factory()
