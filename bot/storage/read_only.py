"""Opening the database for reading only: read-only commands never create, migrate or write it."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import aiosqlite

from bot.storage.database import Database


def read_only_uri(path: Path) -> str:
    """A URI that opens `path` without ever creating or writing it, and leaves no file beside it.

    A read-only connection to a WAL database otherwise creates -wal and -shm files it cannot remove. When
    no -wal file is beside the database no process has it open, so it is opened immutable (no WAL index,
    no locks, nothing created). While the bot runs its -wal file exists and the ordinary read-only mode
    shares the bot's WAL index, so what the bot committed is read. A bot starting during such a read
    changes only its -wal file, not the database, until its first checkpoint.
    """
    path = path.resolve()
    immutable = "&immutable=1" if not Path(f"{path}-wal").exists() else ""
    return f"file:{quote(str(path))}?mode=ro{immutable}"


async def open_read_only(path: Path) -> Database:
    """The storage layer over a read-only connection to an existing database file."""
    connection = await aiosqlite.connect(read_only_uri(path), uri=True)
    connection.row_factory = aiosqlite.Row
    try:
        await connection.execute("PRAGMA query_only = ON")
    except BaseException:
        await connection.close()
        raise
    return Database(connection, path)
