"""Read-only aggregate queries behind poll results, exports and article summaries.

A poll's current figures are the counts the vote recorder keeps (migration 0005); figures at a past
moment and timelines are computed in SQL over the vote log's vote_events_timeline index (migration 0002).
Nothing here loads a poll's votes into Python except the export iterators, which stream them in chunks.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import datetime

from bot.storage.dialect import containing
from bot.storage.interface import StoreDatabase
from bot.storage.polls import StoredPoll, read_polls
from bot.timeutil import from_db

log = logging.getLogger(__name__)

# Rows handed over per thread hop when streaming an export: large enough that the hop is
# cheap per row, small enough that formatting one chunk never holds the event loop for long.
EXPORT_CHUNK_ROWS = 5000


@dataclass(frozen=True, slots=True)
class PollListRow:
    """One poll of /poll list: a few columns of many polls, so not a StoredPoll with its options."""

    id: int
    question: str
    status: str
    voters: int
    deadline_at: datetime | None
    closed_at: datetime | None
    channel_id: int
    article_channel_id: int | None  # an article poll's thread lives in this channel


@dataclass(frozen=True, slots=True)
class ArticleRow:
    id: int
    title: str
    link: str | None
    published: str | None
    posted_at: str | None


@dataclass(frozen=True, slots=True)
class DiscussionTotals:
    replies: int
    participants: int
    first_reply_at: str | None
    last_reply_at: str | None


# Responses of one article, optionally only those in one guild's threads. `CAST(? ...) IS NULL OR ...`
# keeps one statement for both scopes (the CAST gives PostgreSQL the parameter's type); the planner still
# drives it from the article index.
_RESPONSE_SCOPE = (
    "article_id = :article AND (CAST(:guild AS INTEGER) IS NULL OR delivery_id IN"
    " (SELECT id FROM deliveries WHERE article_id = :article AND guild_id = :guild))"
)


class SummaryStore:
    """Aggregate reads for summaries; never writes."""

    def __init__(self, db: StoreDatabase) -> None:
        self._db = db

    # --- polls -------------------------------------------------------------------------------

    async def poll(self, poll_id: int) -> StoredPoll | None:
        polls = await read_polls(self._db, "WHERE id = ?", (poll_id,))
        return polls[0] if polls else None

    async def option_counts(self, poll_id: int) -> dict[int, int]:
        """Option id → its current vote count, for every option of the poll (0 included): the count the vote
        recorder keeps beside each option, so this reads no votes."""
        rows = await self._db.fetch_all("SELECT id, votes FROM poll_options WHERE poll_id = ?", (poll_id,))
        return {int(r[0]): int(r[1]) for r in rows}

    async def option_counts_at(self, poll_id: int, moment: str) -> dict[int, int]:
        """Option id → the votes it held at `moment` (a to_db time), from the vote log, for every option.

        The log records a change only when it changes the current votes (an 'added' for a vote not
        held, a 'removed' for one held), so an option's votes at a moment are its added minus its
        removed events up to then: a range count on vote_events_timeline (poll_id, option_id, at,
        action), the covering index the votes-over-time chart counts with, so both agree.
        """
        rows = await self._db.fetch_all(
            "SELECT o.id,"
            " (SELECT TOTAL(CASE e.action WHEN 'added' THEN 1 ELSE -1 END) FROM vote_events e"
            "  WHERE e.poll_id = o.poll_id AND e.option_id = o.id AND e.at <= :moment)"
            " FROM poll_options o WHERE o.poll_id = :poll",
            {"poll": poll_id, "moment": moment},
        )
        return {int(r[0]): int(r[1]) for r in rows}

    async def voter_count_at(self, poll_id: int, moment: str) -> int:
        """Distinct people holding at least one vote at `moment`, from the vote log.

        Only multiple-choice polls need it (in a single-choice one, voters are votes). The log has
        no index with the voter, so this reads each event's row: 0.6 s at a million events
        (bench/summary.py).
        """
        value = await self._db.fetch_value(
            "SELECT COUNT(*) FROM (SELECT voter_id FROM vote_events WHERE poll_id = :poll AND at <= :moment"
            " GROUP BY voter_id HAVING TOTAL(CASE action WHEN 'added' THEN 1 ELSE -1 END) > 0)",
            {"poll": poll_id, "moment": moment},
        )
        return int(value or 0)

    async def pseudonym_secret(self) -> bytes | None:
        """The secret of anonymous polls' pseudonyms, if one was made (read-only: an export never writes)."""
        value = await self._db.fetch_value("SELECT secret FROM pseudonym_secret WHERE id = 1")
        return bytes(value) if isinstance(value, bytes | bytearray | memoryview) else None

    async def fairness_flags(self, poll_id: int) -> tuple[bool, bool]:
        """(hide_totals, anonymous) of a poll."""
        row = await self._db.fetch_one("SELECT hide_totals, anonymous FROM poll_fairness WHERE poll_id = ?", (poll_id,))
        return (bool(row[0]), bool(row[1])) if row is not None else (False, False)

    async def refusal_counts(self, poll_id: int) -> dict[str, int]:
        """Refused reactions per reason (each member, option and reason once)."""
        rows = await self._db.fetch_all(
            "SELECT reason, COUNT(*) FROM vote_refusals WHERE poll_id = ? GROUP BY reason", (poll_id,)
        )
        return {row[0]: row[1] for row in rows}

    async def voter_count(self, poll_id: int) -> int:
        """Distinct people holding at least one vote, as the vote recorder keeps the figure."""
        value = await self._db.fetch_value("SELECT voters FROM polls WHERE id = ?", (poll_id,))
        return int(value or 0)

    async def event_span(self, poll_id: int) -> tuple[str, str] | None:
        """Times of the first and last vote event (two index seeks), or None without events."""
        # Two subqueries: SQLite answers a lone MIN or MAX with one index seek, but scans every
        # row when both share a SELECT.
        row = await self._db.fetch_one(
            "SELECT (SELECT MIN(at) FROM vote_events WHERE poll_id = :poll),"
            " (SELECT MAX(at) FROM vote_events WHERE poll_id = :poll)",
            {"poll": poll_id},
        )
        if row is None or row[0] is None:
            return None
        return str(row[0]), str(row[1])

    async def event_net_by_bucket(self, poll_id: int, bounds: list[tuple[str, str]]) -> list[tuple[int, int, int]]:
        """(bucket, option_id, net change) for each time bucket [low, high) and option of the poll.

        One range count per bucket and option on vote_events_timeline (poll_id, option_id, at,
        action): the walks add up to one pass over the poll's events, with no sort or
        temporary table, and only buckets x options rows come back to Python.
        """
        rows = await self._db.fetch_all(
            "SELECT CAST(b.key AS INTEGER), o.id,"
            " (SELECT TOTAL(CASE e.action WHEN 'added' THEN 1 ELSE -1 END) FROM vote_events e"
            "  WHERE e.poll_id = o.poll_id AND e.option_id = o.id"
            "  AND e.at >= json_extract(b.value, '$[0]') AND e.at < json_extract(b.value, '$[1]'))"
            " FROM json_each(:bounds) b JOIN poll_options o ON o.poll_id = :poll",
            {"poll": poll_id, "bounds": json.dumps(bounds)},
        )
        return [(int(r[0]), int(r[1]), int(r[2])) for r in rows]

    async def list_polls(self, guild_id: int, status: str | None, limit: int) -> list[PollListRow]:
        """The guild's polls, newest first, optionally only 'open' or 'closed' ones."""
        rows = await self._db.fetch_all(
            "SELECT p.id, p.question, p.status, p.voters, p.deadline_at, p.closed_at, p.channel_id,"
            " (SELECT d.channel_id FROM deliveries d WHERE d.id = p.delivery_id)"
            " FROM polls p WHERE p.guild_id = :guild AND (CAST(:status AS TEXT) IS NULL OR p.status = :status)"
            " ORDER BY p.id DESC LIMIT :limit",
            {"guild": guild_id, "status": status, "limit": limit},
        )
        return [
            PollListRow(int(r[0]), r[1], r[2], int(r[3]), from_db(r[4]), from_db(r[5]), int(r[6]), r[7]) for r in rows
        ]

    async def search_polls(self, guild_id: int, text: str, limit: int) -> list[tuple[int, str]]:
        """(id, question) of the guild's polls whose question contains `text`, newest first."""
        rows = await self._db.fetch_all(
            "SELECT id, question FROM polls WHERE guild_id = ? AND question LIKE ? ESCAPE '\\'"
            " ORDER BY id DESC LIMIT ?",
            (guild_id, containing(text), limit),
        )
        return [(int(r[0]), str(r[1])) for r in rows]

    async def poll_by_message(self, guild_id: int, message_id: int) -> int | None:
        """The guild's poll whose message id is `message_id`."""
        value = await self._db.fetch_value(
            "SELECT id FROM polls WHERE guild_id = ? AND message_id = ?", (guild_id, message_id)
        )
        return None if value is None else int(value)

    async def poll_in_guild(self, guild_id: int, poll_id: int) -> int | None:
        """The poll's id if it is one of the guild's polls."""
        value = await self._db.fetch_value("SELECT id FROM polls WHERE guild_id = ? AND id = ?", (guild_id, poll_id))
        return None if value is None else int(value)

    async def poll_in_channel(self, guild_id: int, channel_id: int) -> int | None:
        """The newest poll posted in this channel or thread, or belonging to the article of this thread."""
        value = await self._db.fetch_value(
            "SELECT id FROM polls WHERE guild_id = :guild AND (channel_id = :channel OR delivery_id IN"
            " (SELECT id FROM deliveries WHERE thread_id = :channel)) ORDER BY id DESC LIMIT 1",
            {"guild": guild_id, "channel": channel_id},
        )
        return None if value is None else int(value)

    def iter_votes(self, poll_id: int) -> AsyncGenerator[list[tuple], None]:
        """Chunks of (poll_id, option label, emoji, voter_id, voted_at), in option then voter order."""
        return self._iter_chunks(
            "SELECT v.poll_id, o.label, o.emoji, v.voter_id, v.voted_at FROM votes v"
            " JOIN poll_options o ON o.id = v.option_id WHERE v.poll_id = ? ORDER BY o.position, v.voter_id",
            (poll_id,),
        )

    def iter_events(self, poll_id: int) -> AsyncGenerator[list[tuple], None]:
        """Chunks of (poll_id, option label, emoji, voter_id, at, action, source), oldest first."""
        return self._iter_chunks(
            "SELECT e.poll_id, o.label, o.emoji, e.voter_id, e.at, e.action, e.source FROM vote_events e"
            " JOIN poll_options o ON o.id = e.option_id WHERE e.poll_id = ? ORDER BY e.at, e.id",
            (poll_id,),
        )

    async def _iter_chunks(self, sql: str, params: tuple) -> AsyncGenerator[list[tuple], None]:
        # Close it (contextlib.aclosing) when stopping early, so the cursor closes while the
        # connection is still open.
        async with contextlib.aclosing(self._db.chunks(sql, params, EXPORT_CHUNK_ROWS)) as chunks:
            async for chunk in chunks:
                yield chunk

    # --- articles and discussion -------------------------------------------------------------

    async def article(self, article_id: int, guild_id: int | None) -> ArticleRow | None:
        """The article and when it was first posted (in this guild when one is given)."""
        row = await self._db.fetch_one(
            "SELECT a.id, a.title, a.link, a.published,"
            " (SELECT MIN(d.posted_at) FROM deliveries d WHERE d.article_id = a.id"
            "  AND (CAST(:guild AS INTEGER) IS NULL OR d.guild_id = :guild))"
            " FROM articles a WHERE a.id = :article",
            {"article": article_id, "guild": guild_id},
        )
        return None if row is None else ArticleRow(*tuple(row))

    async def article_by_message(self, guild_id: int, message_id: int) -> int | None:
        """The article posted in the guild whose message or thread id is `message_id`."""
        value = await self._db.fetch_value(
            "SELECT article_id FROM deliveries WHERE guild_id = :guild AND (message_id = :id OR thread_id = :id)"
            " LIMIT 1",
            {"guild": guild_id, "id": message_id},
        )
        return None if value is None else int(value)

    async def article_in_guild(self, guild_id: int, article_id: int) -> int | None:
        """The article's id if it was posted in the guild."""
        value = await self._db.fetch_value(
            "SELECT article_id FROM deliveries WHERE guild_id = ? AND article_id = ? LIMIT 1", (guild_id, article_id)
        )
        return None if value is None else int(value)

    async def search_articles(self, guild_id: int, text: str, limit: int) -> list[tuple[int, str]]:
        """(id, title) of articles posted in the guild whose title contains `text`, newest first."""
        rows = await self._db.fetch_all(
            "SELECT a.id, a.title FROM articles a WHERE a.title LIKE ? ESCAPE '\\'"
            " AND EXISTS (SELECT 1 FROM deliveries d WHERE d.article_id = a.id AND d.guild_id = ?)"
            " ORDER BY a.id DESC LIMIT ?",
            (containing(text), guild_id, limit),
        )
        return [(int(r[0]), str(r[1])) for r in rows]

    async def article_poll_ids(self, article_id: int, guild_id: int | None) -> list[int]:
        rows = await self._db.fetch_all(
            "SELECT id FROM polls WHERE article_id = :article"
            " AND (CAST(:guild AS INTEGER) IS NULL OR guild_id = :guild) ORDER BY id",
            {"article": article_id, "guild": guild_id},
        )
        return [int(r[0]) for r in rows]

    async def discussion_open(self, article_id: int, guild_id: int | None) -> bool | None:
        """Whether any of the article's threads is still open; None when it never had one."""
        value = await self._db.fetch_value(
            "SELECT MAX(discussion_open) FROM deliveries WHERE article_id = :article"
            " AND thread_id IS NOT NULL AND (CAST(:guild AS INTEGER) IS NULL OR guild_id = :guild)",
            {"article": article_id, "guild": guild_id},
        )
        return None if value is None else bool(value)

    async def discussion_totals(self, article_id: int, guild_id: int | None) -> DiscussionTotals:
        row = await self._db.fetch_one(
            "SELECT COUNT(*), COUNT(DISTINCT author_id), MIN(created_at), MAX(created_at)"  # noqa: S608
            f" FROM responses WHERE {_RESPONSE_SCOPE}",
            {"article": article_id, "guild": guild_id},
        )
        assert row is not None  # an aggregate without GROUP BY always yields one row
        return DiscussionTotals(int(row[0]), int(row[1]), row[2], row[3])

    async def replies_per_day(self, article_id: int, guild_id: int | None) -> list[tuple[str, int]]:
        """(UTC date 'YYYY-MM-DD', replies) for each day with replies, oldest first."""
        rows = await self._db.fetch_all(
            "SELECT substr(created_at, 1, 10) AS day, COUNT(*)"  # noqa: S608
            f" FROM responses WHERE {_RESPONSE_SCOPE} GROUP BY day ORDER BY day",
            {"article": article_id, "guild": guild_id},
        )
        return [(str(r[0]), int(r[1])) for r in rows]

    async def top_participants(self, article_id: int, guild_id: int | None, limit: int) -> list[tuple[int, int]]:
        """(author_id, replies) of the most active participants; ties go to who spoke first."""
        rows = await self._db.fetch_all(
            "SELECT author_id, COUNT(*) AS replies FROM responses"  # noqa: S608
            f" WHERE {_RESPONSE_SCOPE} GROUP BY author_id ORDER BY replies DESC, MIN(created_at) LIMIT :limit",
            {"article": article_id, "guild": guild_id, "limit": limit},
        )
        return [(int(r[0]), int(r[1])) for r in rows]
