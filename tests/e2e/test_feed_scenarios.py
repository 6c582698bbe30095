"""Feed scenarios: the real bot process against the emulated Discord and a feed server on 127.0.0.1.

Checks are driven with /feed check (the background interval is an hour), so nothing waits on a timer.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.fakes.feed_server import FeedServer, serving_feeds

from .driver import BotProcess
from .emulator import Emulator, Reply
from .emulator.state import Channel, Member, Message

REPLY_WAIT = 20.0
FEED_ENV = {"FEED_ALLOW_PRIVATE_ADDRESSES": "true", "FEED_CHECK_INTERVAL_SECONDS": "3600", "FEED_MAX_FAILURES": "2"}


@pytest.fixture
async def flaky_feed() -> AsyncIterator[FeedServer]:
    async with serving_feeds(live_title="Flaky News") as feed:
        yield feed


def moderator(emu: Emulator) -> tuple[Member, Channel]:
    seed = emu.community
    assert seed is not None
    return seed.moderator, seed.general


async def feed_command(emu: Emulator, command: str, **options: Any) -> Reply:
    """Run /feed <command> as the moderator and return its final (ephemeral) answer."""
    member, channel = moderator(emu)
    call = await emu.invoke_slash(member, f"feed {command}", channel=channel, options=options)
    reply = await call.response(within=REPLY_WAIT)
    assert reply.ephemeral
    return reply


def list_text(reply: Reply) -> str:
    return "\n".join([reply.content, *(str(embed.get("description", "")) for embed in reply.embeds)])


def posts_of(emu: Emulator, channel: Channel, title: str) -> list[Message]:
    bot_id = emu.bot_user.id
    return [m for m in emu.messages_in(channel) if m.author_id == bot_id and title in str(m.embeds)]


@pytest.mark.bot_env(**FEED_ENV)
async def test_failing_feed_is_paused_with_a_notice_and_resumes_when_it_recovers(
    emulator: Emulator, agora: BotProcess, flaky_feed: FeedServer
) -> None:
    seed = emulator.community
    assert seed is not None
    flaky_feed.add_item("Before the outage")
    added = await feed_command(emulator, "add", channel=seed.news, url=flaky_feed.live_url)
    assert "Flaky News" in added.content
    await emulator.wait_for(lambda: posts_of(emulator, seed.news, "Before the outage"), REPLY_WAIT, "first item")

    flaky_feed.live_status = 500
    first = await feed_command(emulator, "check")
    assert "1 failed" in first.content and "HTTP 500" in first.content
    assert not [m for m in emulator.messages_in(seed.news) if "paused" in m.content]  # one failure is not enough
    second = await feed_command(emulator, "check")
    assert "(paused)" in second.content
    notice = await emulator.wait_for_message(seed.news, lambda m: "paused" in m.content, within=REPLY_WAIT)
    assert "Flaky News" in notice.content and "2 times" in notice.content and "/feed resume" in notice.content
    assert len(notice.content) < 300

    listed = list_text(await feed_command(emulator, "list"))
    assert "paused" in listed and "HTTP 500" in listed
    match = re.search(r"`(\d+)`", listed)
    assert match is not None
    assert "No active feeds" in (await feed_command(emulator, "check")).content  # paused: not fetched

    flaky_feed.live_status = 200
    flaky_feed.add_item("After the outage")
    resumed = await feed_command(emulator, "resume", subscription=match.group(1))
    assert "Resumed" in resumed.content
    await feed_command(emulator, "check")
    await emulator.wait_for(lambda: posts_of(emulator, seed.news, "After the outage"), REPLY_WAIT, "recovered item")
    await feed_command(emulator, "check")
    assert len(posts_of(emulator, seed.news, "After the outage")) == 1
    assert len(posts_of(emulator, seed.news, "Before the outage")) == 1
    listed = list_text(await feed_command(emulator, "list"))
    assert "✅ active" in listed and "paused" not in listed
    assert len([m for m in emulator.messages_in(seed.news) if "paused" in m.content]) == 1


@pytest.mark.bot_env(**FEED_ENV)
async def test_feed_into_a_forum_makes_one_post_per_article(
    emulator: Emulator, agora: BotProcess, flaky_feed: FeedServer
) -> None:
    seed = emulator.community
    assert seed is not None
    flaky_feed.add_item("First forum story")
    await feed_command(emulator, "add", channel=seed.forum, url=flaky_feed.live_url)
    first = await emulator.wait_for_thread(seed.forum, lambda t: "First forum story" in t.name, within=REPLY_WAIT)

    flaky_feed.add_item("Second forum story")
    await feed_command(emulator, "check")
    second = await emulator.wait_for_thread(seed.forum, lambda t: "Second forum story" in t.name, within=REPLY_WAIT)
    await feed_command(emulator, "check")
    assert sorted(t.id for t in emulator.threads_of(seed.forum)) == sorted([first.id, second.id])
    starter = emulator.messages_in(second)[0]
    assert "Second forum story" in str(starter.embeds)
    assert not emulator.messages_in(seed.forum)  # forum posts are threads, nothing else lands in the forum


# --- every item accounted for: age limit, /feed edit, /feed list and /feed check, /feed preview ----------


async def subscription_choice(emu: Emulator, typed: str) -> str:
    """The value autocomplete offers for /feed edit's subscription, as a moderator picks it."""
    member, channel = moderator(emu)
    completing = await emu.invoke_autocomplete(
        member, "feed edit", channel=channel, focused="subscription", options={"subscription": typed}
    )
    [choice] = await completing.choices()
    return str(choice["value"])


@pytest.mark.bot_env(**FEED_ENV)
async def test_skipped_items_are_explained_and_feed_edit_changes_what_is_posted(
    emulator: Emulator, agora: BotProcess, flaky_feed: FeedServer
) -> None:
    seed = emulator.community
    assert seed is not None
    now = datetime.now(UTC)
    flaky_feed.add_item("Archive story", published=now - timedelta(days=200))
    added = await feed_command(emulator, "add", channel=seed.news, url=flaky_feed.live_url)
    assert "Not posted: the newest article, “Archive story”: too old" in added.content
    assert "90 days" in added.content and "/feed edit" in added.content

    chosen = await subscription_choice(emulator, "Flaky")
    edited = await feed_command(emulator, "edit", subscription=chosen, exclude_words="sport, weather",
                                max_age_days=30)  # fmt: skip
    assert "Updated" in edited.content and "exclude words: sport, weather" in edited.content
    assert "age limit: 30 days" in edited.content

    flaky_feed.add_item("Sport results", published=now)
    flaky_feed.add_item("Last month's budget", published=now - timedelta(days=40))
    flaky_feed.add_item("Council news", published=now, categories=("Politics",))
    checked = await feed_command(emulator, "check")
    assert "1 new article posted" in checked.content
    assert re.search(r"Skipped 2 \(not posted\): 1 (too old|filtered), 1 (too old|filtered)\.", checked.content)
    assert "“Sport results” filtered (excluded word “sport”)" in checked.content
    assert "older than the age limit of 30 days" in checked.content
    await emulator.wait_for(lambda: posts_of(emulator, seed.news, "Council news"), REPLY_WAIT, "the allowed item")
    assert not posts_of(emulator, seed.news, "Sport results") and not posts_of(emulator, seed.news, "Archive story")
    assert not [m for m in emulator.messages_in(seed.news) if "skipped" in m.content.lower()]  # no notices

    listed = list_text(await feed_command(emulator, "list"))
    assert "skipped in the last day:" in listed
    assert "2 too old" in listed and "1 filtered (excluded word “sport”)" in listed
    assert "age limit 30 days" in listed and "except sport, weather" in listed
    again = await feed_command(emulator, "check")
    assert "Skipped" not in again.content  # each item is accounted for once


@pytest.mark.bot_env(**FEED_ENV)
async def test_feed_edit_refuses_bad_values_privately_and_changes_nothing(
    emulator: Emulator, agora: BotProcess, flaky_feed: FeedServer
) -> None:
    seed = emulator.community
    assert seed is not None
    flaky_feed.add_item("First")
    await feed_command(emulator, "add", channel=seed.news, url=flaky_feed.live_url, backfill=0)
    chosen = await subscription_choice(emulator, "")
    refusals = {
        "max_age_days": (-1, "max_age_days must be between 0"),
        "include_words": ("x" * 60, "include_words"),
        "exclude_words": (", ,", "exclude_words"),
        "poll_options": ("only one", "at least 2 options"),
    }
    for option, (value, message) in refusals.items():
        reply = await feed_command(emulator, "edit", subscription=chosen, **{option: value})
        assert message in reply.content, (option, reply.content)
    shown = await feed_command(emulator, "edit", subscription=chosen)
    assert "Settings of" in shown.content and "age limit: 90 days" in shown.content
    assert "include words: none (every item)" in shown.content and "identity: auto" in shown.content
    typed = await feed_command(emulator, "edit", subscription="Flaky News", max_age_days=5)
    assert "Pick the feed from the suggestions" in typed.content


@pytest.mark.bot_env(**FEED_ENV)
async def test_feed_preview_shows_items_as_they_would_look_without_subscribing(
    emulator: Emulator, agora: BotProcess, flaky_feed: FeedServer
) -> None:
    seed = emulator.community
    assert seed is not None
    now = datetime.now(UTC)
    flaky_feed.add_item("Ancient story", published=now - timedelta(days=365))
    flaky_feed.add_item("Styled story", published=now,
                   description="<p style='color:red'>Read <a href='https://news.example/more'>more</a></p>"
                               "<script>alert('x')</script>")  # fmt: skip
    preview = await feed_command(emulator, "preview", url=flaky_feed.live_url)
    assert "**Flaky News**: 2 items in the feed. Nothing was subscribed or posted." in preview.content
    assert "Would be skipped: 1 too old" in preview.content and "“Ancient story” too old" in preview.content
    [embed] = preview.embeds
    assert embed["title"] == "Styled story"
    assert embed["description"] == "Read [more](https://news.example/more)"
    assert "preview" in embed["footer"]["text"]
    assert not emulator.messages_in(seed.news) and not emulator.messages_in(seed.general)
    assert "No feeds yet" in list_text(await feed_command(emulator, "list"))

    refused = await feed_command(emulator, "preview", url="ftp://example.com/feed")
    assert "http" in refused.content.lower()
