"""/feed commands and the feed check loop: Discord in, calls on the feed service (bot.feeds), replies out."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.articles.presentation import article_embed
from bot.client import AgoraBot
from bot.feeds.selection import (
    CLEAR,
    DEFAULT_MAX_AGE_DAYS,
    IDENTITIES,
    MAX_AGE_DAYS,
    REASON_LABELS,
    SkipReason,
    days,
    parse_words,
    validate_identity,
    validate_max_age,
)
from bot.feeds.service import CycleReport, FeedError, Preview, Subscribed
from bot.limits import EMBED_TOTAL, shorten
from bot.permissions import is_moderator, missing_posting_permissions, moderator_only
from bot.polls.options import options_to_json, parse_options, validate_question
from bot.references import parse_number
from bot.storage.feeds import Feed, SettingsChange, SkipSummary, Subscription
from cogs._emoji import guild_emojis

log = logging.getLogger(__name__)

PostableChannel = discord.TextChannel | discord.ForumChannel
# How often the loop looks for due feeds; each feed's own interval decides when it is fetched.
MAX_TICK_SECONDS = 60.0
LIST_LIMIT = 3800  # characters of /feed list that fit an embed description with room to spare
TITLE_LIMIT = 200  # characters of a feed's title (or address) in a reply; a URL may be 2048 long
MESSAGE_LIMIT = 2000


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class FeedCommands(
    commands.GroupCog, group_name="feed", group_description="Post new articles from RSS, Atom and JSON feeds"
):
    def __init__(self, bot: AgoraBot) -> None:
        self.bot = bot
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
    )
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
    ) -> None:
        assert interaction.guild is not None
        # Moderator input is checked before deferring, so a mistake is a quick private reply.
        options = parse_options(poll_options, guild_emojis(interaction.guild)) if poll_options else None
        question = validate_question(poll_question) if poll_question else None
        await interaction.response.defer(ephemeral=True, thinking=True)  # the first fetch can take a while
        subscribed = await self.bot.feeds.subscribe(
            channel, url, created_by=interaction.user.id, open_thread=open_thread, open_poll=open_poll,
            backfill=backfill, poll_question=question, poll_options=options,
        )  # fmt: skip
        missing = missing_posting_permissions(channel, channel.guild.me, open_thread=open_thread, open_poll=open_poll)
        await interaction.followup.send(added_text(subscribed, channel, backfill, missing), ephemeral=True)

    @app_commands.command(name="list", description="This server's feeds, where they post and how they are doing")
    @moderator_only()
    async def list_feeds(self, interaction: discord.Interaction) -> None:
        assert interaction.guild is not None
        entries = await self.bot.feeds.subscriptions(interaction.guild.id)
        skips = await self.bot.feeds.skip_summaries(interaction.guild.id)
        lines = [subscription_line(s, f, interaction.guild, skips.get(s.id, [])) for s, f in entries]
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
    )
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
    ) -> None:
        assert interaction.guild is not None
        guild = interaction.guild
        # Every value is checked before deferring, so a mistake is a quick private reply and nothing changes.
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
        )
        chosen = subscription_id(subscription)
        await interaction.response.defer(ephemeral=True, thinking=True)  # a new identity re-reads the feed
        edited, note = await self.bot.feeds.edit(interaction.guild.id, chosen, change)
        await interaction.followup.send(edited_text(edited, change, note), ephemeral=True)

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
        if interaction.guild is None or not await is_moderator(interaction, self.bot.settings):
            return []
        found = await self.bot.feeds.find_subscriptions(interaction.guild.id, current)
        return [app_commands.Choice(name=choice_name(s, interaction.guild), value=str(s.id)) for s in found[:25]]

    # --- the background check ------------------------------------------------------------------------

    @tasks.loop(seconds=MAX_TICK_SECONDS)
    async def check_feeds(self) -> None:
        try:
            report = await self.bot.feeds.run_cycle()
        except Exception:  # one bad cycle must not end the loop
            log.exception("Checking feeds failed")
            return
        if report.feeds:
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


def feed_name(subscription: Subscription) -> str:
    return discord.utils.escape_markdown(shorten(subscription.feed_title or subscription.feed_url, TITLE_LIMIT))


def describe(subscription: Subscription) -> str:
    return f"**{feed_name(subscription)}** in <#{subscription.channel_id}>"


def choice_name(subscription: Subscription, guild: discord.Guild) -> str:
    channel = guild.get_channel(subscription.channel_id)
    where = f"#{channel.name}" if channel else f"channel {subscription.channel_id}"
    state = " (paused)" if subscription.paused else ""
    title = subscription.feed_title or subscription.feed_url
    return f"{title[:100 - len(where) - len(state) - 3]} → {where}{state}"[:100]


def added_text(subscribed: Subscribed, channel: PostableChannel, backfill: int, missing: list[str]) -> str:
    title = discord.utils.escape_markdown(shorten(subscribed.title, TITLE_LIMIT))
    lines = [f"{channel.mention} now follows **{title}** ({subscribed.item_count} articles in the feed)."]
    if subscribed.posted:
        lines.append(f"Posted the newest {subscribed.posted}; the others count as already seen.")
    elif backfill == 0:
        lines.append("Nothing was posted now: only articles published from here on will be.")
    if subscribed.skipped:
        newest = subscribed.skipped[-1]
        which = "the newest article" if backfill == 1 else f"{len(subscribed.skipped)} of the newest {backfill}"
        lines.append(
            f"Not posted: {which}, “{escape(shorten(newest.title or 'untitled', 80))}”"
            f"{' and others' if len(subscribed.skipped) > 1 else ''}: {REASON_LABELS[newest.reason]}, "
            f"{escape(newest.detail)}. Only newer articles will be posted; change the age limit with `/feed edit`."
        )
    if missing:
        lines.append(f"⚠️ I am missing {', '.join(missing)} in {channel.mention}: "
                     "nothing will be posted there until that is fixed.")  # fmt: skip
    elif subscribed.not_posted:
        lines.append(f"⚠️ Could not post yet: {subscribed.not_posted}")
    return "\n".join(lines)[:MESSAGE_LIMIT]


def subscription_line(
    subscription: Subscription, feed: Feed, guild: discord.Guild, skips: list[SkipSummary] | None = None
) -> str:
    parts = [f"`{subscription.id}` **{feed_name(subscription)}** → <#{subscription.channel_id}>"]
    if subscription.paused:
        parts.append(f"⏸️ paused: {subscription.paused_reason or 'by a moderator'}")
    elif feed.consecutive_failures:
        parts.append(f"⚠️ failing ({feed.consecutive_failures} in a row): {feed.last_error}")
    else:
        parts.append("✅ active")
    if feed.last_checked_at:
        parts.append(f"checked {discord.utils.format_dt(feed.last_checked_at, 'R')}")
    if feed.last_new_item_at:
        parts.append(f"last new article {discord.utils.format_dt(feed.last_new_item_at, 'R')}")
    if subscription.last_error:
        when = f" {discord.utils.format_dt(subscription.last_error_at, 'R')}" if subscription.last_error_at else ""
        parts.append(f"⚠️ last error{when}: {subscription.last_error}")
    channel = guild.get_channel(subscription.channel_id)
    if channel is None:
        parts.append("⚠️ channel not found")
    else:
        missing = missing_posting_permissions(
            channel, guild.me, open_thread=subscription.open_thread, open_poll=subscription.open_poll
        )
        if missing:
            parts.append(f"⚠️ missing {', '.join(missing)}")
    if settings := settings_summary(subscription):
        parts.append(settings)
    if skips:
        parts.append(skips_summary(skips))
    return " · ".join(parts)


def settings_summary(subscription: Subscription) -> str:
    """The settings that differ from a new subscription's, in a few words."""
    parts = []
    if subscription.max_age_days != DEFAULT_MAX_AGE_DAYS:
        parts.append(f"age limit {days(subscription.max_age_days)}" if subscription.max_age_days else "no age limit")
    if subscription.include_words:
        parts.append("only " + ", ".join(escape(word) for word in subscription.include_words))
    if subscription.exclude_words:
        parts.append("except " + ", ".join(escape(word) for word in subscription.exclude_words))
    if subscription.identity != "auto":
        parts.append(f"items recognised by {subscription.identity}")
    return shorten("; ".join(parts), 300)


def skips_summary(skips: list[SkipSummary]) -> str:
    """'skipped in the last day: 3 too old (…latest reason…), 1 filtered (…)'."""
    counted = [
        f"{summary.count} {REASON_LABELS[SkipReason(summary.reason)]} ({escape(shorten(summary.latest_detail, 90))})"
        for summary in skips
    ]
    return "⏭️ skipped in the last day: " + ", ".join(counted)


def escape(text: str) -> str:
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def fit_lines(lines: list[str]) -> str:
    """As many lines as fit one embed, then how many were left out."""
    shown: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > LIST_LIMIT:
            shown.append(f"… and {len(lines) - len(shown)} more")
            break
        shown.append(line)
        used += len(line) + 1
    return "\n".join(shown)


def check_text(report: CycleReport) -> str:
    if not report.feeds:
        return "No active feeds to check in this server."
    text = (
        f"Checked {report.feeds} feed{'s' if report.feeds != 1 else ''}: {report.posted} new article"
        f"{'s' if report.posted != 1 else ''} posted, {report.not_modified} unchanged, {report.failed} failed."
    )
    if report.skipped:
        counts = ", ".join(f"{count} {REASON_LABELS[SkipReason(reason)]}" for reason, count in report.skipped.items())
        text += f"\nSkipped {sum(report.skipped.values())} (not posted): {counts}."
        text += "".join(f"\n⏭️ {escape(shorten(note, 300))}" for note in report.skip_notes)
    if report.errors:
        text += "\n" + "\n".join(f"⚠️ {error}" for error in report.errors[:5])
    return text[:MESSAGE_LIMIT]


def _cleared_or(text: str | None, validate: Callable[[str], str]) -> str | None:
    """None leaves a setting alone, 'none' clears it ("" for the store), anything else is validated."""
    if text is None:
        return None
    return "" if text.strip().casefold() in CLEAR else validate(text)


def edited_text(subscription: Subscription, change: SettingsChange, note: str | None) -> str:
    verb = "Updated" if change.columns() else "Settings of"
    rules = [
        f"age limit: {days(subscription.max_age_days) if subscription.max_age_days else 'none'}",
        "include words: " + (", ".join(escape(w) for w in subscription.include_words) or "none (every item)"),
        "exclude words: " + (", ".join(escape(w) for w in subscription.exclude_words) or "none"),
        f"identity: {subscription.identity}",
        f"thread: {'yes' if subscription.open_thread else 'no'}, poll: {'yes' if subscription.open_poll else 'no'}",
    ]
    if subscription.poll_question_template:
        rules.append(f"poll question: {escape(shorten(subscription.poll_question_template, 200))}")
    text = f"{verb} {describe(subscription)}:\n" + "\n".join(f"• {rule}" for rule in rules)
    if note:
        text += f"\n{note}"
    if change.include_words is not None or change.exclude_words is not None or change.max_age_days is not None:
        text += "\nItems already skipped or posted are not looked at again; the rules apply to new items."
    return text[:MESSAGE_LIMIT]


PREVIEW_SKIPS_SHOWN = 5


def preview_text(preview: Preview) -> str:
    title = escape(shorten(preview.title, TITLE_LIMIT))
    lines = [f"**{title}**: {preview.item_count} item{'s' if preview.item_count != 1 else ''} in the feed. "
             "Nothing was subscribed or posted."]  # fmt: skip
    if preview.next_items:
        lines.append(f"The newest {len(preview.next_items)} as Agora would post them (newest first):")
    else:
        lines.append("Nothing would be posted now.")
    if preview.skipped:
        counts: dict[str, int] = {}
        for skip in preview.skipped:
            counts[REASON_LABELS[skip.reason]] = counts.get(REASON_LABELS[skip.reason], 0) + 1
        summary = ", ".join(f"{count} {label}" for label, count in counts.items())
        lines.append(f"Would be skipped: {summary} (age limit {days(preview.rules.max_age_days)}, "
                     "change it after subscribing with `/feed edit`).")  # fmt: skip
        for skip in preview.skipped[-PREVIEW_SKIPS_SHOWN:][::-1]:
            lines.append(f"⏭️ “{escape(shorten(skip.title or 'untitled', 80))}” {REASON_LABELS[skip.reason]}: "
                         f"{escape(skip.detail)}")  # fmt: skip
    return fit_lines_to("\n".join(lines), MESSAGE_LIMIT)


def preview_embeds(preview: Preview) -> list[discord.Embed]:
    """The next items' embeds, as many as fit one message (Discord counts every embed's text together)."""
    embeds: list[discord.Embed] = []
    used = 0
    for article in preview.next_items:
        embed = article_embed(article, 0, source=preview.source)
        embed.set_footer(text=f"{shorten(preview.source, 200)} · preview")
        if used + len(embed) > EMBED_TOTAL:
            break
        embeds.append(embed)
        used += len(embed)
    return embeds


def fit_lines_to(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit("\n", 1)[0] + "\n…"


async def setup(bot: AgoraBot) -> None:
    await bot.add_cog(FeedCommands(bot))
