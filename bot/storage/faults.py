"""What went wrong with the database, in a few words: for the one log line of an outage and a polite reply.

A database that is down, shutting down, refusing the login, full or locked is a fault of the storage, not a
bug of Agora: callers keep their work, say so in one line without a traceback and try again later. Any
other error is a bug and keeps its traceback. The words never carry a password: they are chosen here, not
copied from the driver's message (which may quote the connection string).
"""

from __future__ import annotations

import sqlite3

import asyncpg

# SQLite's messages for a file that cannot be written just now, and what to call each.
_SQLITE_FAULTS = {
    "database is locked": "the database file is locked by another program",
    "database or disk is full": "the disk is full",
    "disk i/o error": "disk I/O error",
    "unable to open database file": "the database file cannot be opened",
    "attempt to write a readonly database": "the database file is read-only",
}


def storage_fault(error: BaseException) -> str | None:
    """A few words for a storage fault ("PostgreSQL is unreachable (connection refused)"), or None for a bug."""
    if isinstance(error, sqlite3.OperationalError):
        text = str(error).lower()
        return next((words for message, words in _SQLITE_FAULTS.items() if message in text), None)
    return _postgres_fault(error)


def _postgres_fault(error: BaseException) -> str | None:
    if isinstance(error, asyncpg.InvalidAuthorizationSpecificationError | asyncpg.InvalidPasswordError):
        return "PostgreSQL refused the login: wrong user or password in DATABASE_URL"
    if isinstance(error, asyncpg.InvalidCatalogNameError):
        return "PostgreSQL has no database of the name in DATABASE_URL"
    if isinstance(error, asyncpg.AdminShutdownError | asyncpg.CrashShutdownError):
        return "PostgreSQL is shutting down"
    if isinstance(error, asyncpg.CannotConnectNowError):
        return "PostgreSQL is starting up or shutting down"
    if isinstance(error, asyncpg.TooManyConnectionsError):
        return "PostgreSQL has too many connections"
    if isinstance(error, asyncpg.DiskFullError):
        return "PostgreSQL's disk is full"
    if isinstance(error, asyncpg.PostgresConnectionError | asyncpg.ConnectionDoesNotExistError):
        return "the connection to PostgreSQL was lost"
    if isinstance(error, ConnectionRefusedError | FileNotFoundError):
        # A closed port, or no server socket in the folder a Unix-socket URL names.
        return "PostgreSQL is unreachable (connection refused)"
    if isinstance(error, ConnectionError):
        return "the connection to PostgreSQL was lost"
    if isinstance(error, TimeoutError):
        return "PostgreSQL is unreachable (no answer in time)"
    if isinstance(error, OSError):
        return f"PostgreSQL is unreachable ({error.strerror or type(error).__name__})"
    return None


def one_line(error: BaseException) -> str:
    """An error that is not a storage fault, in one short line: its type and the first line of its text."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:200]}" if text else type(error).__name__
