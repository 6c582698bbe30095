"""How one batch of vote changes reaches each backend: the statements behind PollStore.record_vote_events.

SQLite runs each kind of row as one `executemany` (a loop inside one thread hop). PostgreSQL would run an
`executemany` row by row on the server, and an `IN (...)` list of hundreds of parameters is slow to bind,
so there each kind of row is one statement over arrays (`unnest`), whatever the batch's size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, Protocol, cast

from bot.storage.interface import StoreConnection

if TYPE_CHECKING:
    from bot.storage.postgres import PgConnection

# What a batch writes: events (the log), added/removed (current votes), left/gone (superseded reactions),
# refused (reactions that were not counted).
RowKind = Literal["events", "added", "removed", "left", "gone", "refused"]
VoteKey = tuple[int, int, int]  # poll_id, option_id, voter_id

_CHUNK = 500  # ids per IN (...) list, well under SQLite's limit of bound parameters

_SQLITE: dict[RowKind, str] = {
    "events": "INSERT INTO vote_events (poll_id, option_id, voter_id, action, source, at) VALUES (?, ?, ?, ?, ?, ?)",
    "added": "INSERT INTO votes (poll_id, option_id, voter_id, voted_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (poll_id, option_id, voter_id) DO UPDATE SET voted_at = excluded.voted_at",
    "removed": "DELETE FROM votes WHERE poll_id = ? AND option_id = ? AND voter_id = ?",
    "left": "INSERT OR IGNORE INTO reaction_leftovers (poll_id, option_id, voter_id) VALUES (?, ?, ?)",
    "gone": "DELETE FROM reaction_leftovers WHERE poll_id = ? AND option_id = ? AND voter_id = ?",
    "refused": "INSERT OR IGNORE INTO vote_refusals (poll_id, option_id, voter_id, reason, source, at)"
    " VALUES (?, ?, ?, ?, ?, ?)",
}

# ORDER BY the array position: the log's ids follow the order the changes were judged in.
_POSTGRES: dict[RowKind, str] = {
    "events": "INSERT INTO vote_events (poll_id, option_id, voter_id, action, source, at)"
    " SELECT poll_id, option_id, voter_id, action, source, at FROM unnest($1::bigint[], $2::bigint[],"
    " $3::bigint[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY"
    " AS d(poll_id, option_id, voter_id, action, source, at, position) ORDER BY position",
    "added": "INSERT INTO votes (poll_id, option_id, voter_id, voted_at)"
    " SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[])"
    " ON CONFLICT (poll_id, option_id, voter_id) DO UPDATE SET voted_at = excluded.voted_at",
    "removed": "DELETE FROM votes t USING unnest($1::bigint[], $2::bigint[], $3::bigint[])"
    " AS d(poll_id, option_id, voter_id)"
    " WHERE t.poll_id = d.poll_id AND t.option_id = d.option_id AND t.voter_id = d.voter_id",
    "left": "INSERT INTO reaction_leftovers (poll_id, option_id, voter_id)"
    " SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) ON CONFLICT DO NOTHING",
    "gone": "DELETE FROM reaction_leftovers t USING unnest($1::bigint[], $2::bigint[], $3::bigint[])"
    " AS d(poll_id, option_id, voter_id)"
    " WHERE t.poll_id = d.poll_id AND t.option_id = d.option_id AND t.voter_id = d.voter_id",
    "refused": "INSERT INTO vote_refusals (poll_id, option_id, voter_id, reason, source, at)"
    " SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[])"
    " ON CONFLICT DO NOTHING",
}


class VoteBatchWriter(Protocol):
    async def held_votes(self, voters_by_poll: dict[int, set[int]]) -> set[VoteKey]: ...

    async def write(self, kind: RowKind, rows: Sequence[tuple[object, ...]]) -> None: ...


def vote_batch_writer(connection: StoreConnection, dialect: str) -> VoteBatchWriter:
    if dialect == "postgresql":
        return _PostgresBatch(cast("PgConnection", connection))
    return _SqliteBatch(connection)


class _SqliteBatch:
    def __init__(self, connection: StoreConnection) -> None:
        self._connection = connection

    async def held_votes(self, voters_by_poll: dict[int, set[int]]) -> set[VoteKey]:
        held: set[VoteKey] = set()
        for poll_id, voters in voters_by_poll.items():
            ordered = sorted(voters)
            for start in range(0, len(ordered), _CHUNK):
                chunk = ordered[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = await self._connection.execute_fetchall(
                    f"SELECT option_id, voter_id FROM votes WHERE poll_id = ? AND voter_id IN ({marks})",  # noqa: S608
                    (poll_id, *chunk),
                )
                held.update((poll_id, row[0], row[1]) for row in rows)
        return held

    async def write(self, kind: RowKind, rows: Sequence[tuple[object, ...]]) -> None:
        if rows:
            await self._connection.executemany(_SQLITE[kind], rows)


class _PostgresBatch:
    def __init__(self, connection: PgConnection) -> None:
        self._connection = connection

    async def held_votes(self, voters_by_poll: dict[int, set[int]]) -> set[VoteKey]:
        held: set[VoteKey] = set()
        for poll_id, voters in voters_by_poll.items():
            rows = await self._connection.fetch_native(
                "SELECT option_id, voter_id FROM votes WHERE poll_id = $1 AND voter_id = ANY($2::bigint[])",
                poll_id,
                list(voters),
            )
            held.update((poll_id, row[0], row[1]) for row in rows)
        return held

    async def write(self, kind: RowKind, rows: Sequence[tuple[object, ...]]) -> None:
        if rows:
            await self._connection.execute_native(
                _POSTGRES[kind], *(list(column) for column in zip(*rows, strict=True))
            )
