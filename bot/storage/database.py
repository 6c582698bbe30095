"""The bot's one SQLite connection: pragmas, numbered migrations, and serialised write transactions."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import aiosqlite

from bot.errors import AgoraError
from bot.timeutil import now_db

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class UnusableDatabase(AgoraError):
    """DATABASE_PATH cannot be used as it is; the message names it and says how to recover."""


class SchemaTooNew(UnusableDatabase):
    """The database was written by a newer Agora; opening it could corrupt it."""


class NotAgoraDatabase(UnusableDatabase):
    """An SQLite database of another application: Agora must not add its tables to it."""


_RECOVER = "restore it from your backup, or move it aside so Agora starts a new one"
_FIX_PERMISSIONS = "check the permissions of the file and its folder (Agora writes to both)"


def refuse_if_newer(current: int, migrations: list[tuple[int, str, str]], database: str, setting: str) -> None:
    """Raise SchemaTooNew when a database's schema version is past the newest migration this Agora has."""
    newest = migrations[-1][0] if migrations else 0
    if current > newest:
        raise SchemaTooNew(
            f"The database {database} has schema version {current}, but this Agora knows only up to "
            f"{newest}. It was written by a newer Agora: upgrade Agora, or point {setting} elsewhere."
        )


def bundled_migrations(folder: Traversable | None = None) -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration shipped with Agora, in order (SQLite's unless `folder` is given)."""
    folder = folder if folder is not None else resources.files("bot.storage") / "migrations"
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

    dialect = "sqlite"

    def __init__(self, connection: aiosqlite.Connection, path: Path) -> None:
        self.connection = connection
        self.path = path
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str, migrations: list[tuple[int, str, str]] | None = None) -> Database:
        path = Path(path)
        if str(path) != ":memory:":
            _check_location(path)
        try:
            connection = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as error:
            raise _unusable(path, error) from None
        connection.row_factory = aiosqlite.Row
        database = cls(connection, path)
        migrations = bundled_migrations() if migrations is None else migrations
        try:
            try:
                # Everything that can refuse the database reads only: nothing is written (not even the switch
                # to WAL) to a file that is damaged, of another application, or of a newer Agora.
                await database._check_integrity()
                await database._refuse_if_foreign()
                await database._refuse_if_newer(migrations)
                await database._configure()
            except sqlite3.Error as error:
                raise _unusable(path, error) from None
            await database._migrate(migrations)  # a failing migration is Agora's bug: its traceback is wanted
        except BaseException:
            await connection.close()
            raise
        return database

    async def _check_integrity(self) -> None:
        """PRAGMA quick_check: damage found at start, not by the first write that fails hours later."""
        rows = await self.fetch_all("PRAGMA quick_check(1)")
        problem = " ".join(str(rows[0][0]).split()) if rows else "no answer"
        if problem != "ok":
            raise UnusableDatabase(
                f"DATABASE_PATH {self.path} failed its integrity check ({problem[:120]}): {_RECOVER}."
            )

    async def _refuse_if_foreign(self) -> None:
        """A database with tables but not Agora's version table belongs to someone else."""
        tables = await self.fetch_value("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'")
        if not tables or await self._has_agora_schema():
            return
        raise NotAgoraDatabase(
            f"DATABASE_PATH {self.path} is not Agora's database: it holds another application's tables, and "
            "Agora will not add its own to them. Point DATABASE_PATH at Agora's database or at a new file."
        )

    async def _has_agora_schema(self) -> bool:
        columns = {str(row[1]) for row in await self.fetch_all("PRAGMA table_info(schema_version)")}
        return {"version", "name", "applied_at"} <= columns

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
        refuse_if_newer(await self.schema_version(), migrations, str(self.path), "DATABASE_PATH")

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

    async def fetch_value(self, sql: str, params: tuple | dict = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    def describe(self) -> str:
        return str(self.path)

    async def chunks(self, sql: str, params: tuple | dict, size: int) -> AsyncGenerator[list[tuple], None]:
        """The rows of a large read in lists of `size`; close it (contextlib.aclosing) when stopping early."""
        async with self.connection.execute(sql, params) as cursor:
            while chunk := await cursor.fetchmany(size):
                yield [tuple(row) for row in chunk]

    async def database_size(self) -> int:
        return self.size_bytes()

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


def _check_location(path: Path) -> None:
    """Refuse a folder at once, and create the database's folder when it is missing."""
    if path.is_dir():
        raise UnusableDatabase(f"DATABASE_PATH {path} is a folder: point it at a file, such as {path / 'agora.db'}.")
    if path.exists():
        # SQLite opens a file it may not write read-only and says nothing until the first write fails: ask now.
        try:
            with path.open("r+b"):
                pass
        except OSError:
            raise UnusableDatabase(f"DATABASE_PATH {path} is read-only for Agora: {_FIX_PERMISSIONS}.") from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        reason = (error.strerror or str(error)).lower()
        raise UnusableDatabase(f"DATABASE_PATH {path}: its folder cannot be created ({reason}).") from None


def _unusable(path: Path, error: sqlite3.Error) -> UnusableDatabase:
    """SQLite's refusal as one line that names the setting and the way out."""
    reason = str(error)
    if "readonly" in reason or "read-only" in reason:
        return UnusableDatabase(f"DATABASE_PATH {path} is read-only for Agora: {_FIX_PERMISSIONS}.")
    if "unable to open" in reason:
        return UnusableDatabase(
            f"DATABASE_PATH {path} cannot be opened as a database file: point it at a regular file in a "
            "folder Agora can write to."
        )
    # SQLite may quote a damaged schema line by line: the error stays one line.
    one_line = " ".join(reason.split())
    return UnusableDatabase(f"DATABASE_PATH {path} cannot be used ({one_line}): {_RECOVER}.")


def _split_statements(sql: str) -> list[str]:
    """Split a migration into statements, using sqlite3's own completeness check."""
    statements, buffer = [], ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not all(part.strip().startswith("--") or not part.strip() for part in buffer.splitlines()):
        statements.append(buffer.strip())
    return statements
