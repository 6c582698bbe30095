"""/article post through the cog, with Discord faked at the edge."""

from pathlib import Path

import pytest

from bot.articles import ArticleFormatError
from bot.permissions import NotModerator, is_moderator
from bot.publishing import ArticlePublisher, CannotPost
from bot.server_settings import ServerSettings
from bot.storage import Database
from bot.storage.articles import AlreadyPosted, ArticleStore
from bot.storage.settings import SettingsStore
from cogs.articles import ArticleCommands
from tests.builders import fake_bot
from tests.fakes.discord_http import (
    HELPER_ROLE_ID,
    READ_ONLY_CHANNEL_ID,
    TEXT_CHANNEL_ID,
    FakeInteraction,
    attachment,
)

SEED_BYTES = (Path(__file__).resolve().parents[1] / "fixtures" / "articles" / "seed_article.txt").read_bytes()


@pytest.fixture
async def cog(tmp_path):
    bot, http, guild = fake_bot(ARTICLE_MAX_BYTES="4096")
    bot.db = await Database.open(tmp_path / "a.db")
    bot.settings = ServerSettings(SettingsStore(bot.db))
    bot.publisher = ArticlePublisher(bot, ArticleStore(bot.db))
    bot.folder = None
    yield ArticleCommands(bot), bot, http, guild
    await bot.db.close()


async def test_post_command_posts_and_answers_privately(cog):
    commands, bot, http, guild = cog
    interaction = FakeInteraction(bot, guild, moderator=True)
    file = attachment(bot, http, "seed.txt", SEED_BYTES)
    await commands.post.callback(commands, interaction, guild.get_channel(TEXT_CHANNEL_ID), file)
    assert interaction.deferred_ephemeral is True
    [reply] = interaction.replies
    assert reply["ephemeral"] and "Posted **Russia joins forces" in reply["content"]
    assert len(http.sent("start_thread_with_message")) == 1
    assert await bot.db.fetch_value("SELECT source FROM articles") == "Political Lore"
    assert await bot.db.fetch_value("SELECT COUNT(*) FROM deliveries WHERE state = 'posted'") == 1


async def test_post_twice_is_refused_and_nothing_changes(cog):
    commands, bot, http, guild = cog
    channel = guild.get_channel(TEXT_CHANNEL_ID)
    await commands.post.callback(
        commands, FakeInteraction(bot, guild, moderator=True), channel, attachment(bot, http, "a.txt", SEED_BYTES)
    )
    calls = len(http.calls)
    with pytest.raises(AlreadyPosted):
        await commands.post.callback(
            commands, FakeInteraction(bot, guild, moderator=True), channel, attachment(bot, http, "b.txt", SEED_BYTES)
        )
    assert len(http.calls) == calls


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"\x00\x01binary", "binary"), (b"", "empty"), (b"x" * 5000, "at most"), (b"Today: x\n\n", "no title")],
)
async def test_bad_files_are_refused_before_anything_is_stored(cog, data, message):
    commands, bot, http, guild = cog
    with pytest.raises(ArticleFormatError, match=message):
        await commands.post.callback(
            commands,
            FakeInteraction(bot, guild, moderator=True),
            guild.get_channel(TEXT_CHANNEL_ID),
            attachment(bot, http, "f.txt", data),
        )
    assert not http.calls
    assert await bot.db.fetch_value("SELECT COUNT(*) FROM articles") == 0


async def test_channel_without_send_permission_is_refused(cog):
    commands, bot, http, guild = cog
    with pytest.raises(CannotPost, match="Send Messages"):
        await commands.post.callback(
            commands,
            FakeInteraction(bot, guild, moderator=True),
            guild.get_channel(READ_ONLY_CHANNEL_ID),
            attachment(bot, http, "f.txt", SEED_BYTES),
        )


async def test_moderator_check_runs_on_every_call(cog):
    commands, bot, http, guild = cog
    [check] = commands.post.checks
    assert await check(FakeInteraction(bot, guild, moderator=True))
    with pytest.raises(NotModerator, match="moderators"):
        await check(FakeInteraction(bot, guild, moderator=False))


async def test_moderator_role_set_by_an_admin_counts(cog):
    commands, bot, http, guild = cog
    helper = FakeInteraction(bot, guild, moderator=False, role_ids=[HELPER_ROLE_ID])
    assert not await is_moderator(helper, bot.settings)
    await bot.settings.set_moderator_role(guild.id, HELPER_ROLE_ID)
    assert await is_moderator(helper, bot.settings)
    assert not await is_moderator(FakeInteraction(bot, guild, moderator=False), bot.settings)


async def no_votes_queued() -> None:
    """The flush of a vote recorder with nothing queued: this cog's tests record no votes."""


async def test_article_autocomplete_shows_nothing_to_non_moderators(cog):
    from bot.storage.summaries import SummaryStore
    from bot.summaries.service import SummaryService

    commands, bot, http, guild = cog
    bot.summaries = SummaryService(SummaryStore(bot.db), no_votes_queued)
    await commands.post.callback(
        commands,
        FakeInteraction(bot, guild, moderator=True),
        guild.get_channel(TEXT_CHANNEL_ID),
        attachment(bot, http, "a.txt", SEED_BYTES),
    )
    for_moderator = await commands._summary_article_choices(FakeInteraction(bot, guild, moderator=True), "Russia")
    assert any("Russia joins forces" in choice.name for choice in for_moderator)
    assert await commands._summary_article_choices(FakeInteraction(bot, guild, moderator=False), "Russia") == []
