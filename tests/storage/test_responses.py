"""Responses SQL: thread lookup, idempotent insert, deletes of many ids, closing a discussion."""

import pytest

from bot.storage.responses import ResponseStore, StoredResponse
from tests.summaries.factories import OTHER_GUILD, Seed


@pytest.fixture
async def env(db_on):
    db = db_on
    seed = Seed(db)
    article = await seed.article()
    delivery = await seed.delivery(article, guild_id=OTHER_GUILD, thread_id=11)
    return db, ResponseStore(db), article, delivery


def response(message_id, article, delivery, content=None):
    return StoredResponse(message_id, 11, article, delivery, 100, "2026-11-01T12:00:00.000+00:00", None, 3, content)


async def test_thread_lookup_names_the_delivery_article_and_guild(env):
    db, store, article, delivery = env
    thread = await store.discussion_thread(11)
    assert (thread.delivery_id, thread.article_id, thread.guild_id) == (delivery, article, OTHER_GUILD)
    assert thread.open
    assert await store.discussion_thread(12) is None


async def test_insert_is_idempotent_and_keeps_the_first_row(env):
    db, store, article, delivery = env
    assert await store.add(response(1, article, delivery, "one"))
    assert not await store.add(response(1, article, delivery, "two"))
    assert (await store.response(1)).content == "one"


async def test_delete_many_ids_at_once(env):
    db, store, article, delivery = env
    for message_id in range(1, 1501):
        await store.add(response(message_id, article, delivery))
    assert await store.delete(set(range(1, 1001)) | {10**18}) == 1000
    assert await db.fetch_value("SELECT COUNT(*) FROM responses") == 500


async def test_deleting_the_article_deletes_its_responses(env):
    db, store, article, delivery = env
    await store.add(response(1, article, delivery, "text"))
    async with db.transaction() as connection:
        await connection.execute("DELETE FROM articles WHERE id = ?", (article,))
    assert await store.response(1) is None


async def test_close_discussion(env):
    db, store, *_ = env
    assert await store.close_discussion(11)
    assert not (await store.discussion_thread(11)).open
    assert not await store.close_discussion(404)
