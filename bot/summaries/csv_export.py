"""CSV exports of a poll's current votes and of its vote event log.

UTF-8 with a byte-order mark (without it Excel reads emoji and accents as mojibake), CRLF line
ends as RFC 4180 has them, and a header row. Times are UTC as 'YYYY-MM-DD HH:MM:SS.mmm', which
spreadsheets recognise as a date-time. Voter ids stay plain integers: Python, pandas and
LibreOffice read them exactly; Excel shows 18-digit numbers rounded unless the column is
imported as text.

Rows are streamed from the storage layer in chunks and each chunk is encoded and written in a
worker thread, so a million-row export never holds the event loop.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import csv
import io
import logging
from collections.abc import AsyncGenerator, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import IO, Any

from bot.polls.anonymous import pseudonym
from bot.storage.summaries import SummaryStore

log = logging.getLogger(__name__)

VOTES_HEADER = ("poll_id", "option", "emoji", "voter_id", "voted_at_utc")
EVENTS_HEADER = ("poll_id", "option", "emoji", "voter_id", "at_utc", "action", "source")

# A cell starting with one of these is run as a formula by spreadsheets (CSV injection); a
# leading apostrophe makes it plain text, as OWASP recommends.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def spreadsheet_time(text: str) -> str:
    """A stored ISO-8601 time as 'YYYY-MM-DD HH:MM:SS.mmm' in UTC."""
    if len(text) == 29 and text.endswith("+00:00") and text[10] == "T":
        return f"{text[:10]} {text[11:23]}"  # to_db's own format: a slice, no parsing
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


async def write_votes_csv(store: SummaryStore, poll_id: int, out: IO[bytes]) -> int:
    """Write the poll's current votes to `out`; returns the number of data rows."""
    name = await _voter_names(store, poll_id)
    return await _write(out, _header(VOTES_HEADER, name), store.iter_votes(poll_id), name)


async def write_events_csv(store: SummaryStore, poll_id: int, out: IO[bytes]) -> int:
    """Write the poll's vote event log, oldest first, to `out`; returns the number of data rows."""
    name = await _voter_names(store, poll_id)
    return await _write(out, _header(EVENTS_HEADER, name), store.iter_events(poll_id), name)


VoterName = Callable[[int, int], str]


async def _voter_names(store: SummaryStore, poll_id: int) -> VoterName | None:
    """For an anonymous poll, how voters are named instead of by user id: a per-poll pseudonym."""
    _hidden, anonymous = await store.fairness_flags(poll_id)
    if not anonymous:
        return None
    # Anonymous polls make the secret when they open; without one no vote can have been exported yet.
    secret = await store.pseudonym_secret() or b""
    return lambda poll, voter: pseudonym(secret, poll, voter)


def _header(header: tuple[str, ...], name: VoterName | None) -> tuple[str, ...]:
    return header if name is None else tuple("voter" if column == "voter_id" else column for column in header)


async def export_votes(store: SummaryStore, poll_id: int) -> bytes:
    out = io.BytesIO()
    await write_votes_csv(store, poll_id, out)
    return out.getvalue()


async def export_events(store: SummaryStore, poll_id: int) -> bytes:
    out = io.BytesIO()
    await write_events_csv(store, poll_id, out)
    return out.getvalue()


async def _write(
    out: IO[bytes], header: tuple[str, ...], chunks: AsyncGenerator[list[tuple], None], name: VoterName | None = None
) -> int:
    await asyncio.to_thread(out.write, codecs.BOM_UTF8 + _encode([header]))
    written = 0
    # aclosing: a failed write closes the query's cursor now, not when the generator is collected.
    async with contextlib.aclosing(chunks):
        async for chunk in chunks:
            if name is not None:
                chunk = [(poll, label, emoji, name(poll, voter), *rest) for poll, label, emoji, voter, *rest in chunk]
            await asyncio.to_thread(_write_chunk, out, chunk)
            written += len(chunk)
    return written


def _write_chunk(out: IO[bytes], rows: list[tuple]) -> None:
    # Both exports share their first five columns: poll_id, option label, emoji, voter_id, time.
    # Only label and emoji are free text that could start like a formula.
    out.write(
        _encode(
            (poll_id, spreadsheet_safe(label), spreadsheet_safe(emoji), voter_id, spreadsheet_time(at), *rest)
            for poll_id, label, emoji, voter_id, at, *rest in rows
        )
    )


def _encode(rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")
