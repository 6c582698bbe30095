"""The vote recorder: queues vote changes in memory and writes them in batches, one transaction each.

One `await` per vote would cap ingestion at a few thousand votes a second (a thread hop per statement);
`executemany` in batches is bounded by gateway parsing instead. Every queued change is also in the vote
journal (bot/storage/journal.py) from the end of the event-loop turn that judged it, so a crash loses none.

Rules: a batch the database refuses stays queued, in order, and is retried with growing pauses for as long
as it takes (a full disk is fixed by an operator, not by dropping votes); shutdown lets a write that has
begun finish rather than cancel it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from bot.polls.rules import Source, VoteChange
from bot.storage.faults import one_line, storage_fault
from bot.storage.journal import VoteJournal, read_rows
from bot.storage.polls import REFUSED_PREFIX, PollStore, VoteEventRow
from bot.timeutil import to_db

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 0.25
FLUSH_SIZE = 1000
MAX_RETRY_PAUSE = 30.0


class VoteRecorder:
    def __init__(
        self,
        store: PollStore,
        *,
        journal: VoteJournal | None = None,
        interval: float = FLUSH_INTERVAL,
        batch_size: int = FLUSH_SIZE,
        max_retry_pause: float = MAX_RETRY_PAUSE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._journal = journal
        self._interval = interval
        self._batch_size = batch_size
        self._max_retry_pause = max_retry_pause
        self._clock = clock
        self._pending: list[VoteEventRow] = []
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._journal_write_due = False
        self._failing_since: float | None = None
        self._failures = 0
        self._stamp_at = -1.0
        self._stamp = ""

    async def recover(self) -> int:
        """Commit the journal files a crash left behind, then open a new one; returns the rows replayed."""
        if self._journal is None:
            return 0
        committed = await self._store.journal_generation()
        replayed = 0
        files = self._journal.files()
        for generation, path in files:
            if generation <= committed:
                continue
            rows = await self._store.known_option_rows(list(read_rows(path)))
            await self._store.record_vote_events(rows, journal_generation=generation)
            replayed += len(rows)
        if replayed:
            log.info("Recovered %d vote changes from the vote journal", replayed)
        self._journal.open(after_generation=committed)
        self._journal.discard_through(max([committed, *(generation for generation, _ in files)]))
        return replayed

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="vote-recorder")

    async def stop(self) -> None:
        """Stop the background writer after its current write and write everything still queued."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        try:
            await self.flush()
        except Exception as error:
            kept = "they are in the vote journal and are written at the next start" if self._journal else "lost"
            log.error("Could not write %d vote changes at shutdown (%s): %s", len(self._pending), error, kept)
        if self._journal is not None:
            self._journal.close()

    @property
    def queued(self) -> int:
        return len(self._pending)

    def record(self, changes: Iterable[VoteChange], source: Source) -> None:
        """Queue changes with the time they were seen; synchronous, so callers never await per vote."""
        stamp = self._timestamp()
        start = len(self._pending)
        pending = self._pending
        # str(member), not member.value: the value property is a Python-level descriptor, run per vote.
        kind = str(source)
        for change in changes:
            pending.append((change.poll_id, change.option_id, change.voter_id, str(change.action), kind, stamp))
        if self._journal is not None:
            self._journal.append(pending[start:])
            if not self._journal_write_due:
                # One write per event-loop turn, after every event of the turn was judged.
                self._journal_write_due = True
                asyncio.get_running_loop().call_soon(self.write_journal)
        if len(pending) >= self._batch_size:
            self._wake.set()

    def record_refusal(self, poll_id: int, option_id: int, voter_id: int, reason: str, source: Source) -> None:
        """Queue a reaction that was not counted (the member may not vote), journaled like a vote change."""
        row = (poll_id, option_id, voter_id, REFUSED_PREFIX + reason, str(source), self._timestamp())
        self._pending.append(row)
        if self._journal is not None:
            self._journal.append([row])
            if not self._journal_write_due:
                self._journal_write_due = True
                asyncio.get_running_loop().call_soon(self.write_journal)

    def write_journal(self) -> None:
        """Hand the journal's buffered rows to the operating system now (before acting on them)."""
        self._journal_write_due = False
        if self._journal is not None:
            self._journal.write()

    async def flush(self) -> None:
        """Write everything queued so far; raises if the database refuses (the batch stays queued)."""
        async with self._lock:
            batch, self._pending = self._pending, []
            if not batch:
                return
            generation = self._journal.rotate() if self._journal is not None else 0
            try:
                await self._store.record_vote_events(batch, journal_generation=generation)
            except BaseException:
                self._pending[:0] = batch  # keep order: this batch precedes anything queued meanwhile
                raise
            if self._journal is not None:
                self._journal.discard_through(generation)
            self._recovered(len(batch))

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._pause()):
                    await self._wake.wait()
            self._wake.clear()
            if self._stopping:
                return
            try:
                await self.flush()
            except Exception as error:
                self._failed(error)

    def _pause(self) -> float:
        if not self._failures:
            return self._interval
        return min(self._max_retry_pause, self._interval * 2**self._failures)

    def _failed(self, error: Exception) -> None:
        self._failures += 1
        if self._failing_since is None:
            self._failing_since = time.monotonic()
            kept = "in memory and in the vote journal" if self._journal is not None else "in memory"
            log.error(
                "Cannot write votes: %s. The %d vote changes so far are kept %s and written when the database "
                "accepts them again (retrying, up to every %.0f s)",
                storage_fault(error) or f"the database refused them ({one_line(error)})",
                len(self._pending),
                kept,
                self._max_retry_pause,
            )

    def _recovered(self, written: int) -> None:
        self._failures = 0
        if self._failing_since is not None:
            log.info(
                "The database accepts votes again: %d vote changes written after %.0f s",
                written,
                time.monotonic() - self._failing_since,
            )
            self._failing_since = None

    def _timestamp(self) -> str:
        # Formatting a time costs more than judging a vote; one text per millisecond is precise enough.
        now = self._clock()
        if abs(now - self._stamp_at) >= 0.001:
            self._stamp_at = now
            self._stamp = to_db(datetime.fromtimestamp(now, UTC))
        return self._stamp
