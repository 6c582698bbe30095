"""Both storage backends for the tests: an SQLite file, and a real PostgreSQL the tests start themselves.

Loaded as a pytest plugin (pyproject's addopts). A test that takes `database_url` or `db_on` runs once per
backend. PostgreSQL comes from the `pgserver` wheel (PostgreSQL 16 in a temporary folder, one server per
test session, reached through a Unix socket); each test gets a database of its own, copied from a migrated
template. AGORA_TEST_BACKENDS=sqlite (or postgresql) limits a run to one backend.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import asyncpg
import pytest

from bot.config import DatabaseUrl
from bot.storage.backends import AnyDatabase, open_database

BACKENDS = ("sqlite", "postgresql")
_TEMPLATE = "agora_template"
_numbers = itertools.count(1)


def selected_backends() -> list[str]:
    wanted = os.environ.get("AGORA_TEST_BACKENDS", "").replace(",", " ").split()
    return [backend for backend in BACKENDS if not wanted or backend in wanted]


def database_dsn(server_uri: str, name: str) -> str:
    """The server's URI pointed at another database."""
    parts = urlsplit(server_uri)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


class PostgresServer:
    """The session's server: fresh databases on demand, each a copy of a migrated template."""

    def __init__(self, uri: str, handle) -> None:
        self.uri = uri
        self.handle = handle
        self._template_ready = False

    async def _admin(self) -> asyncpg.Connection:
        return await asyncpg.connect(database_dsn(self.uri, "postgres"))

    async def create_database(self, *, migrated: bool = True) -> str:
        name = f"agora_test_{os.getpid()}_{next(_numbers)}"
        admin = await self._admin()
        try:
            if migrated and not self._template_ready:
                await admin.execute(f'DROP DATABASE IF EXISTS "{_TEMPLATE}"')
                await admin.execute(f'CREATE DATABASE "{_TEMPLATE}"')
                template = await open_database(DatabaseUrl("postgresql", dsn=database_dsn(self.uri, _TEMPLATE)))
                await template.close()
                self._template_ready = True
            template = _TEMPLATE if migrated else "template0"
            await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        finally:
            await admin.close()
        return database_dsn(self.uri, name)

    async def drop_database(self, dsn: str) -> None:
        admin = await self._admin()
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{urlsplit(dsn).path.strip("/")}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    import pgserver  # dev extra; imported here so an SQLite-only run does not need it

    folder = Path(tempfile.mkdtemp(prefix="agora-pg-"))
    handle = pgserver.get_server(folder, cleanup_mode="delete")
    try:
        yield PostgresServer(handle.get_uri("postgres"), handle)
    finally:
        handle.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


async def password_protected_role(server: PostgresServer, role: str, password: str) -> str:
    """A role that must log in with `password` (the test server trusts everyone else), owning a database."""
    admin = await asyncpg.connect(database_dsn(server.uri, "postgres"))
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
            await admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
            await admin.execute(f"CREATE DATABASE {role} OWNER {role}")
            require_password(Path(await admin.fetchval("SHOW hba_file")), role)
            await admin.execute("SELECT pg_reload_conf()")
    finally:
        await admin.close()
    socket_folder = parse_qs(urlsplit(server.uri).query)["host"][0]
    return f"postgresql://{role}:{password}@/{role}?host={socket_folder}"


def require_password(hba: Path, role: str) -> None:
    """A first rule in pg_hba.conf: `role` logs in through the Unix socket with its password only."""
    hba.write_text(f"local all {role} scram-sha-256\n" + hba.read_text())


class StoppableServer:
    """A PostgreSQL server of its own that a test stops and starts again: pg_ctl over its data folder, so what
    it held before the outage is still there after it (a fresh pgserver would initialise a new, empty one)."""

    def __init__(self, folder: Path) -> None:
        import pgserver

        self.folder = folder
        self.handle = pgserver.get_server(folder / "data", cleanup_mode="delete")

    @property
    def uri(self) -> str:
        return database_dsn(self.handle.get_uri("postgres"), "postgres")

    def stop(self) -> None:
        import pgserver

        pgserver.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.handle.pgdata, user=self.handle.system_user)

    def start(self) -> None:
        self.handle.ensure_postgres_running()  # the same data folder: PG_VERSION is there, nothing re-initialised


@pytest.fixture
def stoppable_server() -> Iterator[StoppableServer]:
    folder = Path(tempfile.mkdtemp(prefix="agora-pg-outage-"))
    server = StoppableServer(folder)
    try:
        yield server
    finally:
        server.handle.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=selected_backends())
def backend(request) -> str:
    return request.param


@pytest.fixture
async def database_url(backend, tmp_path, request) -> AsyncIterator[DatabaseUrl]:
    """A fresh, migrated database of the test's backend."""
    if backend == "sqlite":
        yield DatabaseUrl.sqlite(tmp_path / "agora.db")
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    dsn = await server.create_database()
    yield DatabaseUrl("postgresql", dsn=dsn)
    await server.drop_database(dsn)


@pytest.fixture
async def db_on(database_url) -> AsyncIterator[AnyDatabase]:
    """The opened database of the test's backend."""
    database = await open_database(database_url)
    yield database
    await database.close()
