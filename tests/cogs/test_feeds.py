"""/feed commands through the cog, with Discord's REST faked at the edge and feeds served locally."""

from __future__ import annotations

import dataclasses
import logging

import discord
import pytest

from bot.feeds.fetcher import FeedFetcher
from bot.feeds.presentation import added_text, describe
from bot.feeds.service import FeedError, FeedService, Subscribed
from bot.permissions import NotModerator
from bot.polls.options import InvalidOptions
from bot.polls.service import PollService
from bot.publishing import ArticlePublisher
from bot.server_settings import ServerSettings
from bot.storage import Database
from bot.storage.articles import ArticleStore
from bot.storage.feeds import FeedStore
from bot.storage.polls import PollStore
from bot.storage.settings import SettingsStore
from cogs._emoji import guild_emojis
from cogs.feeds import FeedCommands
from tests.builders import fake_bot
from tests.fakes.discord_http import (
    READ_ONLY_CHANNEL_ID,
    TEXT_CHANNEL_ID,
    FakeHTTPResponse,
    FakeInteraction,
)
from tests.fakes.feed_server import FeedServer


@pytest.fixture
async def cog(tmp_path, feed_server: FeedServer):
    bot, http, guild = fake_bot(FEED_ALLOW_PRIVATE_ADDRESSES="true")
    bot.db = await Database.open(tmp_path / "a.db")
    bot.settings = ServerSettings(SettingsStore(bot.db))
    bot.polls = PollService(bot, PollStore(bot.db))  # the server's poll defaults
    bot.publisher = ArticlePublisher(bot, ArticleStore(bot.db))
    bot.feeds = FeedService(
        FeedStore(bot.db), FeedFetcher(allow_private=True, total_timeout=5.0), bot.publisher, bot.get_channel,
        interval=600, max_failures=3, allow_private=True, jitter=0.0,
    )  # fmt: skip
    for n in range(1, 4):
        feed_server.add_item(f"Story {n}")
    yield FeedCommands(bot), bot, http, guild, feed_server
    await bot.feeds.close()
    await bot.db.close()


def moderator(bot, guild) -> FakeInteraction:  # type: ignore[no-untyped-def]
    return FakeInteraction(bot, guild, moderator=True)


async def add(cog, channel_id: int = TEXT_CHANNEL_ID, **options) -> FakeInteraction:  # type: ignore[no-untyped-def]
    commands, bot, http, guild, server = cog
    interaction = moderator(bot, guild)
    await commands.add.callback(commands, interaction, server.url("/live"), guild.get_channel(channel_id), **options)
    return interaction


async def test_add_answers_privately_with_title_count_and_what_was_posted(cog) -> None:
    interaction = await add(cog)
    assert interaction.deferred_ephemeral is True
    [reply] = interaction.replies
    assert reply["ephemeral"]
    assert "now follows **Live News** (3 articles in the feed)" in reply["content"]
    assert "Posted the newest 1" in reply["content"]
    _, _, http, _, _ = cog
    assert [p["embeds"][0]["title"] for p in http.sent("send_message") if p.get("embeds")] == ["Story 3"]


async def test_add_without_backfill_says_nothing_was_posted(cog) -> None:
    [reply] = (await add(cog, backfill=0)).replies
    assert "Nothing was posted now" in reply["content"]


async def test_add_reports_missing_channel_permissions(cog) -> None:
    [reply] = (await add(cog, READ_ONLY_CHANNEL_ID)).replies
    assert "⚠️ I am missing Send Messages" in reply["content"]


async def test_bad_poll_options_are_refused_before_anything_is_fetched(cog) -> None:
    commands, bot, http, guild, server = cog
    interaction = moderator(bot, guild)
    with pytest.raises(InvalidOptions):
        await commands.add.callback(commands, interaction, server.url("/live"), guild.get_channel(TEXT_CHANNEL_ID),
                                    poll_options="only one option")  # fmt: skip
    assert interaction.deferred_ephemeral is None
    assert server.requests == []


async def test_poll_options_and_question_are_kept_on_the_subscription(cog) -> None:
    await add(cog, poll_question="Agree with {title}?", poll_options="✅ Agree | ❌ Disagree")
    _, bot, _, _, _ = cog
    row = await bot.db.fetch_one("SELECT poll_question_template, poll_options FROM subscriptions")
    assert row["poll_question_template"] == "Agree with {title}?"
    assert row["poll_options"] == '[["✅", "Agree"], ["❌", "Disagree"]]'


async def test_list_shows_each_subscription_with_its_state_and_problems(cog) -> None:
    await add(cog)
    await add(cog, READ_ONLY_CHANNEL_ID)
    commands, bot, _, guild, server = cog
    server.add_item("Story 4")
    await commands.check.callback(commands, moderator(bot, guild))
    interaction = moderator(bot, guild)
    await commands.list_feeds.callback(commands, interaction)
    [reply] = interaction.replies
    description = reply["embed"].description
    lines = description.splitlines()
    assert len(lines) == 2 and all("**Live News**" in line and "✅ active" in line for line in lines)
    assert all("checked <t:" in line and "last new article <t:" in line for line in lines)
    assert f"<#{READ_ONLY_CHANNEL_ID}>" in description and "missing Send Messages" in description
    assert sum("missing" in line for line in lines) == 1


async def test_list_shows_an_item_discord_refused_and_that_it_was_skipped(cog) -> None:
    await add(cog)
    commands, bot, http, guild, server = cog
    server.add_item("Story 4")
    for _ in range(3):
        http.fail_next["send_message"] = discord.HTTPException(FakeHTTPResponse(400), {"message": "Invalid Form Body"})
        await commands.check.callback(commands, moderator(bot, guild))
    interaction = moderator(bot, guild)
    await commands.list_feeds.callback(commands, interaction)
    [line] = interaction.replies[0]["embed"].description.splitlines()
    assert "✅ active" in line and "⚠️ last error <t:" in line
    assert "skipped “Story 4”: Discord refused it 3 times" in line and "Invalid Form Body" in line


async def test_list_without_feeds_says_how_to_add_one(cog) -> None:
    commands, bot, _, guild, _ = cog
    interaction = moderator(bot, guild)
    await commands.list_feeds.callback(commands, interaction)
    assert "/feed add" in interaction.replies[0]["embed"].description


async def test_check_posts_new_items_and_reports(cog) -> None:
    await add(cog)
    commands, bot, http, guild, server = cog
    server.add_item("Story 4")
    interaction = moderator(bot, guild)
    await commands.check.callback(commands, interaction)
    assert interaction.replies[0]["content"] == "Checked 1 feed: 1 new article posted, 0 unchanged, 0 failed."


async def test_remove_pause_and_resume_through_autocomplete(cog) -> None:
    await add(cog)
    commands, bot, _, guild, server = cog
    [choice] = await commands._subscription_choices(moderator(bot, guild), "live")
    assert choice.name == "Live News → #news"
    for command, text in ((commands.pause, "Paused"), (commands.resume, "Resumed"), (commands.remove, "Removed")):
        interaction = moderator(bot, guild)
        await command.callback(commands, interaction, choice.value)
        assert interaction.replies[0]["content"].startswith(f"{text} **Live News** in <#{TEXT_CHANNEL_ID}>")
    assert await commands._subscription_choices(moderator(bot, guild), "") == []


async def test_autocomplete_shows_no_feeds_to_members(cog) -> None:
    await add(cog)
    commands, bot, _, guild, _ = cog
    assert await commands._subscription_choices(FakeInteraction(bot, guild, moderator=False), "") == []
    assert len(await commands._subscription_choices(moderator(bot, guild), "")) == 1


@pytest.mark.parametrize(
    "title",
    ["Weekly " * 400, "https://news.example.com/feed?token=" + "x" * 2000],  # long words, then one giant word
)
async def test_long_feed_titles_are_cut_and_replies_fit_discord(cog, title: str) -> None:
    await add(cog)
    commands, bot, _, guild, _ = cog
    [(subscription, _)] = await bot.feeds.subscriptions(guild.id)
    subscription = dataclasses.replace(subscription, feed_title=title)
    channel = guild.get_channel(TEXT_CHANNEL_ID)
    subscribed = Subscribed(subscription, title, 3, 1, "x" * 2000)
    for text in (describe(subscription), added_text(subscribed, channel, 1, [])):
        assert len(text) <= 2000 and "…" in text
    assert len(describe(subscription)) < 300


def test_unavailable_custom_emoji_are_not_offered() -> None:
    bot, _, guild = fake_bot()
    guild.emojis = tuple(
        discord.Emoji(guild=guild, state=bot._connection,
                      data={"id": str(emoji_id), "name": name, "animated": False, "available": available})
        for emoji_id, name, available in ((501, "party", True), (502, "boosted", False))
    )  # fmt: skip
    assert [emoji.name for emoji in guild_emojis(guild)] == ["party"]


async def test_subscription_typed_by_hand_is_refused(cog) -> None:
    commands, bot, _, guild, _ = cog
    with pytest.raises(FeedError, match="suggestions"):
        await commands.remove.callback(commands, moderator(bot, guild), "Live News")


async def test_every_feed_command_is_for_moderators_only(cog) -> None:
    commands, bot, _, guild, _ = cog
    names = set()
    for command in commands.__cog_app_commands__:
        names.add(command.name)
        [check] = command.checks
        assert await check(moderator(bot, guild))
        with pytest.raises(NotModerator):
            await check(FakeInteraction(bot, guild, moderator=False))
    assert names == {"add", "list", "remove", "pause", "resume", "check", "edit", "preview"}
    assert commands.__cog_group_name__ == "feed"


async def test_background_check_survives_a_failing_cycle(cog, caplog) -> None:
    commands, bot, _, _, _ = cog

    async def broken() -> None:
        raise RuntimeError("database on fire")

    bot.feeds.run_cycle = broken
    with caplog.at_level(logging.ERROR, logger="cogs.feeds"):
        await commands.check_feeds.coro(commands)
    assert "Checking feeds failed" in caplog.text
