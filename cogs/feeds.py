"""/feed commands and the feed check loop: Discord in, calls on the feed service (bot.feeds), replies out."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot import limits
from bot.feeds.presentation import (
    PostableChannel,
    added_text,
    check_text,
    choice_name,
    describe,
    edited_text,
    fit_lines,
    poll_rules_line,
    preview_embeds,
    preview_text,
    subscription_line,
)
from bot.feeds.selection import (
    CLEAR,
    DEFAULT_MAX_AGE_DAYS,
    IDENTITIES,
    MAX_AGE_DAYS,
    parse_words,
    validate_identity,
    validate_max_age,
)
from bot.feeds.service import FeedError
from bot.logs import LoopFaults
from bot.permissions import may_moderate, missing_posting_permissions, moderator_only
from bot.polls.fairness import NO_CHOICE, choice_from_row, choice_to_row
from bot.polls.options import options_to_json, parse_options, validate_question
from bot.references import parse_number
from bot.storage.feeds import SettingsChange
from cogs import _poll_rules
from cogs._emoji import guild_emojis

if TYPE_CHECKING:
    from bot.client import AgoraBot

log = logging.getLogger(__name__)

_NO_PINGS = discord.AllowedMentions.none()
# How often the loop looks for due feeds; each feed's own interval decides when it is fetched.
MAX_TICK_SECONDS = 60.0


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class FeedCommands(
    commands.GroupCog, group_name="feed", group_description="Post new articles from RSS, Atom and JSON feeds"
):
    def __init__(self, bot: AgoraBot) -> None:
        self.bot = bot
        self._cycle_faults = LoopFaults(log, "Checking feeds")
        super().__init__()

    async def cog_load(self) -> None:
        self.check_feeds.change_interval(seconds=min(MAX_TICK_SECONDS, self.bot.config.feed_check_interval_seconds))
        self.check_feeds.start()

    async def cog_unload(self) -> None:
        self.check_feeds.cancel()

    @app_commands.command(name="add", description="Post a feed's new articles into a channel, with thread and poll")
    @app_commands.describe(
        url="The feed's address (RSS, Atom or JSON Feed), starting with https://",
        channel="Text or forum channel that gets the feed's new articles",
        open_thread="Open a discussion thread for each article (default: yes)",
        open_poll="Open a reaction poll for each article (default: yes)",
        backfill="How many of the newest articles to post now, 0-5 (default 1); the rest count as seen",
        poll_question="Poll question for its articles; {title} stands for the article's title",
        poll_options='Poll options separated by |, each optionally starting with an emoji: "👍 Agree | 👎 Disagree"',
        voters=f"{_poll_rules.VOTERS} in its articles' polls (default: the server's poll defaults)",
        min_account_age=_poll_rules.ACCOUNT_AGE, min_member_age=_poll_rules.MEMBER_AGE,
        hide_totals=_poll_rules.HIDE_TOTALS, anonymous=_poll_rules.ANONYMOUS,
    )  # fmt: skip
    @moderator_only()
    async def add(
        self,
        interaction: discord.Interaction,
        url: str,
        channel: PostableChannel,
        open_thread: bool = True,
        open_poll: bool = True,
        backfill: app_commands.Range[int, 0, 5] = 1,
        poll_question: str | None = None,
        poll_options: str | None = None,
        voters: discord.Role | None = None,
        min_account_age: str | None = None,
        min_member_age: str | None = None,
        hide_totals: bool | None = None,
        anonymous: bool | None = None,
    ) -> None:
        assert interaction.guild is not None
        # Moderator input is checked before deferring, so a mistake is a quick private reply.
        options = parse_options(poll_options, guild_emojis(interaction.guild)) if poll_options else None
        question = validate_question(poll_question) if poll_question else None
        rules = _poll_rules.poll_rules_choice(voters, min_account_age, min_member_age, hide_totals, anonymous)
        if open_poll:
            _poll_rules.check_anonymous_allowed(
                channel, rules.over(await self.bot.polls.poll_defaults(channel.guild.id))
            )
        await interaction.response.defer(ephemeral=True, thinking=True)  # the first fetch can take a while
        subscribed = await self.bot.feeds.subscribe(
            channel, url, created_by=interaction.user.id, open_thread=open_thread, open_poll=open_poll,
            backfill=backfill, poll_question=question, poll_options=options, poll_rules=choice_to_row(rules),
        )  # fmt: skip
        missing = missing_posting_permissions(channel, channel.guild.me, open_thread=open_thread, open_poll=open_poll)
        text = added_text(subscribed, channel, backfill, missing)
        if not rules.empty:
            text += f"\nPoll rules of its articles: {_poll_rules.choice_text(rules, channel.guild)}."
        await interaction.followup.send(text[: limits.MESSAGE], ephemeral=True, allowed_mentions=_NO_PINGS)

    @app_commands.command(name="list", description="This server's feeds, where they post and how they are doing")
    @moderator_only()
    async def list_feeds(self, interaction: discord.Interaction) -> None:
        assert interaction.guild is not None
        entries = await self.bot.feeds.subscriptions(interaction.guild.id)
        skips = await self.bot.feeds.skip_summaries(interaction.guild.id)
        anonymous = (await self.bot.polls.poll_defaults(interaction.guild.id)).anonymous
        lines = [
            subscription_line(s, f, interaction.guild, skips.get(s.id, []), anonymous_default=anonymous)
            for s, f in entries
        ]
        lines = lines or ["No feeds yet: add one with `/feed add`."]
        embed = discord.Embed(title="Feeds", description=fit_lines(lines), colour=discord.Colour.blurple())
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @app_commands.command(name="remove", description="Stop posting a feed into a channel")
    @app_commands.describe(subscription="The feed and channel (type to search)")
    @moderator_only()
    async def remove(self, interaction: discord.Interaction, subscription: str) -> None:
        assert interaction.guild is not None
        removed = await self.bot.feeds.remove(interaction.guild.id, subscription_id(subscription))
        await interaction.response.send_message(f"Removed {describe(removed)}.", ephemeral=True)

    @app_commands.command(name="pause", description="Stop checking a feed for a channel until resumed")
    @app_commands.describe(subscription="The feed and channel (type to search)")
    @moderator_only()
    async def pause(self, interaction: discord.Interaction, subscription: str) -> None:
        assert interaction.guild is not None
        paused = await self.bot.feeds.pause(interaction.guild.id, subscription_id(subscription), str(interaction.user))
        await interaction.response.send_message(f"Paused {describe(paused)}.", ephemeral=True)

    @app_commands.command(name="resume", description="Check a paused feed again")
    @app_commands.describe(subscription="The feed and channel (type to search)")
    @moderator_only()
    async def resume(self, interaction: discord.Interaction, subscription: str) -> None:
        assert interaction.guild is not None
        resumed = await self.bot.feeds.resume(interaction.guild.id, subscription_id(subscription))
        await interaction.response.send_message(
            f"Resumed {describe(resumed)}; it will be checked within a minute (or now with `/feed check`).",
            ephemeral=True,
        )

    @app_commands.command(name="check", description="Check this server's feeds now and post what is new")
    @moderator_only()
    async def check(self, interaction: discord.Interaction) -> None:
        assert interaction.guild is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        report = await self.bot.feeds.check_guild(interaction.guild.id)
        await interaction.followup.send(check_text(report), ephemeral=True)

    @app_commands.command(name="edit", description="Change how a feed is posted into a channel (no options: show)")
    @app_commands.describe(
        subscription="The feed and channel (type to search)",
        max_age_days=f"Skip items dated more than this many days ago, 0-{MAX_AGE_DAYS} (0: no limit; default "
        f"{DEFAULT_MAX_AGE_DAYS})",
        include_words="Post only items with one of these words in title or categories, comma-separated; none: all",
        exclude_words="Never post items with one of these words in title or categories, comma-separated; none: clear",
        identity="How an item is recognised as already seen (auto: guid, else link, else title and date)",
        open_thread="Open a discussion thread for each article",
        open_poll="Open a reaction poll for each article",
        poll_question="Poll question; {title} stands for the article's title; none: the default",
        poll_options='Poll options separated by |, e.g. "👍 Agree | 👎 Disagree"; none: the default',
        voters=f"{_poll_rules.VOTERS} in its articles' polls", min_account_age=_poll_rules.ACCOUNT_AGE,
        min_member_age=_poll_rules.MEMBER_AGE, hide_totals=_poll_rules.HIDE_TOTALS, anonymous=_poll_rules.ANONYMOUS,
        clear_poll_rules="Remove this feed's own poll rules first, so the server's poll defaults apply",
    )  # fmt: skip
    @app_commands.choices(identity=[app_commands.Choice(name=name, value=name) for name in IDENTITIES])
    @moderator_only()
    async def edit(
        self,
        interaction: discord.Interaction,
        subscription: str,
        max_age_days: int | None = None,
        include_words: str | None = None,
        exclude_words: str | None = None,
        identity: str | None = None,
        open_thread: bool | None = None,
        open_poll: bool | None = None,
        poll_question: str | None = None,
        poll_options: str | None = None,
        voters: discord.Role | None = None,
        min_account_age: str | None = None,
        min_member_age: str | None = None,
        hide_totals: bool | None = None,
        anonymous: bool | None = None,
        clear_poll_rules: bool = False,
    ) -> None:
        assert interaction.guild is not None
        guild = interaction.guild
        chosen = subscription_id(subscription)
        # Every value is checked before deferring, so a mistake is a quick private reply and nothing changes.
        given = _poll_rules.poll_rules_choice(voters, min_account_age, min_member_age, hide_totals, anonymous)
        rules = None
        if clear_poll_rules or not given.empty:
            current = await self.bot.feeds.subscription(guild.id, chosen)
            rules = given.replacing(NO_CHOICE if clear_poll_rules else choice_from_row(current.poll_rules))
            channel = guild.get_channel(current.channel_id)
            if channel is not None and (current.open_poll if open_poll is None else open_poll):
                _poll_rules.check_anonymous_allowed(channel, rules.over(await self.bot.polls.poll_defaults(guild.id)))
        change = SettingsChange(
            max_age_days=validate_max_age(max_age_days) if max_age_days is not None else None,
            include_words=parse_words(include_words, "include_words") if include_words is not None else None,
            exclude_words=parse_words(exclude_words, "exclude_words") if exclude_words is not None else None,
            identity=validate_identity(identity) if identity is not None else None,
            open_thread=open_thread,
            open_poll=open_poll,
            poll_question_template=_cleared_or(poll_question, validate_question),
            poll_options=_cleared_or(
                poll_options, lambda text: options_to_json(parse_options(text, guild_emojis(guild)))
            ),
            poll_rules=choice_to_row(rules) if rules is not None else None,
        )
        await interaction.response.defer(ephemeral=True, thinking=True)  # a new identity re-reads the feed
        edited, note = await self.bot.feeds.edit(interaction.guild.id, chosen, change)
        text = edited_text(edited, change, note, poll_rules_line(edited, guild))
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=_NO_PINGS)

    @app_commands.command(name="preview", description="See what Agora would post from a feed, privately")
    @app_commands.describe(url="The feed's address (RSS, Atom or JSON Feed), starting with https://")
    @moderator_only()
    async def preview(self, interaction: discord.Interaction, url: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        preview = await self.bot.feeds.preview(url)
        await interaction.followup.send(preview_text(preview), embeds=preview_embeds(preview), ephemeral=True)

    @edit.autocomplete("subscription")
    @remove.autocomplete("subscription")
    @pause.autocomplete("subscription")
    @resume.autocomplete("subscription")
    async def _subscription_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        # Autocomplete runs no command checks: without this, anyone shown the command would see the feeds.
        if interaction.guild is None or not await may_moderate(interaction):
            return []
        found = await self.bot.feeds.find_subscriptions(interaction.guild.id, current)
        return [app_commands.Choice(name=choice_name(s, interaction.guild), value=str(s.id)) for s in found[:25]]

    # --- the background check ------------------------------------------------------------------------

    @tasks.loop(seconds=MAX_TICK_SECONDS)
    async def check_feeds(self) -> None:
        try:
            report = await self.bot.feeds.run_cycle()
        except Exception as error:  # one bad cycle must not end the loop
            self._cycle_faults.failed(error)
            return
        self._cycle_faults.succeeded()
        if report.feeds or report.posted:
            log.info("Checked %d feeds: %d new articles posted, %d unchanged, %d failed",
                     report.feeds, report.posted, report.not_modified, report.failed)  # fmt: skip

    @check_feeds.before_loop
    async def _wait_until_ready(self) -> None:
        await self.bot.wait_until_ready()
        # Start at a random point of the tick so a restart does not line every check up with reconnecting.
        await asyncio.sleep(random.uniform(0, self.check_feeds.seconds or 0))


def subscription_id(value: str) -> int:
    """The id an autocomplete choice carries; anything typed by hand is refused politely."""
    number = parse_number(value)
    if number is None:  # also past SQLite's range, which the query could not even compare
        raise FeedError("Pick the feed from the suggestions as you type.")
    return number


def _cleared_or(text: str | None, validate: Callable[[str], str]) -> str | None:
    """None leaves a setting alone, 'none' clears it ("" for the store), anything else is validated."""
    if text is None:
        return None
    return "" if text.strip().casefold() in CLEAR else validate(text)


async def setup(bot: AgoraBot) -> None:
    await bot.add_cog(FeedCommands(bot))
