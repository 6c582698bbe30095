"""Feed subscriptions and the check cycle.

A cycle fetches each due feed once, however many channels subscribe to it, and gives every subscription
the items it has not seen, oldest first, through the same publisher `/article post` uses. An item is
marked seen in the transaction that records its pending delivery, so a restart at any point neither
loses an item (the pending delivery is finished on start) nor posts it twice (seen, or refused as
already posted). Failing feeds back off exponentially and are paused after FEED_MAX_FAILURES failures
in a row, with a short notice in each subscribed channel. An item Discord refuses is retried for
MAX_REFUSALS cycles, then skipped. A feed that moved for good (301/308) is fetched at its new address
from then on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import discord

from bot import limits
from bot.articles.article import Article
from bot.config import Config
from bot.errors import MAX_REFUSALS, AgoraError, CannotPost
from bot.feeds.articles import article_from_item
from bot.feeds.fetcher import FeedFetcher, FeedFetchError, FetchResult
from bot.feeds.parser import FeedItem, FeedParseError, ParsedFeed, parse_feed
from bot.feeds.selection import (
    REASON_LABELS,
    ItemRules,
    Skip,
    SkipReason,
    keyed_items,
    select,
)
from bot.feeds.urls import InvalidFeedUrl, check_url_syntax, validate_feed_url
from bot.leases import LEASE, renewing
from bot.polls.fairness import spec_with_rules
from bot.polls.options import PollOption, article_poll_spec
from bot.shards import UNSHARDED, Shards
from bot.storage.articles import AlreadyPosted, IntentHook
from bot.storage.faults import storage_fault
from bot.storage.feeds import (
    Feed,
    FeedCheck,
    FeedStore,
    NewSubscription,
    SettingsChange,
    SkipRecord,
    SkipSummary,
    Subscription,
)
from bot.storage.interface import StoreDatabase
from bot.storage.polls import NO_POLL_RULES, PollRulesRow
from bot.timeutil import utcnow

log = logging.getLogger(__name__)

MAX_BACKFILL = 5
MAX_BACKOFF = timedelta(hours=24)
# The seen-items horizon. Seen items dated before it that the feed no longer lists are forgotten (the table
# would grow forever), and the cycle never posts an unseen item dated before it. Together the two rules make
# a forgotten item that comes back impossible to repost: it was forgotten because its date is older than the
# horizon, so it is older still when it returns. It also spares channels a burst of old news when a feed
# re-lists its archive or a subscription resumes after months. Undated items are never forgotten (they
# cannot be refused by date); an item re-dated by its publisher into the horizon counts as re-issued news.
SEEN_RETENTION = timedelta(days=90)
# How long skip records are kept (/feed list shows the last day's).
SKIP_RETENTION = timedelta(days=7)
SKIP_WINDOW = timedelta(days=1)
# How many of a feed's next items /feed preview shows as they would look.
PREVIEW_ITEMS = 3


class FeedError(AgoraError):
    """A feed cannot be added or checked; the message is fit for the moderator."""


class Publisher(Protocol):
    def check_can_post(self, channel: Any, *, open_thread: bool = True, open_poll: bool = True) -> None: ...

    async def publish(
        self, article: Article, channel: Any, *, source: str, open_thread: bool = True, open_poll: bool = True,
        poll_spec: str | None = None, with_intent: IntentHook | None = None,
    ) -> object: ...  # fmt: skip


@dataclass(frozen=True)
class Subscribed:
    """What /feed add reports."""

    subscription: Subscription
    title: str
    item_count: int
    posted: int
    not_posted: str | None  # why the backfill could not be posted yet
    skipped: list[Skip] = field(default_factory=list)  # of the newest `backfill` items, those not posted
    max_age_days: int = 90


@dataclass(frozen=True)
class Preview:
    """What /feed preview shows: the feed, the items a new subscription would post next, and the skipped."""

    title: str
    item_count: int
    next_items: list[Article]
    skipped: list[Skip]
    source: str
    rules: ItemRules


@dataclass
class CycleReport:
    feeds: int = 0
    not_modified: int = 0
    failed: int = 0
    posted: int = 0
    paused_feeds: int = 0
    waiting: int = 0  # subscriptions with items not delivered, tried again next cycle
    busy: int = 0  # feeds another process was checking at that moment (/feed check)
    errors: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # skip reason → items
    skip_notes: list[str] = field(default_factory=list)  # the first few skips, named

    def add(self, other: CycleReport) -> None:
        self.feeds += other.feeds
        self.not_modified += other.not_modified
        self.failed += other.failed
        self.posted += other.posted
        self.paused_feeds += other.paused_feeds
        self.waiting += other.waiting
        self.busy += other.busy
        self.errors += other.errors
        for reason, count in other.skipped.items():
            self.skipped[reason] = self.skipped.get(reason, 0) + count
        self.skip_notes += other.skip_notes[: max(0, MAX_SKIP_NOTES - len(self.skip_notes))]

    def note_skips(self, feed_name: str, skips: list[Skip]) -> None:
        for skip in skips:
            self.skipped[skip.reason] = self.skipped.get(skip.reason, 0) + 1
            if len(self.skip_notes) < MAX_SKIP_NOTES:
                title = skip.title if len(skip.title) <= 80 else skip.title[:79] + "…"
                self.skip_notes.append(f"{feed_name}: “{title}” {REASON_LABELS[skip.reason]} ({skip.detail})")


MAX_SKIP_NOTES = 5


def rules_of(subscription: Subscription) -> ItemRules:
    return ItemRules(
        max_age_days=subscription.max_age_days, include=subscription.include_words,
        exclude=subscription.exclude_words, identity=subscription.identity,
    )  # fmt: skip


class FeedService:
    def __init__(
        self,
        store: FeedStore,
        fetcher: FeedFetcher,
        publisher: Publisher,
        get_channel: Callable[[int], Any],
        *,
        interval: float,
        max_failures: int,
        allow_private: bool = False,
        jitter: float = 0.1,
        clock: Callable[[], datetime] = utcnow,
        in_flight: int = 40,
        shards: Shards = UNSHARDED,
        lease: timedelta = LEASE,
    ) -> None:
        self._store = store
        self._fetcher = fetcher
        self._publisher = publisher
        self._get_channel = get_channel
        self.interval = timedelta(seconds=interval)
        self.max_failures = max_failures
        self.allow_private = allow_private
        self._jitter = jitter
        self._clock = clock
        self._cycle_lock = asyncio.Lock()
        self._blocked: dict[int, str] = {}  # subscription id → why it cannot post, to log once per change
        self._pruned: dict[int, datetime] = {}  # subscription id → when its old seen items were last pruned
        self._skips_pruned_at: datetime | None = None
        self._in_flight = asyncio.Semaphore(in_flight)
        self._shards = shards  # this process posts into its own servers' channels only
        self._lease = lease
        self._retry_at: dict[int, datetime] = {}  # subscription id → when a waiting one is tried again
        self._tried: set[int] = set()  # subscriptions given a document in this cycle already

    async def close(self) -> None:
        await self._fetcher.close()

    # --- /feed add ----------------------------------------------------------------------------------

    async def subscribe(
        self,
        channel: Any,
        url: str,
        *,
        created_by: int | None,
        open_thread: bool = True,
        open_poll: bool = True,
        backfill: int = 1,
        poll_question: str | None = None,
        poll_options: Sequence[PollOption] | None = None,
        poll_rules: PollRulesRow = NO_POLL_RULES,
    ) -> Subscribed:
        """Validate, fetch once, subscribe; post the newest `backfill` items and count the rest as seen."""
        if not 0 <= backfill <= MAX_BACKFILL:
            raise FeedError(f"backfill must be between 0 and {MAX_BACKFILL}.")
        try:
            url = await validate_feed_url(url, allow_private=self.allow_private)
        except InvalidFeedUrl as error:
            raise FeedError(error.message) from error
        fetched, parsed = await self._fetch_and_parse(url)
        url = fetched.moved_to or url  # follow a permanent redirect from the start
        # The newest `backfill` items are posted unless the age limit skips them, as the cycle would.
        rules = ItemRules()
        keyed = keyed_items(parsed.items, rules.identity)
        chosen = select(keyed[max(len(keyed) - backfill, 0) :] if backfill else [], rules, self._clock())
        newest_keys = {key for key, _ in chosen.post}
        subscription = await self._store.subscribe(
            NewSubscription(
                url=url, title=parsed.title or None, etag=fetched.etag, last_modified=fetched.last_modified,
                next_check_at=self._next_check(0), guild_id=channel.guild.id, channel_id=channel.id,
                created_by=created_by, open_thread=open_thread, open_poll=open_poll,
                poll_question_template=poll_question, poll_options=_options_json(poll_options), poll_rules=poll_rules,
            ),
            seen=[(key, item.published) for key, item in keyed if key not in newest_keys],
        )  # fmt: skip
        skips = [skip for _, _, skip in chosen.skipped]
        await self._store.record_skips(subscription.id, [_record(skip) for skip in skips], self._clock())
        source = _source(subscription.feed_title, url)
        posted, not_posted, _ = await self._deliver(subscription, chosen.post, source)
        log.info("Channel %s subscribed to feed %s (%d items)", channel.id, subscription.feed_id, len(parsed.items))
        return Subscribed(subscription, parsed.title or url, len(parsed.items), posted, not_posted, skips,
                          rules.max_age_days)  # fmt: skip

    # --- /feed preview and /feed edit ---------------------------------------------------------------

    async def preview(self, url: str) -> Preview:
        """What a new subscription to `url` would post, without subscribing or posting anything."""
        try:
            url = await validate_feed_url(url, allow_private=self.allow_private)
        except InvalidFeedUrl as error:
            raise FeedError(error.message) from error
        fetched, parsed = await self._fetch_and_parse(url)
        rules = ItemRules()
        chosen = select(keyed_items(parsed.items, rules.identity), rules, self._clock())
        source = _source(parsed.title, fetched.moved_to or url)
        upcoming = list(reversed(chosen.post[-PREVIEW_ITEMS:]))  # newest first, as a reader scrolls up to them
        articles = await asyncio.to_thread(_articles_for, upcoming, fetched.final_url, source)
        return Preview(
            title=parsed.title or source, item_count=len(parsed.items), next_items=articles,
            skipped=[skip for _, _, skip in chosen.skipped], source=source, rules=rules,
        )  # fmt: skip

    async def edit(
        self, guild_id: int, subscription_id: int, change: SettingsChange
    ) -> tuple[Subscription, str | None]:
        """Change a subscription's settings. A new identity re-reads the feed first: every item it lists now
        counts as seen under that identity, so switching never reposts the feed."""
        subscription = await self.subscription(guild_id, subscription_id)
        note = None
        if change.identity is not None and change.identity != subscription.identity:
            _, parsed = await self._fetch_and_parse(subscription.feed_url)
            keyed = keyed_items(parsed.items, change.identity)
            await self._store.mark_seen(subscription.id, [(key, item.published) for key, item in keyed])
            note = f"The {len(parsed.items)} items the feed lists now count as seen by {change.identity}."
        await self._store.update_settings(subscription.id, guild_id, change)
        return await self.subscription(guild_id, subscription_id), note

    async def skip_summaries(self, guild_id: int) -> dict[int, list[SkipSummary]]:
        """Per subscription: what it skipped in the last day, by reason (/feed list)."""
        return await self._store.skip_summaries(guild_id, self._clock() - SKIP_WINDOW)

    async def _fetch_and_parse(self, url: str) -> tuple[FetchResult, ParsedFeed]:
        try:
            fetched = await self._fetcher.fetch(url)
            parsed = await asyncio.to_thread(parse_feed, fetched.body, fetched.final_url, fetched.content_type)
        except (FeedFetchError, FeedParseError) as error:
            raise FeedError(f"I could not read that feed: {error.message}") from error
        return fetched, parsed

    # --- /feed list, remove, pause, resume ----------------------------------------------------------

    async def subscriptions(self, guild_id: int) -> list[tuple[Subscription, Feed]]:
        return await self._store.subscriptions_in_guild(guild_id)

    async def find_subscriptions(self, guild_id: int, text: str) -> list[Subscription]:
        return await self._store.search_subscriptions(guild_id, text)

    async def subscription(self, guild_id: int, subscription_id: int) -> Subscription:
        found = await self._store.subscription(subscription_id, guild_id)
        if found is None:
            raise FeedError("There is no such feed subscription in this server; pick one from the list.")
        return found

    async def remove(self, guild_id: int, subscription_id: int) -> Subscription:
        subscription = await self.subscription(guild_id, subscription_id)
        await self._store.remove_subscription(subscription_id, guild_id)
        self._blocked.pop(subscription_id, None)
        log.info("Subscription %s (channel %s) removed", subscription_id, subscription.channel_id)
        return subscription

    async def pause(self, guild_id: int, subscription_id: int, moderator: str) -> Subscription:
        subscription = await self.subscription(guild_id, subscription_id)
        await self._store.set_paused(subscription_id, guild_id, f"paused by {moderator}"[:200])
        return subscription

    async def resume(self, guild_id: int, subscription_id: int) -> Subscription:
        """Resume a subscription; its feed is due at once, with its failure count cleared."""
        subscription = await self.subscription(guild_id, subscription_id)
        await self._store.set_paused(subscription_id, guild_id, None, due_at=self._clock())
        return subscription

    # --- the check cycle ----------------------------------------------------------------------------

    async def run_cycle(self) -> CycleReport:
        """Check every due feed no other process has claimed, then post what other processes fetched for this
        process's servers (the background loop)."""
        async with self._cycle_lock:
            now = self._clock()
            self._tried.clear()
            async with renewing(self._renew_claims, self._lease / 3):
                report = await self._check(await self._store.claim_due_feeds(self._holder, now, now + self._lease))
            report.add(await self._catch_up())
            return report

    async def check_guild(self, guild_id: int) -> CycleReport:
        """Check this guild's active feeds now, due or not (/feed check); a feed another process is checking at
        this moment is counted as busy, and what it fetched is posted here as soon as it has."""
        async with self._cycle_lock:
            now = self._clock()
            self._tried.clear()
            active = await self._store.guild_feeds(guild_id)
            async with renewing(self._renew_claims, self._lease / 3):
                claimed = await self._store.claim_guild_feeds(guild_id, self._holder, now, now + self._lease)
                report = await self._check(claimed)
            report.busy = len(active) - len(claimed)
            report.add(await self._catch_up(guild_id))
            return report

    @property
    def _holder(self) -> str:
        return self._shards.holder

    async def _renew_claims(self) -> None:
        await self._store.renew_claims(self._holder, self._clock() + self._lease)

    async def _catch_up(self, guild_id: int | None = None) -> CycleReport:
        """Give this process's subscriptions the documents other processes fetched (or that they had to wait
        for): each server's articles are posted by the process that owns it, which tracks their polls."""
        report = CycleReport()
        now = self._clock()
        behind: dict[int, list[Subscription]] = {}
        for subscription in await self._store.subscriptions_behind(self._shards):
            if guild_id not in (None, subscription.guild_id) or subscription.id in self._tried:
                continue
            # A waiting subscription is tried again after the feed's interval, or now when a moderator asks.
            if guild_id is not None or self._retry_at.get(subscription.id, now) <= now:
                behind.setdefault(subscription.feed_id, []).append(subscription)
        for feed_id, subscriptions in behind.items():
            kept = await self._store.kept_document(feed_id)
            if kept is None:
                continue
            try:
                parsed = await asyncio.to_thread(parse_feed, kept.content, kept.url or kept.feed.url, kept.content_type)
            except FeedParseError as error:  # it parsed when fetched: only a change of parser could get here
                log.warning("Feed %s: the kept document no longer parses: %s", feed_id, error.message)
                continue
            part, delivered = await self._distribute(kept.feed, parsed, now, subscriptions)
            await self._store.mark_delivered(delivered, kept.version)
            part.feeds = 0  # posted from a document fetched before, not checked
            report.add(part)
        return report

    async def _check(self, feeds: list[Feed]) -> CycleReport:
        report = CycleReport()
        checks: list[FeedCheck] = []
        outcomes = await asyncio.gather(*(self._check_feed(feed) for feed in feeds), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, Exception) and storage_fault(outcome):
                raise outcome  # said once by the loop (bot.logs.LoopFaults), not once per feed
            if isinstance(outcome, BaseException):
                log.error("Checking a feed failed unexpectedly", exc_info=outcome)
                report.add(CycleReport(feeds=1, failed=1))
            else:
                report.add(outcome[0])
                checks.append(outcome[1])
        await self._store.record_checks(checks, self._holder)
        await self._prune_skips(self._clock())
        return report

    async def _check_feed(self, feed: Feed) -> tuple[CycleReport, FeedCheck]:
        # Bounds the feeds in flight, so a big cycle holds a few parsed documents at a time, not all of them.
        async with self._in_flight:
            checked_at = self._clock()
            try:
                return await self._fetch_and_distribute(feed, checked_at)
            except (FeedFetchError, FeedParseError) as error:
                return await self._failed(feed, error.message, checked_at, getattr(error, "retry_after", None))
            except Exception as error:
                if storage_fault(error):
                    raise  # the database is down, not the feed: the whole cycle waits for it
                # A bug still counts as a failed check, so the feed backs off and is paused in the end
                # instead of being retried every tick.
                log.exception("Checking feed %s failed unexpectedly", feed.id)
                return await self._failed(feed, "an unexpected error (details are in the bot's log)", checked_at)

    async def _fetch_and_distribute(self, feed: Feed, checked_at: datetime) -> tuple[CycleReport, FeedCheck]:
        fetched = await self._fetcher.fetch(feed.url, etag=feed.etag, last_modified=feed.last_modified)
        if fetched.not_modified:
            self._log_recovery(feed)
            await self._moved(feed, fetched.moved_to)
            return CycleReport(feeds=1, not_modified=1), FeedCheck(feed.id, checked_at, self._next_check(0))
        parsed = await asyncio.to_thread(parse_feed, fetched.body, fetched.final_url, fetched.content_type)
        self._log_recovery(feed)
        active = await self._store.active_subscriptions(feed.id)
        own = [subscription for subscription in active if self._shards.owns(subscription.guild_id)]
        report, delivered = await self._distribute(feed, parsed, checked_at, own)
        await self._moved(feed, fetched.moved_to)
        # The document is kept for the subscriptions not given it: other processes' servers, and items that
        # must wait (tried again from the kept copy, so the feed may answer 304 meanwhile).
        keep = len(delivered) < len(active)
        check = FeedCheck(
            feed.id, checked_at, self._next_check(0), fetched=True, title=parsed.title or None,
            etag=fetched.etag, last_modified=fetched.last_modified, new_items=report.posted > 0,
            kept_content=fetched.body if keep else None, content_type=fetched.content_type,
            content_url=fetched.final_url, delivered=tuple(delivered),
        )  # fmt: skip
        return report, check

    async def _distribute(
        self, feed: Feed, parsed: ParsedFeed, checked_at: datetime, subscriptions: list[Subscription]
    ) -> tuple[CycleReport, list[int]]:
        """Give each subscription its unseen items; every item it does not post is recorded with why. Returns
        the report and the subscriptions given every item (the others wait and are tried again)."""
        report = CycleReport(feeds=1)
        delivered: list[int] = []
        source = _source(parsed.title or feed.title, feed.url)
        keyed_by_identity: dict[str, list[tuple[str, FeedItem]]] = {}
        for subscription in subscriptions:
            self._tried.add(subscription.id)
            if subscription.identity not in keyed_by_identity:
                keyed_by_identity[subscription.identity] = keyed_items(parsed.items, subscription.identity)
            keyed = keyed_by_identity[subscription.identity]
            keys = [key for key, _ in keyed]
            unseen = await self._store.unseen_keys(subscription.id, keys)
            if not unseen:
                delivered.append(subscription.id)
                continue
            chosen = select([(key, item) for key, item in keyed if key in unseen], rules_of(subscription), checked_at)
            if chosen.skipped:
                # Skipped items count as seen, so each is reported once, not every cycle.
                await self._store.mark_seen(subscription.id, [(key, item.published) for key, item, _ in chosen.skipped])
            posted, reason, refused = await self._deliver(subscription, chosen.post, source)
            skips = [skip for _, _, skip in chosen.skipped] + refused
            await self._store.record_skips(subscription.id, [_record(skip) for skip in skips], checked_at)
            report.note_skips(source, skips)
            report.posted += posted
            if reason:
                report.waiting += 1
                report.errors.append(reason)
                self._retry_at[subscription.id] = checked_at + self.interval
            else:
                delivered.append(subscription.id)
                self._retry_at.pop(subscription.id, None)
            await self._forget_old_seen(subscription, keys, checked_at)
        return report, delivered

    async def _prune_skips(self, now: datetime) -> None:
        """At most daily: skip records older than SKIP_RETENTION go (the table stays bounded)."""
        if self._skips_pruned_at is not None and now - self._skips_pruned_at < timedelta(days=1):
            return
        self._skips_pruned_at = now
        await self._store.prune_skips(now - SKIP_RETENTION)

    async def _forget_old_seen(self, subscription: Subscription, keys: list[str], now: datetime) -> None:
        """At most daily per subscription, and only after new items (only then can old ones have dropped off)."""
        last = self._pruned.get(subscription.id)
        if last is not None and now - last < timedelta(days=1):
            return
        self._pruned[subscription.id] = now
        if not subscription.max_age_days:
            return  # no age limit: a forgotten item that came back would be posted again, so none is forgotten
        retention = max(SEEN_RETENTION, timedelta(days=subscription.max_age_days))
        await self._store.forget_old_seen(subscription.id, keys, now - retention)

    async def _deliver(
        self, subscription: Subscription, items: list[tuple[str, FeedItem]], source: str
    ) -> tuple[int, str | None, list[Skip]]:
        """Post items oldest first; stop at the first refusal (it is almost always the channel, not the item),
        except that an item Discord refuses for itself MAX_REFUSALS times is skipped. Returns how many
        were posted, why the rest wait (if they do), and the items skipped while posting."""
        if not items:
            return 0, None, []
        channel = self._get_channel(subscription.channel_id)
        if channel is None:
            return 0, self._blocked_by(subscription, "the channel no longer exists or I cannot see it"), []
        try:
            self._publisher.check_can_post(channel, open_thread=subscription.open_thread,
                                           open_poll=subscription.open_poll)  # fmt: skip
        except CannotPost as refusal:
            return 0, self._blocked_by(subscription, str(refusal)), []
        articles = await asyncio.to_thread(_articles_for, items, subscription.feed_url, source)
        posted = 0
        skipped: list[Skip] = []
        refusal_pending = subscription.refused_item_key is not None
        for (key, item), article in zip(items, articles, strict=True):
            try:
                if await self._post(subscription, key, item, article, channel, source):
                    posted += 1
                    if refusal_pending:
                        await self._store.clear_refusal(subscription.id)
                        refusal_pending = False
                else:
                    skipped.append(Skip(SkipReason.ALREADY_SEEN, "already posted in this channel", article.title))
            except CannotPost as refusal:
                if refusal.refused_content:
                    attempts = await self._store.record_refusal(subscription.id, key, str(refusal))
                    refusal_pending = True
                    if attempts >= MAX_REFUSALS:
                        # Stays seen (the delivery intent marked it): later items must not wait behind it.
                        skipped.append(await self._skip(subscription, article, attempts, refusal))
                        refusal_pending = False
                        continue
                # Not seen after all: the next cycle tries again (a post that did go out is then refused
                # as already posted, and finished on restart by the publisher).
                await self._store.forget_seen(subscription.id, key)
                return posted, self._blocked_by(subscription, str(refusal)), skipped
        self._unblocked(subscription)
        return posted, None, skipped

    async def _skip(self, subscription: Subscription, article: Article, attempts: int, refusal: CannotPost) -> Skip:
        title = article.title if len(article.title) <= 80 else article.title[:79] + "…"
        error = f"skipped “{title}”: Discord refused it {attempts} times ({refusal})"
        await self._store.skip_refused(subscription.id, error)
        log.warning("Subscription %s (channel %s) %s", subscription.id, subscription.channel_id, error)
        reason = SkipReason.TOO_LARGE if _refused_for_size(refusal) else SkipReason.REFUSED
        return Skip(reason, f"Discord refused it {attempts} times: {refusal}", article.title)

    async def _post(
        self, subscription: Subscription, key: str, item: FeedItem, article: Article, channel: Any, source: str
    ) -> bool:
        """Publish one item; False when this channel already has that article (the item stays seen)."""
        spec = spec_with_rules(
            article_poll_spec(subscription.poll_question_template, subscription.poll_options), subscription.poll_rules
        )
        try:
            await self._publisher.publish(
                article, channel, source=source, open_thread=subscription.open_thread,
                open_poll=subscription.open_poll, poll_spec=spec,
                with_intent=FeedStore.seen_with_intent(subscription.id, (key, item.published)),
            )  # fmt: skip
        except AlreadyPosted:
            # Posted before a restart, or the same story from another feed in this channel.
            await self._store.mark_seen(subscription.id, [(key, item.published)])
            return False
        return True

    async def _moved(self, feed: Feed, new_url: str | None) -> None:
        """After a permanent redirect to a feed that parsed (or answered 304): fetch its new address from now on."""
        if not new_url or new_url == feed.url:
            return
        feed_id = await self._store.move_feed(feed.id, new_url)
        name = _source(feed.title, new_url)
        if feed_id == feed.id:
            log.info("Feed %s (%s) moved permanently; following its new address", feed.id, name)
        else:
            log.info("Feed %s (%s) moved permanently to the address of feed %s; its subscriptions joined it",
                     feed.id, name, feed_id)  # fmt: skip

    # --- failures, backoff and pausing ---------------------------------------------------------------

    async def _failed(
        self, feed: Feed, message: str, checked_at: datetime, retry_after: float | None = None
    ) -> tuple[CycleReport, FeedCheck]:
        failures = feed.consecutive_failures + 1
        check = FeedCheck(feed.id, checked_at, self._next_check(failures, retry_after), error=message)
        name = _source(feed.title, feed.url)
        if failures == 1:
            log.warning("Feed %s (%s) is failing: %s", feed.id, name, message)
        else:
            log.debug("Feed %s failed again (%d in a row): %s", feed.id, failures, message)
        if failures < self.max_failures:
            return CycleReport(feeds=1, failed=1, errors=[f"{name}: {message}"]), check
        await self._pause(feed, name, failures, message)
        return CycleReport(feeds=1, failed=1, paused_feeds=1, errors=[f"{name}: {message} (paused)"]), check

    async def _pause(self, feed: Feed, name: str, failures: int, message: str) -> None:
        reason = f"failed {failures} times in a row; last error: {message}"
        paused = await self._store.pause_feed(feed.id, reason[:500])
        log.warning("Feed %s (%s) paused after %d failures in a row: %s", feed.id, name, failures, message)
        notice = (
            f"⏸️ I paused the feed **{discord.utils.escape_markdown(name)}** here: it failed {failures} times in a "
            f"row ({message}). A moderator can turn it back on with `/feed resume`."
        )
        for subscription in paused:
            channel = self._get_channel(subscription.channel_id)
            if channel is None:
                continue
            try:
                await channel.send(limits.cut(notice, limits.MESSAGE))
            except discord.HTTPException as error:
                log.info("Could not post the pause notice in channel %s: %s", subscription.channel_id, error)

    def _next_check(self, failures: int, retry_after: float | None = None) -> datetime:
        """Now plus the interval (doubled per failure in a row, capped), with jitter so feeds spread out."""
        delay = self.interval * (2 ** max(failures - 1, 0)) if failures else self.interval
        if retry_after:
            delay = max(delay, timedelta(seconds=retry_after))
        delay = min(delay, max(MAX_BACKOFF, self.interval))
        spread = 1 + self._jitter * (2 * random.random() - 1)
        return self._clock() + delay * spread

    def _log_recovery(self, feed: Feed) -> None:
        if feed.consecutive_failures:
            log.info("Feed %s recovered after %d failures", feed.id, feed.consecutive_failures)

    def _blocked_by(self, subscription: Subscription, reason: str) -> str:
        if self._blocked.get(subscription.id) != reason:
            self._blocked[subscription.id] = reason
            log.warning("Subscription %s cannot post into channel %s: %s", subscription.id,
                        subscription.channel_id, reason)  # fmt: skip
        return reason

    def _unblocked(self, subscription: Subscription) -> None:
        if self._blocked.pop(subscription.id, None) is not None:
            log.info("Subscription %s posts into channel %s again", subscription.id, subscription.channel_id)


def build_feed_service(
    config: Config, db: StoreDatabase, publisher: Publisher, get_channel: Callable[[int], Any]
) -> FeedService:
    """The service as the bot runs it, from the FEED_* settings."""
    fetcher = FeedFetcher(
        max_bytes=config.feed_max_bytes,
        total_timeout=config.feed_timeout_seconds,
        connect_timeout=min(10.0, config.feed_timeout_seconds),
        concurrency=config.feed_concurrency,
        allow_private=config.feed_allow_private_addresses,
    )
    return FeedService(
        FeedStore(db), fetcher, publisher, get_channel,
        interval=config.feed_check_interval_seconds, max_failures=config.feed_max_failures,
        allow_private=config.feed_allow_private_addresses, shards=config.shards,
    )  # fmt: skip


def _articles_for(items: list[tuple[str, FeedItem]], feed_url: str, source: str) -> list[Article]:
    """Articles for the keyed items (markdown conversion is CPU work: this runs in a thread)."""
    return [article_from_item(item, feed_url, source, key=key) for key, item in items]


def _record(skip: Skip) -> SkipRecord:
    return SkipRecord(reason=skip.reason.value, detail=skip.detail, title=skip.title or None)


# Discord's codes for a request too large (HTTP 413, 40005) or a form field over its length (50035).
_SIZE_CODES = frozenset({40005, 50035})


def _refused_for_size(refusal: CannotPost) -> bool:
    cause = refusal.__cause__
    if not isinstance(cause, discord.HTTPException):
        return False
    return cause.status == 413 or (cause.code in _SIZE_CODES and "length" in str(cause.text).lower()) \
        or cause.code == 40005  # fmt: skip


def _options_json(options: Sequence[PollOption] | None) -> str | None:
    return json.dumps([[option.emoji, option.label] for option in options], ensure_ascii=False) if options else None


def _source(title: str | None, url: str) -> str:
    """How a feed is named in posts: its title, else its host (never the full URL, which may hold a token)."""
    if title and title.strip():
        return title.strip()
    try:
        return check_url_syntax(url).host
    except InvalidFeedUrl:
        return "feed"
