"""Feed, subscription and seen-item SQL against a real SQLite database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.storage import Database
from bot.storage.database import bundled_migrations
from bot.storage.feeds import AlreadySubscribed, FeedCheck, FeedStore, NewSubscription, SeenItem, SettingsChange
from bot.storage.polls import PollRulesRow

NOW = datetime(2024, 6, 5, 12, 0, tzinfo=UTC)
GUILD = 1


@pytest.fixture
def store(db_on):
    return FeedStore(db_on)


def new(url: str = "https://a.example/feed", channel_id: int = 10, **changes) -> NewSubscription:  # type: ignore[no-untyped-def]
    values = dict(url=url, title="A", etag='"1"', last_modified=None, next_check_at=NOW + timedelta(minutes=10),
                  guild_id=GUILD, channel_id=channel_id, created_by=5)  # fmt: skip
    values.update(changes)
    return NewSubscription(**values)  # type: ignore[arg-type]


def undated(*keys: str) -> list[SeenItem]:
    return [(key, None) for key in keys]


async def test_one_feed_row_per_url_shared_by_subscriptions(store: FeedStore) -> None:
    first = await store.subscribe(new(channel_id=10), undated("k1"))
    second = await store.subscribe(new(channel_id=11), [])
    assert first.feed_id == second.feed_id
    assert (first.feed_url, first.feed_title) == ("https://a.example/feed", "A")
    with pytest.raises(AlreadySubscribed, match="<#10>"):
        await store.subscribe(new(channel_id=10), [])
    assert await store.unseen_keys(first.id, ["k1", "k2"]) == {"k2"}
    assert await store.unseen_keys(second.id, ["k1"]) == {"k1"}


async def test_due_feeds_need_an_active_subscription_and_a_due_time(store: FeedStore) -> None:
    subscription = await store.subscribe(new(), [])
    assert await store.due_feeds(NOW) == []
    assert [feed.id for feed in await store.due_feeds(NOW + timedelta(minutes=10))] == [subscription.feed_id]
    await store.set_paused(subscription.id, GUILD, "paused by Mod")
    assert await store.due_feeds(NOW + timedelta(days=1)) == []
    assert await store.guild_feeds(GUILD) == []


async def test_cycle_outcomes_are_recorded_together(store: FeedStore) -> None:
    ok = await store.subscribe(new("https://ok.example/"), [])
    same = await store.subscribe(new("https://same.example/"), [])
    bad = await store.subscribe(new("https://bad.example/"), [])
    later = NOW + timedelta(hours=1)
    await store.record_checks([
        FeedCheck(ok.feed_id, NOW, later, fetched=True, title="OK", etag='"2"', last_modified="x", new_items=True),
        FeedCheck(same.feed_id, NOW, later),
        FeedCheck(bad.feed_id, NOW, later, error="HTTP 500"),
    ])  # fmt: skip
    await store.record_checks([FeedCheck(bad.feed_id, NOW, later, error="HTTP 503")])
    fetched, unchanged, failing = [await store.feed(s.feed_id) for s in (ok, same, bad)]
    assert fetched and (fetched.title, fetched.etag, fetched.last_new_item_at) == ("OK", '"2"', NOW)
    assert unchanged and (unchanged.etag, unchanged.last_success_at, unchanged.next_check_at) == ('"1"', NOW, later)
    assert failing and (failing.consecutive_failures, failing.last_error) == (2, "HTTP 503")
    await store.record_checks([FeedCheck(bad.feed_id, NOW, later)])
    recovered = await store.feed(bad.feed_id)
    assert recovered and (recovered.consecutive_failures, recovered.last_error) == (0, None)


async def test_resume_clears_failures_and_sets_the_due_time(store: FeedStore) -> None:
    subscription = await store.subscribe(new(), [])
    await store.record_checks([FeedCheck(subscription.feed_id, NOW, NOW + timedelta(days=1), error="down")])
    assert [s.id for s in await store.pause_feed(subscription.feed_id, "failed")] == [subscription.id]
    assert await store.pause_feed(subscription.feed_id, "failed") == []  # already paused
    assert await store.set_paused(subscription.id, GUILD, None, due_at=NOW)
    feed = await store.feed(subscription.feed_id)
    assert feed and (feed.consecutive_failures, feed.next_check_at) == (0, NOW)
    assert not await store.set_paused(subscription.id, GUILD + 1, None)  # another guild's id finds nothing


async def test_many_keys_are_checked_in_chunks(store: FeedStore) -> None:
    subscription = await store.subscribe(new(), undated(*(f"seen-{n}" for n in range(700))))
    keys = [f"seen-{n}" for n in range(700)] + [f"new-{n}" for n in range(600)]
    assert await store.unseen_keys(subscription.id, keys) == {f"new-{n}" for n in range(600)}


async def test_seen_mark_runs_inside_another_transaction(store: FeedStore, db_on) -> None:
    subscription = await store.subscribe(new(), [])
    async with db_on.transaction() as connection:
        await FeedStore.seen_with_intent(subscription.id, ("k", NOW))(connection)
    assert await store.unseen_keys(subscription.id, ["k"]) == set()
    await store.forget_seen(subscription.id, "k")
    assert await store.unseen_keys(subscription.id, ["k"]) == {"k"}


async def test_only_seen_items_dated_before_the_horizon_and_dropped_by_the_feed_are_forgotten(
    store: FeedStore,
) -> None:
    old, recent = NOW - timedelta(days=100), NOW - timedelta(days=10)
    seen = [("old gone", old), ("old listed", old), ("recent gone", recent), ("undated gone", None)]
    subscription = await store.subscribe(new(), seen)
    assert await store.forget_old_seen(subscription.id, ["old listed"], NOW - timedelta(days=90)) == 1
    keys = [key for key, _ in seen]
    assert await store.unseen_keys(subscription.id, keys) == {"old gone"}
    # Undated items are kept whatever their age: no date could refuse them if they came back.
    assert await store.forget_old_seen(subscription.id, [], NOW + timedelta(days=3650)) == 2
    assert await store.unseen_keys(subscription.id, keys) == {"old gone", "old listed", "recent gone"}


async def test_refusals_are_counted_per_item_and_skipping_keeps_the_reason(store: FeedStore) -> None:
    subscription = await store.subscribe(new(), [])
    assert await store.record_refusal(subscription.id, "a", "refused a") == 1
    assert await store.record_refusal(subscription.id, "a", "refused a again") == 2
    assert await store.record_refusal(subscription.id, "b", "refused b") == 1  # another item starts over
    [(listed, _)] = await store.subscriptions_in_guild(GUILD)
    assert (listed.refused_item_key, listed.refused_attempts, listed.last_error) == ("b", 1, "refused b")
    assert listed.last_error_at is not None
    await store.skip_refused(subscription.id, "skipped b")
    await store.clear_refusal(subscription.id)  # nothing pending: the skip notice stays
    [(listed, _)] = await store.subscriptions_in_guild(GUILD)
    assert (listed.refused_item_key, listed.refused_attempts, listed.last_error) == (None, 0, "skipped b")
    await store.record_refusal(subscription.id, "c", "refused c")
    await store.clear_refusal(subscription.id)
    [(listed, _)] = await store.subscriptions_in_guild(GUILD)
    assert (listed.refused_item_key, listed.last_error, listed.last_error_at) == (None, None, None)


async def test_moved_feed_keeps_its_row_when_the_new_address_is_free(store: FeedStore) -> None:
    subscription = await store.subscribe(new("https://old.example/feed"), undated("k"))
    assert await store.move_feed(subscription.feed_id, "https://new.example/feed") == subscription.feed_id
    [(listed, feed)] = await store.subscriptions_in_guild(GUILD)
    assert (listed.id, feed.url) == (subscription.id, "https://new.example/feed")
    assert await store.unseen_keys(subscription.id, ["k"]) == set()


async def test_moved_feed_joins_the_feed_already_at_the_new_address(store: FeedStore) -> None:
    moving_only = await store.subscribe(new("https://old.example/feed", channel_id=10), undated("seen here"))
    moving_both = await store.subscribe(new("https://old.example/feed", channel_id=11), [])
    staying = await store.subscribe(new("https://new.example/feed", channel_id=11), [])
    assert await store.move_feed(moving_only.feed_id, "https://new.example/feed") == staying.feed_id
    listed = {s.id: (s.feed_id, s.feed_url) for s, _ in await store.subscriptions_in_guild(GUILD)}
    # Channel 11 had both: it keeps one subscription; channel 10's moves with its seen items.
    assert listed == {moving_only.id: (staying.feed_id, "https://new.example/feed"),
                      staying.id: (staying.feed_id, "https://new.example/feed")}  # fmt: skip
    assert moving_both.id not in listed
    assert await store.feed(moving_only.feed_id) is None
    assert await store.unseen_keys(moving_only.id, ["seen here"]) == set()


async def test_database_of_schema_2_upgrades_and_keeps_its_feeds(tmp_path) -> None:
    """Seen items from before dates were stored keep their rows, stay seen and are never forgotten."""
    path = tmp_path / "agora.db"
    old = await Database.open(path, migrations=bundled_migrations()[:2])
    async with old.transaction() as connection:
        await connection.execute("INSERT INTO feeds (id, url, title) VALUES (1, 'https://a.example/feed', 'A')")
        await connection.execute(
            "INSERT INTO subscriptions (id, feed_id, guild_id, channel_id, created_at, paused, paused_reason)"
            " VALUES (7, 1, ?, 10, '2024-01-01T00:00:00.000+00:00', 1, 'paused by Mod')",
            (GUILD,),
        )
        await connection.execute(
            "INSERT INTO subscription_seen_items (subscription_id, item_key, seen_at)"
            " VALUES (7, 'old item', '2023-01-01T00:00:00.000+00:00')"
        )
    await old.close()

    db = await Database.open(path)
    try:
        assert await db.schema_version() == bundled_migrations()[-1][0]
        store = FeedStore(db)
        [(subscription, feed)] = await store.subscriptions_in_guild(GUILD)
        assert (subscription.id, subscription.paused_reason, feed.title) == (7, "paused by Mod", "A")
        assert (subscription.refused_attempts, subscription.last_error) == (0, None)
        # Settings of a subscription made before /feed edit existed are the defaults.
        assert (subscription.max_age_days, subscription.identity, subscription.include_words) == (90, "auto", ())
        assert await store.unseen_keys(7, ["old item", "new item"]) == {"new item"}
        assert await store.forget_old_seen(7, [], NOW) == 0
    finally:
        await db.close()


async def test_removing_the_last_subscription_removes_the_feed(store: FeedStore, db_on) -> None:
    first = await store.subscribe(new(channel_id=10), undated("k"))
    second = await store.subscribe(new(channel_id=11), undated("k"))
    assert not await store.remove_subscription(first.id, GUILD + 1)
    assert await store.remove_subscription(first.id, GUILD)
    assert await store.feed(first.feed_id) is not None
    assert await store.remove_subscription(second.id, GUILD)
    assert await store.feed(first.feed_id) is None
    assert await db_on.fetch_value("SELECT COUNT(*) FROM subscription_seen_items") == 0


async def test_search_matches_title_or_url_and_escapes_wildcards(store: FeedStore) -> None:
    await store.subscribe(new("https://a.example/feed", title="Local 100% News"), [])
    await store.subscribe(new("https://b.example/my_feed", channel_id=11, title="Other"), [])
    assert [s.feed_title for s in await store.search_subscriptions(GUILD, "100%")] == ["Local 100% News"]
    assert [s.feed_title for s in await store.search_subscriptions(GUILD, "my_f")] == ["Other"]
    assert [s.feed_title for s in await store.search_subscriptions(GUILD, "")] == ["Local 100% News", "Other"]
    assert await store.search_subscriptions(GUILD + 1, "") == []
    [(listed, feed)] = (await store.subscriptions_in_guild(GUILD))[:1]
    assert listed.feed_id == feed.id


async def test_a_subscriptions_poll_rules_are_kept_edited_and_cleared(store: FeedStore) -> None:
    rules = PollRulesRow("42", 7 * 86_400, 0, True, None)
    subscription = await store.subscribe(new(poll_rules=rules), [])
    assert subscription.poll_rules == rules  # 0 stays 0 (no minimum here), None stays None (the server's)
    plain = await store.subscribe(new(channel_id=11), [])
    assert plain.poll_rules == PollRulesRow()
    edited = PollRulesRow(None, None, None, False, True)
    assert await store.update_settings(subscription.id, GUILD, SettingsChange(poll_rules=edited))
    assert (await store.subscription(subscription.id, GUILD)).poll_rules == edited  # type: ignore[union-attr]
    assert await store.update_settings(subscription.id, GUILD, SettingsChange(poll_rules=PollRulesRow()))
    assert (await store.subscription(subscription.id, GUILD)).poll_rules == PollRulesRow()  # type: ignore[union-attr]
