"""ARTICLES_DIR: new files reach subscribed channels once, also across restarts."""

from pathlib import Path

import pytest

from bot.articles.folder import ArticleFolder, read_folder
from bot.publishing import ArticlePublisher
from bot.storage import Database
from bot.storage.articles import ArticleStore
from tests.builders import fake_bot
from tests.fakes.discord_http import BOT_ROLE_ID, MODERATOR_ID, TEXT_CHANNEL_ID

SEED = (Path(__file__).resolve().parents[1] / "fixtures" / "articles" / "seed_article.txt").read_text("utf-8")


@pytest.fixture
async def setup(tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    bot, http, guild = fake_bot()
    databases = []

    async def start():
        db = await Database.open(tmp_path / "a.db")
        databases.append(db)
        store = ArticleStore(db)
        return ArticleFolder(folder, ArticlePublisher(bot, store), store, max_bytes=100_000), db

    yield bot, http, guild, folder, start
    for db in databases:
        await db.close()


def posts(http):
    return [m for m in http.sent("send_message") if m.get("embeds")]


async def test_files_present_at_subscription_are_not_posted_new_ones_are(setup):
    bot, http, guild, folder, start = setup
    (folder / "old.txt").write_text("Old news\n\nBody.")
    articles, db = await start()
    assert await articles.subscribe(guild.get_channel(TEXT_CHANNEL_ID), MODERATOR_ID)
    assert await articles.post_new_files(bot) == 0

    (folder / "seed.txt").write_text(SEED)
    (folder / "notes.pdf").write_bytes(b"%PDF")  # not an article file
    assert await articles.post_new_files(bot) == 1
    assert [p["embeds"][0]["title"] for p in posts(http)] == ["Russia joins forces with France in fight against ISIS"]
    assert await articles.post_new_files(bot) == 0


async def test_nothing_posted_twice_across_a_restart(setup):
    bot, http, guild, folder, start = setup
    articles, db = await start()
    await articles.subscribe(guild.get_channel(TEXT_CHANNEL_ID), MODERATOR_ID)
    (folder / "seed.txt").write_text(SEED)
    await articles.post_new_files(bot)
    await db.close()

    restarted, _ = await start()
    (folder / "copy-of-seed.txt").write_text(SEED)  # same article under another name
    assert await restarted.post_new_files(bot) == 0
    assert len(posts(http)) == 1


async def test_bad_file_is_skipped_and_others_still_posted(setup):
    bot, http, guild, folder, start = setup
    articles, db = await start()
    await articles.subscribe(guild.get_channel(TEXT_CHANNEL_ID), MODERATOR_ID)
    (folder / "a-broken.txt").write_bytes(b"\x00\x01\x02")
    (folder / "b-seed.txt").write_text(SEED)
    assert await articles.post_new_files(bot) == 1
    assert await articles.post_new_files(bot) == 0  # the broken file is not retried forever


async def test_subscribing_twice_reports_it(setup):
    bot, http, guild, folder, start = setup
    articles, db = await start()
    channel = guild.get_channel(TEXT_CHANNEL_ID)
    assert await articles.subscribe(channel, MODERATOR_ID)
    assert not await articles.subscribe(channel, MODERATOR_ID)


def test_read_folder_orders_oldest_first_and_keys_by_content(tmp_path):
    import os

    (tmp_path / "b.txt").write_text("B")
    (tmp_path / "a.txt").write_text("A")
    os.utime(tmp_path / "b.txt", (1, 1))
    files = read_folder(tmp_path)
    assert [f.path.name for f in files] == ["b.txt", "a.txt"]
    (tmp_path / "a.txt").write_text("A, edited")
    assert read_folder(tmp_path)[1].key != files[1].key


async def test_file_refused_by_permissions_is_retried_and_logged_once(setup, caplog):
    bot, http, guild, folder, start = setup
    articles, db = await start()
    channel = guild.get_channel(TEXT_CHANNEL_ID)
    await articles.subscribe(channel, MODERATOR_ID)
    (folder / "seed.txt").write_text(SEED)
    bot_role = guild.get_role(BOT_ROLE_ID)
    granted = bot_role._permissions
    bot_role._permissions = 0  # an admin took the bot's permissions away
    try:
        assert await articles.post_new_files(bot) == 0
        assert await articles.post_new_files(bot) == 0
    finally:
        bot_role._permissions = granted
    assert len([r for r in caplog.records if "will retry" in r.getMessage()]) == 1
    assert await articles.post_new_files(bot) == 1  # permissions fixed: posted on the next scan


async def test_file_discord_refuses_is_given_up_after_three_scans(setup):
    import discord

    from tests.fakes.discord_http import FakeHTTPResponse

    bot, http, guild, folder, start = setup
    articles, db = await start()
    await articles.subscribe(guild.get_channel(TEXT_CHANNEL_ID), MODERATOR_ID)
    (folder / "seed.txt").write_text(SEED)
    for _ in range(3):
        http.fail_next["send_message"] = discord.HTTPException(FakeHTTPResponse(400), {"code": 50035, "message": "bad"})
        assert await articles.post_new_files(bot) == 0
    assert await articles.post_new_files(bot) == 0
    assert not posts(http), "given up: not sent a fourth time"
    assert "send_message" not in http.fail_next


async def test_refusals_are_counted_across_a_restart(setup):
    """The count is stored: two refusals, a restart, and the third refusal still gives the file up."""
    import discord

    from tests.fakes.discord_http import FakeHTTPResponse

    bot, http, guild, folder, start = setup
    articles, db = await start()
    await articles.subscribe(guild.get_channel(TEXT_CHANNEL_ID), MODERATOR_ID)
    (folder / "seed.txt").write_text(SEED)
    for restart in (False, False, True):
        if restart:
            await db.close()
            articles, db = await start()
        http.fail_next["send_message"] = discord.HTTPException(FakeHTTPResponse(400), {"code": 50035, "message": "bad"})
        assert await articles.post_new_files(bot) == 0
    assert await articles.post_new_files(bot) == 0
    assert not posts(http), "given up after three refusals, one of them after the restart"
    assert "send_message" not in http.fail_next
