"""Choosing the store: the SQLite file (one process) or PostgreSQL (shared by several), from DATABASE_URL."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from pathlib import Path

import asyncpg

from bot.config import DatabaseUrl
from bot.shards import Shards
from bot.storage.database import Database
from bot.storage.lock import AlreadyRunning
from bot.storage.postgres import PostgresDatabase

log = logging.getLogger(__name__)

AnyDatabase = Database | PostgresDatabase

# How often the lock's connection is asked whether it is still alive (a dropped one is usually noticed sooner,
# through asyncpg's termination listener), and how long a silent one may take to answer.
LOCK_CHECK_SECONDS = 5.0
_LOCK_CHECK_TIMEOUT_SECONDS = 10.0
_RECONNECT_SECONDS = 1.0
# What a lock connection that is gone, or a database that is away, raises.
_CONNECTION_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


async def open_database(url: DatabaseUrl, *, migrate: bool = True) -> AnyDatabase:
    """Open (create and migrate, unless `migrate` is False) the database `url` names."""
    if url.dialect == "sqlite":
        assert url.path is not None
        return await Database.open(url.path)
    return await PostgresDatabase.open(url.dsn, masked_url=url.masked, migrate=migrate)


async def open_for_reading(url: DatabaseUrl) -> AnyDatabase:
    """Open an existing database without creating, migrating or writing anything."""
    if url.path is not None:
        from bot.storage.read_only import open_read_only

        return await open_read_only(url.path.resolve())
    return await PostgresDatabase.open(url.dsn, masked_url=url.masked, migrate=False, read_only=True)


def journal_base(database: AnyDatabase, data_dir: Path, owner: str = "") -> Path | None:
    """The path the vote journal's files are named after: beside an SQLite file, or in DATA_DIR for a process
    of a PostgreSQL database (named after the shards it serves, so each process replays its own). DATA_DIR is
    created like an SQLite file's folder; one that cannot be is said by the journal when it opens."""
    if database.path is not None:
        return None if str(database.path) == ":memory:" else Path(database.path)
    with contextlib.suppress(OSError):
        data_dir.mkdir(parents=True, exist_ok=True)
    return data_dir / f"agora-{owner or 'unsharded'}"


def instance_lock_for(dsn: str, masked_url: str, shards: Shards) -> AdvisoryLock:
    """The advisory locks a process of `shards` holds for its life."""
    if not shards.sharded:
        return AdvisoryLock(dsn, masked_url, shards.lock_names())
    return AdvisoryLock(dsn, masked_url, shards.lock_names(), shared=["unsharded"], shard_count=shards.count)


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock from a readable name."""
    return int.from_bytes(hashlib.sha256(f"agora:{name}".encode()).digest()[:8], "big", signed=True)


# The first key of the two-key advisory lock whose second key is a cluster's shard count.
_SHARD_COUNT_CLASS = advisory_key("shard count") & 0x7FFFFFFF
# A shard count other than ours held by a live process of this database.
_OTHER_SHARD_COUNT = (
    "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 AND granted"
    " AND classid::bigint = $1 AND objid::bigint <> $2"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) LIMIT 1"
)


class OwnershipLost(AlreadyRunning):
    """The lock's connection dropped and another process took the claim before this one could take it back."""


class AdvisoryLock:
    """One process per shard (or per unsharded database): session advisory locks on a connection of their own.

    PostgreSQL releases them when the connection ends, however the process ends, so a killed process's claim
    is gone as soon as its connection is (at once for a process that dies; the server notices a lost host
    through TCP keepalives). `shared` names are held in shared mode: every sharded process holds "unsharded"
    shared, so an unsharded process (which holds it exclusively) and sharded ones never run together.
    """

    def __init__(
        self, dsn: str, masked_url: str, names: list[str], shared: list[str] | None = None,
        shard_count: int | None = None,
    ) -> None:  # fmt: skip
        self._dsn = dsn
        self._masked = masked_url
        self._names = names
        self._shared = shared or []
        self._shard_count = shard_count
        self._connection: asyncpg.Connection | None = None
        self._dropped = asyncio.Event()

    async def acquire(self) -> None:
        self._dropped.clear()
        self._connection = await asyncpg.connect(self._dsn, timeout=10)
        self._connection.add_termination_listener(self._on_termination)
        if self._shard_count is not None:
            await self._join_cluster(self._connection, self._shard_count)
        wanted = [(name, "pg_try_advisory_lock_shared") for name in self._shared]
        wanted += [(name, "pg_try_advisory_lock") for name in self._names]
        for name, function in wanted:
            if not await self._connection.fetchval(f"SELECT {function}($1)", advisory_key(name)):
                await self.release()
                raise AlreadyRunning(self._refusal(name))

    async def _join_cluster(self, connection: asyncpg.Connection, count: int) -> None:
        """Every sharded process holds the cluster's SHARD_COUNT as a shared lock (the count is its key): a count
        held by a live process is the cluster's, and a process with another one is refused. The record ends
        with the last process, however it ends, so changing SHARD_COUNT means stopping them all first."""
        await connection.execute("SELECT pg_advisory_lock($1)", advisory_key("joining the cluster"))
        try:
            held = await connection.fetchval(_OTHER_SHARD_COUNT, _SHARD_COUNT_CLASS, count)
            if held is None:
                await connection.execute("SELECT pg_advisory_lock_shared($1, $2)", _SHARD_COUNT_CLASS, count)
        finally:
            await connection.execute("SELECT pg_advisory_unlock($1)", advisory_key("joining the cluster"))
        if held is not None:
            await self.release()
            raise AlreadyRunning(
                f"SHARD_COUNT {count} differs from the shard count {held} that the running Agora processes of the "
                f"database {self._masked} (DATABASE_URL) use; set SHARD_COUNT={held}, or stop every process "
                "before changing it"
            )

    def _refusal(self, name: str) -> str:
        if name in self._shared:
            return (
                f"an unsharded Agora process already serves the database {self._masked} (DATABASE_URL); stop it "
                "before starting sharded ones"
            )
        serves = "the database" if name == "unsharded" else f"{name} on the database"
        fix = "stop it first" if name == "unsharded" else "stop it first, or give this process other SHARD_IDS"
        return f"another Agora process already serves {serves} {self._masked} (DATABASE_URL); {fix}"

    def _on_termination(self, connection: asyncpg.Connection) -> None:
        if connection is self._connection:  # not the one released before taking the locks again
            self._dropped.set()

    async def watch(self, interval: float = LOCK_CHECK_SECONDS) -> None:
        """Keep the claim for the process's life: the locks vanish with their connection (PostgreSQL restarted,
        the network dropped it), so a lost connection is replaced and the locks taken again once the database
        answers. Raises OwnershipLost if another process took them meanwhile: two owners must never run."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._dropped.wait(), interval)
            await self.verify()

    async def verify(self) -> None:
        """Check the lock's connection once; if it is gone, take the locks again on a new one (waiting for the
        database to come back); OwnershipLost if another process holds them now."""
        if await self._alive():
            return
        await self.release()
        log.warning("The connection holding this process's advisory locks was lost; taking them again")
        while True:
            try:
                await self.acquire()
            except AlreadyRunning as refused:
                raise OwnershipLost(
                    f"stopping: this process no longer owns its claim on the database {self._masked} (DATABASE_URL) "
                    f"after its lock connection was lost, and another process took it meanwhile ({refused})"
                ) from refused
            except _CONNECTION_ERRORS:
                await self.release()
                await asyncio.sleep(_RECONNECT_SECONDS)
                continue
            log.warning("The advisory locks are held again")
            return

    async def _alive(self) -> bool:
        connection = self._connection
        if connection is None or connection.is_closed() or self._dropped.is_set():
            return False
        try:
            await connection.fetchval("SELECT 1", timeout=_LOCK_CHECK_TIMEOUT_SECONDS)
        except _CONNECTION_ERRORS:
            return False
        return True

    async def release(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(*_CONNECTION_ERRORS):
                await self._connection.close(timeout=_LOCK_CHECK_TIMEOUT_SECONDS)
            self._connection = None
