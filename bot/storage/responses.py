"""SQL for responses: replies in an article's discussion thread, and the threads they belong to."""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from dataclasses import dataclass

from bot.storage.interface import StoreDatabase

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DiscussionThread:
    """The delivery whose discussion a thread is."""

    thread_id: int
    delivery_id: int
    article_id: int
    guild_id: int
    open: bool


@dataclass(frozen=True, slots=True)
class StoredResponse:
    message_id: int
    thread_id: int
    article_id: int
    delivery_id: int | None
    author_id: int
    created_at: str
    edited_at: str | None
    length: int
    content: str | None


class ResponseStore:
    def __init__(self, db: StoreDatabase) -> None:
        self._db = db

    async def discussion_thread(self, thread_id: int) -> DiscussionThread | None:
        """The article discussion held in this thread, or None for any other thread."""
        row = await self._db.fetch_one(
            "SELECT id, article_id, guild_id, discussion_open FROM deliveries WHERE thread_id = ?"
            " ORDER BY id DESC LIMIT 1",
            (thread_id,),
        )
        return None if row is None else DiscussionThread(thread_id, row[0], row[1], row[2], bool(row[3]))

    async def add(self, response: StoredResponse) -> bool:
        """Store a reply; False when it was stored already (a replayed gateway event)."""
        async with self._db.transaction() as connection:
            cursor = await connection.execute(
                "INSERT INTO responses (message_id, thread_id, article_id, delivery_id, author_id, created_at,"
                " edited_at, length, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (message_id) DO NOTHING",
                (
                    response.message_id,
                    response.thread_id,
                    response.article_id,
                    response.delivery_id,
                    response.author_id,
                    response.created_at,
                    response.edited_at,
                    response.length,
                    response.content,
                ),
            )
            return cursor.rowcount == 1

    async def edit(self, message_id: int, edited_at: str, length: int, content: str | None) -> bool:
        """Record an edit of a stored reply; False when the message is not a stored reply."""
        async with self._db.transaction() as connection:
            cursor = await connection.execute(
                "UPDATE responses SET edited_at = ?, length = ?, content = ? WHERE message_id = ?",
                (edited_at, length, content, message_id),
            )
            return cursor.rowcount == 1

    async def delete(self, message_ids: Collection[int]) -> int:
        """Forget these messages, text included; returns how many were stored replies."""
        if not message_ids:
            return 0
        async with self._db.transaction() as connection:
            cursor = await connection.execute(
                "DELETE FROM responses WHERE message_id IN (SELECT CAST(value AS INTEGER) FROM json_each(?))",
                (json.dumps(sorted(message_ids)),),
            )
            return cursor.rowcount

    async def close_discussion(self, thread_id: int) -> bool:
        """Mark the discussion held in this thread closed; False when no article has this thread."""
        async with self._db.transaction() as connection:
            cursor = await connection.execute(
                "UPDATE deliveries SET discussion_open = 0 WHERE thread_id = ?", (thread_id,)
            )
            return cursor.rowcount > 0

    async def response(self, message_id: int) -> StoredResponse | None:
        row = await self._db.fetch_one(
            "SELECT message_id, thread_id, article_id, delivery_id, author_id, created_at, edited_at, length,"
            " content FROM responses WHERE message_id = ?",
            (message_id,),
        )
        return None if row is None else StoredResponse(*tuple(row))
