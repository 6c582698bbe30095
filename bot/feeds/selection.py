"""Which of a feed's new items a subscription posts, and why it skips the others (pure rules).

A subscription recognises items by an identity (MonitoRSS's choice): `auto` is the guid, falling back to the
link and then to a hash of the text, except that items sharing a guid within one document are told apart by
their link, else by title and date; `guid`, `link` and `title` pin one field (falling back as `auto` does
when an item lacks it). New items are then skipped when dated before the subscription's age limit or when
its include/exclude words say so; every skip carries its reason.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.errors import AgoraError
from bot.feeds.markdown import collapse_spaces
from bot.feeds.parser import FeedItem, item_key

IDENTITIES = ("auto", "guid", "link", "title")
DEFAULT_MAX_AGE_DAYS = 90
MAX_AGE_DAYS = 3650
MAX_WORDS = 20
MAX_WORD_LENGTH = 50
CLEAR = frozenset({"none", "-", "off"})  # what a moderator types to clear a list setting


class InvalidSetting(AgoraError):
    """A /feed edit value Agora cannot use; the message names the setting."""


class SkipReason(StrEnum):
    TOO_OLD = "too_old"
    FILTERED = "filtered"
    ALREADY_SEEN = "already_seen"
    REFUSED = "refused"
    TOO_LARGE = "too_large"


REASON_LABELS = {
    SkipReason.TOO_OLD: "too old",
    SkipReason.FILTERED: "filtered",
    SkipReason.ALREADY_SEEN: "already seen",
    SkipReason.REFUSED: "refused by Discord",
    SkipReason.TOO_LARGE: "over a size limit",
}


@dataclass(frozen=True)
class Skip:
    reason: SkipReason
    detail: str  # why, in words fit for a moderator
    title: str


@dataclass(frozen=True)
class ItemRules:
    """A subscription's settings that decide which new items are posted."""

    max_age_days: int = DEFAULT_MAX_AGE_DAYS  # 0: no age limit
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    identity: str = "auto"


@dataclass(frozen=True)
class Selection:
    """The new items to post (with their keys), oldest first, and the skipped ones with their reasons."""

    post: list[tuple[str, FeedItem]]
    skipped: list[tuple[str, FeedItem, Skip]]


# --- identity --------------------------------------------------------------------------------------


def keyed_items(items: Sequence[FeedItem], identity: str) -> list[tuple[str, FeedItem]]:
    """Each item with the key the subscription's identity gives it."""
    if identity == "guid":
        return [(_key(item.guid, item), item) for item in items]
    if identity == "link":
        return [(_key(item.link, item), item) for item in items]
    if identity == "title":
        return [(_title_key(item), item) for item in items]
    return _auto_keys(items)


def identity_label(identity: str, item: FeedItem) -> str:
    """Which field recognised the item, for 'already seen (same guid …)'."""
    if identity == "title" or (identity == "auto" and not (item.guid or item.link)):
        return "title" if identity == "title" else "text"
    if identity == "link" or (identity == "auto" and not item.guid):
        return "link" if item.link else "text"
    return "guid" if item.guid else "link" if item.link else "text"


def _auto_keys(items: Sequence[FeedItem]) -> list[tuple[str, FeedItem]]:
    """guid, else link, else text; items whose guids collide within the feed are told apart by link, else by
    title and date (a feed that gives every item the same guid would otherwise post one item ever)."""
    guids = Counter(item.guid for item in items if item.guid)
    colliding = {guid for guid, count in guids.items() if count > 1 and _differ(items, guid)}
    if not colliding:
        return [(item.key, item) for item in items]
    links = Counter(item.link for item in items if item.guid in colliding and item.link)
    keyed = []
    for item in items:
        if item.guid not in colliding:
            keyed.append((item.key, item))
        elif item.link and links[item.link] == 1:
            keyed.append((item_key(None, item.link, "", ""), item))
        else:
            keyed.append((_title_key(item, with_date=True), item))
    return keyed


def _differ(items: Sequence[FeedItem], guid: str) -> bool:
    """Items sharing a guid are different items when their links or titles differ (else one item listed twice)."""
    sharing = {(item.link, item.title) for item in items if item.guid == guid}
    return len(sharing) > 1


def _key(value: str | None, item: FeedItem) -> str:
    return item_key(value, None, "", "") if value else item.key


def _title_key(item: FeedItem, *, with_date: bool = False) -> str:
    title = collapse_spaces(item.title).casefold()
    if not title:
        return item.key
    dated = f"{title}\n{item.published.isoformat() if with_date and item.published else ''}"
    return "title:" + hashlib.sha256(dated.encode()).hexdigest()


# --- selection -------------------------------------------------------------------------------------


def select(keyed: Sequence[tuple[str, FeedItem]], rules: ItemRules, now: datetime) -> Selection:
    """Sort a subscription's unseen items (oldest first) into posted and skipped, each skip with its reason."""
    post: list[tuple[str, FeedItem]] = []
    skipped: list[tuple[str, FeedItem, Skip]] = []
    first_title: dict[str, str] = {}
    for key, item in keyed:
        if key in first_title:
            label = identity_label(rules.identity, item)
            skip: Skip | None = Skip(
                SkipReason.ALREADY_SEEN, f"same {label} as “{_short(first_title[key])}” in this feed", item.title
            )
        else:
            first_title[key] = item.title or item.link or "untitled"
            skip = too_old(item, rules, now) or filtered_out(item, rules)
        if skip is None:
            post.append((key, item))
        else:
            skipped.append((key, item, skip))
    return Selection(post, skipped)


def too_old(item: FeedItem, rules: ItemRules, now: datetime) -> Skip | None:
    if not rules.max_age_days or item.published is None:
        return None
    if item.published >= now - timedelta(days=rules.max_age_days):
        return None
    detail = f"dated {item.published:%d %b %Y}, older than the age limit of {days(rules.max_age_days)}"
    return Skip(SkipReason.TOO_OLD, detail, item.title)


def filtered_out(item: FeedItem, rules: ItemRules) -> Skip | None:
    """Exclude words win over include words; both match whole words in the title or a category."""
    if not rules.include and not rules.exclude:
        return None
    text = " \n ".join((item.title, *item.categories)).casefold()
    for word in rules.exclude:
        if _contains(text, word):
            return Skip(SkipReason.FILTERED, f"excluded word “{word}”", item.title)
    if rules.include and not any(_contains(text, word) for word in rules.include):
        words = ", ".join(rules.include)
        return Skip(SkipReason.FILTERED, f"none of the included words ({_short(words)}) in title or categories",
                    item.title)  # fmt: skip
    return None


def _contains(text: str, word: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(word.casefold())}(?!\w)", text) is not None


def days(count: int) -> str:
    return f"{count} day{'s' if count != 1 else ''}"


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- settings input --------------------------------------------------------------------------------


def parse_words(text: str, setting: str) -> tuple[str, ...]:
    """Comma-separated words or phrases; `none` clears the list."""
    if text.strip().casefold() in CLEAR:
        return ()
    words = tuple(dict.fromkeys(collapse_spaces(part) for part in text.split(",") if part.strip()))
    if not words:
        raise InvalidSetting(f"{setting}: give words separated by commas, or `none` to clear the list.")
    if len(words) > MAX_WORDS:
        raise InvalidSetting(f"{setting}: at most {MAX_WORDS} words or phrases (you gave {len(words)}).")
    for word in words:
        if len(word) > MAX_WORD_LENGTH:
            raise InvalidSetting(f"{setting}: “{_short(word, 40)}” is longer than {MAX_WORD_LENGTH} characters.")
    return words


def validate_max_age(value: int) -> int:
    if not 0 <= value <= MAX_AGE_DAYS:
        raise InvalidSetting(f"max_age_days must be between 0 (no limit) and {MAX_AGE_DAYS}.")
    return value


def validate_identity(value: str) -> str:
    if value not in IDENTITIES:
        raise InvalidSetting(f"identity must be one of {', '.join(IDENTITIES)}.")
    return value
