"""`agora run` with DATABASE_URL=postgresql://… : the real bot process against the emulator and a real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tests.backends import PostgresServer, selected_backends

from .conftest import assert_contract_kept
from .driver import BotProcess
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
