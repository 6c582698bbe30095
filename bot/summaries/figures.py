"""The figures behind every summary: plain dataclasses built from the storage layer's aggregates.

A poll's votes are bot.polls.figures' `VoteFigures`, the model the poll's own message renders too, so
Discord embeds, the CLI, CSV and charts cannot disagree. A poll's figures at a past moment
(`poll_summary(..., at=...)`) are the same objects, counted from the vote log.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from bot.polls.figures import OptionFigure, VoteFigures, vote_figures
from bot.storage.polls import StoredPoll
from bot.storage.summaries import PollListRow, SummaryStore
from bot.summaries.moments import check_moment
from bot.timeutil import from_db as _optional_time
from bot.timeutil import stored_time as _time
from bot.timeutil import to_db, utcnow

log = logging.getLogger(__name__)

TIMELINE_BUCKETS = 48
TOP_PARTICIPANTS = 5
POLL_LIST_LIMIT = 25
# Polls read to fill a list filtered by who may see them; a member who can see few channels gets fewer.
POLL_LIST_SCAN = 200


@dataclass(frozen=True, slots=True)
class PollSummary:
    """A poll as stored and its figures (now, or at the past moment `as_of`): what every summary renders."""

    poll: StoredPoll
    options: tuple[OptionFigure, ...]
    voters: int
    as_of: datetime | None = None  # the past moment these figures are of; None: now
    # Fair polls: refused reactions per reason (never who), and whether totals are hidden or votes anonymous.
    refused: tuple[tuple[str, int], ...] = ()
    hide_totals: bool = False
    anonymous: bool = False

    # The stored poll's fields the renderings read, under the names they use.
    @property
    def poll_id(self) -> int:
        return self.poll.id

    @property
    def guild_id(self) -> int:
        return self.poll.guild_id

    @property
    def channel_id(self) -> int:
        return self.poll.channel_id

    @property
    def message_id(self) -> int | None:
        return self.poll.message_id

    @property
    def article_id(self) -> int | None:
        return self.poll.article_id

    @property
    def question(self) -> str:
        return self.poll.question

    @property
    def multiple(self) -> bool:
        return self.poll.multiple

    @property
    def status(self) -> str:
        return self.poll.status

    @property
    def closed_reason(self) -> str | None:
        return self.poll.closed_reason

    @property
    def opened_at(self) -> datetime:
        return self.poll.created_at

    @property
    def deadline_at(self) -> datetime | None:
        return self.poll.deadline_at

    @property
    def closed_at(self) -> datetime | None:
        return self.poll.closed_at

    @property
    def figures(self) -> VoteFigures:
        return VoteFigures(self.options, self.voters)

    @property
    def total_votes(self) -> int:
        return self.figures.total_votes

    @property
    def closed_early(self) -> bool:
        """Closed before its deadline (by a moderator, or because its message was deleted)."""
        return self.closed_at is not None and self.deadline_at is not None and self.closed_at < self.deadline_at


@dataclass(frozen=True, slots=True)
class Timeline:
    """Cumulative net votes per option over time, from the vote event log.

    `times[0]` is the start (every count 0); `times[i + 1]` is the end of bucket i.
    `counts[k]` is the series of the k-th option in position order.
    """

    times: tuple[datetime, ...]
    counts: tuple[tuple[int, ...], ...]

    @property
    def empty(self) -> bool:
        return len(self.times) <= 1


@dataclass(frozen=True, slots=True)
class DiscussionFigures:
    replies: int
    participants: int
    first_reply_at: datetime | None
    last_reply_at: datetime | None
    per_day: tuple[tuple[date, int], ...]  # only days with replies, oldest first
    top_participants: tuple[tuple[int, int], ...]  # (author_id, replies), most active first
    thread_open: bool | None  # None when the article never had a thread

    @property
    def days_spanned(self) -> int:
        """Calendar days (UTC) from the first reply to the last, both included."""
        if self.first_reply_at is None or self.last_reply_at is None:
            return 0
        return (self.last_reply_at.date() - self.first_reply_at.date()).days + 1

    @property
    def replies_per_day(self) -> float:
        days = self.days_spanned
        return self.replies / days if days else 0.0


@dataclass(frozen=True, slots=True)
class ArticleSummary:
    article_id: int
    title: str
    link: str | None
    published: str | None  # as the article gives it; not necessarily a parseable date
    posted_at: datetime | None
    polls: tuple[PollSummary, ...]
    discussion: DiscussionFigures

    @property
    def poll(self) -> PollSummary | None:
        """The article's poll; with several deliveries, the one with most voters."""
        return max(self.polls, key=lambda poll: poll.voters, default=None)


async def poll_summary(
    store: SummaryStore, poll_id: int, at: datetime | None = None, *, now: datetime | None = None
) -> PollSummary | None:
    """The poll's figures now, or as they stood at the past moment `at` (InvalidMoment when the
    poll was not open yet then, or `at` is after `now`)."""
    summary = await _poll_figures(store, poll_id, at, now=now)
    if summary is None:
        return None
    hide_totals, anonymous = await store.fairness_flags(poll_id)
    refused = tuple(sorted((await store.refusal_counts(poll_id)).items()))
    return replace(summary, refused=refused, hide_totals=hide_totals, anonymous=anonymous)


async def _poll_figures(
    store: SummaryStore, poll_id: int, at: datetime | None = None, *, now: datetime | None = None
) -> PollSummary | None:
    poll = await store.poll(poll_id)
    if poll is None:
        return None
    if at is None:
        counts = await store.option_counts(poll_id)
        voters = await store.voter_count(poll_id)
        return _build_poll_summary(poll, counts, voters)
    check_moment(poll_id, poll.created_at, at, now or utcnow())
    counts = await store.option_counts_at(poll_id, to_db(at))
    # One vote per voter at any moment of a single-choice poll: a switch's withdrawal and new vote
    # are logged with one timestamp. Only several choices need the per-voter count.
    voters = await store.voter_count_at(poll_id, to_db(at)) if poll.multiple else sum(counts.values())
    return _build_poll_summary(poll, counts, voters, at)


def _build_poll_summary(
    poll: StoredPoll, counts: dict[int, int], voters: int, as_of: datetime | None = None
) -> PollSummary:
    options = vote_figures(poll.options, [counts.get(option.id, 0) for option in poll.options], voters).options
    return PollSummary(poll=poll, options=options, voters=voters, as_of=as_of)


async def poll_timeline(store: SummaryStore, summary: PollSummary, buckets: int = TIMELINE_BUCKETS) -> Timeline:
    """Votes over time, cut into `buckets` equal intervals from the poll's opening to its last event
    (to `summary.as_of` for figures at a past moment, so the curves end at the figures' counts)."""
    span = await store.event_span(summary.poll_id)
    if span is None:
        return Timeline(times=(summary.opened_at,), counts=tuple((0,) for _ in summary.options))
    start = min(summary.opened_at, _time(span[0]))
    end = max(_time(span[1]), summary.closed_at or start) if summary.as_of is None else max(summary.as_of, start)
    width = max((end - start) / buckets, timedelta(milliseconds=1))
    times = tuple(start + width * i for i in range(buckets + 1))
    # Stored times are to_db text, which orders as time does, so buckets are text ranges. The
    # outer bounds are open ("" and "~" sort before and after any time) so that no event is
    # lost to a rounding of the edges; at a past moment the last bound is that moment plus "~",
    # which sorts after it and before the next millisecond: events at the moment itself count,
    # as they do in the figures.
    last = "~" if summary.as_of is None else to_db(summary.as_of) + "~"
    edges = ["", *(to_db(moment) for moment in times[1:-1]), last]
    rows = await store.event_net_by_bucket(summary.poll_id, list(itertools.pairwise(edges)))
    return _accumulate(summary, rows, times)


def _accumulate(summary: PollSummary, rows: list[tuple[int, int, int]], times: tuple[datetime, ...]) -> Timeline:
    index = {option.option_id: k for k, option in enumerate(summary.options)}
    changes = [[0] * (len(times) - 1) for _ in summary.options]
    for bucket, option_id, net in rows:
        changes[index[option_id]][bucket] += net
    return Timeline(times=times, counts=tuple(tuple(itertools.accumulate(c, initial=0)) for c in changes))


async def poll_list(
    store: SummaryStore,
    guild_id: int,
    status: str | None = None,
    limit: int = POLL_LIST_LIMIT,
    visible: Callable[[PollListRow], bool] | None = None,
) -> list[PollListRow]:
    """The guild's newest polls; with `visible`, only those it accepts, from the newest `POLL_LIST_SCAN`."""
    entries = await store.list_polls(guild_id, status, limit if visible is None else max(limit, POLL_LIST_SCAN))
    if visible is not None:
        entries = [entry for entry in entries if visible(entry)]
    return entries[:limit]


async def article_summary(
    store: SummaryStore, article_id: int, guild_id: int | None = None, top: int = TOP_PARTICIPANTS
) -> ArticleSummary | None:
    """The article, its poll(s) and its discussion; `guild_id` limits both to one server."""
    article = await store.article(article_id, guild_id)
    if article is None:
        return None
    polls = []
    for poll_id in await store.article_poll_ids(article_id, guild_id):
        summary = await poll_summary(store, poll_id)
        if summary is not None:
            polls.append(summary)
    return ArticleSummary(
        article_id=article.id,
        title=article.title,
        link=article.link,
        published=article.published,
        posted_at=_optional_time(article.posted_at),
        polls=tuple(polls),
        discussion=await discussion_figures(store, article_id, guild_id, top),
    )


async def discussion_figures(
    store: SummaryStore, article_id: int, guild_id: int | None, top: int = TOP_PARTICIPANTS
) -> DiscussionFigures:
    totals = await store.discussion_totals(article_id, guild_id)
    per_day = await store.replies_per_day(article_id, guild_id)
    return DiscussionFigures(
        replies=totals.replies,
        participants=totals.participants,
        first_reply_at=_optional_time(totals.first_reply_at),
        last_reply_at=_optional_time(totals.last_reply_at),
        per_day=tuple((date.fromisoformat(day), count) for day, count in per_day),
        top_participants=tuple(await store.top_participants(article_id, guild_id, top)),
        thread_open=await store.discussion_open(article_id, guild_id),
    )
