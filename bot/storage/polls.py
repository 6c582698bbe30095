"""SQL for polls, their options, current votes and the append-only vote event log."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, cast

from bot.shards import Shards
from bot.storage.interface import Row, StoreConnection, StoreDatabase
from bot.storage.ownership import owned_guilds_clause
from bot.storage.vote_batches import RowKind, VoteKey, vote_batch_writer
from bot.timeutil import from_db, now_db, to_db

if TYPE_CHECKING:
    from bot.polls.options import PollOption


@dataclass(frozen=True, slots=True)
class FairnessRow:
    """A poll's (or a server's default) voting rules as stored; bot.polls.fairness reads them."""

    voter_role_ids: str  # space-separated role ids; empty: any role
    min_account_age_seconds: int | None
    min_member_age_seconds: int | None
    hide_totals: bool
    anonymous: bool


@dataclass(frozen=True, slots=True)
class PollRulesRow:
    """The poll rules a feed or folder subscription sets for its articles' polls, as stored. Each None falls
    back to the server's default; a minimum age of 0 means no minimum, whatever the server's default."""

    voter_role_ids: str | None = None  # space-separated role ids
    min_account_age_seconds: int | None = None
    min_member_age_seconds: int | None = None
    hide_totals: bool | None = None
    anonymous: bool | None = None

    def columns(self) -> dict[str, object]:
        """Column name → value in a subscription row (POLL_RULE_COLUMNS, in that order)."""
        values = {f"poll_{column.name}": getattr(self, column.name) for column in fields(self)}
        return {name: int(value) if isinstance(value, bool) else value for name, value in values.items()}

    @classmethod
    def from_columns(cls, row: Row) -> PollRulesRow:
        def flag(value: object) -> bool | None:
            return None if value is None else bool(value)

        return cls(
            row["poll_voter_role_ids"], row["poll_min_account_age_seconds"], row["poll_min_member_age_seconds"],
            flag(row["poll_hide_totals"]), flag(row["poll_anonymous"]),
        )  # fmt: skip


NO_POLL_RULES = PollRulesRow()
# A subscription's (feed or folder) poll rules: PollRulesRow's fields, prefixed.
POLL_RULE_COLUMNS = (
    "poll_voter_role_ids, poll_min_account_age_seconds, poll_min_member_age_seconds, poll_hide_totals, poll_anonymous"
)

_FAIRNESS_COLUMNS = "voter_role_ids, min_account_age_seconds, min_member_age_seconds, hide_totals, anonymous"

# One row of the vote event log, in column order: the vote recorder builds these on the hot path, so they
# are plain tuples rather than objects.
VoteEventRow = tuple[int, int, int, str, str, str]  # poll_id, option_id, voter_id, action, source, at

_VOTE_ACTIONS = ("added", "removed")
_CHUNK = 500  # ids per IN (...) list, well under SQLite's limit of bound parameters
# A refused reaction travels with the vote changes (journal, batches) as action "refused:<reason>".
REFUSED_PREFIX = "refused:"


@dataclass(frozen=True, slots=True)
class StoredOption:
    id: int
    position: int
    emoji: str
    label: str


@dataclass(frozen=True, slots=True)
class StoredPoll:
    id: int
    guild_id: int
    channel_id: int
    message_id: int | None
    article_id: int | None
    delivery_id: int | None
    question: str
    multiple: bool
    status: str
    closed_reason: str | None
    created_by: int | None
    created_at: datetime
    deadline_at: datetime | None
    closed_at: datetime | None
    options: tuple[StoredOption, ...]

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True, slots=True)
class VoteCounts:
    """Votes per option id and distinct voters, as SQL aggregates them."""

    per_option: dict[int, int]
    voters: int

    def in_order(self, poll: StoredPoll) -> list[int]:
        return [self.per_option.get(option.id, 0) for option in poll.options]


class PollStore:
    def __init__(self, db: StoreDatabase, *, journal_name: str = "", shards: Shards | None = None) -> None:
        self._db = db
        # A process of a sharded cluster loads, closes and reconciles the polls of its own servers only.
        self._owned = owned_guilds_clause(shards or Shards())
        self._journal_name = journal_name  # whose vote journal this store commits ('' for an unsharded process)

    # --- polls ---------------------------------------------------------------------------------------

    async def create_poll(
        self,
        *,
        guild_id: int,
        channel_id: int,
        question: str,
        options: Sequence[PollOption],
        multiple: bool,
        created_by: int | None,
        deadline_at: datetime | None = None,
        article_id: int | None = None,
        delivery_id: int | None = None,
    ) -> StoredPoll:
        """Record a poll and its options before its message is sent (message_id stays NULL until then)."""
        async with self._db.transaction() as connection:
            cursor = await connection.execute(
                "INSERT INTO polls (guild_id, channel_id, article_id, delivery_id, question, multiple, created_by,"
                " created_at, deadline_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (guild_id, channel_id, article_id, delivery_id, question, int(multiple), created_by, now_db(),
                 to_db(deadline_at) if deadline_at else None),
            )  # fmt: skip
            poll_id = cursor.lastrowid
            await connection.executemany(
                "INSERT INTO poll_options (poll_id, position, emoji, label) VALUES (?, ?, ?, ?)",
                [(poll_id, position, option.emoji, option.label) for position, option in enumerate(options)],
            )
        created = await self.poll(int(poll_id))
        assert created is not None
        return created

    async def set_message(self, poll_id: int, message_id: int) -> None:
        async with self._db.transaction() as connection:
            await connection.execute("UPDATE polls SET message_id = ? WHERE id = ?", (message_id, poll_id))

    async def delete_unsent(self, poll_id: int) -> None:
        """Forget a poll whose message could not be sent; one that was sent is never deleted."""
        async with self._db.transaction() as connection:
            await connection.execute("DELETE FROM polls WHERE id = ? AND message_id IS NULL", (poll_id,))

    async def delete_poll(self, poll_id: int) -> None:
        """Delete a poll Discord refused to set up (an emoji it does not know); its votes go with it."""
        async with self._db.transaction() as connection:
            await connection.execute("DELETE FROM polls WHERE id = ?", (poll_id,))

    async def close_poll(self, poll_id: int, reason: str, closed_at: datetime) -> bool:
        """Close an open poll; False if it was closed already (by another path that got there first)."""
        async with self._db.transaction() as connection:
            cursor = await connection.execute(
                "UPDATE polls SET status = 'closed', closed_reason = ?, closed_at = ? WHERE id = ? AND status = 'open'",
                (reason, to_db(closed_at), poll_id),
            )
            return cursor.rowcount > 0

    async def poll(self, poll_id: int) -> StoredPoll | None:
        polls = await self._polls("WHERE id = ?", (poll_id,))
        return polls[0] if polls else None

    async def poll_by_message(self, message_id: int) -> StoredPoll | None:
        polls = await self._polls("WHERE message_id = ?", (message_id,))
        return polls[0] if polls else None

    async def poll_for_delivery(self, delivery_id: int) -> StoredPoll | None:
        polls = await self._polls("WHERE delivery_id = ? ORDER BY id LIMIT 1", (delivery_id,))
        return polls[0] if polls else None

    async def open_polls_in_channel(self, channel_id: int) -> list[StoredPoll]:
        return await self._polls("WHERE channel_id = ? AND status = 'open' ORDER BY id", (channel_id,))

    async def open_polls(self) -> list[StoredPoll]:
        """Every open poll whose message was sent."""
        return await self._polls(f"WHERE status = 'open' AND message_id IS NOT NULL{self._owned} ORDER BY id", ())

    async def unsent_polls(self) -> list[StoredPoll]:
        """Polls recorded but whose message id was never stored (a crash or a refusal mid-creation)."""
        return await self._polls(f"WHERE status = 'open' AND message_id IS NULL{self._owned} ORDER BY id", ())

    async def closed_poll_messages(self) -> dict[int, int]:
        """message id → channel id of closed polls, so reactions added to them later can be refused."""
        rows = await self._db.fetch_all(
            f"SELECT message_id, channel_id FROM polls WHERE status = 'closed' AND message_id IS NOT NULL{self._owned}"  # noqa: S608
        )
        return {row["message_id"]: row["channel_id"] for row in rows}

    async def _polls(self, where: str, params: tuple) -> list[StoredPoll]:
        return await read_polls(self._db, where, params)

    # --- votes ---------------------------------------------------------------------------------------

    async def record_vote_events(self, events: Sequence[VoteEventRow], *, journal_generation: int = 0) -> None:
        """Append vote events to the log and bring current votes, their counts and superseded reactions to
        their final state, in one transaction; `journal_generation` marks the journal files this batch
        covers as done.

        Within a batch the same vote can be added and withdrawn several times: only its last action
        decides the `votes` row (and so the counts), while every vote event is logged in order.
        """
        refusals = _refusals(events)
        if refusals:
            events = [event for event in events if not event[3].startswith(REFUSED_PREFIX)]
        votes = [event for event in events if event[3] in _VOTE_ACTIONS]
        # Last action per vote and per superseded reaction (votes and leftovers are separate states).
        final: dict[tuple[int, int, int, bool], tuple[str, str]] = {}
        for poll_id, option_id, voter_id, action, _source, at in events:
            final[(poll_id, option_id, voter_id, action in _VOTE_ACTIONS)] = (action, at)
        by_action: dict[RowKind, list[tuple[object, ...]]] = {"added": [], "removed": [], "left": [], "gone": []}
        for (poll_id, option_id, voter_id, _), (action, at) in final.items():
            key = (poll_id, option_id, voter_id)
            by_action[cast(RowKind, action)].append((*key, at) if action == "added" else key)
        wanted = {key[:3]: action == "added" for key, (action, _) in final.items() if key[3]}
        async with self._db.transaction() as connection:
            batch = vote_batch_writer(connection, self._db.dialect)
            held = await batch.held_votes(_voters_by_poll(wanted))
            await batch.write("events", votes)
            for kind, rows in by_action.items():
                await batch.write(kind, rows)
            await _update_counts(connection, held, wanted)
            await batch.write("refused", refusals)
            if journal_generation:
                await connection.execute(
                    "INSERT INTO vote_journal (name, generation) VALUES (?, ?) ON CONFLICT (name) DO UPDATE"
                    " SET generation = MAX(vote_journal.generation, excluded.generation)",
                    (self._journal_name, journal_generation),
                )

    async def known_option_rows(self, rows: Sequence[VoteEventRow]) -> list[VoteEventRow]:
        """`rows` without those of options that no longer exist (a poll withdrawn before they were written)."""
        option_ids = sorted({row[1] for row in rows})
        known: set[int] = set()
        for start in range(0, len(option_ids), _CHUNK):
            chunk = option_ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            found = await self._db.fetch_all(f"SELECT id FROM poll_options WHERE id IN ({marks})", tuple(chunk))  # noqa: S608
            known.update(row[0] for row in found)
        return [row for row in rows if row[1] in known]

    async def journal_generation(self) -> int:
        """The newest vote journal file whose rows are committed."""
        row = await self._db.fetch_value("SELECT generation FROM vote_journal WHERE name = ?", (self._journal_name,))
        return int(row or 0)

    async def current_leftovers(self, poll_id: int) -> list[tuple[int, int]]:
        """(voter id, option id) of superseded reactions still on a poll's message."""
        rows = await self._db.fetch_all(
            "SELECT voter_id, option_id FROM reaction_leftovers WHERE poll_id = ?", (poll_id,)
        )
        return [(row[0], row[1]) for row in rows]

    async def current_votes(self, poll_id: int) -> list[tuple[int, int]]:
        """(voter id, option id) of every current vote in a poll."""
        rows = await self._db.fetch_all("SELECT voter_id, option_id FROM votes WHERE poll_id = ?", (poll_id,))
        return [(row[0], row[1]) for row in rows]

    async def vote_counts(self, poll_id: int) -> VoteCounts:
        """Votes per option and voters, as the vote recorder keeps them: a lookup, not a count of votes."""
        rows = await self._db.fetch_all(
            "SELECT o.id, o.votes, p.voters FROM poll_options o JOIN polls p ON p.id = o.poll_id WHERE o.poll_id = ?",
            (poll_id,),
        )
        return _counts(rows)

    # --- fair polls: who may vote, hidden totals, anonymity, refusals ---------------------------------

    async def set_fairness(self, poll_id: int, fairness: FairnessRow) -> None:
        await self._upsert_fairness("poll_fairness", "poll_id", poll_id, fairness)

    async def fairness(self, poll_id: int) -> FairnessRow | None:
        row = await self._db.fetch_one(f"SELECT {_FAIRNESS_COLUMNS} FROM poll_fairness WHERE poll_id = ?", (poll_id,))  # noqa: S608
        return _fairness_row(row) if row is not None else None

    async def poll_defaults(self, guild_id: int) -> FairnessRow | None:
        row = await self._db.fetch_one(f"SELECT {_FAIRNESS_COLUMNS} FROM poll_defaults WHERE guild_id = ?", (guild_id,))  # noqa: S608
        return _fairness_row(row) if row is not None else None

    async def set_poll_defaults(self, guild_id: int, fairness: FairnessRow) -> None:
        await self._upsert_fairness("poll_defaults", "guild_id", guild_id, fairness)

    async def clear_poll_defaults(self, guild_id: int) -> None:
        async with self._db.transaction() as connection:
            await connection.execute("DELETE FROM poll_defaults WHERE guild_id = ?", (guild_id,))

    async def _upsert_fairness(self, table: str, key: str, key_value: int, fairness: FairnessRow) -> None:
        # `table` and `key` are this module's literals, never user input.
        columns = ("voter_role_ids", "min_account_age_seconds", "min_member_age_seconds", "hide_totals", "anonymous")
        updates = ", ".join(f"{column} = excluded.{column}" for column in columns)
        sql = (
            f"INSERT INTO {table} ({key}, {', '.join(columns)}) VALUES (?, ?, ?, ?, ?, ?)"  # noqa: S608
            f" ON CONFLICT ({key}) DO UPDATE SET {updates}"
        )
        async with self._db.transaction() as connection:
            await connection.execute(sql, (key_value, *astuple(fairness)))
            if fairness.anonymous:
                # The secret behind this poll's pseudonyms in exports exists before any vote does.
                await connection.execute(
                    "INSERT OR IGNORE INTO pseudonym_secret (id, secret) VALUES (1, ?)", (secrets.token_bytes(32),)
                )

    async def refusal_counts(self, poll_id: int) -> dict[str, int]:
        """Refused reactions per reason (each member, option and reason once)."""
        rows = await self._db.fetch_all(
            "SELECT reason, COUNT(*) FROM vote_refusals WHERE poll_id = ? GROUP BY reason ORDER BY reason", (poll_id,)
        )
        return {row[0]: row[1] for row in rows}

    async def pseudonym_secret(self) -> bytes:
        """The secret behind anonymous polls' pseudonyms: made on first use, then always the same."""
        async with self._db.transaction() as connection:
            await connection.execute(
                "INSERT OR IGNORE INTO pseudonym_secret (id, secret) VALUES (1, ?)", (secrets.token_bytes(32),)
            )
        value = await self._db.fetch_value("SELECT secret FROM pseudonym_secret WHERE id = 1")
        assert isinstance(value, bytes | bytearray | memoryview), "the secret was just written"
        return bytes(value)


def _refusals(events: Sequence[VoteEventRow]) -> list[VoteEventRow]:
    cut = len(REFUSED_PREFIX)
    return [
        (poll_id, option_id, voter_id, action[cut:], source, at)
        for poll_id, option_id, voter_id, action, source, at in events
        if action.startswith(REFUSED_PREFIX)
    ]


def _voters_by_poll(wanted: dict[VoteKey, bool]) -> dict[int, set[int]]:
    """The voters of each poll a batch changes (whose current votes it must read first)."""
    voters_by_poll: dict[int, set[int]] = {}
    for poll_id, _option_id, voter_id in wanted:
        voters_by_poll.setdefault(poll_id, set()).add(voter_id)
    return voters_by_poll


async def _update_counts(connection: StoreConnection, held: set[VoteKey], wanted: dict[VoteKey, bool]) -> None:
    """Move each option's vote count and each poll's voter count by what this batch changed."""
    after = {key for key in held if wanted.get(key, True)} | {key for key, added in wanted.items() if added}
    option_change: dict[int, int] = {}
    for _poll_id, option_id, _voter_id in after - held:
        option_change[option_id] = option_change.get(option_id, 0) + 1
    for _poll_id, option_id, _voter_id in held - after:
        option_change[option_id] = option_change.get(option_id, 0) - 1
    voters_before = {(poll_id, voter_id) for poll_id, _option_id, voter_id in held}
    voters_after = {(poll_id, voter_id) for poll_id, _option_id, voter_id in after}
    voter_change: dict[int, int] = {}
    for poll_id, _voter_id in voters_after - voters_before:
        voter_change[poll_id] = voter_change.get(poll_id, 0) + 1
    for poll_id, _voter_id in voters_before - voters_after:
        voter_change[poll_id] = voter_change.get(poll_id, 0) - 1
    option_rows = [(change, option_id) for option_id, change in option_change.items() if change]
    if option_rows:
        await connection.executemany("UPDATE poll_options SET votes = votes + ? WHERE id = ?", option_rows)
    poll_rows = [(change, poll_id) for poll_id, change in voter_change.items() if change]
    if poll_rows:
        await connection.executemany("UPDATE polls SET voters = voters + ? WHERE id = ?", poll_rows)


async def read_polls(db: StoreDatabase, where: str, params: tuple) -> list[StoredPoll]:
    """The polls that `where` (a store's literal clause, never user input) selects, with their options: the one
    read of a stored poll, for PollStore and SummaryStore alike."""
    rows = await db.fetch_all(f"SELECT * FROM polls {where}", params)  # noqa: S608
    if not rows:
        return []
    ids = [row["id"] for row in rows]
    marks = ",".join("?" * len(ids))
    option_rows = await db.fetch_all(
        f"SELECT * FROM poll_options WHERE poll_id IN ({marks}) ORDER BY poll_id, position",  # noqa: S608
        tuple(ids),
    )
    options: dict[int, list[StoredOption]] = {poll_id: [] for poll_id in ids}
    for row in option_rows:
        options[row["poll_id"]].append(StoredOption(row["id"], row["position"], row["emoji"], row["label"]))
    return [_stored_poll(row, tuple(options[row["id"]])) for row in rows]


def _counts(rows: list[Row]) -> VoteCounts:
    return VoteCounts({row[0]: row[1] for row in rows if row[1]}, rows[0][2] if rows else 0)


def _stored_poll(row: Row, options: tuple[StoredOption, ...]) -> StoredPoll:
    created_at = from_db(row["created_at"])
    assert created_at is not None
    return StoredPoll(
        id=row["id"], guild_id=row["guild_id"], channel_id=row["channel_id"], message_id=row["message_id"],
        article_id=row["article_id"], delivery_id=row["delivery_id"], question=row["question"],
        multiple=bool(row["multiple"]), status=row["status"], closed_reason=row["closed_reason"],
        created_by=row["created_by"], created_at=created_at, deadline_at=from_db(row["deadline_at"]),
        closed_at=from_db(row["closed_at"]), options=options,
    )  # fmt: skip


def _fairness_row(row: Row) -> FairnessRow:
    return FairnessRow(row[0], row[1], row[2], bool(row[3]), bool(row[4]))
