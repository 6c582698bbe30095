"""The polls cog driven by raw gateway payloads through discord.py's own parser, with a real SQLite file.

Nothing between the gateway JSON and the database is replaced: discord.py parses the payload and
dispatches it, the cog's listener hands it to the PollService, and the vote lands in SQLite.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.client import AgoraBot
from bot.polls.options import PollOption
from bot.polls.service import PollService
from bot.storage import Database
from bot.storage.polls import PollStore
from bot.timeutil import utcnow
from cogs.polls import PollCommands
from tests.builders import fake_bot
from tests.fakes.discord_http import BOT_ID, GUILD_ID, MODERATOR_ID, TEXT_CHANNEL_ID
from tests.fakes.polls import PollsFakeHTTP, poll_guild_payload

OPTIONS = (PollOption("👍", "Yes"), PollOption("👎", "No"))


@pytest.fixture
async def bot(tmp_path):
    agora, agora.fake_http, _ = fake_bot(
        PollsFakeHTTP(), guild=poll_guild_payload(), DATABASE_PATH=str(tmp_path / "a.db")
    )
    await agora._async_setup_hook()  # what login() prepares, without logging in: the loop waits for ready
    agora.db = await Database.open(tmp_path / "a.db")
    agora.polls = PollService(agora, PollStore(agora.db), edit_interval=0.01)
    await agora.polls.start()
    await agora.add_cog(PollCommands(agora))
    yield agora
    await agora.remove_cog("PollCommands")
    await agora.polls.stop()
    await agora.db.close()


async def open_poll(bot: AgoraBot, **kwargs: Any):
    opened = await bot.polls.create_poll(
        bot.get_channel(TEXT_CHANNEL_ID), guild_id=GUILD_ID, question="Agree?", options=OPTIONS,
        created_by=MODERATOR_ID, **kwargs,
    )  # fmt: skip
    return opened.poll


def reaction_payload(poll, user_id: int, emoji: str, *, custom_id: int | None = None) -> dict[str, Any]:
    return {
        "user_id": str(user_id), "channel_id": str(poll.channel_id), "message_id": str(poll.message_id),
        "guild_id": str(GUILD_ID), "emoji": {"id": str(custom_id) if custom_id else None, "name": emoji},
        "burst": False, "type": 0,
    }  # fmt: skip


async def gateway(bot: AgoraBot, event: str, data: dict[str, Any]) -> None:
    """Feed one gateway event to discord.py as the websocket would, and let the listeners run."""
    bot._connection.parsers[event](data)
    await listeners_done(bot)


async def listeners_done(bot: AgoraBot) -> None:
    """Wait for the listener tasks discord.py's dispatch scheduled, then for queued votes to be written."""
    await asyncio.gather(*[task for task in asyncio.all_tasks() if task.get_name().startswith("discord.py:")])
    await bot.polls.drain()


async def votes(bot: AgoraBot, poll_id: int) -> set[tuple[int, str]]:
    rows = await bot.db.fetch_all(
        "SELECT v.voter_id, o.emoji FROM votes v JOIN poll_options o ON o.id = v.option_id WHERE v.poll_id = ?",
        (poll_id,),
    )
    return {(row[0], row[1]) for row in rows}


async def test_raw_reaction_add_and_remove_become_votes(bot):
    poll = await open_poll(bot)
    await gateway(bot, "MESSAGE_REACTION_ADD", reaction_payload(poll, 11, "👍"))
    await gateway(bot, "MESSAGE_REACTION_ADD", reaction_payload(poll, 12, "👎"))
    assert await votes(bot, poll.id) == {(11, "👍"), (12, "👎")}
    await gateway(bot, "MESSAGE_REACTION_REMOVE", reaction_payload(poll, 11, "👍"))
    assert await votes(bot, poll.id) == {(12, "👎")}


async def test_raw_switch_on_an_uncached_message_moves_the_vote(bot):
    poll = await open_poll(bot)
    assert bot._connection._get_message(poll.message_id) is None  # only raw events can see it
    await gateway(bot, "MESSAGE_REACTION_ADD", reaction_payload(poll, 11, "👍"))
    await gateway(bot, "MESSAGE_REACTION_ADD", reaction_payload(poll, 11, "👎"))
    assert await votes(bot, poll.id) == {(11, "👎")}
    assert [(c["emoji"], c["user_id"]) for c in bot.fake_http.sent("remove_reaction")] == [("👍", 11)]


async def test_foreign_and_own_reactions_do_not_count(bot):
    poll = await open_poll(bot)
    await gateway(bot, "MESSAGE_REACTION_ADD", reaction_payload(poll, 11, "🍕"))
    await gateway(bot, "MESSAGE_REACTION_ADD", reaction_payload(poll, BOT_ID, "👍"))
    await gateway(bot, "MESSAGE_REACTION_ADD", reaction_payload(poll, 12, "party", custom_id=7001))
    assert await votes(bot, poll.id) == set()
    removed = [(c["emoji"], c["user_id"]) for c in bot.fake_http.sent("remove_reaction")]
    assert removed == [("🍕", 11), ("party:7001", 12)]


async def test_reactions_on_other_messages_are_ignored(bot):
    poll = await open_poll(bot)
    await gateway(bot, "MESSAGE_REACTION_ADD", {**reaction_payload(poll, 11, "👍"), "message_id": "123"})
    assert await votes(bot, poll.id) == set() and not bot.fake_http.sent("remove_reaction")


async def test_clearing_all_reactions_withdraws_the_votes(bot):
    poll = await open_poll(bot)
    await gateway(bot, "MESSAGE_REACTION_ADD", reaction_payload(poll, 11, "👍"))
    clear = {"channel_id": str(poll.channel_id), "message_id": str(poll.message_id), "guild_id": str(GUILD_ID)}
    await gateway(bot, "MESSAGE_REACTION_REMOVE_ALL", clear)
    assert await votes(bot, poll.id) == set()


async def test_deleting_the_poll_message_closes_the_poll(bot):
    poll = await open_poll(bot)
    delete = {"id": str(poll.message_id), "channel_id": str(poll.channel_id), "guild_id": str(GUILD_ID)}
    await gateway(bot, "MESSAGE_DELETE", delete)
    closed = await bot.polls.poll(poll.id)
    assert (closed.status, closed.closed_reason) == ("closed", "message_deleted")


async def test_ready_reconciles_votes_missed_while_disconnected(bot):
    poll = await open_poll(bot)
    bot.fake_http.react(poll.message_id, "👍", 21)  # reacted while the session was down
    bot.dispatch("ready")
    await listeners_done(bot)
    assert await votes(bot, poll.id) == {(21, "👍")}


async def test_deadline_loop_iteration_closes_due_polls(bot):
    poll = await open_poll(bot, deadline_at=utcnow())
    cog = bot.get_cog("PollCommands")
    await cog.close_due_polls.coro(cog)  # one iteration, as the loop runs it
    assert (await bot.polls.poll(poll.id)).closed_reason == "deadline"


async def test_deleting_the_polls_thread_closes_the_poll_for_that_reason(bot):
    poll = await open_poll(bot)
    delete = {"id": str(poll.channel_id), "guild_id": str(GUILD_ID), "parent_id": "1", "type": 11}
    await gateway(bot, "THREAD_DELETE", delete)
    closed = await bot.polls.poll(poll.id)
    assert (closed.status, closed.closed_reason) == ("closed", "channel_deleted")
