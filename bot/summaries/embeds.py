"""Discord embeds for poll results, poll lists and article summaries.

They show the same figures and roundings as the CLI (bot.summaries.text) and never name a
voter: who voted for what is only in the moderators' CSV export.
"""

from __future__ import annotations

import logging
from datetime import datetime

import discord

from bot import limits
from bot.limits import clamp_lines, cut
from bot.polls.figures import OptionFigure
from bot.polls.states import PollStatus
from bot.storage.summaries import PollListRow
from bot.summaries.figures import ArticleSummary, DiscussionFigures, PollSummary
from bot.summaries.text import format_moment, format_percent, headline, option_name, refused_text, status_text

log = logging.getLogger(__name__)

COLOUR = discord.Colour.blurple()
_LABEL_LIMIT = 80
_MORE_FIELD_SIZE = 80  # the "And N more polls" field, generously


def poll_results_embed(summary: PollSummary, chart_filename: str | None = None) -> discord.Embed:
    as_of = "" if summary.as_of is None else f"As of {format_moment(summary.as_of)}: "
    embed = discord.Embed(
        title=cut(f"📊 {summary.question}", limits.EMBED_TITLE),
        description=cut(
            f"**{as_of}{headline(summary, _escaped_name)}**\n\n" + "\n".join(_option_lines(summary)),
            limits.EMBED_DESCRIPTION,
        ),
        colour=COLOUR,
    )
    if summary.as_of is not None:
        embed.add_field(
            name="As of", value=f"{format_moment(summary.as_of)} ({_when(summary.as_of, 'R')})", inline=False
        )
    embed.add_field(name="Status", value=status_text(summary).capitalize(), inline=True)
    embed.add_field(name="Voters", value=f"{summary.voters} ({summary.total_votes} votes)", inline=True)
    embed.add_field(name="Opened", value=_when(summary.opened_at), inline=True)
    if summary.refused:
        embed.add_field(name="Not counted", value=refused_text(summary), inline=False)
    if summary.closed_at is not None:
        embed.add_field(name="Closed", value=_when(summary.closed_at), inline=True)
    if summary.deadline_at is not None:
        is_open = summary.status == PollStatus.OPEN
        relative = f" ({discord.utils.format_dt(summary.deadline_at, 'R')})" if is_open else ""
        embed.add_field(name="Deadline", value=_when(summary.deadline_at) + relative, inline=True)
    note = " · multiple choice: percentages are of voters" if summary.multiple else ""
    past = " · votes held at the time shown, from the vote log" if summary.as_of is not None else ""
    embed.set_footer(text=f"Poll #{summary.poll_id}{note}{past}")
    if chart_filename:
        embed.set_image(url=f"attachment://{chart_filename}")
    return embed


def _option_lines(summary: PollSummary) -> list[str]:
    lines = []
    for option in summary.options:
        name = discord.utils.escape_markdown(cut(option_name(option), _LABEL_LIMIT))
        lines.append(f"{name} — **{option.votes}** · {format_percent(option.share)}")
        lines.append(f"`{option.bar}`")
    return lines or ["(no options)"]


def _escaped_name(option: OptionFigure) -> str:
    return discord.utils.escape_markdown(option_name(option))


def poll_list_embed(entries: list[PollListRow], status: str | None) -> discord.Embed:
    kind = f"{status} polls" if status else "Polls"
    embed = discord.Embed(title=f"{kind.capitalize()} in this server", colour=COLOUR)
    if not entries:
        embed.description = "None yet."
        return embed
    lines = []
    for entry in entries:
        question = discord.utils.escape_markdown(cut(entry.question, 90))
        when = _list_time(entry)
        lines.append(f"`#{entry.id}` **{question}** — {entry.status}, {entry.voters} voters{when}")
    embed.description = clamp_lines("\n".join(lines), limits.EMBED_DESCRIPTION)
    embed.set_footer(text="Newest first · /poll results <id> for the figures")
    return embed


def _list_time(entry: PollListRow) -> str:
    if entry.status == PollStatus.CLOSED and entry.closed_at is not None:
        return f", closed {discord.utils.format_dt(entry.closed_at, 'R')}"
    if entry.deadline_at is not None:
        return f", closes {discord.utils.format_dt(entry.deadline_at, 'R')}"
    return ", no deadline"


def article_summary_embed(summary: ArticleSummary, chart_filename: str | None = None) -> discord.Embed:
    embed = discord.Embed(
        title=cut(summary.title, limits.EMBED_TITLE),
        url=summary.link or None,
        colour=COLOUR,
        description=_article_headline(summary),
    )
    posted = _when(summary.posted_at) if summary.posted_at else "not posted"
    if summary.published:
        posted += f"\nPublished: {discord.utils.escape_markdown(cut(summary.published, 100))}"
    embed.add_field(name="Posted", value=posted, inline=False)
    _add_discussion_fields(embed, summary.discussion)
    embed.set_footer(text=f"Article #{summary.article_id}")
    if chart_filename:
        embed.set_image(url=f"attachment://{chart_filename}")
    _insert_poll_fields(embed, summary.polls)
    return embed


def _insert_poll_fields(embed: discord.Embed, polls: tuple[PollSummary, ...]) -> None:
    """The polls with most voters first, after "Posted", as many as Discord's limits leave room for."""
    ranked = sorted(polls, key=lambda poll: -poll.voters)
    shown = 0
    for poll in ranked:
        value = "\n".join([f"{discord.utils.escape_markdown(cut(poll.question, 200))}", *_option_lines(poll)])
        name = f"Poll #{poll.poll_id} · {status_text(poll)} · {poll.voters} voters"
        value = cut(value, limits.EMBED_FIELD_VALUE)
        # Room is kept for the "more polls" field whenever a poll might still be left out.
        reserve = 0 if shown == len(ranked) - 1 else 1
        if (
            len(embed.fields) + 1 + reserve > limits.EMBED_FIELDS
            or len(embed) + len(name) + len(value) + reserve * _MORE_FIELD_SIZE > limits.EMBED_TOTAL
        ):
            break
        embed.insert_field_at(1 + shown, name=name, value=value, inline=False)
        shown += 1
    if shown < len(ranked):
        left = len(ranked) - shown
        embed.insert_field_at(
            1 + shown,
            name=f"And {left} more poll{'s' if left != 1 else ''}",
            value="`/poll results <id>` shows any of them.",
            inline=False,
        )


def _article_headline(summary: ArticleSummary) -> str:
    figures = summary.discussion
    poll = headline(summary.poll) if summary.poll else "No poll."
    talk = f"{figures.replies} replies from {figures.participants} participants."
    return f"**{poll}** {talk}"


def _add_discussion_fields(embed: discord.Embed, figures: DiscussionFigures) -> None:
    """One labelled figure per field, so each reads at a glance."""
    thread = {None: "none", True: "open", False: "closed (deleted)"}[figures.thread_open]
    embed.add_field(name="Replies", value=str(figures.replies), inline=True)
    embed.add_field(name="Participants", value=str(figures.participants), inline=True)
    embed.add_field(name="Thread", value=thread, inline=True)
    if not figures.replies:
        return
    busiest_day, busiest = max(figures.per_day, key=lambda day: day[1])
    days = f"{figures.days_spanned} day{'s' if figures.days_spanned != 1 else ''}"
    embed.add_field(name="Replies per day", value=f"{figures.replies_per_day:.1f} over {days}", inline=True)
    embed.add_field(name="Busiest day", value=f"{busiest_day.isoformat()} ({busiest})", inline=True)
    embed.add_field(
        name="First / last reply", value=f"{_when(figures.first_reply_at)}\n{_when(figures.last_reply_at)}", inline=True
    )
    active = "\n".join(f"<@{author}> — {count}" for author, count in figures.top_participants)
    embed.add_field(name="Most active", value=active, inline=False)


def _when(moment: datetime | None, style: discord.utils.TimestampStyle = "f") -> str:
    return "—" if moment is None else discord.utils.format_dt(moment, style)
