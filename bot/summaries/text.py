"""Plain-text, JSON and CSV renderings of summaries, for the CLI; the small formatters embeds share."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.polls.eligibility import REFUSAL_LABELS, Refusal
from bot.polls.figures import OptionFigure, Verb, format_percent, percent_value, text_bar
from bot.polls.figures import headline as figures_headline
from bot.polls.states import PollStatus, close_description
from bot.summaries.csv_export import spreadsheet_safe
from bot.summaries.figures import ArticleSummary, DiscussionFigures, PollSummary

log = logging.getLogger(__name__)

__all__ = ["format_percent", "percent_value", "text_bar"]  # the shared figures, re-exported for renderers


# --- shared formatters -----------------------------------------------------------------------


def format_time(moment: datetime | None) -> str:
    return "—" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def format_moment(moment: datetime) -> str:
    """A chosen past moment, to the second: it may fall within the minute of the votes it separates."""
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def status_text(summary: PollSummary) -> str:
    """'open', 'closed at its deadline', 'closed early: closed by a moderator', ..."""
    if summary.status == PollStatus.OPEN:
        return "open"
    reason = close_description(summary.closed_reason)
    return f"closed early: {reason}" if summary.closed_early else reason


def option_name(option: OptionFigure) -> str:
    return option.name


def headline(summary: PollSummary, name: Callable[[OptionFigure], str] | None = None) -> str:
    """The result in one sentence: who leads (or led, or won), or that it is a tie."""
    verb: Verb = "led" if summary.as_of is not None else "leads" if summary.status == PollStatus.OPEN else "won"
    return figures_headline(summary.figures, verb, name)


# --- poll ------------------------------------------------------------------------------------


def poll_text(summary: PollSummary) -> str:
    lines = [
        f"Poll #{summary.poll_id}: {summary.question}",
        f"Status:   {status_text(summary)}",
        f"Opened:   {format_time(summary.opened_at)}",
        f"Deadline: {format_time(summary.deadline_at)}",
    ]
    if summary.closed_at is not None:
        lines.append(f"Closed:   {format_time(summary.closed_at)}")
    if summary.as_of is not None:
        lines.append(f"As of:    {format_moment(summary.as_of)} (the votes held then)")
    kind = "multiple choice, percentages are of voters" if summary.multiple else "single choice"
    lines.append(f"Voters:   {summary.voters} ({summary.total_votes} votes, {kind})")
    lines.append(f"Result:   {headline(summary)}")
    if summary.refused:
        lines.append(f"Refused:  {refused_text(summary)}")
    lines.append("")
    lines.extend(_option_lines(summary.options))
    return "\n".join(lines)


def _option_lines(options: tuple[OptionFigure, ...]) -> list[str]:
    if not options:
        return ["  (no options)"]
    names = [option_name(option) for option in options]
    width = max(len(name) for name in names)
    digits = max(len(str(option.votes)) for option in options)
    return [
        f"  {name:<{width}}  {option.votes:>{digits}}  {format_percent(option.share):>6}  {text_bar(option.share)}"
        for name, option in zip(names, options, strict=True)
    ]


def refused_text(summary: PollSummary) -> str:
    """'5 reactions not counted: too new an account 3, missing role 2', naming nobody."""
    total = sum(count for _, count in summary.refused)
    parts = ", ".join(f"{REFUSAL_LABELS[Refusal(reason)]} {count}" for reason, count in summary.refused)
    return f"{total} {'reaction' if total == 1 else 'reactions'} not counted: {parts}"


def poll_dict(summary: PollSummary) -> dict[str, Any]:
    return {
        "poll_id": summary.poll_id,
        "guild_id": summary.guild_id,
        "channel_id": summary.channel_id,
        "article_id": summary.article_id,
        "question": summary.question,
        "multiple": summary.multiple,
        "status": summary.status,
        "closed_reason": summary.closed_reason,
        "closed_early": summary.closed_early,
        "opened_at": iso(summary.opened_at),
        "deadline_at": iso(summary.deadline_at),
        "closed_at": iso(summary.closed_at),
        "as_of": iso(summary.as_of),
        "voters": summary.voters,
        "votes": summary.total_votes,
        "refused": dict(summary.refused),
        "hide_totals": summary.hide_totals,
        "anonymous": summary.anonymous,
        "options": [
            {
                "position": option.position,
                "emoji": option.emoji,
                "label": option.label,
                "votes": option.votes,
                "percent": percent_value(option.share),
            }
            for option in summary.options
        ],
    }


POLL_CSV_HEADER = (
    "poll_id", "question", "status", "voters", "position", "emoji", "label", "votes", "percent", "as_of", "refused"
)  # fmt: skip


def poll_csv(summary: PollSummary) -> str:
    """One row per option, the poll's own figures repeated so each row stands alone in a sheet."""
    rows = [
        (
            summary.poll_id,
            summary.question,
            summary.status,
            summary.voters,
            option.position,
            option.emoji,
            option.label,
            option.votes,
            percent_value(option.share),
            iso(summary.as_of) or "",
            " ".join(f"{reason}={count}" for reason, count in summary.refused),
        )
        for option in summary.options
    ]
    return _csv_text(POLL_CSV_HEADER, rows)


# --- article ---------------------------------------------------------------------------------


def article_text(summary: ArticleSummary) -> str:
    lines = [f"Article #{summary.article_id}: {summary.title}"]
    if summary.link:
        lines.append(f"Link:     {summary.link}")
    lines.append(f"Posted:   {format_time(summary.posted_at)}")
    if summary.published:
        lines.append(f"Published: {summary.published}")
    lines.append("")
    if not summary.polls:
        lines.append("No poll.")
    for poll in summary.polls:
        lines.append(poll_text(poll))
        lines.append("")
    lines.extend(discussion_lines(summary.discussion, name=str))
    return "\n".join(lines)


def discussion_lines(figures: DiscussionFigures, name: Any) -> list[str]:
    """The discussion block; `name` turns an author id into what to print (an id, a mention)."""
    thread = {None: "no thread", True: "thread open", False: "thread closed"}[figures.thread_open]
    lines = [f"Discussion: {figures.replies} replies from {figures.participants} participants ({thread})"]
    if figures.replies == 0:
        return lines
    lines.append(f"  First reply: {format_time(figures.first_reply_at)}")
    lines.append(f"  Last reply:  {format_time(figures.last_reply_at)}")
    lines.append(f"  Replies per day: {figures.replies_per_day:.1f} over {figures.days_spanned} days")
    lines.extend(f"    {day.isoformat()}  {count}" for day, count in figures.per_day)
    lines.append("  Most active:")
    lines.extend(f"    {name(author)}  {count}" for author, count in figures.top_participants)
    return lines


def article_dict(summary: ArticleSummary) -> dict[str, Any]:
    figures = summary.discussion
    return {
        "article_id": summary.article_id,
        "title": summary.title,
        "link": summary.link,
        "published": summary.published,
        "posted_at": iso(summary.posted_at),
        "polls": [poll_dict(poll) for poll in summary.polls],
        "discussion": {
            "replies": figures.replies,
            "participants": figures.participants,
            "thread_open": figures.thread_open,
            "first_reply_at": iso(figures.first_reply_at),
            "last_reply_at": iso(figures.last_reply_at),
            "days": figures.days_spanned,
            "replies_per_day": round(figures.replies_per_day, 2),
            "per_day": [{"day": day.isoformat(), "replies": count} for day, count in figures.per_day],
            "top_participants": [{"author_id": author, "replies": count} for author, count in figures.top_participants],
        },
    }


ARTICLE_CSV_HEADER = ("section", "name", "value", "percent")


def article_csv(summary: ArticleSummary) -> str:
    """Long format (section, name, value, percent): one table a spreadsheet can filter by section."""
    figures = summary.discussion
    rows: list[tuple[Any, ...]] = [
        ("article", "id", summary.article_id, ""),
        ("article", "title", summary.title, ""),
        ("article", "link", summary.link or "", ""),
        ("article", "posted_at", iso(summary.posted_at) or "", ""),
    ]
    for poll in summary.polls:
        rows += [
            (f"poll {poll.poll_id}", "question", poll.question, ""),
            (f"poll {poll.poll_id}", "status", poll.status, ""),
            (f"poll {poll.poll_id}", "voters", poll.voters, ""),
        ]
        rows += [(f"poll {poll.poll_id}", option_name(o), o.votes, percent_value(o.share)) for o in poll.options]
    rows += [
        ("discussion", "replies", figures.replies, ""),
        ("discussion", "participants", figures.participants, ""),
        ("discussion", "first_reply_at", iso(figures.first_reply_at) or "", ""),
        ("discussion", "last_reply_at", iso(figures.last_reply_at) or "", ""),
        ("discussion", "replies_per_day", round(figures.replies_per_day, 2), ""),
    ]
    rows += [("replies_on", day.isoformat(), count, "") for day, count in figures.per_day]
    rows += [("participant", author, count, "") for author, count in figures.top_participants]
    return _csv_text(ARTICLE_CSV_HEADER, rows)


def to_json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


def _csv_text(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
    return buffer.getvalue()
