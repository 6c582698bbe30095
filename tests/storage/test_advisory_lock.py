"""The advisory locks of a PostgreSQL process (bot.storage.backends.AdvisoryLock) outlive a lost connection: they
are taken again on a new one, or the process is told it no longer owns its claim. Against the real server; the
lock connection is ended from another connection with pg_terminate_backend, as a restart or a network drop would."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from bot.shards import Shards
from bot.storage.backends import OwnershipLost, instance_lock_for
from bot.storage.lock import AlreadyRunning
from tests.backends import selected_backends

pytestmark = pytest.mark.skipif("postgresql" not in selected_backends(), reason="AGORA_TEST_BACKENDS excludes it")

MASKED = "postgresql://agora:***@db/agora"
_LOCK_HOLDERS = (
    "SELECT DISTINCT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


@pytest.fixture
async def dsn(postgres_server):
    created = await postgres_server.create_database()
    yield created
    await postgres_server.drop_database(created)


async def lock_holders(dsn: str) -> set[int]:
    connection = await asyncpg.connect(dsn)
    try:
        return {row["pid"] for row in await connection.fetch(_LOCK_HOLDERS)}
    finally:
        await connection.close()


async def end_lock_connection(dsn: str) -> int:
    """End the one connection holding advisory locks on `dsn` and wait until its locks are gone."""
    (holder,) = await lock_holders(dsn)
    connection = await asyncpg.connect(dsn)
    try:
        assert await connection.fetchval("SELECT pg_terminate_backend($1)", holder)
    finally:
        await connection.close()
    for _ in range(200):
        if holder not in await lock_holders(dsn):
            return holder
        await asyncio.sleep(0.05)
    raise AssertionError("the terminated connection kept its locks")


async def test_a_dropped_lock_connection_is_replaced_and_the_shard_claimed_again(dsn):
    running = instance_lock_for(dsn, MASKED, Shards(2, (1,)))
    await running.acquire()
    watching = asyncio.create_task(running.watch(interval=0.05))
    try:
        ended = await end_lock_connection(dsn)
        for _ in range(200):
            if (await lock_holders(dsn)) - {ended}:
                break
            await asyncio.sleep(0.05)
        assert not watching.done()
        with pytest.raises(AlreadyRunning, match="already serves shard 1 of 2"):
            await instance_lock_for(dsn, MASKED, Shards(2, (1,))).acquire()
        with pytest.raises(AlreadyRunning, match="SHARD_COUNT 3 differs from the shard count 2"):
            await instance_lock_for(dsn, MASKED, Shards(3, (0,))).acquire()
    finally:
        watching.cancel()
        await running.release()


async def test_a_shard_taken_by_another_process_while_the_connection_was_down_stops_this_one(dsn):
    running = instance_lock_for(dsn, MASKED, Shards(2, (1,)))
    await running.acquire()
    await end_lock_connection(dsn)
    newcomer = instance_lock_for(dsn, MASKED, Shards(2, (1,)))
    await newcomer.acquire()  # the claim vanished with the connection: nothing stopped a second owner
    try:
        with pytest.raises(OwnershipLost, match="no longer owns") as lost:
            await running.verify()
        assert "shard 1 of 2" in str(lost.value) and "\n" not in str(lost.value)
        assert len(await lock_holders(dsn)) == 1, "the refused process let go of what its new connection took"
    finally:
        await newcomer.release()
        await running.release()


async def test_another_shard_count_admitted_while_the_connection_was_down_stops_this_one(dsn):
    running = instance_lock_for(dsn, MASKED, Shards(2, (0,)))
    await running.acquire()
    await end_lock_connection(dsn)
    other_count = instance_lock_for(dsn, MASKED, Shards(3, (1,)))
    await other_count.acquire()
    try:
        with pytest.raises(OwnershipLost, match="SHARD_COUNT 2 differs from the shard count 3"):
            await asyncio.wait_for(running.watch(interval=0.05), 20)
    finally:
        await other_count.release()
        await running.release()


async def test_a_live_lock_connection_is_left_alone(dsn):
    running = instance_lock_for(dsn, MASKED, Shards())
    await running.acquire()
    try:
        before = await lock_holders(dsn)
        await running.verify()
        assert await lock_holders(dsn) == before
    finally:
        await running.release()
