"""User scenarios: the real bot process (`python -m bot run`) against the emulated Discord.

Interfaces assumed for commands that are not built yet (adjust here if the cogs choose other names):
  /poll results <poll>   /poll export <poll>   /poll create <question> <options> <duration> [channel]
  /feed add <channel> <url>   /feed check   /article summary <article>
A `<poll>` / `<article>` option is filled by meaning from the registered schema (see `reference_options`).
Tests of features that are not registered yet xfail at once instead of waiting for timeouts; remove a test's
xfail mark once its feature is built.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .driver import BotProcess
from .emulator import CommandBlocked, Emulator, Reply
from .emulator.state import Channel, Member, Message
from .feed_server import LocalFeed, serving_feed

SEED_ARTICLE = Path(__file__).resolve().parents[1] / "fixtures" / "articles" / "seed_article.txt"
SEED_TITLE = "Russia joins forces with France in fight against ISIS"
SEED_QUESTION = "what do you personally think about this partnership?"
SEED_OPENING = "During the last couple of days, there have been numerous police raids"
SUPPORT, OPPOSE, UNSURE = "\N{THUMBS UP SIGN}", "\N{THUMBS DOWN SIGN}", "\N{SHRUG}"
REPLY_WAIT = 20.0


# ---- helpers ---------------------------------------------------------------------------------------


@dataclass
class PostedArticle:
    message: Message
    thread: Channel
    prompt: Message
    reply: Reply


def require_command(emu: Emulator, path: str) -> None:
    """xfail at once when the bot has not registered this (sub)command: the feature is not built yet."""
    names = path.split()
    options: list[dict[str, Any]] = emu.registered_commands
    for name in names:
        found = next((c for c in options if c["name"] == name), None)
        if found is None:
            pytest.xfail(f"/{path} is not registered by the bot yet")
        options = found.get("options") or []


def command_options(emu: Emulator, path: str) -> list[dict[str, Any]]:
    names = path.split()
    options: list[dict[str, Any]] = emu.registered_commands
    for name in names:
        options = next(c for c in options if c["name"] == name).get("options") or []
    return options


def reference_options(emu: Emulator, path: str, message: Message, channel: Channel) -> dict[str, Any]:
    """Fill a command's options that point at a poll/article (required ones, or ones named so), by type and name."""
    guild_id = message.guild_id
    link = f"https://discord.com/channels/{guild_id}/{message.channel_id}/{message.id}"
    values: dict[str, Any] = {}
    for opt in command_options(emu, path):
        named = any(w in opt["name"] for w in ("poll", "article", "message"))
        if not (opt.get("required") or named):
            continue
        name, kind = opt["name"], opt["type"]
        if kind == 7:
            values[name] = channel
        elif kind == 4:
            values[name] = message.id
        elif kind == 3:
            values[name] = link if any(w in name for w in ("link", "url", "message")) else str(message.id)
    return values


def reply_text(reply: Reply) -> str:
    """Everything a user reads in a reply: content, embed titles, descriptions and fields."""
    parts = [reply.content]
    for embed in reply.embeds:
        parts += [embed.get("title") or "", embed.get("description") or ""]
        parts += [f"{f.get('name')}: {f.get('value')}" for f in embed.get("fields") or []]
    return "\n".join(parts)


def shows_count(text: str, label: str, count: int) -> bool:
    """True when `label` (an option label or emoji) is followed closely by exactly `count`."""
    return re.search(rf"{re.escape(label)}[^\n\d]{{0,60}}\b{count}\b", text) is not None


async def moderator_post(emu: Emulator, community_channel: Channel, target: Channel, data: bytes) -> Reply:
    seed = emu.community
    assert seed is not None
    upload = emu.upload_attachment(community_channel, "article.txt", data)
    call = await emu.invoke_slash(
        seed.moderator, "article post", channel=community_channel, options={"channel": target, "file": upload}
    )
    return await call.response(within=REPLY_WAIT)


async def post_seed_article(emu: Emulator, target: Channel | None = None) -> PostedArticle:
    seed = emu.community
    assert seed is not None
    target = target or seed.news
    reply = await moderator_post(emu, seed.general, target, SEED_ARTICLE.read_bytes())
    bot_id = emu.bot_user.id
    message = await emu.wait_for_message(target, lambda m: m.author_id == bot_id and bool(m.embeds))
    thread = await emu.wait_for_thread(target)
    prompt = await emu.wait_for_message(thread, lambda m: m.author_id == bot_id and "?" in m.content)
    return PostedArticle(message, thread, prompt, reply)


async def find_poll_message(emu: Emulator, where: Channel, options: int = 3) -> Message:
    """The bot's message carrying one bot reaction per poll option."""
    bot_id = emu.bot_user.id

    def is_poll(m: Message) -> bool:
        mine = [users for users in emu.reactions_on(m).values() if bot_id in users]
        return m.author_id == bot_id and len(mine) >= options

    return await emu.wait_for_message(where, is_poll, within=REPLY_WAIT)


async def vote(emu: Emulator, member: Member, poll: Message, emoji: str) -> None:
    await emu.user_add_reaction(member, poll.channel_id, poll.id, emoji)


async def unvote(emu: Emulator, member: Member, poll: Message, emoji: str) -> None:
    await emu.user_remove_reaction(member, poll.channel_id, poll.id, emoji)


async def run_twenty_voters(emu: Emulator, poll: Message) -> dict[str, int]:
    """20 members vote; two switch from Support to Oppose; two withdraw. Returns the final counts."""
    seed = emu.community
    assert seed is not None
    voters = seed.members[:20]
    for i, member in enumerate(voters):
        await vote(emu, member, poll, SUPPORT if i < 10 else OPPOSE if i < 16 else UNSURE)
    for member in voters[:2]:  # switch: add the new reaction, then take the old one off
        await vote(emu, member, poll, OPPOSE)
        await unvote(emu, member, poll, SUPPORT)
    for member in voters[16:18]:  # withdraw
        await unvote(emu, member, poll, UNSURE)
    return {SUPPORT: 8, OPPOSE: 8, UNSURE: 2}


async def results_until(emu: Emulator, poll: Message, expected: dict[str, int], within: float = REPLY_WAIT) -> str:
    """Ask /poll results until it shows the expected counts (votes are processed asynchronously)."""
    seed = emu.community
    assert seed is not None
    deadline = time.monotonic() + within
    text = ""
    while time.monotonic() < deadline:
        options = reference_options(emu, "poll results", poll, seed.news)
        call = await emu.invoke_slash(seed.moderator, "poll results", channel=seed.general, options=options)
        text = reply_text(await call.response(within=REPLY_WAIT))
        if all(shows_count(text, emoji, n) for emoji, n in expected.items()):
            return text
    raise AssertionError(f"/poll results never showed {expected}; last reply:\n{text}")


def assert_clean(emu: Emulator) -> None:
    assert emu.unknown_routes == [], f"the bot called routes the emulator lacks: {emu.unknown_routes}"


# ---- 1. the seed article ---------------------------------------------------------------------------


async def test_moderator_posts_seed_article_with_embed_thread_and_prompt(emulator: Emulator, agora: BotProcess) -> None:
    seed = emulator.community
    assert seed is not None
    posted = await post_seed_article(emulator)

    assert posted.reply.ephemeral and SEED_TITLE in posted.reply.content
    assert emulator.messages_in(seed.general) == [], "the confirmation must be private"
    embed = posted.message.embeds[0]
    assert embed["title"] == SEED_TITLE
    assert embed["description"].startswith(SEED_OPENING)
    assert "Political Lore" in str(embed), "the sign-off names the source"
    assert "If you liked this article" not in embed["description"]
    assert posted.thread.id == posted.message.id and posted.thread.name == SEED_TITLE
    assert SEED_QUESTION in posted.prompt.content.lower()
    assert [m.id for m in emulator.messages_in(seed.news)] == [posted.message.id], "posted exactly once"
    assert_clean(emulator)


async def test_status_counts_the_posted_article(emulator: Emulator, agora: BotProcess) -> None:
    seed = emulator.community
    assert seed is not None
    await post_seed_article(emulator)
    call = await emulator.invoke_slash(seed.moderator, "agora status", channel=seed.general)
    reply = await call.response(within=REPLY_WAIT)
    assert reply.ephemeral and shows_count(reply_text(reply), "Articles", 1)
    assert_clean(emulator)


async def test_seed_article_into_forum_is_one_post(emulator: Emulator, agora: BotProcess) -> None:
    seed = emulator.community
    assert seed is not None
    reply = await moderator_post(emulator, seed.general, seed.forum, SEED_ARTICLE.read_bytes())
    assert reply.ephemeral
    post = await emulator.wait_for_thread(seed.forum)
    starter = emulator.messages_in(post)[0]
    assert post.name == SEED_TITLE and starter.id == post.id and starter.embeds[0]["title"] == SEED_TITLE
    prompt = await emulator.wait_for_message(post, lambda m: SEED_QUESTION in m.content.lower())
    assert prompt.author_id == emulator.bot_user.id
    assert_clean(emulator)


async def test_seed_article_poll_votes_results_and_export(emulator: Emulator, agora: BotProcess) -> None:
    posted = await post_seed_article(emulator)
    require_command(emulator, "poll results")
    poll = await find_poll_message(emulator, posted.thread)
    expected = await run_twenty_voters(emulator, poll)
    await results_until(emulator, poll, expected)

    require_command(emulator, "poll export")
    seed = emulator.community
    assert seed is not None
    options = reference_options(emulator, "poll export", poll, seed.news)
    call = await emulator.invoke_slash(seed.moderator, "poll export", channel=seed.general, options=options)
    reply = await call.response(within=REPLY_WAIT)
    csv_files = [data for name, data in reply.files if name.endswith(".csv")]
    assert reply.ephemeral and csv_files, f"expected a CSV attachment, got {reply.files}"
    assert csv_counts(csv_files[0].decode("utf-8-sig"), expected) == expected
    assert_clean(emulator)


def csv_counts(text: str, expected: dict[str, int]) -> dict[str, int]:
    """Votes per option from an export: either one row per option with a count, or one row per vote."""
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows, "the CSV is empty"
    count_column = next((c for c in rows[0] if c and c.lower() in ("count", "votes", "vote_count")), None)
    counts: dict[str, int] = {}
    for emoji in expected:
        matching = [r for r in rows if any(emoji in (v or "") for v in r.values())]
        counts[emoji] = sum(int(r[count_column]) for r in matching) if count_column else len(matching)
    return counts


# ---- 2. feeds --------------------------------------------------------------------------------------


@pytest.fixture
async def local_feed() -> AsyncIterator[LocalFeed]:
    async with serving_feed("Local News") as feed:
        yield feed


def feed_posts(emu: Emulator, channel: Channel, title: str) -> list[Message]:
    bot_id = emu.bot_user.id
    return [m for m in emu.messages_in(channel) if m.author_id == bot_id and title in (m.content + str(m.embeds))]


@pytest.mark.bot_env(FEED_ALLOW_PRIVATE_ADDRESSES="true", FEED_CHECK_INTERVAL_SECONDS="3600")
async def test_feed_items_are_posted_once_across_restarts(
    emulator: Emulator, agora: BotProcess, local_feed: LocalFeed
) -> None:
    require_command(emulator, "feed add")
    seed = emulator.community
    assert seed is not None
    local_feed.add("First local story")
    call = await emulator.invoke_slash(
        seed.moderator, "feed add", channel=seed.general, options={"channel": seed.news, "url": local_feed.url}
    )
    assert (await call.response(within=REPLY_WAIT)).ephemeral
    await emulator.wait_for(lambda: feed_posts(emulator, seed.news, "First local story"), REPLY_WAIT, "first item")

    local_feed.add("Second local story")
    await feed_check(emulator)
    await emulator.wait_for(lambda: feed_posts(emulator, seed.news, "Second local story"), REPLY_WAIT, "new item")
    await feed_check(emulator)
    await agora.restart()
    await feed_check(emulator)
    assert len(feed_posts(emulator, seed.news, "First local story")) == 1
    assert len(feed_posts(emulator, seed.news, "Second local story")) == 1
    assert_clean(emulator)


async def feed_check(emu: Emulator) -> None:
    """/feed check, waiting for its (final) answer so every fetch it triggered has finished."""
    require_command(emu, "feed check")
    seed = emu.community
    assert seed is not None
    call = await emu.invoke_slash(seed.moderator, "feed check", channel=seed.general, options={})
    await call.response(within=REPLY_WAIT)


# ---- 3. votes while the bot is offline --------------------------------------------------------------


async def test_votes_cast_while_bot_is_offline_are_counted(emulator: Emulator, agora: BotProcess) -> None:
    seed = emulator.community
    assert seed is not None
    posted = await post_seed_article(emulator)
    require_command(emulator, "poll results")
    poll = await find_poll_message(emulator, posted.thread)
    readers = seed.members
    for member in readers[:4]:
        await vote(emulator, member, poll, SUPPORT)
    await results_until(emulator, poll, {SUPPORT: 4, OPPOSE: 0, UNSURE: 0})

    await agora.stop()
    await unvote(emulator, readers[0], poll, SUPPORT)  # withdrawn while offline
    await vote(emulator, readers[1], poll, OPPOSE)  # switched while offline
    await unvote(emulator, readers[1], poll, SUPPORT)
    for member in readers[4:7]:
        await vote(emulator, member, poll, UNSURE)  # new while offline
    await agora.start()
    await results_until(emulator, poll, {SUPPORT: 2, OPPOSE: 1, UNSURE: 3})
    assert_clean(emulator)


# ---- 4. poll duration ---------------------------------------------------------------------------


def create_poll_options(emu: Emulator, question: str, duration: str) -> dict[str, Any]:
    seed = emu.community
    assert seed is not None
    wanted = {"question": question, "options": f"{SUPPORT} Yes | {OPPOSE} No", "duration": duration}
    values: dict[str, Any] = {}
    for opt in command_options(emu, "poll create"):
        if opt["name"] in wanted:
            values[opt["name"]] = wanted[opt["name"]]
        elif opt["type"] == 7:
            values[opt["name"]] = seed.news
    return values


async def create_short_poll(emu: Emulator, question: str, duration: str) -> Message:
    seed = emu.community
    assert seed is not None
    require_command(emu, "poll create")
    options = create_poll_options(emu, question, duration)
    call = await emu.invoke_slash(seed.moderator, "poll create", channel=seed.news, options=options)
    await call.response(within=REPLY_WAIT)
    return await emu.wait_for_message(seed.news, lambda m: question in str(m.embeds) + m.content, within=REPLY_WAIT)


def final_results(emu: Emulator, channel: Channel, question: str, after: int) -> Callable[[], Message | None]:
    def find() -> Message | None:
        for m in emu.messages_in(channel):
            text = (m.content + str(m.embeds)).lower()
            if m.id > after and question.lower() in text and ("final" in text or "closed" in text):
                return m
        return None

    return find


async def test_short_poll_closes_on_time_even_across_a_restart(emulator: Emulator, agora: BotProcess) -> None:
    seed = emulator.community
    assert seed is not None
    started = time.monotonic()
    first = await create_short_poll(emulator, "Quick question one", "3s")
    await vote(emulator, seed.members[0], first, SUPPORT)
    closed = await emulator.wait_for(
        final_results(emulator, seed.news, "Quick question one", first.id), 15, "final results"
    )
    assert 2.5 <= time.monotonic() - started <= 10, "closed too early or too late"
    assert SUPPORT in closed.content + str(closed.embeds)

    second = await create_short_poll(emulator, "Quick question two", "3s")
    deadline = time.monotonic() + 3
    await agora.stop()
    await asyncio.sleep(max(0.0, deadline - time.monotonic()) + 1)  # let the deadline pass while offline
    await agora.start()
    await emulator.wait_for(final_results(emulator, seed.news, "Quick question two", second.id), 15, "final results")
    assert_clean(emulator)


# ---- 5. refusals leave the database unchanged ------------------------------------------------------------


async def test_non_moderator_cannot_even_invoke_moderator_commands(emulator: Emulator, agora: BotProcess) -> None:
    seed = emulator.community
    assert seed is not None
    upload = emulator.upload_attachment(seed.general, "a.txt", SEED_ARTICLE.read_bytes())
    with pytest.raises(CommandBlocked):
        await emulator.invoke_slash(
            seed.members[0], "article post", channel=seed.general, options={"channel": seed.news, "file": upload}
        )
    with pytest.raises(CommandBlocked):
        await emulator.invoke_slash(seed.members[0], "agora status", channel=seed.general)


async def test_non_moderator_refused_privately_when_admin_opens_the_commands(
    emulator: Emulator, agora: BotProcess
) -> None:
    seed = emulator.community
    assert seed is not None
    for command in ("article", "agora"):
        emulator.set_command_permission(seed.guild, command, seed.everyone, allowed=True)
    before = agora.row_counts()
    upload = emulator.upload_attachment(seed.general, "a.txt", SEED_ARTICLE.read_bytes())
    call = await emulator.invoke_slash(
        seed.members[0], "article post", channel=seed.general, options={"channel": seed.news, "file": upload}
    )
    reply = await call.response(within=REPLY_WAIT)
    assert reply.ephemeral and "moderator" in reply.content.lower()
    status = await emulator.invoke_slash(seed.members[0], "agora status", channel=seed.general)
    refused = await status.response(within=REPLY_WAIT)
    assert refused.ephemeral and "moderator" in refused.content.lower() and not refused.embeds
    assert emulator.messages_in(seed.news) == [] and emulator.threads_of(seed.news) == []
    assert agora.row_counts() == before
    assert_clean(emulator)


async def test_moderator_role_lets_its_members_use_moderator_commands(emulator: Emulator, agora: BotProcess) -> None:
    seed = emulator.community
    assert seed is not None
    editors = await emulator.add_role(seed.guild, "Editors")
    editor = seed.members[1]
    await emulator.set_member_roles(editor, [editors])
    emulator.set_command_permission(seed.guild, "agora", editors, allowed=True)
    denied = await emulator.invoke_slash(editor, "agora status", channel=seed.general)
    assert "moderator" in (await denied.response(within=REPLY_WAIT)).content.lower()

    call = await emulator.invoke_slash(
        seed.moderator, "agora moderator-role", channel=seed.general, options={"role": editors}
    )
    assert (await call.response(within=REPLY_WAIT)).ephemeral
    allowed = await emulator.invoke_slash(editor, "agora status", channel=seed.general)
    reply = await allowed.response(within=REPLY_WAIT)
    assert reply.ephemeral and reply.embeds and reply.embeds[0]["title"] == "Agora status"
    assert_clean(emulator)


@pytest.mark.bot_env(ARTICLE_MAX_BYTES="4096")
async def test_bad_article_inputs_get_private_errors_and_change_nothing(emulator: Emulator, agora: BotProcess) -> None:
    seed = emulator.community
    assert seed is not None
    bad_files = {
        "oversized": b"Title\n\n" + b"A long paragraph. " * 400,
        "binary": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        "empty": b"   \n\n",
        "date only": b"Today: Monday, 1 January 2024\n\n",
    }
    before = agora.row_counts()
    for what, data in bad_files.items():
        reply = await moderator_post(emulator, seed.general, seed.news, data)
        assert reply.ephemeral and reply.content, f"{what}: expected a private error"
        assert "error id" not in reply.content, f"{what}: an input error must not look like a crash: {reply.content}"
    unknown = await emulator.invoke_slash(
        seed.moderator,
        "article post",
        channel=seed.general,
        raw_options=[
            {
                "name": "post",
                "type": 1,
                "options": [
                    {"name": "channel", "type": 7, "value": "123456789012345678"},
                    {"name": "file", "type": 11, "value": "123456789012345679"},
                ],
            }
        ],
    )
    assert (await unknown.response(within=REPLY_WAIT)).ephemeral
    assert emulator.messages_in(seed.news) == []
    assert agora.row_counts() == before
    assert_clean(emulator)


async def test_missing_permission_and_duplicate_post_are_refused(emulator: Emulator, agora: BotProcess) -> None:
    seed = emulator.community
    assert seed is not None
    await emulator.set_overwrite(seed.news, seed.bot, deny=("embed_links",))
    before = agora.row_counts()
    refused = await moderator_post(emulator, seed.general, seed.news, SEED_ARTICLE.read_bytes())
    assert refused.ephemeral and "Embed Links" in refused.content
    assert emulator.messages_in(seed.news) == [] and agora.row_counts() == before

    await emulator.set_overwrite(seed.news, seed.bot, allow=("embed_links",))
    await post_seed_article(emulator)
    after_post = agora.row_counts()
    again = await moderator_post(emulator, seed.general, seed.news, SEED_ARTICLE.read_bytes())
    assert again.ephemeral and "already" in again.content.lower()
    assert len(emulator.messages_in(seed.news)) == 1 and agora.row_counts() == after_post
    assert_clean(emulator)


# ---- shutting down ---------------------------------------------------------------------------------


async def test_sigterm_right_after_votes_exits_cleanly_and_keeps_them(emulator: Emulator, agora: BotProcess) -> None:
    """README: on SIGTERM Agora closes the gateway, writes what is queued and closes the database."""
    seed = emulator.community
    assert seed is not None
    posted = await post_seed_article(emulator)
    poll = await find_poll_message(emulator, posted.thread)
    for member in seed.members[:5]:
        await vote(emulator, member, poll, SUPPORT)
    code = await agora.stop()
    assert agora.hung_on_stop == 0, f"the bot did not exit after SIGTERM\n{agora.tail()}"
    assert code == 0 and "Shut down cleanly" in agora.log_text()
    assert agora.row_counts()["votes"] == 5


# ---- 6. discussion summary ------------------------------------------------------------------------


async def test_thread_replies_edits_and_deletes_show_in_article_summary(emulator: Emulator, agora: BotProcess) -> None:
    seed = emulator.community
    assert seed is not None
    posted = await post_seed_article(emulator)
    require_command(emulator, "article summary")
    alice, bob, carol = seed.members[:3]
    first = await emulator.user_send_message(alice, posted.thread, "I think it will help.")
    await emulator.user_send_message(bob, posted.thread, "Not so sure.", reply_to=first)
    doomed = await emulator.user_send_message(carol, posted.thread, "Off-topic spam")
    await emulator.user_edit_message(first, "I think it will help a lot.")
    await emulator.user_delete_message(doomed)

    deadline = time.monotonic() + REPLY_WAIT
    text = ""
    while time.monotonic() < deadline:
        options = reference_options(emulator, "article summary", posted.message, seed.news)
        call = await emulator.invoke_slash(seed.moderator, "article summary", channel=seed.general, options=options)
        text = reply_text(await call.response(within=REPLY_WAIT))
        if shows_count(text.lower(), "replies", 2) and shows_count(text.lower(), "participants", 2):
            break
    assert shows_count(text.lower(), "replies", 2), text
    assert shows_count(text.lower(), "participants", 2), text
    assert_clean(emulator)
