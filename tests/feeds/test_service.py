"""The feed service with its real store, fetcher and publisher; Discord's REST faked at the edge."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import discord
import pytest

from bot.client import AgoraBot
from bot.feeds.fetcher import FeedFetcher
from bot.feeds.service import FeedError, FeedService
from bot.polls.options import PollOption
from bot.publishing import ArticlePublisher
from bot.shards import Shards, shard_of
from bot.storage import Database
from bot.storage.articles import ArticleStore
from bot.storage.backends import open_database
from bot.storage.feeds import MAX_SKIP_ROWS_PER_CYCLE, AlreadySubscribed, FeedStore, SettingsChange
from tests.builders import fake_bot
from tests.fakes.discord_http import (
    FORUM_CHANNEL_ID,
    READ_ONLY_CHANNEL_ID,
    TEXT_CHANNEL_ID,
    FakeDiscordHTTP,
    FakeHTTPResponse,
)
from tests.fakes.feed_server import FeedServer

START = datetime(2024, 6, 5, 12, 0, tzinfo=UTC)
INTERVAL = timedelta(seconds=600)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta = INTERVAL) -> None:
        self.now += delta


class Crash(Exception):
    """Stands for the process dying between two steps."""


@dataclass
class World:
    bot: AgoraBot
    http: FakeDiscordHTTP
    guild: discord.Guild
    db: Database
    store: FeedStore
    service: FeedService
    clock: Clock
    server: FeedServer

    def channel(self, channel_id: int = TEXT_CHANNEL_ID) -> discord.abc.GuildChannel:
        channel = self.guild.get_channel(channel_id)
        assert channel is not None
        return channel

    def posted_titles(self) -> list[str]:
        """Titles of the article embeds sent, in order (forum posts included)."""
        payloads = self.http.sent("send_message") + [p["message"] for p in self.http.sent("start_thread_in_forum")]
        return [p["embeds"][0]["title"] for p in payloads if p.get("embeds")]

    def notices(self) -> list[str]:
        return [p["content"] for p in self.http.sent("send_message") if "paused" in (p.get("content") or "")]

    async def subscribe(self, channel_id: int = TEXT_CHANNEL_ID, **options):  # type: ignore[no-untyped-def]
        return await self.service.subscribe(self.channel(channel_id), self.server.url("/live"), created_by=1, **options)

    async def cycle(self):  # type: ignore[no-untyped-def]
        self.clock.advance()
        return await self.service.run_cycle()


def make_service(
    store: FeedStore, publisher: ArticlePublisher, bot: AgoraBot, clock: Clock, *, jitter: float = 0.0
) -> FeedService:
    fetcher = FeedFetcher(allow_private=True, total_timeout=5.0)
    return FeedService(store, fetcher, publisher, bot.get_channel, interval=INTERVAL.total_seconds(),
                       max_failures=3, allow_private=True, jitter=jitter, clock=clock)  # fmt: skip


@pytest.fixture
async def world(database_url, feed_server: FeedServer) -> AsyncIterator[World]:
    bot, http, guild = fake_bot()
    db = await open_database(database_url)
    store = FeedStore(db)
    clock = Clock()
    service = make_service(store, ArticlePublisher(bot, ArticleStore(db)), bot, clock)
    for n in range(1, 4):
        feed_server.add_item(f"Story {n}")
    yield World(bot, http, guild, db, store, service, clock, feed_server)
    await service.close()
    await db.close()


async def seen_count(world: World) -> int:
    return int(await world.db.fetch_value("SELECT COUNT(*) FROM subscription_seen_items"))  # type: ignore[arg-type]


# --- /feed add --------------------------------------------------------------------------------------


async def test_subscribe_posts_the_newest_item_and_counts_the_rest_as_seen(world: World) -> None:
    subscribed = await world.subscribe()
    assert (subscribed.title, subscribed.item_count, subscribed.posted) == ("Live News", 3, 1)
    assert subscribed.not_posted is None
    assert world.posted_titles() == ["Story 3"]
    assert await seen_count(world) == 3


@pytest.mark.parametrize(
    ("backfill", "titles"), [(0, []), (2, ["Story 2", "Story 3"]), (5, ["Story 1", "Story 2", "Story 3"])]
)
async def test_backfill_posts_the_newest_items_oldest_first(world: World, backfill: int, titles: list[str]) -> None:
    subscribed = await world.subscribe(backfill=backfill)
    assert subscribed.posted == len(titles)
    assert world.posted_titles() == titles
    assert await seen_count(world) == 3


async def test_posted_item_is_an_article_with_source_link_and_feed_identity(world: World) -> None:
    await world.subscribe()
    row = await world.db.fetch_one("SELECT title, link, source, body, article_key FROM articles")
    assert row is not None
    assert (row["title"], row["link"], row["source"]) == ("Story 3", "https://news.example.com/live/3", "Live News")
    assert row["body"] == "Story 3: the story."
    assert row["article_key"] == "guid:https://news.example.com/live/3"


async def test_subscribe_twice_in_one_channel_is_refused(world: World) -> None:
    await world.subscribe()
    with pytest.raises(AlreadySubscribed):
        await world.subscribe()


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/fixtures/not_a_feed.html", "web page, not a feed"),
        ("/status/404", "HTTP 404"),
        ("/empty", "empty"),
        ("/redirect?to=http://a..b/feed", "host name is not valid"),
    ],
)
async def test_unreadable_feed_is_refused_with_the_reason(world: World, path: str, message: str) -> None:
    with pytest.raises(FeedError, match=message):
        await world.service.subscribe(world.channel(), world.server.url(path), created_by=1)
    assert await world.db.fetch_value("SELECT COUNT(*) FROM subscriptions") == 0


async def test_private_address_is_refused_unless_the_operator_allows_it(world: World) -> None:
    world.service.allow_private = False
    with pytest.raises(FeedError, match="public addresses"):
        await world.subscribe()
    assert world.server.requests == []


@pytest.mark.parametrize("backfill", [-1, 6])
async def test_backfill_out_of_range_is_refused(world: World, backfill: int) -> None:
    with pytest.raises(FeedError, match="between 0 and 5"):
        await world.subscribe(backfill=backfill)


async def test_poll_settings_reach_the_delivery(world: World) -> None:
    options = [PollOption("✅", "Agree"), PollOption("❌", "Disagree")]
    await world.subscribe(poll_question="Agree with {title}?", poll_options=options)
    spec = json.loads(str(await world.db.fetch_value("SELECT poll_spec FROM deliveries")))
    assert spec == {"question_template": "Agree with {title}?", "options": [["✅", "Agree"], ["❌", "Disagree"]]}


async def test_thread_and_poll_can_be_turned_off(world: World) -> None:
    await world.subscribe(open_thread=False, open_poll=False)
    assert world.http.sent("start_thread_with_message") == []
    row = await world.db.fetch_one("SELECT open_thread, open_poll FROM deliveries")
    assert row is not None and (row["open_thread"], row["open_poll"]) == (0, 0)


# --- the cycle --------------------------------------------------------------------------------------


async def test_cycle_posts_only_new_items_oldest_first(world: World) -> None:
    await world.subscribe()
    world.server.add_item("Story 4")
    world.server.add_item("Story 5")
    report = await world.cycle()
    assert (report.feeds, report.posted) == (1, 2)
    assert world.posted_titles() == ["Story 3", "Story 4", "Story 5"]


async def test_unchanged_feed_costs_a_conditional_request_and_nothing_else(world: World) -> None:
    await world.subscribe()
    await world.cycle()  # learns the ETag
    report = await world.cycle()
    assert (report.not_modified, report.posted) == (1, 0)
    assert world.server.requests[-1].headers.get("If-None-Match")
    assert world.posted_titles() == ["Story 3"]


async def test_feed_is_not_fetched_before_it_is_due(world: World) -> None:
    await world.subscribe()
    fetches = world.server.count("/live")
    world.clock.advance(INTERVAL / 2)
    assert (await world.service.run_cycle()).feeds == 0
    assert world.server.count("/live") == fetches


async def test_check_now_fetches_the_guilds_feeds_even_when_not_due(world: World) -> None:
    await world.subscribe()
    world.server.add_item("Story 4")
    report = await world.service.check_guild(world.guild.id)
    assert report.posted == 1 and world.posted_titles()[-1] == "Story 4"


async def test_one_fetch_serves_every_subscription_of_a_url(world: World) -> None:
    await world.subscribe(TEXT_CHANNEL_ID)
    await world.subscribe(FORUM_CHANNEL_ID)
    assert await world.db.fetch_value("SELECT COUNT(*) FROM feeds") == 1
    world.server.add_item("Story 4")
    before = world.server.count("/live")
    report = await world.cycle()
    assert world.server.count("/live") == before + 1
    assert report.posted == 2
    assert world.posted_titles().count("Story 4") == 2


# --- restarts ----------------------------------------------------------------------------------------


async def test_restart_between_intent_and_post_finishes_the_post_once(world: World) -> None:
    await world.subscribe()
    world.server.add_item("Story 4")
    world.http.fail_next["send_message"] = Crash()
    await world.cycle()  # dies after the intent (seen + pending delivery) was recorded
    assert world.posted_titles() == ["Story 3"]
    assert await world.db.fetch_value("SELECT state FROM deliveries ORDER BY id DESC LIMIT 1") == "pending"
    assert await seen_count(world) == 4  # seen went in with the delivery intent

    restarted = ArticlePublisher(world.bot, ArticleStore(world.db))
    assert await restarted.resume_pending() == 1
    await world.service.close()
    world.service = make_service(world.store, restarted, world.bot, world.clock)
    world.server.add_item("Story 5")
    await world.cycle()
    assert world.posted_titles() == ["Story 3", "Story 4", "Story 5"]


async def test_item_posted_but_not_recorded_seen_is_not_posted_again(world: World) -> None:
    await world.subscribe()
    async with world.db.transaction() as connection:  # as if the post went out and its seen mark was lost
        await connection.execute(
            "DELETE FROM subscription_seen_items WHERE item_key = 'https://news.example.com/live/3'"
        )
    world.server.add_item("Story 4")
    report = await world.cycle()
    assert report.posted == 1
    assert world.posted_titles() == ["Story 3", "Story 4"]
    assert await seen_count(world) == 4  # refused as already posted, and seen again


# --- refusals, failures, backoff and pausing --------------------------------------------------------


async def test_channel_without_permission_keeps_its_items_for_later(world: World, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.feeds.service"):
        subscribed = await world.subscribe(READ_ONLY_CHANNEL_ID)
        world.server.add_item("Story 4")
        await world.cycle()
        await world.cycle()
    assert subscribed.posted == 0 and "Send Messages" in (subscribed.not_posted or "")
    assert world.posted_titles() == []
    assert await world.store.unseen_keys(
        subscribed.subscription.id, ["https://news.example.com/live/3", "https://news.example.com/live/4"]
    ) == {"https://news.example.com/live/3", "https://news.example.com/live/4"}  # waiting, not dropped
    assert sum("cannot post" in record.message for record in caplog.records) == 1  # once per state change


async def test_post_refused_by_discord_is_retried_next_cycle(world: World) -> None:
    await world.subscribe()
    world.server.add_item("Story 4")
    world.http.fail_next["send_message"] = discord.Forbidden(FakeHTTPResponse(403), {"message": "Missing Access"})
    report = await world.cycle()
    assert report.posted == 0 and report.errors
    world.server.add_item("Story 5")
    await world.cycle()
    assert world.posted_titles() == ["Story 3", "Story 4", "Story 5"]


async def test_failures_back_off_exponentially(world: World) -> None:
    await world.subscribe()
    world.server.live_status = 500
    delays = []
    for _ in range(2):
        world.clock.now = (await world.store.feed(1)).next_check_at  # type: ignore[union-attr]
        await world.service.run_cycle()
        feed = await world.store.feed(1)
        assert feed is not None
        delays.append(feed.next_check_at - world.clock.now)  # type: ignore[operator]
    assert delays == [INTERVAL, INTERVAL * 2]
    assert feed.consecutive_failures == 2 and "HTTP 500" in (feed.last_error or "")


async def test_retry_after_is_respected(world: World) -> None:
    await world.subscribe()
    world.server.live_status, world.server.live_retry_after = 429, "7200"
    await world.cycle()
    feed = await world.store.feed(1)
    assert feed is not None and feed.next_check_at - world.clock.now == timedelta(hours=2)  # type: ignore[operator]


async def test_feed_is_paused_after_max_failures_with_a_notice(world: World, caplog) -> None:
    await world.subscribe()
    world.server.live_status = 503
    with caplog.at_level(logging.DEBUG, logger="bot.feeds.service"):
        for _ in range(3):
            world.clock.advance(timedelta(days=1))
            await world.service.run_cycle()
    [notice] = world.notices()
    assert "Live News" in notice and "3 times" in notice and "/feed resume" in notice
    assert await world.db.fetch_value("SELECT paused FROM subscriptions") == 1
    warnings = [r.message for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and "is failing" in warnings[0] and "paused" in warnings[1]
    world.clock.advance(timedelta(days=1))
    assert (await world.service.run_cycle()).feeds == 0  # a paused feed is not fetched


async def test_redirect_to_a_malformed_host_is_a_failed_check(world: World) -> None:
    subscribed = await world.subscribe()
    await world.store.move_feed(subscribed.subscription.feed_id, world.server.url("/redirect?to=http://a..b/feed"))
    report = await world.cycle()
    feed = await world.store.feed(1)
    assert report.failed == 1 and feed is not None and feed.consecutive_failures == 1
    assert "host name is not valid" in (feed.last_error or "")


async def test_unexpected_error_is_a_failed_check_that_backs_off_and_pauses(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    await world.subscribe()

    def broken(*args: object) -> None:
        raise RuntimeError("a bug in the parser")

    monkeypatch.setattr("bot.feeds.service.parse_feed", broken)
    delays = []
    with caplog.at_level(logging.ERROR, logger="bot.feeds.service"):
        for n in range(3):
            world.server.add_item(f"Story {n + 4}")  # a changed feed, so it is parsed (no 304)
            world.clock.now = (await world.store.feed(1)).next_check_at  # type: ignore[union-attr]
            report = await world.service.run_cycle()
            feed = await world.store.feed(1)
            assert feed is not None and report.failed == 1
            delays.append(feed.next_check_at - world.clock.now)  # type: ignore[operator]
    assert delays[:2] == [INTERVAL, INTERVAL * 2]
    assert feed.consecutive_failures == 3 and "unexpected error" in (feed.last_error or "")
    assert report.paused_feeds == 1 and len(world.notices()) == 1
    assert "a bug in the parser" in caplog.text  # the traceback is logged


async def test_a_storage_outage_mid_cycle_fails_the_cycle_not_the_feed(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    await world.subscribe()
    world.server.add_item("Story 4")
    real = world.store.unseen_keys

    async def locked(*args: object) -> None:
        raise sqlite3.OperationalError("database is locked")  # what SQLite says while another program holds it

    monkeypatch.setattr(world.store, "unseen_keys", locked)
    world.clock.now = (await world.store.feed(1)).next_check_at  # type: ignore[union-attr]
    with caplog.at_level(logging.INFO), pytest.raises(sqlite3.OperationalError):
        await world.service.run_cycle()  # the loop says it once (bot.logs.LoopFaults)
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING]  # nothing per feed
    monkeypatch.setattr(world.store, "unseen_keys", real)
    feed = await world.store.feed(1)
    assert feed is not None and feed.consecutive_failures == 0  # the feed is not blamed for the database
    report = await world.service.run_cycle()
    assert report.posted == 1 and world.posted_titles()[-1] == "Story 4"


async def test_resume_clears_failures_and_checks_again(world: World) -> None:
    subscribed = await world.subscribe()
    world.server.live_status = 503
    for _ in range(3):
        world.clock.advance(timedelta(days=1))
        await world.service.run_cycle()
    world.server.live_status = 200
    world.server.add_item("Story 4")
    await world.service.resume(world.guild.id, subscribed.subscription.id)
    feed = await world.store.feed(1)
    assert feed is not None and feed.consecutive_failures == 0 and feed.next_check_at == world.clock.now
    assert (await world.service.run_cycle()).posted == 1
    assert world.posted_titles()[-1] == "Story 4"


async def test_pause_remove_and_lookups_are_scoped_to_the_guild(world: World) -> None:
    subscribed = await world.subscribe()
    subscription_id = subscribed.subscription.id
    with pytest.raises(FeedError, match="no such feed subscription"):
        await world.service.pause(world.guild.id + 1, subscription_id, "someone")
    await world.service.pause(world.guild.id, subscription_id, "Mod")
    [(listed, feed)] = await world.service.subscriptions(world.guild.id)
    assert listed.paused and listed.paused_reason == "paused by Mod" and feed.title == "Live News"
    world.server.add_item("Story 4")
    assert (await world.service.check_guild(world.guild.id)).feeds == 0
    assert [s.id for s in await world.service.find_subscriptions(world.guild.id, "live")] == [subscription_id]
    await world.service.remove(world.guild.id, subscription_id)
    assert await world.db.fetch_value("SELECT COUNT(*) FROM feeds") == 0  # no subscription left: feed gone
    assert await seen_count(world) == 0


async def test_next_check_is_spread_by_jitter(world: World) -> None:
    jittered = make_service(world.store, ArticlePublisher(world.bot, ArticleStore(world.db)), world.bot, world.clock,
                            jitter=0.1)  # fmt: skip
    try:
        await jittered.subscribe(world.channel(), world.server.url("/live"), created_by=1)
        delays = set()
        for _ in range(10):
            world.clock.now = (await world.store.feed(1)).next_check_at  # type: ignore[union-attr]
            await jittered.run_cycle()
            delays.add((await world.store.feed(1)).next_check_at - world.clock.now)  # type: ignore[union-attr]
    finally:
        await jittered.close()
    assert len(delays) > 1
    assert all(INTERVAL * 0.9 <= delay <= INTERVAL * 1.1 for delay in delays)


# --- old items that come back -----------------------------------------------------------------------


async def test_forgotten_item_that_comes_back_is_never_posted_again(world: World) -> None:
    await world.subscribe()  # Story 1-3 are undated
    world.server.add_item("Dated story", published=START - timedelta(days=1))
    await world.cycle()
    assert world.posted_titles() == ["Story 3", "Dated story"]
    dated = world.server.drop_item("Dated story")
    undated = world.server.drop_item("Story 1")
    world.clock.advance(timedelta(days=100))
    world.server.add_item("Story 5")
    await world.cycle()  # new items: the seen items the feed dropped are pruned
    keys = await world.db.fetch_all("SELECT item_key FROM subscription_seen_items")
    assert dated.link not in {row["item_key"] for row in keys}  # the dated item really was forgotten
    assert undated.link in {row["item_key"] for row in keys}  # an undated one never is

    world.server.live_items += [dated, undated]
    world.server.add_item("Story 7")
    report = await world.cycle()
    assert report.posted == 1
    assert world.posted_titles() == ["Story 3", "Dated story", "Story 5", "Story 7"]
    assert await world.store.unseen_keys(1, [dated.link, undated.link]) == set()  # seen again, not pending


async def test_new_item_dated_before_the_horizon_is_not_posted(world: World) -> None:
    await world.subscribe()
    world.server.add_item("Archive piece", published=START - timedelta(days=91))
    world.server.add_item("Fresh piece", published=START)
    report = await world.cycle()
    assert report.posted == 1
    assert world.posted_titles() == ["Story 3", "Fresh piece"]
    assert await seen_count(world) == 5


# --- items Discord refuses ---------------------------------------------------------------------------


def invalid_form_body() -> discord.HTTPException:
    return discord.HTTPException(FakeHTTPResponse(400), {"message": "Invalid Form Body", "code": 50035})


async def test_item_discord_refuses_is_skipped_after_three_cycles_and_later_items_flow(world: World, caplog) -> None:
    subscribed = await world.subscribe()
    world.server.add_item("Refused story")
    with caplog.at_level(logging.WARNING, logger="bot.feeds.service"):
        for attempt in range(1, 4):
            world.http.fail_next["send_message"] = invalid_form_body()
            report = await world.cycle()  # the feed does not change: the item is retried all the same
            assert report.posted == 0
            assert ["Invalid Form Body" in error for error in report.errors] == ([True] if attempt < 3 else [])
            [(listed, _)] = await world.service.subscriptions(world.guild.id)
            assert listed.refused_attempts == (attempt if attempt < 3 else 0)
    # After the first refusal the feed is asked conditionally: the item is retried from the kept document.
    retries = world.server.requests[2:]
    assert len(retries) == 2 and all(request.headers.get("If-None-Match") is not None for request in retries)
    assert "Invalid Form Body" in (listed.last_error or "") and "skipped “Refused story”" in (listed.last_error or "")
    assert sum("skipped" in record.message for record in caplog.records) == 1

    world.server.add_item("Later story")
    report = await world.cycle()
    assert report.posted == 1 and report.errors == []
    assert world.posted_titles() == ["Story 3", "Later story"]
    assert await world.store.unseen_keys(subscribed.subscription.id, ["https://news.example.com/live/4"]) == set()
    [(listed, _)] = await world.service.subscriptions(world.guild.id)
    assert "skipped" in (listed.last_error or "")  # moderators still see what was skipped


async def test_item_refused_once_then_posted_clears_the_error(world: World) -> None:
    await world.subscribe()
    world.server.add_item("Story 4")
    world.http.fail_next["send_message"] = invalid_form_body()
    await world.cycle()
    report = await world.cycle()  # unchanged feed, fetched in full because an item waits
    assert report.posted == 1 and world.posted_titles() == ["Story 3", "Story 4"]
    [(listed, _)] = await world.service.subscriptions(world.guild.id)
    assert (listed.refused_item_key, listed.refused_attempts, listed.last_error) == (None, 0, None)
    assert (await world.cycle()).not_modified == 1  # nothing waits: conditional requests again


async def test_channel_refusals_never_skip_an_item(world: World) -> None:
    await world.subscribe()
    world.server.add_item("Story 4")
    for _ in range(4):
        world.http.fail_next["send_message"] = discord.Forbidden(FakeHTTPResponse(403), {"message": "Missing Access"})
        assert (await world.cycle()).posted == 0
    assert (await world.cycle()).posted == 1
    assert world.posted_titles() == ["Story 3", "Story 4"]


# --- permanent and temporary redirects ---------------------------------------------------------------


async def stored_url(world: World) -> str:
    return str(await world.db.fetch_value("SELECT url FROM feeds"))


@pytest.mark.parametrize(("status", "moves"), [(301, True), (308, True), (302, False), (307, False)])
async def test_only_a_permanent_redirect_changes_the_feed_address(world: World, status: int, moves: bool) -> None:
    await world.service.subscribe(world.channel(), world.server.url("/old"), created_by=1)
    world.server.old_redirect = status
    world.server.add_item("Story 4")
    await world.cycle()
    assert await stored_url(world) == world.server.url("/live" if moves else "/old")
    world.server.add_item("Story 5")
    old_hits = world.server.count("/old")
    await world.cycle()
    assert world.server.count("/old") == old_hits + (0 if moves else 1)
    assert world.posted_titles() == ["Story 3", "Story 4", "Story 5"]


async def test_permanent_redirect_to_a_followed_address_merges_the_subscriptions(world: World) -> None:
    await world.service.subscribe(world.channel(TEXT_CHANNEL_ID), world.server.url("/old"), created_by=1)
    await world.service.subscribe(world.channel(FORUM_CHANNEL_ID), world.server.url("/live"), created_by=1)
    world.server.old_redirect = 301
    await world.cycle()
    assert await world.db.fetch_value("SELECT COUNT(*) FROM feeds") == 1
    assert await stored_url(world) == world.server.url("/live")
    world.server.add_item("Story 4")
    old_hits = world.server.count("/old")
    report = await world.cycle()
    assert world.server.count("/old") == old_hits
    assert report.posted == 2 and world.posted_titles().count("Story 4") == 2  # once per channel


async def test_permanent_redirect_to_a_followed_address_with_new_items_records_the_cycle(world: World) -> None:
    # The moved feed's row is gone when the cycle's outcomes are written; its subscription it gave the new
    # document to must not break that write (nor lose the other feeds' outcomes and claims).
    await world.service.subscribe(world.channel(TEXT_CHANNEL_ID), world.server.url("/old"), created_by=1)
    await world.service.subscribe(world.channel(FORUM_CHANNEL_ID), world.server.url("/live"), created_by=1)
    world.server.old_redirect = 301
    world.server.add_item("Story 4")
    report = await world.cycle()
    assert report.posted == 2 and world.posted_titles().count("Story 4") == 2
    assert await world.db.fetch_value("SELECT COUNT(*) FROM feeds WHERE claim_holder IS NOT NULL") == 0
    world.server.add_item("Story 5")
    assert (await world.cycle()).posted == 2
    assert world.posted_titles().count("Story 4") == 2 and world.posted_titles().count("Story 5") == 2


async def test_permanent_redirect_to_something_not_a_feed_keeps_the_address(world: World) -> None:
    subscribed = await world.subscribe()
    to_a_web_page = world.server.url("/redirect?to=/fixtures/not_a_feed.html")
    await world.store.move_feed(subscribed.subscription.feed_id, to_a_web_page)
    report = await world.cycle()
    assert report.failed == 1 and await stored_url(world) == to_a_web_page


async def test_subscribing_through_a_permanent_redirect_stores_the_new_address(world: World) -> None:
    world.server.old_redirect = 308
    await world.service.subscribe(world.channel(), world.server.url("/old"), created_by=1)
    assert await stored_url(world) == world.server.url("/live")


# --- skipped items, settings and preview -------------------------------------------------------------


async def skip_rows(world: World) -> list[tuple[str, str, str | None, int]]:
    rows = await world.db.fetch_all("SELECT reason, detail, item_title, item_count FROM feed_item_skips ORDER BY id")
    return [(row["reason"], row["detail"], row["item_title"], row["item_count"]) for row in rows]


async def summaries(world: World) -> dict[str, int]:
    found = await world.service.skip_summaries(world.guild.id)
    return {summary.reason: summary.count for summaries in found.values() for summary in summaries}


async def test_an_item_older_than_the_age_limit_is_skipped_with_its_date_and_the_limit(world: World) -> None:
    await world.subscribe()
    world.server.add_item("Archive piece", published=START - timedelta(days=91))
    world.server.add_item("Fresh piece", published=START)
    report = await world.cycle()
    assert world.posted_titles() == ["Story 3", "Fresh piece"]
    assert report.skipped == {"too_old": 1}
    assert "Archive piece" in report.skip_notes[0] and "age limit of 90 days" in report.skip_notes[0]
    [(reason, detail, title, count)] = await skip_rows(world)
    assert (reason, title, count) == ("too_old", "Archive piece", 1)
    assert detail.startswith("dated 06 Mar 2024") and "90 days" in detail
    assert await summaries(world) == {"too_old": 1}

    report = await world.cycle()  # reported once, not every cycle
    assert report.skipped == {} and len(await skip_rows(world)) == 1


async def test_the_first_subscription_does_not_post_a_newest_item_older_than_the_limit(world: World) -> None:
    world.server.add_item("Stale newest", published=START - timedelta(days=200))
    subscribed = await world.subscribe()
    assert subscribed.posted == 0 and world.posted_titles() == []
    [skip] = subscribed.skipped
    assert (skip.reason, skip.title) == ("too_old", "Stale newest")
    assert await seen_count(world) == 4  # every item counts as seen: none is posted later
    assert [row[0] for row in await skip_rows(world)] == ["too_old"]
    await world.cycle()
    assert world.posted_titles() == []


async def test_age_limit_is_per_subscription_and_zero_turns_it_off(world: World) -> None:
    subscribed = await world.subscribe()
    await world.service.edit(world.guild.id, subscribed.subscription.id, SettingsChange(max_age_days=0))
    world.server.add_item("Very old but new here", published=START - timedelta(days=400))
    await world.cycle()
    assert world.posted_titles()[-1] == "Very old but new here"

    await world.service.edit(world.guild.id, subscribed.subscription.id, SettingsChange(max_age_days=7))
    world.server.add_item("Ten days old", published=START - timedelta(days=10))
    report = await world.cycle()
    assert report.posted == 0 and report.skipped == {"too_old": 1}
    assert "7 days" in (await skip_rows(world))[-1][1]


async def test_include_and_exclude_words_filter_on_title_and_say_which_rule(world: World) -> None:
    subscribed = await world.subscribe()
    change = SettingsChange(include_words=("council", "budget"), exclude_words=("sport",))
    edited, note = await world.service.edit(world.guild.id, subscribed.subscription.id, change)
    assert (edited.include_words, edited.exclude_words, note) == (("council", "budget"), ("sport",), None)
    world.server.add_item("Council approves the budget")
    world.server.add_item("Council sport grants")
    world.server.add_item("Weather today")
    world.server.add_item("Councillors meet")  # whole words only: not "council"
    report = await world.cycle()
    assert world.posted_titles() == ["Story 3", "Council approves the budget"]
    assert report.skipped == {"filtered": 3}
    details = {title: detail for _, detail, title, _ in await skip_rows(world)}
    assert details["Council sport grants"] == "excluded word “sport”"
    assert details["Weather today"].startswith("none of the included words (council, budget)")

    await world.service.edit(world.guild.id, subscribed.subscription.id, SettingsChange(include_words=()))
    world.server.add_item("Weather tomorrow")
    await world.cycle()
    assert world.posted_titles()[-1] == "Weather tomorrow"


async def test_changing_the_identity_reposts_nothing_and_title_identity_ignores_new_guids(world: World) -> None:
    subscribed = await world.subscribe()
    change = SettingsChange(identity="title")
    edited, note = await world.service.edit(world.guild.id, subscribed.subscription.id, change)
    assert edited.identity == "title" and note is not None and "3 items" in note
    await world.cycle()
    assert world.posted_titles() == ["Story 3"]

    world.server.add_item("Story 2")  # the same title under a new guid and link: seen by title
    world.server.add_item("Story 9")
    report = await world.cycle()
    assert world.posted_titles() == ["Story 3", "Story 9"]
    assert report.skipped == {}  # seen by title since the switch: not new, so not a skip either


async def test_an_item_listed_twice_is_posted_once_and_the_copy_is_accounted_for(world: World) -> None:
    await world.subscribe()
    item = world.server.add_item("Listed twice")
    world.server.live_items.append(item)  # the same item again
    report = await world.cycle()
    assert world.posted_titles() == ["Story 3", "Listed twice"]
    assert report.skipped == {"already_seen": 1}
    [(reason, detail, _, _)] = await skip_rows(world)
    assert reason == "already_seen" and "same guid" in detail


async def test_an_item_discord_refuses_three_times_is_recorded_with_discords_error(world: World) -> None:
    await world.subscribe()
    world.server.add_item("Too big story")
    length = {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 4096 or fewer in length."}
    too_long = {"message": "Invalid Form Body", "code": 50035,
                "errors": {"embeds": {"0": {"description": {"_errors": [length]}}}}}  # fmt: skip
    for _ in range(3):
        world.http.fail_next["send_message"] = discord.HTTPException(FakeHTTPResponse(400), too_long)
        report = await world.cycle()
    assert report.skipped == {"too_large": 1}
    [(reason, detail, title, _)] = await skip_rows(world)
    assert (reason, title) == ("too_large", "Too big story")
    assert "Discord refused it 3 times" in detail and "4096 or fewer in length" in detail


async def test_a_feed_relisting_its_archive_writes_a_bounded_number_of_skip_rows(world: World) -> None:
    await world.subscribe()
    for n in range(MAX_SKIP_ROWS_PER_CYCLE + 15):
        world.server.add_item(f"Archive {n}", published=START - timedelta(days=200 + n))
    report = await world.cycle()
    assert report.skipped == {"too_old": MAX_SKIP_ROWS_PER_CYCLE + 15}
    rows = await skip_rows(world)
    assert len(rows) == MAX_SKIP_ROWS_PER_CYCLE + 1 and rows[-1][2:] == ("and 15 more", 15)
    assert await summaries(world) == {"too_old": MAX_SKIP_ROWS_PER_CYCLE + 15}
    assert len(report.skip_notes) <= 5

    world.clock.advance(timedelta(days=2))
    await world.cycle()
    assert await summaries(world) == {}  # /feed list shows the last day
    assert len(await skip_rows(world)) == MAX_SKIP_ROWS_PER_CYCLE + 1
    world.clock.advance(timedelta(days=6))
    await world.cycle()
    assert await skip_rows(world) == []  # pruned after a week


async def test_preview_shows_the_next_items_and_the_skipped_without_subscribing(world: World) -> None:
    world.server.add_item("Old news", published=START - timedelta(days=120))
    preview = await world.service.preview(world.server.url("/live"))
    assert (preview.title, preview.item_count) == ("Live News", 4)
    assert [article.title for article in preview.next_items] == ["Story 3", "Story 2", "Story 1"]
    assert [(skip.reason, skip.title) for skip in preview.skipped] == [("too_old", "Old news")]
    assert world.posted_titles() == [] and await world.service.subscriptions(world.guild.id) == []
    assert await world.db.fetch_value("SELECT COUNT(*) FROM feeds") == 0


async def test_preview_refuses_what_feed_add_refuses(world: World) -> None:
    world.service.allow_private = False
    with pytest.raises(FeedError, match="private|loopback|local"):
        await world.service.preview(world.server.url("/live"))
    with pytest.raises(FeedError):
        await world.service.preview("ftp://example.com/feed")


# --- two processes of a sharded cluster ----------------------------------------------------------------


async def test_a_feed_fetched_by_another_process_is_posted_here_by_this_server_process(
    world: World, database_url
) -> None:
    """The process that claims the feed fetches it once; the server's own process posts it from the kept copy."""
    owner_shard = shard_of(world.guild.id, 2)
    here = Shards(2, (owner_shard,))
    world.service = FeedService(world.store, FeedFetcher(allow_private=True, total_timeout=5.0),
                                ArticlePublisher(world.bot, ArticleStore(world.db)), world.bot.get_channel,
                                interval=INTERVAL.total_seconds(), max_failures=3, allow_private=True, jitter=0.0,
                                clock=world.clock, shards=here)  # fmt: skip
    await world.subscribe()
    other_bot, other_http, _ = fake_bot()  # the other process: it does not own this server
    other_db = await open_database(database_url)
    other = FeedService(FeedStore(other_db), FeedFetcher(allow_private=True, total_timeout=5.0),
                        ArticlePublisher(other_bot, ArticleStore(other_db)), other_bot.get_channel,
                        interval=INTERVAL.total_seconds(), max_failures=3, allow_private=True, jitter=0.0,
                        clock=world.clock, shards=Shards(2, (1 - owner_shard,)))  # fmt: skip
    try:
        world.server.add_item("Story 4")
        world.clock.advance()
        fetches_before = len(world.server.requests)
        report = await other.run_cycle()
        assert (report.feeds, report.posted) == (1, 0) and other_http.sent("send_message") == []
        assert len(world.server.requests) == fetches_before + 1
        report = await world.service.run_cycle()  # not due any more: nothing fetched, the kept copy is posted
        assert (report.feeds, report.posted) == (0, 1)
        assert len(world.server.requests) == fetches_before + 1
        assert world.posted_titles() == ["Story 3", "Story 4"]
        world.clock.advance(timedelta(seconds=1))
        assert (await world.service.run_cycle()).posted == 0  # given once
    finally:
        await other.close()
        await other_db.close()
