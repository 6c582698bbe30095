"""The vote recorder: queues vote changes in memory and writes them in batches, one transaction each.

One `await` per vote caps ingestion near 6 k votes/s (a thread hop per statement); `executemany` in
batches writes hundreds of thousands of rows per second, so bursts are bounded by gateway parsing instead.
A crash loses at most the queued tail, which reconciliation recovers from the reactions on Discord.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from bot.polls.rules import Source, VoteChange
from bot.storage.polls import PollStore, VoteEventRow
from bot.timeutil import to_db

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 0.25
FLUSH_SIZE = 1000
# A batch the database keeps refusing is dropped after this many tries rather than growing forever.
MAX_FLUSH_ATTEMPTS = 3


class VoteRecorder:
    def __init__(
        self,
        store: PollStore,
        *,
        interval: float = FLUSH_INTERVAL,
        batch_size: int = FLUSH_SIZE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._interval = interval
        self._batch_size = batch_size
        self._clock = clock
        self._pending: list[VoteEventRow] = []
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._failures = 0
        self._stamp_at = -1.0
        self._stamp = ""
        # Told the ids of polls whose changes were dropped: their in-memory votes no longer match the database.
        self.on_drop: Callable[[set[int]], None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="vote-recorder")

    async def stop(self) -> None:
        """Stop the background flusher and write everything still queued."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    def record(self, changes: Iterable[VoteChange], source: Source) -> None:
        """Queue changes with the time they were seen; synchronous, so callers never await per vote."""
        stamp = self._timestamp()
        pending = self._pending
        for change in changes:
            pending.append(
                (change.poll_id, change.option_id, change.voter_id, change.action.value, source.value, stamp)
            )
        if len(pending) >= self._batch_size:
            self._wake.set()

    async def flush(self) -> None:
        """Write everything queued so far; raises if the database refuses (the batch stays queued)."""
        async with self._lock:
            batch, self._pending = self._pending, []
            if not batch:
                return
            try:
                await self._store.record_vote_events(batch)
            except BaseException:
                self._pending[:0] = batch  # keep order: this batch precedes anything queued meanwhile
                raise
            self._failures = 0

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.flush()
            except Exception:
                self._on_failure()

    def _on_failure(self) -> None:
        self._failures += 1
        if self._failures < MAX_FLUSH_ATTEMPTS:
            log.exception("Could not record %d vote changes; will retry", len(self._pending))
            return
        log.exception(
            "Dropping %d vote changes after %d failed writes; their polls are reloaded and reconciled with Discord",
            len(self._pending),
            self._failures,
        )
        dropped = {row[0] for row in self._pending}
        self._pending.clear()
        self._failures = 0
        if self.on_drop is not None and dropped:
            self.on_drop(dropped)

    def _timestamp(self) -> str:
        # Formatting a time costs more than judging a vote; one text per millisecond is precise enough.
        now = self._clock()
        if abs(now - self._stamp_at) >= 0.001:
            self._stamp_at = now
            self._stamp = to_db(datetime.fromtimestamp(now, UTC))
        return self._stamp
