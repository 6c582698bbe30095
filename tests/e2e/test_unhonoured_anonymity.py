"""An anonymity rule Agora cannot honour is shown to moderators (real bot, emulated Discord).

Anonymous article polls need Manage Messages (each reaction is removed once counted). When the bot loses it
after a subscription (or the server's poll defaults) asked for anonymity, the article's poll opens without
anonymity, its footer saying nothing of it, and `/feed list` and `agora check` name the subscription.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.feed_server import FeedServer, serving_feeds

from .driver import BotProcess
from .emulator import Emulator
from .helpers import FEED_ENV, command, find_poll_message, footer, problems, run_check

UNHONOURED = "its articles' polls should be anonymous (the server's poll defaults), but I lack Manage Messages"


@pytest.fixture
async def news_feed() -> AsyncIterator[FeedServer]:
    async with serving_feeds("Quiet News") as feed:
        yield feed


@pytest.mark.bot_env(**FEED_ENV)
async def test_a_lost_manage_messages_is_shown_in_feed_list_and_agora_check(
    emulator: Emulator, agora: BotProcess, news_feed: FeedServer
) -> None:
    emu = emulator
    seed = emu.community
    assert seed is not None
    assert "anonymous" in (await command(emu, "agora poll-defaults", anonymous=True)).lower()
    news_feed.add_item("Russia and France sign a partnership")
    await command(emu, "feed add", url=news_feed.live_url, channel=seed.news)
    first = await find_poll_message(emu, await emu.wait_for_thread(seed.news))
    assert "Anonymous" in footer(first), footer(first)
    listed = await command(emu, "feed list")
    assert "should be anonymous" not in listed, listed
    _, output = await run_check(agora)
    assert not any("anonymous" in line for line in problems(output)), output

    await emu.set_overwrite(seed.news, seed.bot_role, deny=("manage_messages",))
    news_feed.add_item("The partnership, a week later")
    await command(emu, "feed check")
    thread = await emu.wait_for_thread(seed.news, lambda t: "week later" in t.name)
    second = await find_poll_message(emu, thread)
    assert "Anonymous" not in footer(second), footer(second)  # no claim it cannot keep

    listed = await command(emu, "feed list")
    assert f"⚠️ {UNHONOURED}" in listed, listed
    _, output = await run_check(agora)
    unhonoured = [line for line in problems(output) if UNHONOURED in line]
    assert len(unhonoured) == 1 and f"#{seed.news.name}" in unhonoured[0] and "Quiet News" in unhonoured[0], output
    # The first poll, opened anonymous, goes on counting: its reactions now stay on its message.
    [exposed] = [line for line in problems(output) if "the poll is anonymous" in line]
    assert "open poll #1" in exposed, output
    bot_id = emu.bot_user.id
    said = [m for m in emu.world.messages.values() if m.author_id == bot_id]
    assert not any(m.mentions or m.mention_roles or m.mention_everyone for m in said)
