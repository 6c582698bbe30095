"""PostgreSQL stops while the real bot runs on it: members keep voting, a moderator asks for results."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from tests.backends import StoppableServer, selected_backends

from .conftest import assert_contract_kept
from .driver import BotProcess
from .emulator import Emulator
from .helpers import (
    OPPOSE,
    REPLY_WAIT,
    SUPPORT,
    UNSURE,
    assert_clean,
    find_poll_message,
    post_seed_article,
    reference_options,
    results_until,
    vote,
)

pytestmark = pytest.mark.skipif("postgresql" not in selected_backends(), reason="AGORA_TEST_BACKENDS excludes it")


async def log_shows(bot: BotProcess, text: str, within: float = 20.0) -> None:
    for _ in range(int(within / 0.1)):
        if text in bot.log_text():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the log never said {text!r}\n{bot.tail()}")


async def test_an_outage_is_a_polite_reply_one_line_per_service_and_no_lost_vote(
    emulator: Emulator, tmp_path: Path, stoppable_server: StoppableServer
):
    # Feeds are checked every second, so the feed loop meets the outage too.
    env = {"DATABASE_URL": stoppable_server.uri, "DATA_DIR": str(tmp_path / "data"), "FEED_CHECK_INTERVAL_SECONDS": "1"}
    bot = BotProcess(emulator, tmp_path, extra_env=env)
    try:
        await bot.start()
        posted = await post_seed_article(emulator)
        poll = await find_poll_message(emulator, posted.thread)
        seed = emulator.community
        assert seed is not None
        await vote(emulator, seed.members[0], poll, SUPPORT)
        await results_until(emulator, poll, {SUPPORT: 1, OPPOSE: 0, UNSURE: 0})

        stoppable_server.stop()
        for member in seed.members[1:4]:
            await vote(emulator, member, poll, OPPOSE)
        await log_shows(bot, "Cannot write votes")
        options = reference_options(emulator, "poll results", poll, seed.news)
        call = await emulator.invoke_slash(seed.moderator, "poll results", channel=seed.general, options=options)
        reply = await call.response(within=REPLY_WAIT)
        assert reply.ephemeral and "cannot reach its storage" in reply.content and "try again" in reply.content
        assert "error id" not in reply.content, "an outage is not a crash"
        await log_shows(bot, "Checking feeds waits: ")
        await asyncio.sleep(2.5)  # more rounds of every loop while the server is down

        stoppable_server.start()
        await results_until(emulator, poll, {SUPPORT: 1, OPPOSE: 3, UNSURE: 0})  # written once it is back
        # The restart ended the advisory locks' connection: they are taken again, and the process keeps serving.
        await bot.wait_log("The advisory locks are held again", within=20)
        assert bot.running
    finally:
        await bot.stop()
    log = bot.log_text()
    assert "Traceback" not in log, bot.tail(120)
    assert "Cannot open the vote journal" not in log, "DATA_DIR is created for the journal"
    assert len(re.findall(r"Cannot write votes: ", log)) == 1, bot.tail(120)  # once, not per vote or retry
    assert len(re.findall(r"The database accepts votes again", log)) == 1, bot.tail(120)
    assert re.search(r"Command poll results not answered: (PostgreSQL|the connection to PostgreSQL)", log)
    assert len(re.findall(r"Checking feeds waits: ", log)) == 1, bot.tail(120)
    assert len(re.findall(r"advisory locks was lost", log)) == 1, bot.tail(120)  # once, not per reconnect try
    # The poll message's edit comes back as an event whose listener (the discussion's) needs the database.
    assert len(re.findall(r"Discord events are not handled while the database is down", log)) <= 1
    assert len(re.findall(r"Checking feeds resumed: the database is back", log)) == 1, bot.tail(120)
    bot.assert_token_not_logged()
    assert_contract_kept(emulator)
    assert_clean(emulator)
