"""Rows for summary tests: polls and replies in plain SQL as the schema has them; votes through the store the
vote recorder writes with, which keeps the per-option counts the summaries read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.storage import Database
from bot.storage.polls import PollStore
from bot.timeutil import to_db

START = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
GUILD = 1
OTHER_GUILD = 2
YES_NO = (("👍", "Yes"), ("👎", "No"))


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


@dataclass(frozen=True)
class SeededPoll:
    id: int
    option_ids: tuple[int, ...]


async def open_database(path: Path) -> Database:
    return await Database.open(path)


class Seed:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._messages = 0

    async def _insert(self, sql: str, params: tuple) -> int:
        async with self.db.transaction() as connection:
            cursor = await connection.execute(sql, params)
            return cursor.lastrowid

    async def article(self, title: str = "Bike lanes", link: str | None = "https://news.example/bikes") -> int:
        return await self._insert(
            "INSERT INTO articles (article_key, title, body, link, source, published, created_at)"
            " VALUES (?, ?, 'body', ?, 'upload', 'Sun, 01 Nov 2026', ?)",
            (f"key-{title}", title, link, to_db(START)),
        )

    async def delivery(
        self,
        article_id: int,
        *,
        guild_id: int = GUILD,
        channel_id: int = 10,
        thread_id: int | None = 11,
        posted_at: datetime = START,
    ) -> int:
        return await self._insert(
            "INSERT INTO deliveries (article_id, guild_id, channel_id, state, thread_id, created_at, posted_at)"
            " VALUES (?, ?, ?, 'posted', ?, ?, ?)",
            (article_id, guild_id, channel_id, thread_id, to_db(posted_at), to_db(posted_at)),
        )

    async def poll(
        self,
        *,
        question: str = "More bike lanes?",
        options: tuple[tuple[str, str], ...] = YES_NO,
        guild_id: int = GUILD,
        channel_id: int = 11,
        multiple: bool = False,
        article_id: int | None = None,
        delivery_id: int | None = None,
        opened: datetime = START,
        deadline: datetime | None = None,
        closed: datetime | None = None,
        closed_reason: str | None = None,
    ) -> SeededPoll:
        poll_id = await self._insert(
            "INSERT INTO polls (guild_id, channel_id, article_id, delivery_id, question, multiple, status,"
            " closed_reason, created_at, deadline_at, closed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                guild_id,
                channel_id,
                article_id,
                delivery_id,
                question,
                int(multiple),
                "closed" if closed else "open",
                closed_reason,
                to_db(opened),
                to_db(deadline) if deadline else None,
                to_db(closed) if closed else None,
            ),
        )
        option_ids = []
        for position, (emoji, label) in enumerate(options):
            option_ids.append(
                await self._insert(
                    "INSERT INTO poll_options (poll_id, position, emoji, label) VALUES (?, ?, ?, ?)",
                    (poll_id, position, emoji, label),
                )
            )
        return SeededPoll(poll_id, tuple(option_ids))

    async def vote(self, poll: SeededPoll, option: int, voter: int, minute: float, source: str = "live") -> None:
        """A vote for the option at index `option`, recorded as the vote recorder records it."""
        event = (poll.id, poll.option_ids[option], voter, "added", source, to_db(at(minute)))
        await PollStore(self.db).record_vote_events([event])

    async def unvote(self, poll: SeededPoll, option: int, voter: int, minute: float) -> None:
        event = (poll.id, poll.option_ids[option], voter, "removed", "live", to_db(at(minute)))
        await PollStore(self.db).record_vote_events([event])

    async def switch(self, poll: SeededPoll, old: int, new: int, voter: int, minute: float) -> None:
        """A single-choice switch: the old vote is withdrawn and the new one added at the same moment."""
        await self.unvote(poll, old, voter, minute)
        await self.vote(poll, new, voter, minute)

    async def reply(
        self,
        article_id: int,
        delivery_id: int,
        author: int,
        minute: float,
        *,
        thread_id: int = 11,
        content: str | None = None,
    ) -> int:
        self._messages += 1
        message_id = 500_000 + self._messages
        await self._insert(
            "INSERT INTO responses (message_id, thread_id, article_id, delivery_id, author_id, created_at, length,"
            " content) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (message_id, thread_id, article_id, delivery_id, author, to_db(at(minute)), len(content or ""), content),
        )
        return message_id
