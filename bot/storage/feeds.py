"""SQL for feeds (one row per URL), channel subscriptions to them, and the items each has seen."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.errors import AgoraError
from bot.shards import Shards
from bot.storage.articles import IntentHook
from bot.storage.dialect import containing
from bot.storage.interface import Row, StoreConnection, StoreDatabase
from bot.storage.ownership import owned_guilds_clause
from bot.storage.polls import NO_POLL_RULES, POLL_RULE_COLUMNS, PollRulesRow
from bot.timeutil import from_db, now_db, stored_time, to_db

_SUBSCRIPTION_COLUMNS = "s.*, f.url AS feed_url, f.title AS feed_title"
# A feed's columns without its kept document, which only the processes catching up read.
_FEED_COLUMNS = (
    "f.id, f.url, f.title, f.etag, f.last_modified, f.last_checked_at, f.last_success_at, f.last_new_item_at,"
    " f.consecutive_failures, f.last_error, f.next_check_at"
)
# A feed whose claim is free: nobody holds it, its lease ran out, or it is the asking process's own.
_CLAIM_FREE = "(claim_holder IS NULL OR claim_expires_at <= :now OR claim_holder = :holder)"
_INSERT_SEEN = (
    "INSERT OR IGNORE INTO subscription_seen_items (subscription_id, item_key, seen_at, published_at)"
    " VALUES (?, ?, ?, ?)"
)
_INSERT_SUBSCRIPTION = (  # POLL_RULE_COLUMNS is a constant
    "INSERT INTO subscriptions (feed_id, guild_id, channel_id, open_thread, open_poll, poll_question_template,"  # noqa: S608
    f" poll_options, created_by, created_at, {POLL_RULE_COLUMNS})"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# An item as the seen table records it: its key and the date its feed gives it (None when undated).
SeenItem = tuple[str, datetime | None]
# SQLite's default limit on bound parameters is far above this; chunks keep each statement small.
_KEYS_PER_QUERY = 500


class AlreadySubscribed(AgoraError):
    def __init__(self, channel_id: int) -> None:
        super().__init__(f"<#{channel_id}> is already subscribed to that feed.")


@dataclass(frozen=True, slots=True)
class Feed:
    id: int
    url: str
    title: str | None
    etag: str | None
    last_modified: str | None
    last_checked_at: datetime | None
    last_success_at: datetime | None
    last_new_item_at: datetime | None
    consecutive_failures: int
    last_error: str | None
    next_check_at: datetime | None

    @classmethod
    def from_row(cls, row: Row) -> Feed:
        return cls(
            id=row["id"], url=row["url"], title=row["title"], etag=row["etag"], last_modified=row["last_modified"],
            last_checked_at=from_db(row["last_checked_at"]), last_success_at=from_db(row["last_success_at"]),
            last_new_item_at=from_db(row["last_new_item_at"]), consecutive_failures=row["consecutive_failures"],
            last_error=row["last_error"], next_check_at=from_db(row["next_check_at"]),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    feed_id: int
    feed_url: str
    feed_title: str | None
    guild_id: int
    channel_id: int
    open_thread: bool
    open_poll: bool
    poll_question_template: str | None
    poll_options: str | None
    paused: bool
    paused_reason: str | None
    created_by: int | None
    created_at: datetime
    refused_item_key: str | None = None  # the item Discord refused last, retried until it is skipped
    refused_attempts: int = 0
    last_error: str | None = None  # the last delivery refusal or skipped item, for /feed list
    last_error_at: datetime | None = None
    max_age_days: int = 90  # items dated before this many days ago are skipped; 0 turns the check off
    include_words: tuple[str, ...] = ()
    exclude_words: tuple[str, ...] = ()
    identity: str = "auto"
    poll_rules: PollRulesRow = NO_POLL_RULES  # defaults of its articles' polls over the server's

    @classmethod
    def from_row(cls, row: Row) -> Subscription:
        return cls(
            id=row["id"], feed_id=row["feed_id"], feed_url=row["feed_url"], feed_title=row["feed_title"],
            guild_id=row["guild_id"], channel_id=row["channel_id"], open_thread=bool(row["open_thread"]),
            open_poll=bool(row["open_poll"]), poll_question_template=row["poll_question_template"],
            poll_options=row["poll_options"], paused=bool(row["paused"]), paused_reason=row["paused_reason"],
            created_by=row["created_by"], created_at=stored_time(row["created_at"]),
            refused_item_key=row["refused_item_key"], refused_attempts=row["refused_attempts"],
            last_error=row["last_error"], last_error_at=from_db(row["last_error_at"]),
            max_age_days=row["max_age_days"], include_words=_words(row["include_words"]),
            exclude_words=_words(row["exclude_words"]), identity=row["identity"],
            poll_rules=PollRulesRow.from_columns(row),
        )  # fmt: skip


def _words(column: str | None) -> tuple[str, ...]:
    return tuple(json.loads(column)) if column else ()


@dataclass(frozen=True, slots=True)
class SettingsChange:
    """What /feed edit changes; None leaves a setting as it is (clearing a list is an empty tuple)."""

    max_age_days: int | None = None
    include_words: tuple[str, ...] | None = None
    exclude_words: tuple[str, ...] | None = None
    identity: str | None = None
    open_thread: bool | None = None
    open_poll: bool | None = None
    poll_question_template: str | None = None  # "" clears it
    poll_options: str | None = None  # "" clears it
    poll_rules: PollRulesRow | None = None  # the subscription's poll rules, replaced as a whole

    def columns(self) -> dict[str, object]:
        values: dict[str, object] = {}
        for name in ("max_age_days", "identity", "open_thread", "open_poll"):
            if (value := getattr(self, name)) is not None:
                values[name] = int(value) if isinstance(value, bool) else value
        for name in ("include_words", "exclude_words"):
            if (words := getattr(self, name)) is not None:
                values[name] = json.dumps(list(words), ensure_ascii=False) if words else None
        for name in ("poll_question_template", "poll_options"):
            if (text := getattr(self, name)) is not None:
                values[name] = text or None
        if self.poll_rules is not None:
            values.update(self.poll_rules.columns())
        return values


@dataclass(frozen=True, slots=True)
class SkipRecord:
    """Items one subscription skipped in a cycle for one reason (count > 1 only for a cycle's overflow)."""

    reason: str
    detail: str
    title: str | None
    count: int = 1


@dataclass(frozen=True, slots=True)
class SkipSummary:
    """A subscription's skips of one reason since some moment: how many, and the latest one's detail."""

    reason: str
    count: int
    latest_detail: str
    latest_title: str | None


# A cycle stores at most this many skipped items one by one per subscription; the rest as one row per reason.
MAX_SKIP_ROWS_PER_CYCLE = 20


@dataclass(frozen=True, slots=True)
class FeedCheck:
    """The outcome of fetching one feed in a cycle: a full fetch, a 304, or an error."""

    feed_id: int
    checked_at: datetime
    next_check_at: datetime
    fetched: bool = False  # a 200 that parsed: title and validators are new
    title: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    new_items: bool = False
    error: str | None = None
    # A 200 that parsed: the document, kept when a subscription (another process's, or one that must wait)
    # has not been given it yet, and the subscriptions this process gave it to.
    kept_content: bytes | None = None
    content_type: str | None = None
    content_url: str | None = None
    delivered: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class KeptDocument:
    """A feed's last fetched document, kept for the subscriptions not yet given it."""

    feed: Feed
    content: bytes
    content_type: str | None
    url: str | None
    version: int


@dataclass(frozen=True, slots=True)
class NewSubscription:
    """What a moderator asked for with /feed add, and what the first fetch found."""

    url: str
    title: str | None
    etag: str | None
    last_modified: str | None
    next_check_at: datetime
    guild_id: int
    channel_id: int
    created_by: int | None
    open_thread: bool = True
    open_poll: bool = True
    poll_question_template: str | None = None
    poll_options: str | None = None
    poll_rules: PollRulesRow = NO_POLL_RULES


class FeedStore:
    def __init__(self, db: StoreDatabase) -> None:
        self._db = db

    # --- subscriptions ------------------------------------------------------------------------------

    async def subscribe(self, new: NewSubscription, seen: Iterable[SeenItem]) -> Subscription:
        """Create the subscription (and the feed row, shared by URL) with the items it starts having seen."""
        now = now_db()
        async with self._db.transaction() as connection:
            await connection.execute(
                "INSERT INTO feeds (url, title, etag, last_modified, last_checked_at, last_success_at, next_check_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET"
                " title = COALESCE(excluded.title, feeds.title)",
                (new.url, new.title, new.etag, new.last_modified, now, now, to_db(new.next_check_at)),
            )
            feed_id = await _scalar(connection, "SELECT id FROM feeds WHERE url = ?", (new.url,))
            rules = new.poll_rules.columns()
            try:
                cursor = await connection.execute(
                    _INSERT_SUBSCRIPTION,
                    (feed_id, new.guild_id, new.channel_id, int(new.open_thread), int(new.open_poll),
                     new.poll_question_template, new.poll_options, new.created_by, now, *rules.values()),
                )  # fmt: skip
            except sqlite3.IntegrityError:
                raise AlreadySubscribed(new.channel_id) from None
            subscription_id = cursor.lastrowid
            # It starts from what it just fetched itself, never from an older kept document of the feed.
            await connection.execute(
                "UPDATE subscriptions SET delivered_version = (SELECT content_version FROM feeds WHERE id = ?)"
                " WHERE id = ?",
                (feed_id, subscription_id),
            )
            await connection.executemany(_INSERT_SEEN, [_seen_row(subscription_id, item, now) for item in seen])
            async with connection.execute(
                f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions s JOIN feeds f ON f.id = s.feed_id"  # noqa: S608
                " WHERE s.id = ?",
                (subscription_id,),
            ) as rows:
                row = await rows.fetchone()
        assert row is not None
        return Subscription.from_row(row)

    async def subscription(self, subscription_id: int, guild_id: int) -> Subscription | None:
        """A subscription of this guild (another guild's id finds nothing)."""
        row = await self._db.fetch_one(
            f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions s JOIN feeds f ON f.id = s.feed_id"  # noqa: S608
            " WHERE s.id = ? AND s.guild_id = ?",
            (subscription_id, guild_id),
        )
        return Subscription.from_row(row) if row else None

    async def subscriptions_in_guild(self, guild_id: int) -> list[tuple[Subscription, Feed]]:
        rows = await self._db.fetch_all(
            f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions s JOIN feeds f ON f.id = s.feed_id"  # noqa: S608
            " WHERE s.guild_id = ? ORDER BY COALESCE(f.title, f.url), s.channel_id",
            (guild_id,),
        )
        feeds = {feed.id: feed for feed in await self._feeds_by_id({row["feed_id"] for row in rows})}
        return [(Subscription.from_row(row), feeds[row["feed_id"]]) for row in rows]

    async def all_subscriptions(self) -> list[tuple[Subscription, Feed]]:
        """Every subscription of every server with its feed (for `agora check`)."""
        rows = await self._db.fetch_all(
            f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions s JOIN feeds f ON f.id = s.feed_id"  # noqa: S608
            " ORDER BY s.guild_id, s.id"
        )
        feeds = {feed.id: feed for feed in await self._feeds_by_id({row["feed_id"] for row in rows})}
        return [(Subscription.from_row(row), feeds[row["feed_id"]]) for row in rows]

    async def search_subscriptions(self, guild_id: int, text: str, limit: int = 25) -> list[Subscription]:
        """This guild's subscriptions whose feed title or URL contains `text` (for autocomplete)."""
        pattern = containing(text)
        rows = await self._db.fetch_all(
            f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions s JOIN feeds f ON f.id = s.feed_id"  # noqa: S608
            " WHERE s.guild_id = ? AND (COALESCE(f.title, '') LIKE ? ESCAPE '\\' OR f.url LIKE ? ESCAPE '\\')"
            " ORDER BY COALESCE(f.title, f.url) LIMIT ?",
            (guild_id, pattern, pattern, limit),
        )
        return [Subscription.from_row(row) for row in rows]

    async def remove_subscription(self, subscription_id: int, guild_id: int) -> bool:
        """Delete the subscription and its seen items; the feed row goes with its last subscription."""
        async with self._db.transaction() as connection:
            cursor = await connection.execute(
                "DELETE FROM subscriptions WHERE id = ? AND guild_id = ? RETURNING feed_id", (subscription_id, guild_id)
            )
            row = await cursor.fetchone()
            await cursor.close()
            if row is None:
                return False
            await connection.execute(
                "DELETE FROM feeds WHERE id = ? AND NOT EXISTS (SELECT 1 FROM subscriptions WHERE feed_id = ?)",
                (row[0], row[0]),
            )
        return True

    async def set_paused(
        self, subscription_id: int, guild_id: int, reason: str | None, *, due_at: datetime | None = None
    ) -> bool:
        """Pause (reason given) or resume (None) a subscription of this guild.

        Resuming also clears the feed's failure count and makes it due at `due_at`, so a cycle retries it.
        """
        async with self._db.transaction() as connection:
            cursor = await connection.execute(
                "UPDATE subscriptions SET paused = ?, paused_reason = ? WHERE id = ? AND guild_id = ?"
                " RETURNING feed_id",
                (int(reason is not None), reason, subscription_id, guild_id),
            )
            row = await cursor.fetchone()
            await cursor.close()
            if row is not None and reason is None:
                await connection.execute(
                    "UPDATE feeds SET consecutive_failures = 0, next_check_at = ? WHERE id = ?",
                    (to_db(due_at) if due_at else now_db(), row[0]),
                )
        return row is not None

    async def pause_feed(self, feed_id: int, reason: str) -> list[Subscription]:
        """Pause every active subscription of a failing feed; returns those it paused."""
        async with self._db.transaction() as connection:
            cursor = await connection.execute(
                "UPDATE subscriptions SET paused = 1, paused_reason = ? WHERE feed_id = ? AND paused = 0 RETURNING id",
                (reason, feed_id),
            )
            ids = [row[0] for row in await cursor.fetchall()]
            await cursor.close()
        return [sub for sub in await self.active_or_paused(feed_id) if sub.id in ids]

    async def active_subscriptions(self, feed_id: int) -> list[Subscription]:
        rows = await self._db.fetch_all(
            f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions s JOIN feeds f ON f.id = s.feed_id"  # noqa: S608
            " WHERE s.feed_id = ? AND s.paused = 0 ORDER BY s.id",
            (feed_id,),
        )
        return [Subscription.from_row(row) for row in rows]

    async def active_or_paused(self, feed_id: int) -> list[Subscription]:
        rows = await self._db.fetch_all(
            f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions s JOIN feeds f ON f.id = s.feed_id"  # noqa: S608
            " WHERE s.feed_id = ? ORDER BY s.id",
            (feed_id,),
        )
        return [Subscription.from_row(row) for row in rows]

    # --- feeds to check -----------------------------------------------------------------------------

    async def due_feeds(self, now: datetime) -> list[Feed]:
        """Feeds with an active subscription whose next check is due."""
        rows = await self._db.fetch_all(
            f"SELECT {_FEED_COLUMNS} FROM feeds f WHERE (f.next_check_at IS NULL OR f.next_check_at <= ?)"  # noqa: S608
            " AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.feed_id = f.id AND s.paused = 0)"
            " ORDER BY f.next_check_at",
            (to_db(now),),
        )
        return [Feed.from_row(row) for row in rows]

    async def guild_feeds(self, guild_id: int) -> list[Feed]:
        """Feeds with an active subscription in this guild, due or not (for /feed check)."""
        rows = await self._db.fetch_all(
            f"SELECT {_FEED_COLUMNS} FROM feeds f WHERE EXISTS"  # noqa: S608
            " (SELECT 1 FROM subscriptions s WHERE s.feed_id = f.id AND s.paused = 0 AND s.guild_id = ?) ORDER BY f.id",
            (guild_id,),
        )
        return [Feed.from_row(row) for row in rows]

    async def feed(self, feed_id: int) -> Feed | None:
        row = await self._db.fetch_one(f"SELECT {_FEED_COLUMNS} FROM feeds f WHERE id = ?", (feed_id,))  # noqa: S608
        return Feed.from_row(row) if row else None

    async def _feeds_by_id(self, ids: set[int]) -> list[Feed]:
        if not ids:
            return []
        marks = ", ".join("?" * len(ids))
        rows = await self._db.fetch_all(f"SELECT {_FEED_COLUMNS} FROM feeds f WHERE id IN ({marks})", tuple(ids))  # noqa: S608
        return [Feed.from_row(row) for row in rows]

    # --- check outcomes -----------------------------------------------------------------------------

    async def record_checks(self, checks: Iterable[FeedCheck], holder: str | None = None) -> None:
        """Write a whole cycle's outcomes in one transaction (one per feed would cost a commit each), releasing
        `holder`'s claims on those feeds. A feed whose claim another process took over meanwhile (this one's
        lease ran out) keeps that process's claim and outcome; its subscriptions given the document are then
        not marked (they are given the other process's document, their seen items keep it from posting twice),
        nor are those a redirect moved to another feed row meanwhile. Without a holder, unclaimed feeds only."""
        fetched, unchanged, failed = [], [], []
        # Strictly this holder's: a late holder whose claim was taken over and released must not write over
        # the newer outcome (nor count its older document as the newer one given).
        whose: tuple[str, ...] = () if holder is None else (holder,)
        delivered: dict[int, tuple[int, ...]] = {}
        for check in checks:
            at, due = to_db(check.checked_at), to_db(check.next_check_at)
            if check.error is not None:
                failed.append((check.error[:500], at, due, check.feed_id, *whose))
            elif check.fetched:
                new_item_at = at if check.new_items else None
                kept = (check.kept_content, check.content_type, check.content_url)
                fetched.append((check.title, check.etag, check.last_modified, at, at, due, new_item_at, *kept,
                                check.feed_id, *whose))  # fmt: skip
                delivered[check.feed_id] = check.delivered
            else:
                unchanged.append((at, at, due, check.feed_id, *whose))
        release = " claim_holder = NULL, claim_expires_at = NULL WHERE id = ? AND " + (
            "claim_holder IS NULL" if holder is None else "claim_holder = ?"
        )
        async with self._db.transaction() as connection:
            for row in fetched:
                # One statement per feed: only a document this process did write may mark its subscriptions.
                cursor = await connection.execute(
                    "UPDATE feeds SET title = COALESCE(?, title), etag = ?, last_modified = ?, last_checked_at = ?,"  # noqa: S608
                    " last_success_at = ?, consecutive_failures = 0, last_error = NULL, next_check_at = ?,"
                    " last_new_item_at = COALESCE(?, last_new_item_at), content_version = content_version + 1,"
                    " content = ?, content_type = ?, content_url = ?," + release + " RETURNING id, content_version",
                    row,
                )
                written = await cursor.fetchone()
                await cursor.close()
                if written is not None:
                    feed_id, version = int(written[0]), int(written[1])
                    await connection.executemany(
                        "UPDATE subscriptions SET delivered_version = ? WHERE id = ? AND feed_id = ?"
                        " AND delivered_version < ?",
                        [(version, subscription_id, feed_id, version) for subscription_id in delivered[feed_id]],
                    )
            await connection.executemany(
                "UPDATE feeds SET last_checked_at = ?, last_success_at = ?, consecutive_failures = 0,"  # noqa: S608
                " last_error = NULL, next_check_at = ?," + release,
                unchanged,
            )
            await connection.executemany(
                "UPDATE feeds SET consecutive_failures = consecutive_failures + 1, last_error = ?,"  # noqa: S608
                " last_checked_at = ?, next_check_at = ?," + release,
                failed,
            )

    # --- claims on feeds (bot/leases.py) ----------------------------------------------------------------

    async def claim_due_feeds(self, holder: str, now: datetime, until: datetime) -> list[Feed]:
        """Claim every due feed with an active subscription that no other live process holds, until `until`.

        One UPDATE both picks and claims, so two processes racing for a feed cannot both get it: on
        PostgreSQL the second waits for the first's row lock, then finds the claim taken and skips the row.
        """
        return await self._claim(
            "(next_check_at IS NULL OR next_check_at <= :now)"
            " AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.feed_id = feeds.id AND s.paused = 0)",
            {"holder": holder, "now": to_db(now), "until": to_db(until)},
        )

    async def claim_guild_feeds(self, guild_id: int, holder: str, now: datetime, until: datetime) -> list[Feed]:
        """Claim this guild's feeds with an active subscription, due or not (/feed check), except those another
        live process holds."""
        return await self._claim(
            "EXISTS (SELECT 1 FROM subscriptions s WHERE s.feed_id = feeds.id AND s.paused = 0"
            " AND s.guild_id = :guild)",
            {"holder": holder, "now": to_db(now), "until": to_db(until), "guild": guild_id},
        )

    async def _claim(self, which: str, params: dict[str, object]) -> list[Feed]:
        async with self._db.transaction() as connection:
            cursor = await connection.execute(
                "UPDATE feeds SET claim_holder = :holder, claim_expires_at = :until"  # noqa: S608 — our clauses only
                f" WHERE {which} AND {_CLAIM_FREE}"
                f" RETURNING {_FEED_COLUMNS.replace('f.', '')}",
                params,
            )
            rows = await cursor.fetchall()
            await cursor.close()
        return sorted((Feed.from_row(row) for row in rows), key=lambda feed: feed.id)

    async def renew_claims(self, holder: str, until: datetime) -> int:
        """Extend every claim `holder` holds to `until` (while its cycle runs)."""
        async with self._db.transaction() as connection:
            cursor = await connection.execute(
                "UPDATE feeds SET claim_expires_at = ? WHERE claim_holder = ?", (to_db(until), holder)
            )
            return cursor.rowcount

    async def claim_holder(self, feed_id: int) -> tuple[str, datetime] | None:
        """Who holds this feed's claim and until when (None when free)."""
        row = await self._db.fetch_one("SELECT claim_holder, claim_expires_at FROM feeds WHERE id = ?", (feed_id,))
        if row is None or row["claim_holder"] is None:
            return None
        return row["claim_holder"], stored_time(row["claim_expires_at"])

    # --- kept documents: subscriptions posted by their own server's process -------------------------------

    async def subscriptions_behind(self, shards: Shards) -> list[Subscription]:
        """Active subscriptions of these shards' servers that have not been given their feed's kept document."""
        rows = await self._db.fetch_all(
            f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions s JOIN feeds f ON f.id = s.feed_id"  # noqa: S608
            " WHERE s.paused = 0 AND f.content IS NOT NULL AND s.delivered_version < f.content_version"
            f"{owned_guilds_clause(shards, 's.guild_id')} ORDER BY s.feed_id, s.id",
        )
        return [Subscription.from_row(row) for row in rows]

    async def kept_document(self, feed_id: int) -> KeptDocument | None:
        row = await self._db.fetch_one(
            "SELECT content, content_type, content_url, content_version FROM feeds"
            " WHERE id = ? AND content IS NOT NULL",
            (feed_id,),
        )
        feed = await self.feed(feed_id)
        if row is None or feed is None:
            return None
        return KeptDocument(
            feed, bytes(row["content"]), row["content_type"], row["content_url"], row["content_version"]
        )

    async def mark_delivered(self, subscription_ids: Iterable[int], version: int) -> None:
        """These subscriptions have been given their feed's document of `version`."""
        async with self._db.transaction() as connection:
            await connection.executemany(
                "UPDATE subscriptions SET delivered_version = ? WHERE id = ? AND delivered_version < ?",
                [(version, subscription_id, version) for subscription_id in subscription_ids],
            )

    # --- seen items ---------------------------------------------------------------------------------

    async def unseen_keys(self, subscription_id: int, keys: list[str]) -> set[str]:
        """Which of `keys` this subscription has not seen yet."""
        seen: set[str] = set()
        for start in range(0, len(keys), _KEYS_PER_QUERY):
            chunk = keys[start : start + _KEYS_PER_QUERY]
            marks = ", ".join("?" * len(chunk))
            rows = await self._db.fetch_all(
                "SELECT item_key FROM subscription_seen_items"  # noqa: S608 — placeholders only
                f" WHERE subscription_id = ? AND item_key IN ({marks})",
                (subscription_id, *chunk),
            )
            seen.update(row["item_key"] for row in rows)
        return set(keys) - seen

    async def mark_seen(self, subscription_id: int, items: Iterable[SeenItem]) -> None:
        now = now_db()
        async with self._db.transaction() as connection:
            await connection.executemany(_INSERT_SEEN, [_seen_row(subscription_id, item, now) for item in items])

    async def forget_seen(self, subscription_id: int, key: str) -> None:
        """Un-see an item whose post Discord refused, so a later cycle tries it again."""
        async with self._db.transaction() as connection:
            await connection.execute(
                "DELETE FROM subscription_seen_items WHERE subscription_id = ? AND item_key = ?", (subscription_id, key)
            )

    @staticmethod
    def seen_with_intent(subscription_id: int, item: SeenItem) -> IntentHook:
        """Marks the item seen inside the publisher's delivery-intent transaction, so both commit together."""

        async def mark(connection: StoreConnection) -> None:
            await connection.execute(_INSERT_SEEN, _seen_row(subscription_id, item, now_db()))

        return mark

    async def forget_old_seen(self, subscription_id: int, present_keys: list[str], before: datetime) -> int:
        """Drop seen items dated before `before` that the feed no longer lists (the table would otherwise grow
        forever). Undated items are kept: only a date lets the cycle refuse a forgotten item that comes back."""
        async with self._db.transaction() as connection:
            cursor = await connection.execute(
                "DELETE FROM subscription_seen_items WHERE subscription_id = ? AND published_at < ?"
                " AND item_key NOT IN (SELECT value FROM json_each(?))",
                (subscription_id, to_db(before), json.dumps(present_keys)),
            )
            return cursor.rowcount

    # --- settings -----------------------------------------------------------------------------------

    async def update_settings(self, subscription_id: int, guild_id: int, change: SettingsChange) -> bool:
        """Apply /feed edit's changes to a subscription of this guild."""
        columns = change.columns()
        if not columns:
            return await self.subscription(subscription_id, guild_id) is not None
        assignments = ", ".join(f"{name} = ?" for name in columns)  # names from SettingsChange, never input
        async with self._db.transaction() as connection:
            cursor = await connection.execute(
                f"UPDATE subscriptions SET {assignments} WHERE id = ? AND guild_id = ?",  # noqa: S608
                (*columns.values(), subscription_id, guild_id),
            )
            return cursor.rowcount > 0

    # --- skipped items --------------------------------------------------------------------------------

    async def record_skips(self, subscription_id: int, skips: list[SkipRecord], at: datetime) -> None:
        """Store why items were skipped: the first MAX_SKIP_ROWS_PER_CYCLE one by one, the rest counted per
        reason, so a feed re-listing its archive writes a few rows, not thousands."""
        if not skips:
            return
        rows = [(subscription_id, s.reason, s.detail[:300], (s.title or "")[:200] or None, s.count, to_db(at))
                for s in skips[:MAX_SKIP_ROWS_PER_CYCLE]]  # fmt: skip
        overflow: dict[str, list[SkipRecord]] = {}
        for skip in skips[MAX_SKIP_ROWS_PER_CYCLE:]:
            overflow.setdefault(skip.reason, []).append(skip)
        for reason, group in overflow.items():
            count = sum(skip.count for skip in group)
            rows.append((subscription_id, reason, group[-1].detail[:300], f"and {count} more", count, to_db(at)))
        async with self._db.transaction() as connection:
            await connection.executemany(
                "INSERT INTO feed_item_skips (subscription_id, reason, detail, item_title, item_count, skipped_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )

    async def skip_summaries(self, guild_id: int, since: datetime) -> dict[int, list[SkipSummary]]:
        """Per subscription of this guild: its skips since `since`, by reason, most frequent first."""
        rows = await self._db.fetch_all(
            "SELECT k.subscription_id, k.reason, SUM(k.item_count) AS total,"
            " (SELECT detail FROM feed_item_skips l WHERE l.subscription_id = k.subscription_id"
            "  AND l.reason = k.reason ORDER BY l.skipped_at DESC, l.id DESC LIMIT 1) AS latest_detail,"
            " (SELECT item_title FROM feed_item_skips l WHERE l.subscription_id = k.subscription_id"
            "  AND l.reason = k.reason ORDER BY l.skipped_at DESC, l.id DESC LIMIT 1) AS latest_title"
            " FROM feed_item_skips k JOIN subscriptions s ON s.id = k.subscription_id"
            " WHERE s.guild_id = ? AND k.skipped_at >= ? GROUP BY k.subscription_id, k.reason"
            " ORDER BY k.subscription_id, total DESC",
            (guild_id, to_db(since)),
        )
        summaries: dict[int, list[SkipSummary]] = {}
        for row in rows:
            summaries.setdefault(row["subscription_id"], []).append(
                SkipSummary(row["reason"], row["total"], row["latest_detail"], row["latest_title"])
            )
        return summaries

    async def prune_skips(self, before: datetime) -> int:
        async with self._db.transaction() as connection:
            cursor = await connection.execute("DELETE FROM feed_item_skips WHERE skipped_at < ?", (to_db(before),))
            return cursor.rowcount

    # --- items Discord refuses ----------------------------------------------------------------------

    async def record_refusal(self, subscription_id: int, key: str, error: str) -> int:
        """Count one more refusal of this item (a different item starts at 1); returns the count."""
        async with self._db.transaction() as connection:
            cursor = await connection.execute(
                "UPDATE subscriptions SET refused_attempts = CASE WHEN refused_item_key = ?"
                " THEN refused_attempts + 1 ELSE 1 END, refused_item_key = ?, last_error = ?, last_error_at = ?"
                " WHERE id = ? RETURNING refused_attempts",
                (key, key, error[:500], now_db(), subscription_id),
            )
            row = await cursor.fetchone()
            await cursor.close()
        return int(row[0]) if row else 0

    async def skip_refused(self, subscription_id: int, error: str) -> None:
        """The refused item is given up (it stays seen); the reason stays for /feed list."""
        async with self._db.transaction() as connection:
            await connection.execute(
                "UPDATE subscriptions SET refused_item_key = NULL, refused_attempts = 0, last_error = ?,"
                " last_error_at = ? WHERE id = ?",
                (error[:500], now_db(), subscription_id),
            )

    async def clear_refusal(self, subscription_id: int) -> None:
        """A post went through: a pending refusal is over (a skipped item's notice stays)."""
        async with self._db.transaction() as connection:
            await connection.execute(
                "UPDATE subscriptions SET refused_item_key = NULL, refused_attempts = 0, last_error = NULL,"
                " last_error_at = NULL WHERE id = ? AND refused_item_key IS NOT NULL",
                (subscription_id,),
            )

    # --- permanent redirects ------------------------------------------------------------------------

    async def move_feed(self, feed_id: int, new_url: str) -> int:
        """The feed moved for good to `new_url`; returns the id of the feed row that now has that URL.

        When another row already has the new URL, this feed's subscriptions join it (keeping their seen
        items; a channel subscribed to both keeps the other subscription) and this row goes.
        """
        async with self._db.transaction() as connection:
            async with connection.execute("SELECT id FROM feeds WHERE url = ?", (new_url,)) as rows:
                existing = await rows.fetchone()
            if existing is None:
                await connection.execute("UPDATE feeds SET url = ? WHERE id = ?", (new_url, feed_id))
                return feed_id
            target = int(existing[0])
            if target == feed_id:
                return feed_id
            await connection.execute(
                "DELETE FROM subscriptions WHERE feed_id = ?"
                " AND channel_id IN (SELECT channel_id FROM subscriptions WHERE feed_id = ?)",
                (feed_id, target),
            )
            # Their delivered versions counted the other row's documents: they catch up on the target's (if kept).
            await connection.execute(
                "UPDATE subscriptions SET feed_id = ?, delivered_version = 0 WHERE feed_id = ?", (target, feed_id)
            )
            await connection.execute("DELETE FROM feeds WHERE id = ?", (feed_id,))
            return target


def _seen_row(subscription_id: int, item: SeenItem, now: str) -> tuple[int, str, str, str | None]:
    key, published = item
    return subscription_id, key, now, to_db(published) if published else None


async def _scalar(connection: StoreConnection, sql: str, params: tuple) -> int:
    async with connection.execute(sql, params) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])
