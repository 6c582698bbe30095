"""The live-embed refresher: keeps each open poll's message showing its current figures, within Discord's
rate limits.

Editing a message is limited to a few edits per channel every few seconds, so a busy poll is not redrawn
on every vote: a changed poll is redrawn once after a short settle, then at most once per interval, always
with the figures of the moment the edit is sent (so the last edit shows the last vote).

At shutdown the edits already waiting are sent at their time, within a short grace (`finish`); one a crash
or the grace drops is redrawn at the next start, once reconciliation has read the message (PollService).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import discord

from bot.polls.live import LivePoll

log = logging.getLogger(__name__)

# A short settle lets the start of a burst land in the first edit instead of costing one of its own.
MAX_SETTLE_SECONDS = 1.0
# At shutdown, how long to wait for the edits already waiting; a service manager's stop timeout is far longer.
SHUTDOWN_EDIT_GRACE_SECONDS = 6.0


@dataclass
class _Refresh:
    """Debounce state of one poll's live embed."""

    last_edit: float = float("-inf")
    task: asyncio.Task[None] | None = field(default=None, repr=False)


class EmbedRefresher:
    def __init__(self, edit: Callable[[LivePoll], Awaitable[None]], *, interval: float) -> None:
        """`edit` redraws one poll's message from its live figures; `interval`: seconds between two edits."""
        self._edit = edit
        self._interval = interval
        self._polls: dict[int, _Refresh] = {}  # poll id → debounce state
        self._stopped = False
        self._sending: set[asyncio.Task[None]] = set()  # edits on their way to Discord

    def schedule(self, live: LivePoll) -> None:
        """The poll's figures changed: redraw its message (now or once its interval has passed)."""
        if self._stopped:
            return  # shutting down: the next start redraws it
        state = self._polls.setdefault(live.poll.id, _Refresh())
        if state.task is None:
            state.task = asyncio.create_task(self._refresh_later(live, state), name=f"poll-{live.poll.id}-refresh")

    def forget(self, poll_id: int) -> None:
        """The poll closed: a pending redraw would show live figures over its final ones."""
        state = self._polls.pop(poll_id, None)
        if state is not None and state.task is not None:
            state.task.cancel()

    @property
    def pending(self) -> bool:
        """Whether a redraw is waiting to be sent."""
        return any(state.task is not None for state in self._polls.values())

    async def finish(self, grace: float) -> None:
        """Shutting down: wait up to `grace` seconds for the edits waiting now, each sent at its time (so the
        rate limit holds), then drop the rest."""
        self._stopped = True  # Discord is about to be disconnected: a later change waits for the next start
        waiting = [state.task for state in self._polls.values() if state.task is not None] + [*self._sending]
        if waiting:
            await asyncio.wait(waiting, timeout=grace)
        self.stop()

    def stop(self) -> None:
        """Drop pending redraws (shutting down): a message shows its older figures until the next start."""
        self._stopped = True
        for state in self._polls.values():
            if state.task is not None:
                state.task.cancel()
                state.task = None

    async def _refresh_later(self, live: LivePoll, state: _Refresh) -> None:
        settle = min(MAX_SETTLE_SECONDS, self._interval)
        await asyncio.sleep(max(settle, state.last_edit + self._interval - time.monotonic()))
        state.task = None  # changes from here on schedule the next edit
        state.last_edit = time.monotonic()
        sending = asyncio.current_task()
        assert sending is not None
        self._sending.add(sending)
        try:
            await self._edit(live)
        except discord.HTTPException as error:
            log.warning("Could not update poll %s's embed: %s", live.poll.id, error)
        except Exception:
            log.exception("Updating poll %s's embed failed", live.poll.id)
        finally:
            self._sending.discard(sending)
