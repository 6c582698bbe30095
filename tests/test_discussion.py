"""The discussion service over a real database: which replies count, edits, deletions, deleted threads."""

import asyncio

import pytest

from bot.discussion import DiscussionService, Reply
from bot.storage.responses import ResponseStore
from tests.summaries.factories import Seed, at, open_database

THREAD = 11


@pytest.fixture
async def world(tmp_path):
    db = await open_database(tmp_path / "agora.db")
    seed = Seed(db)
    article = await seed.article()
    delivery = await seed.delivery(article, thread_id=THREAD)
    yield db, ResponseStore(db), article, delivery
    await db.close()


def reply(message_id=1, *, thread_id=THREAD, author=100, by_bot=False, content="I agree, mostly.", minute=5):
    return Reply(message_id, thread_id, author, by_bot, at(minute), content)


async def test_reply_in_an_article_thread_is_counted_without_its_text(world):
    db, store, article, delivery = world
    service = DiscussionService(store, store_text=False)
    assert await service.record_reply(reply())
    stored = await store.response(1)
    assert (stored.thread_id, stored.article_id, stored.delivery_id) == (THREAD, article, delivery)
    assert stored.author_id == 100
    assert stored.created_at == "2026-11-01T12:05:00.000+00:00"
    assert stored.length == len("I agree, mostly.") and stored.content is None and stored.edited_at is None


async def test_text_is_stored_only_when_enabled(world):
    db, store, *_ = world
    assert await DiscussionService(store, store_text=True).record_reply(reply())
    assert (await store.response(1)).content == "I agree, mostly."


async def test_without_the_intent_a_reply_still_counts(world):
    db, store, *_ = world
    assert await DiscussionService(store, store_text=True).record_reply(reply(content=""))
    stored = await store.response(1)
    assert stored.length == 0 and stored.content is None


@pytest.mark.parametrize("other", [reply(thread_id=999), reply(by_bot=True)], ids=["other thread", "bot"])
async def test_bots_and_other_threads_are_not_responses(world, other):
    db, store, *_ = world
    assert not await DiscussionService(store, store_text=True).record_reply(other)
    assert await db.fetch_value("SELECT COUNT(*) FROM responses") == 0


async def test_a_replayed_reply_is_stored_once(world):
    db, store, *_ = world
    service = DiscussionService(store, store_text=False)
    assert await service.record_reply(reply())
    assert not await service.record_reply(reply())
    assert await db.fetch_value("SELECT COUNT(*) FROM responses") == 1


async def test_edit_updates_time_length_and_text(world):
    db, store, *_ = world
    service = DiscussionService(store, store_text=True)
    await service.record_reply(reply())
    assert await service.record_edit(1, at(9), "Changed my mind.")
    stored = await store.response(1)
    assert (stored.edited_at, stored.length, stored.content) == (
        "2026-11-01T12:09:00.000+00:00",
        len("Changed my mind."),
        "Changed my mind.",
    )


async def test_edit_of_a_message_that_is_no_response_changes_nothing(world):
    db, store, *_ = world
    assert not await DiscussionService(store, store_text=True).record_edit(42, at(9), "x")
    assert await db.fetch_value("SELECT COUNT(*) FROM responses") == 0


async def test_deleted_messages_are_deleted_text_included(world):
    db, store, *_ = world
    service = DiscussionService(store, store_text=True)
    for message_id in (1, 2, 3):
        await service.record_reply(reply(message_id))
    assert await service.record_deletions([2]) == 1
    assert await service.record_deletions({1, 3, 77}) == 2  # a bulk delete, with a message that was no reply
    assert await db.fetch_value("SELECT COUNT(*) FROM responses") == 0
    assert await service.record_deletions([]) == 0


async def test_deleted_thread_closes_the_discussion_and_keeps_its_figures(world):
    db, store, *_ = world
    service = DiscussionService(store, store_text=False)
    await service.record_reply(reply())
    assert await service.thread_deleted(THREAD)
    assert await db.fetch_value("SELECT discussion_open FROM deliveries WHERE thread_id = ?", (THREAD,)) == 0
    assert await db.fetch_value("SELECT COUNT(*) FROM responses") == 1
    assert (await store.discussion_thread(THREAD)).open is False
    assert not await service.thread_deleted(999)


async def test_events_apply_in_the_order_they_arrived(world):
    """A reply edited and deleted at once, each event in its own task as discord.py dispatches them."""
    db, store, *_ = world
    service = DiscussionService(store, store_text=True)
    await asyncio.gather(
        service.record_reply(reply(1)),
        service.record_reply(reply(2)),
        service.record_edit(1, at(6), "Edited at once."),
        service.record_deletions([2]),
    )
    assert [tuple(row) for row in await db.fetch_all("SELECT message_id, content FROM responses")] == [
        (1, "Edited at once.")
    ]
