"""The shared store for several Agora processes: PostgreSQL through an asyncpg connection pool.

It offers what the stores use of the SQLite `Database` (fetch_one/fetch_all/fetch_value, `transaction()`
yielding a connection with execute/executemany and aiosqlite-like cursors, chunks, schema_version), and
translates each statement once through bot.storage.dialect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

import asyncpg

from bot.storage.database import NotAgoraDatabase, UnusableDatabase, bundled_migrations, refuse_if_newer
from bot.storage.dialect import to_postgres
from bot.storage.faults import storage_fault
from bot.timeutil import now_db

log = logging.getLogger(__name__)

_INSERT_INTO = re.compile(r"^\s*INSERT\s+INTO\s+(\w+)", re.IGNORECASE)
_RETURNS_ROWS = re.compile(r"^\s*(SELECT|WITH|VALUES)\b|\bRETURNING\b", re.IGNORECASE)
# Any number both sides agree on: migrations of concurrent starts queue behind one another.
_MIGRATION_LOCK = 0x4167_6F72_6100
_CONNECT_TIMEOUT_SECONDS = 10.0


class IntegrityError(sqlite3.IntegrityError):
    """A constraint PostgreSQL refused; a subclass of sqlite3's so stores catch one exception on both."""


def postgres_migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of the PostgreSQL migrations, numbered like the SQLite ones."""
    return bundled_migrations(resources.files("bot.storage") / "migrations" / "postgresql")


class PgCursor:
    """The part of an aiosqlite cursor the stores use, over rows asyncpg already fetched."""

    def __init__(self, rows: list[asyncpg.Record], rowcount: int, lastrowid: int | None) -> None:
        self._rows = rows
        self._next = 0
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    async def fetchone(self) -> asyncpg.Record | None:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    async def fetchmany(self, size: int) -> list[asyncpg.Record]:
        chunk = self._rows[self._next : self._next + size]
        self._next += len(chunk)
        return chunk

    async def fetchall(self) -> list[asyncpg.Record]:
        rest = self._rows[self._next :]
        self._next = len(self._rows)
        return rest

    async def close(self) -> None:
        self._rows = []


class _PendingCursor:
    """`await connection.execute(...)` and `async with connection.execute(...) as cursor` both work."""

    def __init__(self, run) -> None:
        self._run = run
        self._cursor: PgCursor | None = None

    async def _result(self) -> PgCursor:
        if self._cursor is None:
            self._cursor = await self._run()
        return self._cursor

    def __await__(self):
        return self._result().__await__()

    async def __aenter__(self) -> PgCursor:
        return await self._result()

    async def __aexit__(self, *exc) -> None:
        return None


class PgConnection:
    """One pooled connection inside a transaction, answering like an aiosqlite connection."""

    def __init__(self, connection: asyncpg.Connection, identity_tables: frozenset[str]) -> None:
        self.raw = connection
        self._identity_tables = identity_tables

    def execute(self, sql: str, params: Sequence | dict = ()) -> _PendingCursor:
        return _PendingCursor(lambda: self._execute(sql, params))

    async def _execute(self, sql: str, params: Sequence | dict) -> PgCursor:
        translated = to_postgres(sql)
        statement, arguments = translated.sql, translated.arguments(params)
        insert = _INSERT_INTO.match(statement)
        wants_id = (
            insert is not None and insert.group(1) in self._identity_tables and not _RETURNS_ROWS.search(statement)
        )
        with _integrity_errors():
            if wants_id:
                rows = await self.raw.fetch(statement + " RETURNING id", *arguments)
                return PgCursor([], len(rows), rows[0][0] if rows else None)
            if _RETURNS_ROWS.search(statement):
                rows = await self.raw.fetch(statement, *arguments)
                return PgCursor(rows, len(rows), None)
            status = await self.raw.execute(statement, *arguments)
        count = status.rsplit(" ", 1)[-1]
        return PgCursor([], int(count) if count.isdigit() else -1, None)

    async def execute_fetchall(self, sql: str, params: Sequence | dict = ()) -> list[asyncpg.Record]:
        return await (await self._execute(sql, params)).fetchall()

    async def executemany(self, sql: str, rows: Sequence[Sequence | dict]) -> None:
        if not rows:
            return
        translated = to_postgres(sql)
        with _integrity_errors():
            await self.raw.executemany(translated.sql, [translated.arguments(row) for row in rows])

    async def execute_native(self, sql: str, *arguments: Any) -> None:
        """A statement written for PostgreSQL (`$n` parameters, arrays), run as it is."""
        with _integrity_errors():
            await self.raw.execute(sql, *arguments)

    async def fetch_native(self, sql: str, *arguments: Any) -> list[asyncpg.Record]:
        with _integrity_errors():
            return list(await self.raw.fetch(sql, *arguments))


class ConnectionLost(ConnectionError):
    """The server closed a pooled connection (it stopped or restarted) before Agora used it."""


@contextlib.contextmanager
def _lost_connection(connection: asyncpg.Connection):
    # asyncpg reports a statement on a connection the server has just closed as a client state error.
    try:
        yield
    except asyncpg.InternalClientError as error:
        if connection.is_closed():
            raise ConnectionLost("the server closed the connection") from error
        raise


@contextlib.contextmanager
def _integrity_errors():
    try:
        yield
    except asyncpg.IntegrityConstraintViolationError as error:
        raise IntegrityError(str(error)) from error


class PostgresDatabase:
    dialect = "postgresql"
    path = None  # no file: the journal and the lock live elsewhere (bot.storage.backends)

    def __init__(self, pool: asyncpg.Pool, masked_url: str) -> None:
        self._pool = pool
        self.url = masked_url
        self._write_lock = asyncio.Lock()
        self._identity_tables: frozenset[str] = frozenset()

    @classmethod
    async def open(
        cls,
        dsn: str,
        migrations: list[tuple[int, str, str]] | None = None,
        *,
        masked_url: str,
        max_connections: int = 10,
        migrate: bool = True,
        read_only: bool = False,
    ) -> PostgresDatabase:
        settings = {"default_transaction_read_only": "on"} if read_only else {}
        # No floor of open connections: asyncpg would reconnect it in the background during an outage and log
        # a traceback at every attempt; connections are opened when a statement needs one.
        pool = await asyncpg.create_pool(
            dsn, min_size=0, max_size=max_connections, timeout=_CONNECT_TIMEOUT_SECONDS, command_timeout=60,
            server_settings=settings,
        )  # fmt: skip
        database = cls(pool, masked_url)
        migrations = postgres_migrations() if migrations is None else migrations
        try:
            await database._refuse_if_foreign()
            await database._refuse_if_newer(migrations)
            if migrate and not read_only:
                await database._migrate(migrations)
            await database._learn_identity_tables()
        except BaseException as error:
            await pool.close()
            fault = storage_fault(error) if isinstance(error, Exception) else None
            if fault is None:
                raise
            raise UnusableDatabase(f"DATABASE_URL {masked_url} cannot be used: {fault}.") from None
        return database

    def describe(self) -> str:
        return self.url

    async def _refuse_if_foreign(self) -> None:
        tables = await self.fetch_value(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()"
        )
        if not tables or await self._has_agora_schema():
            return
        raise NotAgoraDatabase(
            f"DATABASE_URL {self.url} is not Agora's database: it holds another application's tables, and Agora "
            "will not add its own to them. Point DATABASE_URL at Agora's database or at a new, empty one."
        )

    async def _has_agora_schema(self) -> bool:
        rows = await self.fetch_all(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND table_name = 'schema_version'"
        )
        return {"version", "name", "applied_at"} <= {str(row[0]) for row in rows}

    async def schema_version(self) -> int:
        if not await self._has_agora_schema():
            return 0
        return int(await self.fetch_value("SELECT COALESCE(MAX(version), 0) FROM schema_version") or 0)

    async def _refuse_if_newer(self, migrations: list[tuple[int, str, str]]) -> None:
        refuse_if_newer(await self.schema_version(), migrations, str(self.url), "DATABASE_URL")

    async def _migrate(self, migrations: list[tuple[int, str, str]]) -> None:
        async with self._pool.acquire() as connection:
            for version, name, sql in migrations:
                async with connection.transaction():
                    # Processes starting together queue here; each re-reads the version under the lock.
                    await connection.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
                    await connection.execute(
                        "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY, name TEXT NOT NULL,"
                        " applied_at TEXT NOT NULL)"
                    )
                    current = await connection.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version")
                    if version <= current:
                        continue
                    log.info("Applying database migration %04d_%s", version, name)
                    await connection.execute(sql)
                    await connection.execute(
                        "INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)",
                        version, name, now_db(),
                    )  # fmt: skip

    async def _learn_identity_tables(self) -> None:
        """Tables whose `id` PostgreSQL numbers: an INSERT into one reports the new id like SQLite's lastrowid."""
        rows = await self.fetch_all(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND column_name = 'id' AND is_identity = 'YES'"
        )
        self._identity_tables = frozenset(str(row[0]) for row in rows)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PgConnection]:
        """One atomic write unit; commits on success, rolls back on any error."""
        async with self._write_lock, self._pool.acquire() as connection:
            with _lost_connection(connection):
                await connection.execute("BEGIN")
            try:
                yield PgConnection(connection, self._identity_tables)
            except BaseException:
                await asyncio.shield(_roll_back(connection))
                raise
            await connection.execute("COMMIT")  # a transaction a refused statement aborted commits as a rollback

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[PgConnection]:
        """A pooled connection outside any transaction (each statement commits on its own)."""
        async with self._pool.acquire() as connection:
            yield PgConnection(connection, self._identity_tables)

    async def fetch_one(self, sql: str, params: Sequence | dict = ()) -> asyncpg.Record | None:
        translated = to_postgres(sql)
        async with self._pool.acquire() as connection:
            with _integrity_errors(), _lost_connection(connection):
                return await connection.fetchrow(translated.sql, *translated.arguments(params))

    async def fetch_all(self, sql: str, params: Sequence | dict = ()) -> list[asyncpg.Record]:
        translated = to_postgres(sql)
        async with self._pool.acquire() as connection:
            with _integrity_errors(), _lost_connection(connection):
                return list(await connection.fetch(translated.sql, *translated.arguments(params)))

    async def fetch_value(self, sql: str, params: Sequence | dict = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    async def chunks(self, sql: str, params: Sequence | dict, size: int) -> AsyncGenerator[list[tuple], None]:
        """The rows of a large read in lists of `size`, through a server-side cursor."""
        translated = to_postgres(sql)
        async with self._pool.acquire() as connection, connection.transaction(readonly=True):
            cursor = await connection.cursor(translated.sql, *translated.arguments(params))
            while chunk := await cursor.fetch(size):
                yield [tuple(row) for row in chunk]

    def size_bytes(self) -> int:
        return 0  # read asynchronously by database_size(); PostgreSQL's files are not Agora's to stat

    async def database_size(self) -> int:
        return int(await self.fetch_value("SELECT pg_database_size(current_database())") or 0)

    async def close(self) -> None:
        async with self._write_lock:
            await self._pool.close()


async def _roll_back(connection: asyncpg.Connection) -> None:
    """Undo a failed transaction; a connection that cannot even do that (the server went away mid-write) is
    dropped, so the pool never hands it out again."""
    if connection.is_closed():
        return
    try:
        await connection.execute("ROLLBACK")
    except Exception:
        connection.terminate()
