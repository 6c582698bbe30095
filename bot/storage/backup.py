"""A consistent copy of the SQLite database while the bot runs, verified before it is kept.

The copy is made with SQLite's online backup API from a read-only connection that holds one read
transaction for the whole copy: in WAL mode a reader never blocks the bot's writers, and the snapshot it
reads is fixed when the copy begins, so the copy holds exactly what was committed by then (writes
committed meanwhile neither restart the copy nor half-appear in it). Pages are copied in steps so a
stop request can end a copy early and the GIL is released in between.

Synchronous on purpose: callers in the bot run it with `asyncio.to_thread`, off the event loop.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from bot.errors import AgoraError

# Pages copied per step: a few MiB, so a stop request is noticed within a fraction of a second.
PAGES_PER_STEP = 1024


class BackupError(AgoraError):
    """A backup could not be made or did not verify; the message is one line for the operator."""


class BackupCancelled(BackupError):
    def __init__(self) -> None:
        super().__init__("the backup was stopped before it finished; no copy was kept.")


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size_bytes: int
    schema_version: int
    integrity: str
    row_counts: dict[str, int]


def backup_database(
    source: Path,
    target: Path,
    *,
    overwrite: bool = False,
    cancel: threading.Event | None = None,
    pages_per_step: int = PAGES_PER_STEP,
) -> BackupResult:
    """Copy `source` to `target`, verify the copy, then move it into place; raises BackupError."""
    source, target = Path(source), Path(target)
    _check_paths(source, target, overwrite)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}-{threading.get_ident()}")
    try:
        _copy(source, partial, cancel, pages_per_step)
        result = verify_copy(partial)
        os.replace(partial, target)
    finally:
        _remove_quietly(partial)
    return BackupResult(target, target.stat().st_size, result.schema_version, result.integrity, result.row_counts)


def _check_paths(source: Path, target: Path, overwrite: bool) -> None:
    if not source.is_file():
        raise BackupError(f"there is no database at {source}: check DATABASE_PATH or --db.")
    if target.exists() and target.resolve() == source.resolve():
        raise BackupError(f"{target} is the database itself: choose another path for the copy.")
    if target.is_dir():
        raise BackupError(f"{target} is a folder: give the path of the copy's file, e.g. {target / 'agora.db'}.")
    if target.exists() and not overwrite:
        raise BackupError(f"{target} already exists: choose another path, or pass --force to replace it.")
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} does not exist: create it first.")
    if not os.access(target.parent, os.W_OK):
        raise BackupError(f"the folder {target.parent} is not writable.")


def _copy(source: Path, partial: Path, cancel: threading.Event | None, pages_per_step: int) -> None:
    def progress(_status: int, _remaining: int, _total: int) -> None:
        if cancel is not None and cancel.is_set():
            raise BackupCancelled()

    try:
        # Not mode=ro: a read-only connection cannot remove the -wal and -shm files it creates beside a
        # database no one else has open. query_only keeps this connection from writing anything.
        reader = sqlite3.connect(f"file:{quote(str(source.resolve()))}?mode=rw", uri=True, isolation_level=None)
    except sqlite3.Error as error:
        raise BackupError(f"could not open {source}: {error}.") from None
    try:
        reader.execute("PRAGMA query_only = ON")
        reader.execute("PRAGMA busy_timeout = 5000")
        # One read transaction for the whole copy: its snapshot is the copy's content.
        reader.execute("BEGIN")
        reader.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        writer = sqlite3.connect(partial, isolation_level=None)
        try:
            reader.backup(writer, pages=pages_per_step, progress=progress)
        finally:
            writer.close()
        reader.execute("COMMIT")
    except sqlite3.Error as error:
        raise BackupError(f"could not copy {source}: {error}.") from None
    finally:
        reader.close()


def verify_copy(path: Path) -> BackupResult:
    """Open the copy, check its integrity, and read its schema version and row counts."""
    try:
        connection = sqlite3.connect(path, isolation_level=None)
    except sqlite3.Error as error:
        raise BackupError(f"the copy {path} does not open: {error}.") from None
    try:
        # quick_check reads every page and record (several times faster than integrity_check on a large
        # database, which matters beside a running bot); the index-against-table cross-check it skips cannot
        # fail in a page-for-page copy of a database that passes it.
        integrity = "; ".join(row[0] for row in connection.execute("PRAGMA quick_check").fetchall())
        if integrity != "ok":
            raise BackupError(f"the copy failed SQLite's quick_check: {integrity[:200]}")
        counts = table_row_counts(connection)
        version = 0
        if "schema_version" in counts:
            version = connection.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0]
    except sqlite3.Error as error:
        raise BackupError(f"the copy {path} could not be read: {error}.") from None
    finally:
        connection.close()  # the last connection to a WAL database removes its -wal and -shm
    return BackupResult(path, path.stat().st_size, int(version), integrity, counts)


def table_row_counts(connection: sqlite3.Connection) -> dict[str, int]:
    """Rows in each of the database's own tables (SQLite's internal tables left out)."""
    names = [
        row[0]
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    # Table names come from sqlite_master itself and are quoted as identifiers.
    return {
        name: connection.execute(f'SELECT COUNT(*) FROM "{name.replace(chr(34), chr(34) * 2)}"').fetchone()[0]  # noqa: S608
        for name in names
    }


def _remove_quietly(path: Path) -> None:
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        try:
            candidate.unlink()
        except FileNotFoundError:
            pass
