"""Feed replies and embeds: how subscriptions, checks, previews and settings read in Discord.

The feed cog turns commands into calls on the feed service and sends what these functions write.
"""

from __future__ import annotations

import discord

from bot import limits
from bot.articles.presentation import article_embed
from bot.feeds.selection import DEFAULT_MAX_AGE_DAYS, REASON_LABELS, SkipReason, days
from bot.feeds.service import CycleReport, Preview, Subscribed
from bot.feeds.states import SubscriptionState, subscription_state
from bot.limits import shorten
from bot.permissions import can_remove_reactions, missing_posting_permissions
from bot.polls.fairness import choice_from_row, describe_choice, unhonoured_anonymity
from bot.storage.feeds import Feed, SettingsChange, SkipSummary, Subscription

PostableChannel = discord.TextChannel | discord.ForumChannel
LIST_LIMIT = 3800  # characters of /feed list that fit an embed description with room to spare
TITLE_LIMIT = 200  # characters of a feed's title (or address) in a reply; a URL may be 2048 long
PREVIEW_SKIPS_SHOWN = 5


def feed_name(subscription: Subscription) -> str:
    return discord.utils.escape_markdown(shorten(subscription.feed_title or subscription.feed_url, TITLE_LIMIT))


def describe(subscription: Subscription) -> str:
    return f"**{feed_name(subscription)}** in <#{subscription.channel_id}>"


def choice_name(subscription: Subscription, guild: discord.Guild) -> str:
    channel = guild.get_channel(subscription.channel_id)
    where = f"#{channel.name}" if channel else f"channel {subscription.channel_id}"
    state = " (paused)" if subscription.paused else ""
    title = subscription.feed_title or subscription.feed_url
    return f"{title[: limits.CHOICE_NAME - len(where) - len(state) - 3]} → {where}{state}"[: limits.CHOICE_NAME]


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
    return "\n".join(lines)[: limits.MESSAGE]


def subscription_line(
    subscription: Subscription,
    feed: Feed,
    guild: discord.Guild,
    skips: list[SkipSummary] | None = None,
    *,
    anonymous_default: bool = False,
) -> str:
    """`anonymous_default`: whether the server's poll defaults make polls anonymous."""
    parts = [f"`{subscription.id}` **{feed_name(subscription)}** → <#{subscription.channel_id}>"]
    match subscription_state(subscription, feed):
        case SubscriptionState.PAUSED:
            parts.append(f"⏸️ paused: {subscription.paused_reason or 'by a moderator'}")
        case SubscriptionState.FAILING:
            parts.append(f"⚠️ failing ({feed.consecutive_failures} in a row): {feed.last_error}")
        case SubscriptionState.ACTIVE:
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
        if subscription.open_poll and guild.me is not None:
            unhonoured = unhonoured_anonymity(
                subscription.poll_rules.anonymous, anonymous_default, can_manage=can_remove_reactions(channel, guild.me)
            )
            if unhonoured:
                parts.append(f"⚠️ {unhonoured}")
    if settings := settings_summary(subscription):
        parts.append(settings)
    if subscription.open_poll and (rules := poll_rules_line(subscription, guild)):
        parts.append(f"poll rules: {rules}")
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


def poll_rules_line(subscription: Subscription, guild: discord.Guild) -> str:
    """The subscription's own poll rules in a few words; empty when the server's poll defaults apply."""
    choice = choice_from_row(subscription.poll_rules)
    role = guild.get_role(choice.role_id) if choice.role_id is not None else None
    return escape(", ".join(describe_choice(choice, [role.name] if role is not None else [])))


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
    busy = (
        f"\n{report.busy} feed{'s were' if report.busy != 1 else ' was'} being checked by another Agora process at "
        "that moment; what it finds is posted here within a minute."
        if report.busy
        else ""
    )
    if not report.feeds:
        return busy.strip() or "No active feeds to check in this server."
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
    return (text + busy)[: limits.MESSAGE]


def edited_text(subscription: Subscription, change: SettingsChange, note: str | None, poll_rules: str = "") -> str:
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
    rules.append(f"poll rules: {poll_rules or 'the server poll defaults (`/agora poll-defaults`)'}")
    text = f"{verb} {describe(subscription)}:\n" + "\n".join(f"• {rule}" for rule in rules)
    if note:
        text += f"\n{note}"
    if change.include_words is not None or change.exclude_words is not None or change.max_age_days is not None:
        text += "\nItems already skipped or posted are not looked at again; the rules apply to new items."
    return text[: limits.MESSAGE]


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
    return fit_lines_to("\n".join(lines), limits.MESSAGE)


def preview_embeds(preview: Preview) -> list[discord.Embed]:
    """The next items' embeds, as many as fit one message (Discord counts every embed's text together)."""
    embeds: list[discord.Embed] = []
    used = 0
    for article in preview.next_items:
        embed = article_embed(article, 0, source=preview.source)
        embed.set_footer(text=f"{shorten(preview.source, 200)} · preview")
        if used + len(embed) > limits.EMBED_TOTAL:
            break
        embeds.append(embed)
        used += len(embed)
    return embeds


def fit_lines_to(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit("\n", 1)[0] + "\n…"
