"""Replies in articles' discussion threads, kept as responses: recorded, edited, deleted, closed.

Takes plain values, not discord.Message, so the rules are tested without Discord. Reply text is
stored only when the operator turned on both the Message Content intent and STORE_RESPONSE_TEXT;
without it Agora still counts replies (the length is then 0, as Discord sends no text).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from bot.storage.responses import ResponseStore, StoredResponse
from bot.timeutil import to_db

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Reply:
    message_id: int
    thread_id: int
    author_id: int
    by_bot: bool  # bots' and webhooks' messages, Agora's own included
    created_at: datetime
    content: str  # "" when Discord sent no text (no Message Content intent)


class DiscussionService:
    def __init__(self, store: ResponseStore, *, store_text: bool) -> None:
        self._store = store
        self._store_text = store_text
        # discord.py runs each event's listener as its own task. Recording a reply awaits a lookup
        # before its insert, so a quick edit or delete of the same message could otherwise run
        # first and be lost (the deleted message would then be stored). asyncio.Lock serves
        # waiters first come, first served, and each method takes it before any other await, so
        # operations apply in the order the gateway sent the events.
        self._in_order = asyncio.Lock()

    async def record_reply(self, reply: Reply) -> bool:
        """Store a reply posted in an article's thread; False for bots and for any other thread."""
        if reply.by_bot:
            return False
        async with self._in_order:
            thread = await self._store.discussion_thread(reply.thread_id)
            if thread is None:
                return False
            return await self._store.add(
                StoredResponse(
                    message_id=reply.message_id,
                    thread_id=reply.thread_id,
                    article_id=thread.article_id,
                    delivery_id=thread.delivery_id,
                    author_id=reply.author_id,
                    created_at=to_db(reply.created_at),
                    edited_at=None,
                    length=len(reply.content),
                    content=self._text(reply.content),
                )
            )

    async def record_edit(self, message_id: int, edited_at: datetime, content: str) -> bool:
        """Update a stored reply after its author edited it; False when it is not a stored reply."""
        async with self._in_order:
            return await self._store.edit(message_id, to_db(edited_at), len(content), self._text(content))

    async def record_deletions(self, message_ids: Collection[int]) -> int:
        """Delete these messages' responses, text included; returns how many there were."""
        async with self._in_order:
            deleted = await self._store.delete(message_ids)
        if deleted:
            log.debug("Deleted %d responses", deleted)
        return deleted

    async def thread_deleted(self, thread_id: int) -> bool:
        """Close the discussion of the article whose thread this was; its responses stay counted."""
        async with self._in_order:
            closed = await self._store.close_discussion(thread_id)
        if closed:
            log.info("Discussion thread %s was deleted; its discussion is closed", thread_id)
        return closed

    def _text(self, content: str) -> str | None:
        return content if self._store_text and content else None
