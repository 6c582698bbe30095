"""Claims on feeds with leases (bot/leases.py), kept documents and the folder's stored refusals, on both backends.

Two holders are two separate connections to one database, as two processes are.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.shards import Shards, shard_of
from bot.storage.articles import ArticleStore
from bot.storage.backends import AnyDatabase, open_database
from bot.storage.feeds import FeedCheck, FeedStore, NewSubscription

NOW = datetime(2024, 6, 5, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)
# Two servers on different shards of two: guild ids whose (id >> 22) % 2 differ.
GUILD_ON_0, GUILD_ON_1 = 2 << 22, 3 << 22


@pytest.fixture
async def second_db(database_url) -> AsyncIterator[AnyDatabase]:
    """Another process's connection to the same database."""
    database = await open_database(database_url)
    yield database
    await database.close()


def new(url: str, channel_id: int = 10, guild_id: int = GUILD_ON_0) -> NewSubscription:
    return NewSubscription(url=url, title="A", etag=None, last_modified=None, next_check_at=NOW, guild_id=guild_id,
                           channel_id=channel_id, created_by=5)  # fmt: skip


async def test_two_holders_racing_for_due_feeds_never_both_get_one(db_on, second_db) -> None:
    first, second = FeedStore(db_on), FeedStore(second_db)
    for n in range(20):
        await first.subscribe(new(f"https://{n}.example/feed"), [])
    for round_ in range(5):
        at = NOW + timedelta(hours=round_)
        a, b = await asyncio.gather(
            first.claim_due_feeds("shards-0", at, at + LEASE), second.claim_due_feeds("shards-1", at, at + LEASE)
        )
        ids_a, ids_b = {feed.id for feed in a}, {feed.id for feed in b}
        assert not ids_a & ids_b, "a feed was claimed by both processes"
        assert len(ids_a | ids_b) == 20
        # Both release with the outcome; the feeds are due again in an hour.
        await first.record_checks([FeedCheck(i, at, at + timedelta(hours=1)) for i in ids_a], "shards-0")
        await second.record_checks([FeedCheck(i, at, at + timedelta(hours=1)) for i in ids_b], "shards-1")


async def test_a_claimed_feed_is_not_claimed_again_until_its_lease_runs_out(db_on, second_db) -> None:
    first, second = FeedStore(db_on), FeedStore(second_db)
    feed_id = (await first.subscribe(new("https://a.example/feed"), [])).feed_id
    assert [feed.id for feed in await first.claim_due_feeds("shards-0", NOW, NOW + LEASE)] == [feed_id]
    assert await second.claim_due_feeds("shards-1", NOW + LEASE - timedelta(seconds=1), NOW + 2 * LEASE) == []
    assert await second.claim_guild_feeds(GUILD_ON_0, "shards-1", NOW, NOW + LEASE) == []  # /feed check too
    # The holder died: once its lease is over, another process takes the feed over.
    taken = await second.claim_due_feeds("shards-1", NOW + LEASE, NOW + 2 * LEASE)
    assert [feed.id for feed in taken] == [feed_id]
    assert await first.claim_holder(feed_id) == ("shards-1", NOW + 2 * LEASE)


async def test_a_restarted_process_takes_back_its_own_claim_at_once(db_on, second_db) -> None:
    before_crash, after_restart = FeedStore(db_on), FeedStore(second_db)
    feed_id = (await before_crash.subscribe(new("https://a.example/feed"), [])).feed_id
    assert await before_crash.claim_due_feeds("shards-0", NOW, NOW + LEASE)
    # The same name a second later, well within the lease: its own stale claim does not hold it up.
    later = NOW + timedelta(seconds=1)
    assert [feed.id for feed in await after_restart.claim_due_feeds("shards-0", later, later + LEASE)] == [feed_id]
    assert await after_restart.claim_due_feeds("shards-1", later, later + LEASE) == []


async def test_renewing_keeps_the_claim_past_its_first_lease(db_on, second_db) -> None:
    first, second = FeedStore(db_on), FeedStore(second_db)
    feed_id = (await first.subscribe(new("https://a.example/feed"), [])).feed_id
    await first.claim_due_feeds("shards-0", NOW, NOW + LEASE)
    assert await first.renew_claims("shards-0", NOW + 2 * LEASE) == 1
    assert await second.claim_due_feeds("shards-1", NOW + LEASE + timedelta(seconds=5), NOW + 3 * LEASE) == []
    assert await first.claim_holder(feed_id) == ("shards-0", NOW + 2 * LEASE)


async def test_recording_the_check_releases_the_claim_but_not_one_taken_over(db_on, second_db) -> None:
    first, second = FeedStore(db_on), FeedStore(second_db)
    feed_id = (await first.subscribe(new("https://a.example/feed"), [])).feed_id
    await first.claim_due_feeds("shards-0", NOW, NOW + LEASE)
    await first.record_checks([FeedCheck(feed_id, NOW, NOW + timedelta(hours=1))], "shards-0")
    assert await first.claim_holder(feed_id) is None
    assert await second.claim_due_feeds("shards-1", NOW, NOW + LEASE) == []  # released, and no longer due
    # A holder whose lease ran out and was taken over leaves the new holder's claim and due time alone.
    due = NOW + timedelta(hours=1)
    await first.claim_due_feeds("shards-0", due, due + LEASE)
    await second.claim_due_feeds("shards-1", due + LEASE, due + 2 * LEASE)
    await first.record_checks([FeedCheck(feed_id, due, due + timedelta(hours=5), error="late")], "shards-0")
    assert await first.claim_holder(feed_id) == ("shards-1", due + 2 * LEASE)
    feed = await first.feed(feed_id)
    assert feed is not None and feed.consecutive_failures == 0 and feed.next_check_at == due


async def test_a_kept_document_reaches_the_subscriptions_of_each_process(db_on) -> None:
    store = FeedStore(db_on)
    here = await store.subscribe(new("https://a.example/feed", 10, GUILD_ON_0), [])
    there = await store.subscribe(new("https://a.example/feed", 11, GUILD_ON_1), [])
    assert (shard_of(GUILD_ON_0, 2), shard_of(GUILD_ON_1, 2)) == (0, 1)
    shard_0, shard_1 = Shards(2, (0,)), Shards(2, (1,))
    check = FeedCheck(here.feed_id, NOW, NOW + LEASE, fetched=True, kept_content=b"<rss/>",
                      content_type="application/rss+xml", content_url="https://a.example/feed",
                      delivered=(here.id,))  # fmt: skip
    await store.claim_due_feeds("shards-0", NOW, NOW + LEASE)
    await store.record_checks([check], "shards-0")
    assert await store.subscriptions_behind(shard_0) == []
    assert [s.id for s in await store.subscriptions_behind(shard_1)] == [there.id]
    kept = await store.kept_document(there.feed_id)
    assert kept is not None and (kept.content, kept.version, kept.url) == (b"<rss/>", 1, "https://a.example/feed")
    await store.mark_delivered([there.id], kept.version)
    assert await store.subscriptions_behind(shard_1) == []
    # A new subscription starts from its own first fetch, not from the older kept document.
    await store.subscribe(new("https://a.example/feed", 12, GUILD_ON_1), [])
    assert await store.subscriptions_behind(shard_1) == []
    # A fetch every subscription was given keeps no document.
    everyone = (here.id, there.id)
    await store.record_checks([FeedCheck(here.feed_id, NOW, NOW + LEASE, fetched=True, delivered=everyone)])
    assert await store.kept_document(here.feed_id) is None
    assert await store.subscriptions_behind(Shards()) == []


async def test_folder_refusals_are_stored_and_cleared_once_the_file_is_handled(db_on, second_db) -> None:
    store = ArticleStore(db_on)
    await store.add_folder_subscription(GUILD_ON_0, 10, 5, [])
    await store.add_folder_subscription(GUILD_ON_1, 11, 5, [])
    [(subscription_id, _, _)] = await store.folder_subscriptions(Shards(2, (0,)))
    assert [await store.count_file_refusal(subscription_id, "a.md:1") for _ in range(2)] == [1, 2]
    # Another process (or this one after a restart) continues the same count.
    assert await ArticleStore(second_db).count_file_refusal(subscription_id, "a.md:1") == 3
    await store.mark_file_seen(subscription_id, "a.md:1")
    assert await store.count_file_refusal(subscription_id, "a.md:1") == 1
    assert len(await store.folder_subscriptions()) == 2


async def test_a_holder_taken_over_does_not_mark_its_subscriptions_given_the_newer_document(db_on, second_db) -> None:
    late, taker = FeedStore(db_on), FeedStore(second_db)
    here = await late.subscribe(new("https://a.example/feed", 10, GUILD_ON_0), [])
    there = await late.subscribe(new("https://a.example/feed", 11, GUILD_ON_1), [])
    shard_0 = Shards(2, (0,))
    await late.claim_due_feeds("shards-0", NOW, NOW + LEASE)
    # shards-0 is slow; its lease runs out and shards-1 fetches a newer document, kept for shards-0's channel.
    await taker.claim_due_feeds("shards-1", NOW + LEASE, NOW + 2 * LEASE)
    newer = FeedCheck(here.feed_id, NOW + LEASE, NOW + timedelta(hours=1), fetched=True, kept_content=b"<newer/>",
                      content_url="https://a.example/feed", delivered=(there.id,))  # fmt: skip
    await taker.record_checks([newer], "shards-1")
    # shards-0 now records the older document it gave its channel: that must not count as the newer one.
    older = FeedCheck(here.feed_id, NOW, NOW + timedelta(hours=1), fetched=True, kept_content=b"<older/>",
                      content_url="https://a.example/feed", delivered=(here.id,))  # fmt: skip
    await late.record_checks([older], "shards-0")
    assert [s.id for s in await late.subscriptions_behind(shard_0)] == [here.id]
    kept = await late.kept_document(here.feed_id)
    assert kept is not None and kept.content == b"<newer/>"
