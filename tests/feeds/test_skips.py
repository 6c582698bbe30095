"""Every item a subscription does not post is accounted for; settings, preview (real store, fetcher, publisher)."""

from __future__ import annotations

from datetime import timedelta

import discord
import pytest

from bot.feeds.service import FeedError
from bot.storage.feeds import MAX_SKIP_ROWS_PER_CYCLE, SettingsChange
from tests.discord_fakes import _FakeResponse
from tests.feeds.test_service import START, World, seen_count, world  # noqa: F401 — the fixture

pytestmark = pytest.mark.usefixtures("world")


async def skip_rows(world: World) -> list[tuple[str, str, str | None, int]]:
    rows = await world.db.fetch_all(
        "SELECT reason, detail, item_title, item_count FROM feed_item_skips ORDER BY id"
    )
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
    edited, note = await world.service.edit(world.guild.id, subscribed.subscription.id, SettingsChange(identity="title"))
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
    link = world.server.add_item("Listed twice")
    world.server.live_items.append(("Listed twice", link))
    report = await world.cycle()
    assert world.posted_titles() == ["Story 3", "Listed twice"]
    assert report.skipped == {"already_seen": 1}
    [(reason, detail, _, _)] = await skip_rows(world)
    assert reason == "already_seen" and "same guid" in detail


async def test_an_item_discord_refuses_three_times_is_recorded_with_discords_error(world: World) -> None:
    await world.subscribe()
    world.server.add_item("Too big story")
    too_long = {"message": "Invalid Form Body", "code": 50035,
                "errors": {"embeds": {"0": {"description": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH",
                                                                          "message": "Must be 4096 or fewer in length."}]}}}}}  # fmt: skip
    for _ in range(3):
        world.http.fail_next["send_message"] = discord.HTTPException(_FakeResponse(400), too_long)
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
