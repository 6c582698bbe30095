"""The bot's one SQLite connection: pragmas, numbered migrations, and serialised write transactions."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

import aiosqlite

from bot.errors import AgoraError
from bot.timeutil import now_db

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class SchemaTooNew(AgoraError):
    """The database was written by a newer Agora; opening it could corrupt it."""


def bundled_migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration shipped with Agora, in order."""
    folder = resources.files("bot.storage") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [version for version, _, _ in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..n without gaps, found {versions}")
    return found


class Database:
    """Owns one aiosqlite connection.

    aiosqlite runs every statement on one worker thread, so interleaved coroutines would
    otherwise share a transaction: `transaction()` takes a lock so each write unit is atomic.
    """

    def __init__(self, connection: aiosqlite.Connection, path: Path) -> None:
        self.connection = connection
        self.path = path
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(
        cls, path: Path | str, migrations: list[tuple[int, str, str]] | None = None
    ) -> Database:
        path = Path(path)
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        connection = await aiosqlite.connect(path, isolation_level=None)
        connection.row_factory = aiosqlite.Row
        database = cls(connection, path)
        migrations = bundled_migrations() if migrations is None else migrations
        try:
            # Refuse a newer database before anything writes to it (even switching to WAL does).
            await database._refuse_if_newer(migrations)
            await database._configure()
            await database._migrate(migrations)
        except BaseException:
            await connection.close()
            raise
        return database

    async def _configure(self) -> None:
        await self.connection.execute("PRAGMA journal_mode = WAL")
        # NORMAL is durable across application crashes in WAL mode; only an OS crash can drop
        # the last commits, and reconciliation with Discord recovers votes in that case.
        await self.connection.execute("PRAGMA synchronous = NORMAL")
        await self.connection.execute("PRAGMA foreign_keys = ON")
        await self.connection.execute("PRAGMA busy_timeout = 5000")

    async def schema_version(self) -> int:
        """The newest migration applied; 0 for a new database. Reads only."""
        exists = await self.fetch_value("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'")
        if not exists:
            return 0
        return int(await self.fetch_value("SELECT COALESCE(MAX(version), 0) FROM schema_version"))

    async def _refuse_if_newer(self, migrations: list[tuple[int, str, str]]) -> None:
        current = await self.schema_version()
        newest = migrations[-1][0] if migrations else 0
        if current > newest:
            raise SchemaTooNew(
                f"The database {self.path} has schema version {current}, but this Agora knows only up to "
                f"{newest}. It was written by a newer Agora: upgrade Agora, or point DATABASE_PATH elsewhere."
            )

    async def _migrate(self, migrations: list[tuple[int, str, str]]) -> None:
        await self.connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TEXT NOT NULL)"
        )
        current = await self.schema_version()
        for version, name, sql in migrations:
            if version <= current:
                continue
            log.info("Applying database migration %04d_%s", version, name)
            await self._apply(version, name, sql)

    async def _apply(self, version: int, name: str, sql: str) -> None:
        # executescript would commit on its own; run statement by statement inside one transaction
        # so a failing migration leaves the database exactly as it was.
        await self.connection.execute("BEGIN IMMEDIATE")
        try:
            for statement in _split_statements(sql):
                await self.connection.execute(statement)
            await self.connection.execute(
                "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                (version, name, now_db()),
            )
            await self.connection.execute("COMMIT")
        except BaseException:
            await self.connection.execute("ROLLBACK")
            raise

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One atomic write unit; commits on success, rolls back on any error."""
        async with self._write_lock:
            try:
                # Inside the try: a task cancelled while BEGIN runs on aiosqlite's thread still ends the
                # transaction, or every later write would fail with "transaction within a transaction".
                await self.connection.execute("BEGIN IMMEDIATE")
                yield self.connection
                await self.connection.execute("COMMIT")
            except BaseException:
                await self._rollback()
                raise

    async def _rollback(self) -> None:
        # Queued behind whatever statement is still running on the connection's thread; shielded so a
        # second cancellation cannot leave the transaction open either.
        with contextlib.suppress(sqlite3.OperationalError):  # no transaction began, or it already ended
            await asyncio.shield(self.connection.execute("ROLLBACK"))

    async def fetch_one(self, sql: str, params: tuple | dict = ()) -> aiosqlite.Row | None:
        async with self.connection.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def fetch_all(self, sql: str, params: tuple | dict = ()) -> list[aiosqlite.Row]:
        async with self.connection.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def fetch_value(self, sql: str, params: tuple | dict = ()) -> object:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    def size_bytes(self) -> int:
        total = 0
        for suffix in ("", "-wal"):
            candidate = Path(f"{self.path}{suffix}")
            if candidate.exists():
                total += candidate.stat().st_size
        return total

    async def close(self) -> None:
        async with self._write_lock:
            await self.connection.close()


def _split_statements(sql: str) -> list[str]:
    """Split a migration into statements, using sqlite3's own completeness check."""
    statements, buffer = [], ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not all(
        part.strip().startswith("--") or not part.strip() for part in buffer.splitlines()
    ):
        statements.append(buffer.strip())
    return statements
