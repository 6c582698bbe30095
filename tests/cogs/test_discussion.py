"""The discussion listeners, fed real discord.py messages and raw events as the gateway would build them."""

from datetime import UTC, datetime

import discord
import pytest

from bot.discussion import DiscussionService
from bot.storage.responses import ResponseStore
from cogs.discussion import DiscussionListener
from tests.fakes.discord_http import (
    BOT_ID,
    GUILD_ID,
    MEMBER_ID,
    TEXT_CHANNEL_ID,
    add_guild,
    message_payload,
    thread_payload,
    user_payload,
)
from tests.summaries.factories import Seed, open_database

THREAD_ID = 6001
POSTED = "2026-11-01T12:05:00.000000+00:00"
# discord.py takes a message's time from its snowflake id, as Discord means it to.
FIRST = discord.utils.time_snowflake(datetime(2026, 11, 1, 12, 5, tzinfo=UTC))


@pytest.fixture
async def listener(tmp_path):
    client = discord.Client(intents=discord.Intents(guilds=True))
    guild = add_guild(client)
    thread = discord.Thread(
        guild=guild,
        state=client._connection,
        data=thread_payload(THREAD_ID, TEXT_CHANNEL_ID, "Bike lanes", POSTED),
    )
    guild._add_thread(thread)
    db = await open_database(tmp_path / "agora.db")
    seed = Seed(db)
    await seed.delivery(await seed.article(), guild_id=GUILD_ID, channel_id=TEXT_CHANNEL_ID, thread_id=THREAD_ID)
    yield DiscussionListener(DiscussionService(ResponseStore(db), store_text=True)), client, guild, db
    await db.close()


def message(client, channel, message_id, *, author=MEMBER_ID, bot=False, kind=0, content="Good point."):
    author_data = user_payload(author, "someone", bot=bot)
    data = message_payload(message_id, channel.id, author_data, content=content, kind=kind, timestamp=POSTED)
    return discord.Message(state=client._connection, channel=channel, data=data)


async def stored(db):
    return [
        tuple(row)
        for row in await db.fetch_all(
            "SELECT message_id, author_id, created_at, edited_at, length, content FROM responses ORDER BY message_id"
        )
    ]


async def test_member_reply_in_the_thread_is_stored(listener):
    cog, client, guild, db = listener
    await cog.on_message(message(client, guild.get_thread(THREAD_ID), FIRST))
    assert await stored(db) == [(FIRST, MEMBER_ID, "2026-11-01T12:05:00.000+00:00", None, 11, "Good point.")]


async def test_thread_missing_from_the_cache_still_counts(listener):
    cog, client, guild, db = listener
    partial = discord.PartialMessageable(state=client._connection, id=THREAD_ID, guild_id=GUILD_ID)
    await cog.on_message(message(client, partial, FIRST))
    assert [row[0] for row in await stored(db)] == [FIRST]


@pytest.mark.parametrize(
    "make",
    [
        lambda client, guild: message(client, guild.get_thread(THREAD_ID), FIRST, author=BOT_ID, bot=True),
        lambda client, guild: message(client, guild.get_thread(THREAD_ID), FIRST, kind=6),  # "pinned a message"
        lambda client, guild: message(client, guild.get_channel(TEXT_CHANNEL_ID), FIRST),
    ],
    ids=["bot", "system message", "not a thread"],
)
async def test_messages_that_are_not_replies_are_ignored(listener, make):
    cog, client, guild, db = listener
    await cog.on_message(make(client, guild))
    assert await stored(db) == []


async def test_edit_event_updates_the_response(listener):
    cog, client, guild, db = listener
    thread = guild.get_thread(THREAD_ID)
    await cog.on_message(message(client, thread, FIRST))
    edited = message(client, thread, FIRST, content="Better point.")
    data = {
        "id": str(FIRST),
        "channel_id": str(THREAD_ID),
        "guild_id": str(GUILD_ID),
        "content": "Better point.",
        "edited_timestamp": "2026-11-01T12:07:00.000000+00:00",
    }
    await cog.on_raw_message_edit(discord.RawMessageUpdateEvent(data, edited))
    assert await stored(db) == [
        (FIRST, MEMBER_ID, "2026-11-01T12:05:00.000+00:00", "2026-11-01T12:07:00.000+00:00", 13, "Better point.")
    ]


async def test_link_preview_update_is_not_an_edit(listener):
    cog, client, guild, db = listener
    thread = guild.get_thread(THREAD_ID)
    await cog.on_message(message(client, thread, FIRST))
    data = {
        "id": str(FIRST),
        "channel_id": str(THREAD_ID),
        "guild_id": str(GUILD_ID),
        "content": "",
        "edited_timestamp": None,
        "embeds": [{"type": "link"}],
    }
    await cog.on_raw_message_edit(discord.RawMessageUpdateEvent(data, message(client, thread, FIRST)))
    assert (await stored(db))[0][3:] == (None, 11, "Good point.")


async def test_delete_events_delete_responses(listener):
    cog, client, guild, db = listener
    thread = guild.get_thread(THREAD_ID)
    for message_id in (FIRST, FIRST + 1, FIRST + 2):
        await cog.on_message(message(client, thread, message_id))
    await cog.on_raw_message_delete(
        discord.RawMessageDeleteEvent({"id": str(FIRST), "channel_id": str(THREAD_ID), "guild_id": str(GUILD_ID)})
    )
    assert [row[0] for row in await stored(db)] == [FIRST + 1, FIRST + 2]
    await cog.on_raw_bulk_message_delete(
        discord.RawBulkMessageDeleteEvent(
            {"ids": [str(FIRST + 1), str(FIRST + 2)], "channel_id": str(THREAD_ID), "guild_id": str(GUILD_ID)}
        )
    )
    assert await stored(db) == []


async def test_thread_delete_event_closes_the_discussion(listener):
    cog, client, guild, db = listener
    await cog.on_raw_thread_delete(
        discord.RawThreadDeleteEvent(
            {"id": str(THREAD_ID), "type": 11, "guild_id": str(GUILD_ID), "parent_id": str(TEXT_CHANNEL_ID)}
        )
    )
    assert await db.fetch_value("SELECT discussion_open FROM deliveries WHERE thread_id = ?", (THREAD_ID,)) == 0


async def test_edit_outside_threads_is_ignored(listener):
    cog, client, guild, db = listener
    thread, channel = guild.get_thread(THREAD_ID), guild.get_channel(TEXT_CHANNEL_ID)
    await cog.on_message(message(client, thread, FIRST))
    # The same id seen in a plain channel (a fake, to show the check runs before any database write).
    data = {
        "id": str(FIRST),
        "channel_id": str(TEXT_CHANNEL_ID),
        "guild_id": str(GUILD_ID),
        "content": "x",
        "edited_timestamp": "2026-11-01T12:07:00.000000+00:00",
    }
    await cog.on_raw_message_edit(discord.RawMessageUpdateEvent(data, message(client, channel, FIRST, content="x")))
    assert (await stored(db))[0][3:] == (None, 11, "Good point.")
