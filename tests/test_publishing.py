"""The posting flow with discord.py's REST layer faked at the edge and a real SQLite file."""

from pathlib import Path

import discord
import pytest

from bot.articles import parse_article_text
from bot.articles.presentation import marked_article_id
from bot.publishing import ArticlePublisher, CannotPost
from bot.shards import Shards, shard_of
from bot.storage import Database
from bot.storage.articles import AlreadyPosted, ArticleStore
from tests.builders import fake_bot
from tests.fakes.discord_http import (
    FORUM_CHANNEL_ID,
    READ_ONLY_CHANNEL_ID,
    TEXT_CHANNEL_ID,
    FakeHTTPResponse,
)

SEED = parse_article_text((Path(__file__).parent / "fixtures" / "articles" / "seed_article.txt").read_text("utf-8"))


@pytest.fixture
async def world(tmp_path):
    bot, http, guild = fake_bot(DATABASE_PATH=str(tmp_path / "a.db"))
    db = await Database.open(tmp_path / "a.db")
    store = ArticleStore(db)
    yield bot, http, guild, store, ArticlePublisher(bot, store), db
    await db.close()


async def test_posts_embed_thread_and_prompt_and_records_them(world):
    bot, http, guild, store, publisher, db = world
    published = await publisher.publish(SEED, guild.get_channel(TEXT_CHANNEL_ID), source="Political Lore")

    [post, prompt] = http.sent("send_message")
    assert post["channel_id"] == TEXT_CHANNEL_ID
    assert post["embeds"][0]["title"] == SEED.title
    [thread] = http.sent("start_thread_with_message")
    assert thread["name"] == SEED.title and thread["message_id"] == published.message.id
    assert prompt["channel_id"] == published.thread.id
    assert "What do you personally think about this partnership?" in prompt["content"]
    assert prompt["allowed_mentions"] == {"parse": []}  # article text can never ping

    delivery = await store.delivery(published.delivery_id)
    assert delivery.state == "posted"
    assert (delivery.message_id, delivery.thread_id) == (published.message.id, published.thread.id)
    assert delivery.prompt_message_id is not None


async def test_same_article_twice_in_a_channel_is_refused(world):
    bot, http, guild, store, publisher, db = world
    await publisher.publish(SEED, guild.get_channel(TEXT_CHANNEL_ID), source="x")
    with pytest.raises(AlreadyPosted, match="already posted"):
        await publisher.publish(SEED, guild.get_channel(TEXT_CHANNEL_ID), source="x")
    assert len(http.sent("send_message")) == 2  # the first post and its prompt only
    # ...but another channel may have it too.
    await publisher.publish(SEED, guild.get_channel(FORUM_CHANNEL_ID), source="x")
    assert await db.fetch_value("SELECT COUNT(*) FROM articles") == 1
    assert await db.fetch_value("SELECT COUNT(*) FROM deliveries") == 2


async def test_forum_channel_gets_a_post_with_the_article_as_starter(world):
    bot, http, guild, store, publisher, db = world
    published = await publisher.publish(SEED, guild.get_channel(FORUM_CHANNEL_ID), source="x")
    [forum_post] = http.sent("start_thread_in_forum")
    assert forum_post["name"] == SEED.title
    assert forum_post["message"]["embeds"][0]["title"] == SEED.title
    [prompt] = http.sent("send_message")
    assert prompt["channel_id"] == published.thread.id
    assert not http.sent("start_thread_with_message")


async def test_missing_permission_refused_before_anything_is_stored(world):
    bot, http, guild, store, publisher, db = world
    with pytest.raises(CannotPost, match="Send Messages"):
        await publisher.publish(SEED, guild.get_channel(READ_ONLY_CHANNEL_ID), source="x")
    assert not http.calls
    assert await db.fetch_value("SELECT COUNT(*) FROM deliveries") == 0


async def test_discord_error_marks_delivery_failed_and_a_retry_posts(world):
    bot, http, guild, store, publisher, db = world
    http.fail_next["send_message"] = discord.HTTPException(FakeHTTPResponse(500), "boom")
    with pytest.raises(CannotPost):
        await publisher.publish(SEED, guild.get_channel(TEXT_CHANNEL_ID), source="x")
    assert await db.fetch_value("SELECT state FROM deliveries") == "failed"
    await publisher.publish(SEED, guild.get_channel(TEXT_CHANNEL_ID), source="x")
    assert await db.fetch_value("SELECT state FROM deliveries") == "posted"


async def test_crash_after_sending_is_finished_without_posting_twice(world):
    """The message went out but the bot died before recording it: the restart adopts it."""
    bot, http, guild, store, publisher, db = world
    channel = guild.get_channel(TEXT_CHANNEL_ID)
    http.fail_next["start_thread_with_message"] = KeyboardInterrupt()  # dies mid-post
    with pytest.raises(KeyboardInterrupt):
        await publisher.publish(SEED, channel, source="x")
    # Simulate the record of the sent message being lost with the crash.
    await db.connection.execute("UPDATE deliveries SET message_id = NULL")
    assert await db.fetch_value("SELECT state FROM deliveries") == "pending"

    restarted = ArticlePublisher(bot, store)
    assert await restarted.resume_pending() == 1
    posts = [m for m in http.sent("send_message") if m.get("embeds")]
    assert len(posts) == 1, "the article must not be posted a second time"
    row = await db.fetch_one("SELECT state, message_id, thread_id, prompt_message_id FROM deliveries")
    assert row["state"] == "posted" and row["thread_id"] is not None and row["prompt_message_id"] is not None
    assert marked_article_id(discord.Embed.from_dict(posts[0]["embeds"][0])) is not None


async def test_crash_before_sending_posts_on_restart(world):
    bot, http, guild, store, publisher, db = world
    await store.record_intent(SEED, source="x", guild_id=guild.id, channel_id=TEXT_CHANNEL_ID)
    assert await ArticlePublisher(bot, store).resume_pending() == 1
    assert len([m for m in http.sent("send_message") if m.get("embeds")]) == 1
    assert await db.fetch_value("SELECT state FROM deliveries") == "posted"


async def test_poll_opener_is_called_with_the_thread(world):
    bot, http, guild, store, publisher, db = world
    seen = []

    async def opener(delivery, article, where):
        seen.append((delivery.article_id, article.title, where.id))
        assert len(http.sent("send_message")) == 1, "the poll is the thread's first reply, before the prompt"

    publisher = ArticlePublisher(bot, store, poll_opener=opener)
    published = await publisher.publish(SEED, guild.get_channel(TEXT_CHANNEL_ID), source="x")
    assert seen == [(published.article_id, SEED.title, published.thread.id)]
    assert "poll" in http.sent("send_message")[-1]["content"]


async def test_error_after_the_article_is_out_keeps_it_pending_for_restart(world):
    bot, http, guild, store, publisher, db = world
    http.fail_next["start_thread_with_message"] = discord.HTTPException(FakeHTTPResponse(500), "thread refused")
    with pytest.raises(CannotPost, match="finish it when I restart"):
        await publisher.publish(SEED, guild.get_channel(TEXT_CHANNEL_ID), source="x")
    assert await db.fetch_value("SELECT state FROM deliveries") == "pending"
    assert await ArticlePublisher(bot, store).resume_pending() == 1
    assert len(http.sent("start_thread_with_message")) == 1
    assert len([m for m in http.sent("send_message") if m.get("embeds")]) == 1
    assert await db.fetch_value("SELECT state FROM deliveries") == "posted"


async def test_crash_after_thread_and_prompt_adopts_both_instead_of_repeating(world):
    """Thread opened and prompt sent, but neither recorded before the crash: the restart reuses them."""
    bot, http, guild, store, publisher, db = world
    published = await publisher.publish(SEED, guild.get_channel(TEXT_CHANNEL_ID), source="x")
    await db.connection.execute("UPDATE deliveries SET state = 'pending', thread_id = NULL, prompt_message_id = NULL")
    guild._remove_thread(published.thread)  # the restarted bot has not cached it

    assert await ArticlePublisher(bot, store).resume_pending() == 1
    row = await db.fetch_one("SELECT state, thread_id, prompt_message_id FROM deliveries")
    assert row["state"] == "posted"
    assert row["thread_id"] == published.thread.id
    prompts = [m for m in http.sent("send_message") if not m.get("embeds")]
    assert len(prompts) == 1, "the prompt must not be sent twice"
    assert row["prompt_message_id"] is not None


async def test_transient_error_while_resuming_a_sent_post_keeps_it_pending(world):
    bot, http, guild, store, publisher, db = world
    http.fail_next["start_thread_with_message"] = discord.HTTPException(FakeHTTPResponse(500), "thread refused")
    with pytest.raises(CannotPost):
        await publisher.publish(SEED, guild.get_channel(TEXT_CHANNEL_ID), source="x")
    http.fail_next["start_thread_with_message"] = discord.HTTPException(FakeHTTPResponse(503), "still down")
    assert await ArticlePublisher(bot, store).resume_pending() == 0
    assert await db.fetch_value("SELECT state FROM deliveries") == "pending"
    assert await ArticlePublisher(bot, store).resume_pending() == 1  # the next start finishes it
    assert await db.fetch_value("SELECT state FROM deliveries") == "posted"


async def test_content_refusal_is_marked_as_such(world):
    bot, http, guild, store, publisher, db = world
    http.fail_next["send_message"] = discord.HTTPException(FakeHTTPResponse(400), {"code": 50035, "message": "bad"})
    with pytest.raises(CannotPost) as refused:
        await publisher.publish(SEED, guild.get_channel(TEXT_CHANNEL_ID), source="x")
    assert refused.value.refused_content
    http.fail_next["send_message"] = discord.HTTPException(FakeHTTPResponse(503), "down")
    with pytest.raises(CannotPost) as outage:
        await publisher.publish(SEED, guild.get_channel(TEXT_CHANNEL_ID), source="x")
    assert not outage.value.refused_content


async def test_a_pending_delivery_in_another_process_server_is_left_to_its_process(world):
    """A sharded process finishes only its own servers' deliveries: another live process may be posting that one."""
    bot, http, guild, store, publisher, db = world
    await store.record_intent(SEED, source="x", guild_id=guild.id, channel_id=TEXT_CHANNEL_ID)
    others = Shards(2, (1 - shard_of(guild.id, 2),))
    assert await ArticlePublisher(bot, store, shards=others).resume_pending() == 0
    assert http.sent("send_message") == []
    assert await db.fetch_value("SELECT state FROM deliveries") == "pending"  # not marked failed either
    owner = Shards(2, (shard_of(guild.id, 2),))
    assert await ArticlePublisher(bot, store, shards=owner).resume_pending() == 1
    assert await db.fetch_value("SELECT state FROM deliveries") == "posted"
