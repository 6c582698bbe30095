"""SQL for articles, their deliveries to channels, and article-folder subscriptions."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.errors import AgoraError
from bot.shards import UNSHARDED, Shards
from bot.storage.interface import Row, StoreConnection, StoreDatabase
from bot.storage.ownership import owned_guilds_clause
from bot.storage.polls import NO_POLL_RULES, POLL_RULE_COLUMNS, PollRulesRow
from bot.timeutil import now_db

if TYPE_CHECKING:
    from bot.articles.article import Article

# Extra work a caller commits in the same transaction as the delivery intent (a feed marks its item seen).
IntentHook = Callable[[StoreConnection], Awaitable[None]]

_INSERT_FOLDER_SUBSCRIPTION = (  # POLL_RULE_COLUMNS is a constant
    f"INSERT INTO folder_subscriptions (guild_id, channel_id, created_by, created_at, {POLL_RULE_COLUMNS})"  # noqa: S608
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True)
class FolderSubscription:
    """A channel subscribed to the articles folder, with its own poll rules (empty: the server's defaults)."""

    channel_id: int
    poll_rules: PollRulesRow


class AlreadyPosted(AgoraError):
    def __init__(self, channel_id: int, article_id: int) -> None:
        super().__init__(
            f"This article (#{article_id}) was already posted in <#{channel_id}>; each article is posted "
            "once per channel."
        )
        self.channel_id = channel_id
        self.article_id = article_id


class DeliveryState(StrEnum):
    """Where posting an article to a channel stands (values as stored, unchanged since the first schema).

    PENDING is written before anything is sent; a restart finishes every pending delivery."""

    PENDING = "pending"
    POSTED = "posted"
    FAILED = "failed"


@dataclass(frozen=True)
class Delivery:
    id: int
    article_id: int
    guild_id: int
    channel_id: int
    state: DeliveryState
    open_thread: bool
    open_poll: bool
    poll_spec: str | None
    message_id: int | None
    thread_id: int | None
    prompt_message_id: int | None
    discussion_open: bool
    created_at: str
    posted_at: str | None

    @classmethod
    def from_row(cls, row: Row) -> Delivery:
        return cls(
            id=row["id"],
            article_id=row["article_id"],
            guild_id=row["guild_id"],
            channel_id=row["channel_id"],
            state=DeliveryState(row["state"]),
            open_thread=bool(row["open_thread"]),
            open_poll=bool(row["open_poll"]),
            poll_spec=row["poll_spec"],
            message_id=row["message_id"],
            thread_id=row["thread_id"],
            prompt_message_id=row["prompt_message_id"],
            discussion_open=bool(row["discussion_open"]),
            created_at=row["created_at"],
            posted_at=row["posted_at"],
        )


@dataclass(frozen=True)
class StoredArticle:
    """An article's row as it was recorded (bot.articles.article.stored_article turns it back into an Article)."""

    id: int
    title: str
    body: str
    question: str | None
    published: str | None
    link: str | None
    image_url: str | None
    source: str
    created_at: str


class ArticleStore:
    def __init__(self, db: StoreDatabase) -> None:
        self._db = db

    async def record_intent(
        self,
        article: Article,
        *,
        source: str,
        guild_id: int,
        channel_id: int,
        open_thread: bool = True,
        open_poll: bool = True,
        poll_spec: str | None = None,
        with_intent: IntentHook | None = None,
    ) -> tuple[int, Delivery]:
        """Store the article (once) and a pending delivery to the channel, before anything is sent.

        Raises AlreadyPosted when the channel has this article already. A delivery that failed
        before its message was sent is reopened, so fixing permissions and retrying works.
        """
        async with self._db.transaction() as connection:
            article_id = await _upsert_article(connection, article, source)
            existing = await _delivery_for(connection, article_id, channel_id)
            if existing and not (existing.state is DeliveryState.FAILED and existing.message_id is None):
                raise AlreadyPosted(channel_id, article_id)
            if existing:
                await connection.execute(
                    "UPDATE deliveries SET state = ?, last_error = NULL WHERE id = ?",
                    (DeliveryState.PENDING, existing.id),
                )
            else:
                await connection.execute(
                    "INSERT INTO deliveries (article_id, guild_id, channel_id, open_thread, open_poll, poll_spec,"
                    " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (article_id, guild_id, channel_id, int(open_thread), int(open_poll), poll_spec, now_db()),
                )
            delivery = await _delivery_for(connection, article_id, channel_id)
            if with_intent is not None:
                await with_intent(connection)
        assert delivery is not None
        return article_id, delivery

    async def set_message(self, delivery_id: int, message_id: int, thread_id: int | None = None) -> None:
        async with self._db.transaction() as connection:
            await connection.execute(
                "UPDATE deliveries SET message_id = ?, thread_id = COALESCE(?, thread_id) WHERE id = ?",
                (message_id, thread_id, delivery_id),
            )

    async def set_thread(self, delivery_id: int, thread_id: int) -> None:
        async with self._db.transaction() as connection:
            await connection.execute("UPDATE deliveries SET thread_id = ? WHERE id = ?", (thread_id, delivery_id))

    async def set_prompt(self, delivery_id: int, message_id: int) -> None:
        async with self._db.transaction() as connection:
            await connection.execute(
                "UPDATE deliveries SET prompt_message_id = ? WHERE id = ?", (message_id, delivery_id)
            )

    async def mark_posted(self, delivery_id: int) -> None:
        async with self._db.transaction() as connection:
            await connection.execute(
                "UPDATE deliveries SET state = ?, posted_at = ?, last_error = NULL WHERE id = ?",
                (DeliveryState.POSTED, now_db(), delivery_id),
            )

    async def mark_failed(self, delivery_id: int, error: str) -> None:
        async with self._db.transaction() as connection:
            await connection.execute(
                "UPDATE deliveries SET state = ?, last_error = ? WHERE id = ?",
                (DeliveryState.FAILED, error[:500], delivery_id),
            )

    async def close_discussion(self, thread_id: int) -> int:
        """Mark the discussion in a (deleted) thread closed; returns how many deliveries it concerned."""
        async with self._db.transaction() as connection:
            cursor = await connection.execute(
                "UPDATE deliveries SET discussion_open = 0 WHERE thread_id = ?", (thread_id,)
            )
            return cursor.rowcount

    async def pending_deliveries(self, shards: Shards = UNSHARDED) -> list[Delivery]:
        """Deliveries a crash interrupted in these shards' servers: a server's posts are its own process's."""
        rows = await self._db.fetch_all(
            f"SELECT * FROM deliveries WHERE state = ?{owned_guilds_clause(shards)} ORDER BY id",  # noqa: S608
            (DeliveryState.PENDING,),
        )
        return [Delivery.from_row(row) for row in rows]

    async def delivery(self, delivery_id: int) -> Delivery | None:
        row = await self._db.fetch_one("SELECT * FROM deliveries WHERE id = ?", (delivery_id,))
        return Delivery.from_row(row) if row else None

    async def article(self, article_id: int) -> StoredArticle | None:
        row = await self._db.fetch_one("SELECT * FROM articles WHERE id = ?", (article_id,))
        return _stored_article(row) if row else None

    # Article-folder subscriptions

    async def add_folder_subscription(
        self,
        guild_id: int,
        channel_id: int,
        created_by: int,
        present_file_keys: list[str],
        poll_rules: PollRulesRow = NO_POLL_RULES,
    ) -> bool:
        """Subscribe a channel; files already in the folder count as seen. False if it already was."""
        rules = poll_rules.columns()
        async with self._db.transaction() as connection:
            try:
                cursor = await connection.execute(
                    _INSERT_FOLDER_SUBSCRIPTION,
                    (guild_id, channel_id, created_by, now_db(), *rules.values()),
                )
            except sqlite3.IntegrityError:
                return False
            now = now_db()
            await connection.executemany(
                "INSERT OR IGNORE INTO folder_seen_files (subscription_id, file_key, seen_at) VALUES (?, ?, ?)",
                [(cursor.lastrowid, key, now) for key in present_file_keys],
            )
        return True

    async def folder_poll_rules(self, channel_id: int) -> PollRulesRow | None:
        """The poll rules of the channel's folder subscription; None when it has none."""
        row = await self._db.fetch_one("SELECT * FROM folder_subscriptions WHERE channel_id = ?", (channel_id,))
        return PollRulesRow.from_columns(row) if row is not None else None

    async def set_folder_poll_rules(self, channel_id: int, poll_rules: PollRulesRow) -> bool:
        """Replace the poll rules of the channel's folder subscription; False when it has none."""
        rules = poll_rules.columns()
        assignments = ", ".join(f"{name} = ?" for name in rules)  # names from PollRulesRow, never input
        async with self._db.transaction() as connection:
            cursor = await connection.execute(
                f"UPDATE folder_subscriptions SET {assignments} WHERE channel_id = ?",  # noqa: S608
                (*rules.values(), channel_id),
            )
            return cursor.rowcount > 0

    async def remove_folder_subscription(self, channel_id: int) -> bool:
        async with self._db.transaction() as connection:
            cursor = await connection.execute("DELETE FROM folder_subscriptions WHERE channel_id = ?", (channel_id,))
            return cursor.rowcount > 0

    async def folder_subscriptions(self, shards: Shards = UNSHARDED) -> list[tuple[int, int, int]]:
        """(subscription id, guild id, channel id) of the folder subscriptions in these shards' servers."""
        rows = await self._db.fetch_all(
            f"SELECT id, guild_id, channel_id FROM folder_subscriptions WHERE 1 = 1{owned_guilds_clause(shards)}"  # noqa: S608
            " ORDER BY id"
        )
        return [(row["id"], row["guild_id"], row["channel_id"]) for row in rows]

    async def guild_folder_subscriptions(self, guild_id: int) -> list[FolderSubscription]:
        """This server's folder subscriptions with their poll rules, oldest first."""
        rows = await self._db.fetch_all(
            "SELECT * FROM folder_subscriptions WHERE guild_id = ? ORDER BY id", (guild_id,)
        )
        return [FolderSubscription(row["channel_id"], PollRulesRow.from_columns(row)) for row in rows]

    async def unseen_file_keys(self, subscription_id: int, file_keys: list[str]) -> set[str]:
        if not file_keys:
            return set()
        rows = await self._db.fetch_all(
            "SELECT file_key FROM folder_seen_files WHERE subscription_id = ?", (subscription_id,)
        )
        return set(file_keys) - {row["file_key"] for row in rows}

    async def mark_file_seen(self, subscription_id: int, file_key: str) -> None:
        async with self._db.transaction() as connection:
            await connection.execute(
                "INSERT OR IGNORE INTO folder_seen_files (subscription_id, file_key, seen_at) VALUES (?, ?, ?)",
                (subscription_id, file_key, now_db()),
            )
            await connection.execute(
                "DELETE FROM folder_refusals WHERE subscription_id = ? AND file_key = ?", (subscription_id, file_key)
            )

    async def count_file_refusal(self, subscription_id: int, file_key: str) -> int:
        """Count Discord refusing this file's post in the subscription's channel; returns the count so far."""
        async with self._db.transaction() as connection:
            cursor = await connection.execute(
                "INSERT INTO folder_refusals (subscription_id, file_key, attempts) VALUES (?, ?, 1)"
                " ON CONFLICT (subscription_id, file_key) DO UPDATE SET attempts = folder_refusals.attempts + 1"
                " RETURNING attempts",
                (subscription_id, file_key),
            )
            row = await cursor.fetchone()
            await cursor.close()
        assert row is not None
        return int(row[0])


async def _upsert_article(connection: StoreConnection, article: Article, source: str) -> int:
    await connection.execute(
        "INSERT INTO articles (article_key, title, body, question, link, source, published, image_url, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (article_key) DO NOTHING",
        (
            article.key,
            article.title,
            article.body,
            article.question,
            article.link,
            source,
            article.published,
            article.image_url,
            now_db(),
        ),
    )
    async with connection.execute("SELECT id FROM articles WHERE article_key = ?", (article.key,)) as cursor:
        row = await cursor.fetchone()
    return int(row[0])


async def _delivery_for(connection: StoreConnection, article_id: int, channel_id: int) -> Delivery | None:
    async with connection.execute(
        "SELECT * FROM deliveries WHERE article_id = ? AND channel_id = ?", (article_id, channel_id)
    ) as cursor:
        row = await cursor.fetchone()
    return Delivery.from_row(row) if row else None


def _stored_article(row: Row) -> StoredArticle:
    return StoredArticle(
        id=row["id"], title=row["title"], body=row["body"], question=row["question"], published=row["published"],
        link=row["link"], image_url=row["image_url"], source=row["source"], created_at=row["created_at"],
    )  # fmt: skip
