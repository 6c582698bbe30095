"""`agora run` with DATABASE_URL=postgresql://… : the real bot process against the emulator and a real PostgreSQL."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from bot.storage.backends import advisory_key
from tests.backends import PostgresServer, selected_backends

from .conftest import assert_contract_kept
from .driver import REPO_ROOT, BotProcess
from .emulator import Emulator
from .helpers import (
    OPPOSE,
    SUPPORT,
    UNSURE,
    assert_clean,
    find_poll_message,
    post_seed_article,
    require_command,
    results_until,
    vote,
)

pytestmark = pytest.mark.skipif("postgresql" not in selected_backends(), reason="AGORA_TEST_BACKENDS excludes it")


@pytest.fixture
async def fresh_postgres(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """An empty database (no schema): `agora run` creates and migrates it itself."""
    dsn = await postgres_server.create_database(migrated=False)
    yield dsn
    await postgres_server.drop_database(dsn)


@pytest.fixture
async def agora_pg(emulator: Emulator, tmp_path: Path, fresh_postgres: str) -> AsyncIterator[BotProcess]:
    bot = BotProcess(emulator, tmp_path, extra_env={"DATABASE_URL": fresh_postgres, "DATA_DIR": str(tmp_path / "data")})
    try:
        await bot.start()
        yield bot
    finally:
        await bot.stop()
        bot.assert_token_not_logged()
        assert not bot.hung_on_stop, f"the bot did not exit after SIGTERM\n{bot.tail()}"
        assert_contract_kept(emulator)


async def test_seed_article_and_votes_on_postgresql(emulator: Emulator, agora_pg: BotProcess, fresh_postgres: str):
    posted = await post_seed_article(emulator)
    require_command(emulator, "poll results")
    poll = await find_poll_message(emulator, posted.thread)
    seed = emulator.community
    assert seed is not None
    for member, choice in zip(seed.members[:3], (SUPPORT, SUPPORT, UNSURE), strict=True):
        await vote(emulator, member, poll, choice)
    await results_until(emulator, poll, {SUPPORT: 2, OPPOSE: 0, UNSURE: 1})
    assert not agora_pg.database_path.exists(), "no SQLite file: everything is in PostgreSQL"

    connection = await asyncpg.connect(fresh_postgres)
    try:
        assert await connection.fetchval("SELECT COUNT(*) FROM articles") == 1
        assert await connection.fetchval("SELECT COUNT(*) FROM votes") == 3
    finally:
        await connection.close()

    await agora_pg.restart()  # the same database: nothing posted twice, the votes still counted
    await results_until(emulator, poll, {SUPPORT: 2, OPPOSE: 0, UNSURE: 1})
    assert len(emulator.messages_in(seed.news)) == 1
    assert_clean(emulator)


async def test_one_process_per_shard_and_a_killed_one_serves_again_at_once(
    emulator: Emulator, tmp_path: Path, fresh_postgres: str
):
    env = {"DATABASE_URL": fresh_postgres, "DATA_DIR": str(tmp_path / "data"), "SHARD_COUNT": "1", "SHARD_IDS": "0"}
    first = BotProcess(emulator, tmp_path / "first", extra_env=env)
    first.workdir.mkdir()
    try:
        await first.start()
        second = BotProcess(emulator, tmp_path / "second", extra_env={**env, "LOG_LEVEL": "WARNING"})
        started = time.monotonic()
        refused = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=REPO_ROOT, env=second.environment(),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        stdout, stderr = await asyncio.wait_for(refused.communicate(), 20)
        assert refused.returncode != 0 and time.monotonic() - started < 20
        lines = stderr.decode().strip().splitlines()
        assert len(lines) == 1 and "shard 0 of 1" in lines[0] and "SHARD_IDS" in lines[0], stderr.decode()
        assert "Traceback" not in stderr.decode()

        assert first.process is not None
        first.process.kill()  # SIGKILL: no chance to let go of its claim
        await first.process.wait()
        restarted = time.monotonic()
        await first.start(within=20)
        assert time.monotonic() - restarted < 20
    finally:
        await first.stop()
    assert_contract_kept(emulator)


async def test_a_process_whose_shard_was_taken_while_its_lock_connection_was_down_stops(
    emulator: Emulator, tmp_path: Path, fresh_postgres: str
):
    env = {"DATABASE_URL": fresh_postgres, "DATA_DIR": str(tmp_path / "data"), "SHARD_COUNT": "1", "SHARD_IDS": "0"}
    first = BotProcess(emulator, tmp_path, extra_env=env)
    newcomer = await asyncpg.connect(fresh_postgres)
    admin = await asyncpg.connect(fresh_postgres)
    try:
        await first.start()
        holder = await admin.fetchval(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid() LIMIT 1"
        )
        # Another owner queues for the shard first, so it gets the claim the moment the connection ends.
        taking = asyncio.create_task(newcomer.execute("SELECT pg_advisory_lock($1)", advisory_key("shard 0 of 1")))
        for _ in range(200):
            if await admin.fetchval("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"):
                break
            await asyncio.sleep(0.05)
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", holder)
        await asyncio.wait_for(taking, 20)
        assert first.process is not None
        code = await asyncio.wait_for(first.process.wait(), 30)
        assert code != 0
        last = first.log_text().strip().splitlines()[-1]
        assert last.startswith("agora: stopping: this process no longer owns its claim"), first.tail()
        assert "shard 0 of 1" in last and "Traceback" not in first.log_text()
    finally:
        await first.stop()
        await newcomer.close()
        await admin.close()
    assert_contract_kept(emulator)
