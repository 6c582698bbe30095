"""User scenarios: the real bot process (`python -m bot run`) against the emulated Discord.

A `<poll>` / `<article>` option is filled by meaning from the registered schema (see
`helpers.reference_options`); a command the bot no longer registers fails its test at once.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import AsyncIterator

import pytest

from tests.fakes.feed_server import FeedServer, serving_feeds

from .driver import BotProcess
from .emulator import CommandBlocked, Emulator
from .emulator.state import Channel, Message
from .helpers import (
    OPPOSE,
    REPLY_WAIT,
    SEED_ARTICLE,
    SEED_OPENING,
    SEED_QUESTION,
    SEED_TITLE,
    SUPPORT,
    UNSURE,
    assert_clean,
    create_short_poll,
    final_results,
    find_poll_message,
    moderator_post,
    post_seed_article,
    reference_options,
    reply_text,
    require_command,
    results_until,
    run_twenty_voters,
    shows_count,
    unvote,
    vote,
)

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
async def local_feed() -> AsyncIterator[FeedServer]:
    async with serving_feeds(live_title="Local News") as feed:
        yield feed


def feed_posts(emu: Emulator, channel: Channel, title: str) -> list[Message]:
    bot_id = emu.bot_user.id
    return [m for m in emu.messages_in(channel) if m.author_id == bot_id and title in (m.content + str(m.embeds))]


@pytest.mark.bot_env(FEED_ALLOW_PRIVATE_ADDRESSES="true", FEED_CHECK_INTERVAL_SECONDS="3600")
async def test_feed_items_are_posted_once_across_restarts(
    emulator: Emulator, agora: BotProcess, local_feed: FeedServer
) -> None:
    require_command(emulator, "feed add")
    seed = emulator.community
    assert seed is not None
    local_feed.add_item("First local story")
    call = await emulator.invoke_slash(
        seed.moderator, "feed add", channel=seed.general, options={"channel": seed.news, "url": local_feed.live_url}
    )
    assert (await call.response(within=REPLY_WAIT)).ephemeral
    await emulator.wait_for(lambda: feed_posts(emulator, seed.news, "First local story"), REPLY_WAIT, "first item")

    local_feed.add_item("Second local story")
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
