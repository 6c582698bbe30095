"""Hostile and careless input, through the real bot process against the emulated Discord.

A poll reference in any form but the accepted ones closes nothing, a 6,000-character option still gets a
reply that fits a message, ids past SQLite's range and attachments Discord will not serve get polite
replies, and @everyone cannot become the moderator role.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from .driver import BotProcess
from .emulator import Emulator, Reply
from .emulator.state import Message
from .helpers import REPLY_WAIT, assert_clean, create_short_poll, moderator_post, post_seed_article

ACCEPTED_FORMS = "`12` or `#12`"
MESSAGE_LIMIT = 2000


def query(bot: BotProcess, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{bot.database_path}?mode=ro", uri=True) as conn:
        return conn.execute(sql).fetchall()


def poll_states(bot: BotProcess) -> dict[int, str]:
    return dict(query(bot, "SELECT id, status FROM polls ORDER BY id"))


async def slash(emu: Emulator, command: str, **options: Any) -> Reply:
    seed = emu.community
    assert seed is not None
    call = await emu.invoke_slash(seed.moderator, command, channel=seed.general, options=options)
    return await call.response(within=REPLY_WAIT)


def assert_polite(reply: Reply, what: str) -> None:
    assert reply.ephemeral, f"{what}: the reply must be private"
    assert reply.content, f"{what}: no reply text"
    assert len(reply.content) <= MESSAGE_LIMIT, f"{what}: {len(reply.content)} characters"
    assert "error id" not in reply.content, f"{what}: an input error must not look like a crash: {reply.content}"


def link(guild_id: int, message: Message) -> str:
    return f"https://discord.com/channels/{guild_id}/{message.channel_id}/{message.id}"


async def test_only_accepted_poll_references_close_or_show_a_poll(emulator: Emulator, agora: BotProcess) -> None:
    seed = emulator.community
    assert seed is not None
    first = await create_short_poll(emulator, "First question?", "3d")
    await create_short_poll(emulator, "Second question?", "3d")
    await create_short_poll(emulator, "Fifth question?", "3d")
    assert poll_states(agora) == {1: "open", 2: "open", 3: "open"}
    other_server = link(seed.guild.id + 1, first)
    refused = ["-1", "1.5", "١", "۱", "１", "#1 please", "1,2", f"{link(seed.guild.id, first)}/2", "+1", "3e0"]
    for reference in refused:
        reply = await slash(emulator, "poll close", poll=reference)
        assert_polite(reply, reference)
        assert ACCEPTED_FORMS in reply.content, f"{reference}: {reply.content}"
    reply = await slash(emulator, "poll close", poll=other_server)
    assert_polite(reply, other_server)
    assert "another server" in reply.content
    for command in ("poll results", "poll export"):
        for reference in ("-1", "١", other_server):
            reply = await slash(emulator, command, poll=reference)
            assert_polite(reply, f"/{command} {reference}")
            assert not reply.files and not reply.embeds, f"/{command} {reference} showed a poll"
    assert poll_states(agora) == {1: "open", 2: "open", 3: "open"}, "a poll was closed by a reference it was not"

    assert_polite(await slash(emulator, "poll close", poll=link(seed.guild.id, first)), "the poll's own link")
    assert_polite(await slash(emulator, "poll close", poll="#2"), "#2")
    assert poll_states(agora) == {1: "closed", 2: "closed", 3: "open"}
    assert_clean(emulator)


async def test_article_references_are_read_the_same_strict_way(emulator: Emulator, agora: BotProcess) -> None:
    seed = emulator.community
    assert seed is not None
    posted = await post_seed_article(emulator)
    for reference in ("-1", "١", "1.5", link(seed.guild.id + 1, posted.message)):
        reply = await slash(emulator, "article summary", article=reference)
        assert_polite(reply, reference)
        assert not reply.embeds, f"{reference} showed an article"
    reply = await slash(emulator, "article summary", article=link(seed.guild.id, posted.message))
    assert reply.embeds, reply.content


@pytest.mark.parametrize("length", [2100, 6000])
async def test_replies_quoting_long_input_fit_a_message(emulator: Emulator, agora: BotProcess, length: int) -> None:
    seed = emulator.community
    assert seed is not None
    long = ("nonsense " * (length // 9 + 1))[:length]
    await create_short_poll(emulator, "A question?", "3d")
    calls = {
        "poll create": {"question": "Q?", "options": "Yes | No", "duration": long},
        "poll close": {"poll": long},
        "poll results": {"poll": long},
        "poll results at": {"poll": "1", "at": long},
        "poll export": {"poll": long},
        "article summary": {"article": long},
    }
    for name, options in calls.items():
        command = " ".join(name.split()[:2])
        reply = await slash(emulator, command, **options)
        assert_polite(reply, f"/{name} with {length} characters")
        assert "nonsense nonsense" in reply.content and "…" in reply.content, reply.content
    assert poll_states(agora) == {1: "open"}
    assert_clean(emulator)


async def test_subscription_references_past_any_id_are_refused(emulator: Emulator, agora: BotProcess) -> None:
    for command in ("feed remove", "feed pause", "feed resume"):
        for reference in (str(2**63), str(10**30), "١", "-1"):
            reply = await slash(emulator, command, subscription=reference)
            assert_polite(reply, f"/{command} {reference}")
    assert_clean(emulator)


async def test_article_post_with_an_attachment_discord_no_longer_serves(emulator: Emulator, agora: BotProcess) -> None:
    seed = emulator.community
    assert seed is not None
    before = agora.row_counts()
    upload = emulator.upload_attachment(seed.general, "article.txt", b"Title\n\nBody.\n\nWhat do you think?\n")
    del emulator.world.attachments[upload.id]  # deleted (or expired) between attaching and the bot's download
    call = await emulator.invoke_slash(
        seed.moderator, "article post", channel=seed.general, options={"channel": seed.news, "file": upload}
    )
    reply = await call.response(within=REPLY_WAIT)
    assert_polite(reply, "an attachment that cannot be downloaded")
    assert "article.txt" in reply.content and "attach the file again" in reply.content
    assert emulator.messages_in(seed.news) == []
    assert agora.row_counts() == before
    # The same file attached again posts normally.
    reply = await moderator_post(emulator, seed.general, seed.news, b"Title\n\nBody.\n\nWhat do you think?\n")
    assert "Posted" in reply.content
    assert_clean(emulator)


async def test_everyone_cannot_become_the_moderator_role(emulator: Emulator, agora: BotProcess) -> None:
    seed = emulator.community
    assert seed is not None
    reply = await slash(emulator, "agora moderator-role", role=seed.guild.everyone)
    assert_polite(reply, "@everyone")
    assert "every member" in reply.content and "Nothing was changed" in reply.content
    assert query(agora, "SELECT moderator_role_id FROM guild_settings WHERE moderator_role_id IS NOT NULL") == []
    # A member without Manage Server is still refused.
    emulator.set_command_permission(seed.guild, "agora", seed.guild.everyone, allowed=True)
    denied = await emulator.invoke_slash(seed.members[0], "agora status", channel=seed.general)
    assert "moderator" in (await denied.response(within=REPLY_WAIT)).content.lower()
    assert_clean(emulator)
