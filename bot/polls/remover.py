"""The reaction remover: takes reactions that do not count off poll messages, within Discord's rate limits.

Discord allows only a few reaction removals a second per channel, so in a busy poll removals wait, and
by the time one runs the voter may have changed their mind. The rules:

- a removal is keyed by (message, voter, emoji): asking twice queues it once;
- it is asked again whether it is still wanted right before it is sent (a voter who switched back to
  the option, or took the reaction off themselves, keeps it), so a stale removal never deletes a vote;
- a reaction seen removed drops its queued removal;
- superseded votes go before stray emoji, so the message shows the tally first;
- each channel has its own worker (Discord's buckets are per channel), a few channels at a time;
  discord.py waits out `Retry-After` and the bucket headers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import discord

log = logging.getLogger(__name__)

MAX_CHANNELS_AT_ONCE = 8


@dataclass(frozen=True, slots=True)
class QueuedRemoval:
    channel_id: int
    message_id: int
    user_id: int
    emoji_key: str  # options.emoji_key form, to compare with what events carry
    route_emoji: str  # as the REST API takes it: unicode, or name:id
    superseded: bool  # an option's reaction superseded by a switch (else a stray emoji or a late reaction)


_Key = tuple[int, int, str]  # message id, user id, emoji key


class _ChannelQueue:
    """Two ordered queues of one channel: superseded votes first, stray emoji after."""

    def __init__(self) -> None:
        self.urgent: dict[_Key, QueuedRemoval] = {}
        self.later: dict[_Key, QueuedRemoval] = {}
        self.worker: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self.urgent) + len(self.later)

    def pop(self) -> QueuedRemoval | None:
        for queue in (self.urgent, self.later):
            if queue:
                return queue.pop(next(iter(queue)))
        return None


class ReactionRemover:
    def __init__(
        self,
        remove: Callable[[QueuedRemoval], Awaitable[None]],
        *,
        still_wanted: Callable[[QueuedRemoval], bool],
        before_send: Callable[[], None] = lambda: None,
        on_forbidden: Callable[[int], None] = lambda channel_id: None,
    ) -> None:
        self._remove = remove
        self._still_wanted = still_wanted
        self._before_send = before_send
        self._on_forbidden = on_forbidden
        self._channels: dict[int, _ChannelQueue] = {}
        self._slots = asyncio.Semaphore(MAX_CHANNELS_AT_ONCE)
        self._idle = asyncio.Event()
        self._idle.set()

    def request(self, removal: QueuedRemoval) -> None:
        queue = self._channels.get(removal.channel_id)
        if queue is None:
            queue = self._channels[removal.channel_id] = _ChannelQueue()
        key = (removal.message_id, removal.user_id, removal.emoji_key)
        if key not in queue.urgent and key not in queue.later:
            (queue.urgent if removal.superseded else queue.later)[key] = removal
        if queue.worker is None:
            self._idle.clear()
            queue.worker = asyncio.create_task(self._work(removal.channel_id, queue), name="poll-reaction-remover")

    def forget(self, channel_id: int, message_id: int, user_id: int, emoji_key: str) -> None:
        """The reaction is gone already: its queued removal has nothing left to do."""
        queue = self._channels.get(channel_id)
        if queue is not None:
            key = (message_id, user_id, emoji_key)
            queue.urgent.pop(key, None)
            queue.later.pop(key, None)

    def take_queued(self, channel_id: int, message_id: int, user_id: int) -> list[QueuedRemoval]:
        """The voter's queued removals on the message, taken off the queue for the caller to send now."""
        queue = self._channels.get(channel_id)
        if queue is None:
            return []
        taken = []
        for pending in (queue.urgent, queue.later):
            for key in [key for key in pending if key[0] == message_id and key[1] == user_id]:
                taken.append(pending.pop(key))
        return taken

    async def drain(self) -> None:
        """Wait until every queued removal was sent or dropped."""
        await self._idle.wait()

    async def stop(self) -> None:
        """Drop what is queued: a restart's reconciliation finds every reaction that still does not count."""
        workers = [queue.worker for queue in self._channels.values() if queue.worker is not None]
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        self._channels.clear()
        self._idle.set()

    async def _work(self, channel_id: int, queue: _ChannelQueue) -> None:
        try:
            async with self._slots:
                while (removal := queue.pop()) is not None:
                    if not self._still_wanted(removal):
                        continue
                    if not await self._send(removal):
                        queue.urgent.clear()
                        queue.later.clear()
        finally:
            queue.worker = None
            if not len(queue):
                self._channels.pop(channel_id, None)
            if not self._channels:
                self._idle.set()

    async def _send(self, removal: QueuedRemoval) -> bool:
        """Send one removal; False when the channel refuses removals altogether."""
        self._before_send()
        try:
            await self._remove(removal)
        except discord.Forbidden:
            log.warning("No Manage Messages in channel %s: poll reactions stay as they are", removal.channel_id)
            self._on_forbidden(removal.channel_id)
            return False
        except discord.HTTPException as error:
            log.debug("Could not remove a reaction from message %s: %s", removal.message_id, error)
        except Exception:
            log.exception("Removing a reaction failed")
        return True
