"""Feed documents (RSS 0.9x/1.0/2.0, Atom 0.3/1.0, JSON Feed 1.0/1.1) → ParsedFeed.

Design: fastfeedparser first, feedparser as the fallback, JSON Feed by our own reader.

fastfeedparser is about two orders of magnitude faster (bench/feed_parsers.py; the figures and the corpus
results are in the README): with a thousand changed feeds a cycle, feedparser alone would hold the event
loop's GIL long enough to delay Discord heartbeats. But it misreads
constructs the corpus exercises: Atom xhtml text comes back empty, base64 content stays encoded, xml:base
is ignored, iTunes item images are dropped, a media:title before <title> replaces the title, an RSS item
with both <summary> and <description> keeps the wrong one, undeclared non-UTF-8 text becomes U+FFFD, and
a missing id is filled with the first link (enclosures included). feedparser reads all of them and is
lenient with ill-formed XML. So parse_feed sends a document to feedparser when a cheap byte scan finds one
of those constructs, when fastfeedparser raises or finds no items, or when an item comes back empty; real
news feeds rarely contain them, so they keep the fast path.

What a reader sees must not depend on the path. fastfeedparser does not sanitise HTML and reports no declared
type for titles and summaries, takes item elements from other namespaces (itunes:title, atom:id, foo:link)
for the real ones, and makes a non-permalink guid the link of an item without one. So fast-path HTML is
sanitised by feedparser's own sanitiser when it is rendered (lazily, like the markdown), an RSS description
is HTML whatever it holds (feedparser's rule), declared types are read from the document's bytes (items that
disagree go to feedparser, as do documents with look-alike item elements or a non-permalink guid where an
item's link equals its id), and text of unknown type is HTML by feedparser's own test
(tests/feeds/test_rendering.py compares both paths on each shape). Item keys do not depend on which parser ran
(tests/feeds/test_parser.py checks both agree on whole feeds), so a feed that changes path between two
fetches does not repost its items.

JSON Feed: feedparser has no reader; fastfeedparser's keeps numeric ids as numbers and applies other
rules than ours for summary and images. The format is small enough to read here with the same rules as
the XML paths.

Items come oldest first. Summaries are converted to Discord markdown on first use (FeedItem.summary_markdown):
conversion costs more than parsing, and only new items are ever shown.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import json
import logging
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any
from urllib.parse import urljoin, urlsplit

import fastfeedparser
import feedparser

from bot.feeds.markdown import (
    collapse_spaces,
    html_to_markdown,
    html_to_text,
    looks_like_html,
    plain_text_to_html,
)

log = logging.getLogger(__name__)

SUMMARY_MAX_LENGTH = 1000
# Longer guids are hashed into the key so a hostile feed cannot bloat the seen-items table.
MAX_KEY_LENGTH = 512


class FeedParseError(Exception):
    """The document is not a feed Agora can read; the message is fit to show a moderator."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FeedItem:
    """One article of a feed, in the terms Agora posts it.

    summary_markdown is derived from summary_html on first use: a poll cycle parses every item of every
    changed feed but posts only the new ones, and HTML conversion costs more than parsing.
    """

    key: str
    guid: str | None
    link: str | None
    title: str
    summary_html: str = field(repr=False)
    author: str | None
    published: datetime | None
    image_url: str | None
    base_url: str = field(default="", repr=False, compare=False)
    position: int = field(default=0, repr=False, compare=False)  # 0 = listed first in the document
    categories: tuple[str, ...] = field(default=(), compare=False)
    # False for fast-path HTML, which is sanitised on first use the way feedparser sanitises its own.
    sanitized: bool = field(default=True, repr=False, compare=False)

    @cached_property
    def summary_markdown(self) -> str:
        """The summary as Discord markdown, capped at SUMMARY_MAX_LENGTH at a word boundary."""
        return html_to_markdown(self.summary_html, self.base_url, SUMMARY_MAX_LENGTH, sanitize=not self.sanitized)


@dataclass(frozen=True)
class ParsedFeed:
    """A feed's title and link with its items oldest first."""

    title: str
    link: str | None
    items: list[FeedItem]
    parsed_by: str = "fastfeedparser"


def parse_feed(body: bytes, base_url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse a fetched feed document; relative links resolve against base_url (the final fetch URL).

    content_type is the HTTP Content-Type, whose charset matters for documents that declare none.
    """
    if not body or not body.strip():
        raise FeedParseError("The feed is empty: the server sent no content.")
    if _looks_like_json(body):
        return parse_json_feed(body, base_url)
    if not _declares_foreign_charset(content_type):
        fast = parse_with_fastfeedparser(body, base_url)
        if fast is not None:
            return fast
    return parse_with_feedparser(body, base_url, content_type)


def _declares_foreign_charset(content_type: str | None) -> bool:
    """An HTTP charset other than UTF-8, which only feedparser applies."""
    match = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", content_type or "", re.IGNORECASE)
    return match is not None and match.group(1).lower() not in ("utf-8", "utf8", "us-ascii", "ascii")


# --- fast path -------------------------------------------------------------------------------------

# Constructs fastfeedparser reads differently from the specs (measured on the feedparser corpus):
# Atom xhtml text constructs come back empty, base64 content stays encoded, xml:base is ignored,
# iTunes item images are skipped, a media:title before <title> replaces it, and an RSS item with both
# <summary> and <description> keeps the wrong one. Documents using them go to feedparser.
_FAST_PATH_UNSUPPORTED = re.compile(
    rb"""type\s*=\s*["'](?:xhtml|application/xhtml\+xml|application/octet-stream)["']"""
    rb"""|mode\s*=\s*["']base64["']|xml:base|itunes:image|<media:title\b"""
)
# Substrings one of which every match above contains: a cheap first pass over the lowercased body.
_UNSUPPORTED_HINTS = (b"xhtml", b"octet-stream", b"base64", b"xml:base", b"itunes:image", b"<media:title")
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*\bencoding\s*=""")


def _fast_path_unsupported(body: bytes, lowered: bytes) -> bool:
    if any(hint in lowered for hint in _UNSUPPORTED_HINTS) and _FAST_PATH_UNSUPPORTED.search(lowered):
        return True
    if b"<summary" in lowered and b"<description" in lowered:
        return True
    # Undeclared encodings: fastfeedparser decodes as UTF-8 with replacement characters, feedparser
    # uses the HTTP charset and its own detection.
    if not body.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) and not (
        _DECLARED_ENCODING.match(body) or _is_utf8(body)
    ):
        return True
    return _has_lookalike_elements(lowered)


# An element from another namespace named like an item's own field (itunes:title, atom:id, foo:link...):
# fastfeedparser may read it as the real field, feedparser keeps them apart, so such documents go to
# feedparser. media:description is read alike by both. Only items count: a channel's atom:link rel="self"
# is in most RSS feeds and harmless.
# The pattern starts at the colon, which sre finds quickly; the prefix is checked on the few matches.
_LOOKALIKE_LOCAL_NAME = re.compile(
    rb":(?:title|link|description|guid|id|summary|author|pubdate|published|updated)[\s/>]"
)
_LOOKALIKE_PREFIX = re.compile(rb"<[a-z_][\w.-]*\Z")
# A guid that is not a permalink must never become the link; fastfeedparser makes it one when an item has none.
_NOT_PERMALINK = re.compile(rb"""ispermalink\s*=\s*["']false["']""")
# One pattern per element: a literal prefix lets sre skip through the document quickly.
_TEXT_CONSTRUCTS = {name: re.compile(rb"<" + name + rb"\b([^>]*)>") for name in (b"title", b"summary")}
_TITLE_WITH_ATTRIBUTES = re.compile(rb"<title[^>]")
_TYPE_ATTRIBUTE = re.compile(rb"""\btype\s*=\s*["']([^"']*)["']""")
_HTML_TYPES = frozenset({b"html", b"text/html"})
_TEXT_TYPES = frozenset({b"text", b"text/plain"})


@dataclass(frozen=True)
class _DeclaredTypes:
    """How a fast-path document declares its titles and summaries (fastfeedparser reports neither).

    None means undeclared in RSS, where feedparser guesses; Atom's undeclared type is text.
    """

    atom: bool
    channel_title_html: bool | None
    title_html: bool | None
    summary_html: bool | None


def _declared_types(lowered: bytes) -> _DeclaredTypes | None:
    """The items' one declared type per construct, or None when items disagree: only feedparser can then
    tell which is which."""
    atom = re.search(rb"<feed[\s>]", lowered[:8192]) is not None
    if _TITLE_WITH_ATTRIBUTES.search(lowered) is None and b"<summary" not in lowered:
        undeclared = False if atom else None  # the common case, without a regex over the whole document
        return _DeclaredTypes(atom, undeclared, undeclared, undeclared)
    found = _construct_types(lowered, _first_item(lowered), atom)
    if found is None:
        return None
    channel, items = found
    if len(items[b"title"]) > 1 or len(items[b"summary"]) > 1:
        return None
    return _DeclaredTypes(
        atom=atom,
        channel_title_html=next(iter(channel[b"title"]), None),
        title_html=next(iter(items[b"title"]), None),
        summary_html=next(iter(items[b"summary"]), None),
    )


_Found = dict[bytes, set[bool | None]]


def _construct_types(lowered: bytes, items_start: int, atom: bool) -> tuple[_Found, _Found] | None:
    """The declared types of titles and summaries, for the channel and for the items apart."""
    channel: _Found = {b"title": set(), b"summary": set()}
    items: _Found = {b"title": set(), b"summary": set()}
    for name, pattern in _TEXT_CONSTRUCTS.items():
        for match in pattern.finditer(lowered):
            attributes = match.group(1)
            declared = _TYPE_ATTRIBUTE.search(attributes) if attributes else None
            if declared is not None and declared.group(1) not in _HTML_TYPES | _TEXT_TYPES:
                return None
            kind = (False if atom else None) if declared is None else declared.group(1) in _HTML_TYPES
            (channel if match.start() < items_start else items)[name].add(kind)
    return channel, items


def _has_non_permalink_guid(lowered: bytes) -> bool:
    return b"permalink" in lowered and _NOT_PERMALINK.search(lowered) is not None


def _first_item(lowered: bytes) -> int:
    starts = [lowered.find(tag) for tag in (b"<item", b"<entry")]
    return min((start for start in starts if start >= 0), default=len(lowered))


def _has_lookalike_elements(lowered: bytes) -> bool:
    start = _first_item(lowered)
    for match in _LOOKALIKE_LOCAL_NAME.finditer(lowered, start):
        element = _LOOKALIKE_PREFIX.search(lowered, max(start, match.start() - 64), match.start())
        if element is not None and not lowered.startswith(b"media:description", element.start() + 1):
            return True
    return False


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def parse_with_fastfeedparser(body: bytes, base_url: str) -> ParsedFeed | None:
    """Parse with fastfeedparser, or None when the document needs feedparser's stricter reading."""
    lowered = body.lower()
    declared = _declared_types(lowered)
    if declared is None or _fast_path_unsupported(body, lowered):
        return None
    try:
        result = fastfeedparser.parse(body)
    except Exception as exc:  # noqa: BLE001 — any failure means "let feedparser try"
        log.debug("fastfeedparser could not read the document: %s", exc)
        return None
    entries = result.get("entries") or []
    if not entries or not all(_fast_entry_has_content(entry) for entry in entries):
        return None
    if _has_non_permalink_guid(lowered) and any(entry.get("link") and entry.get("link") == entry.get("id")
                                                for entry in entries):  # fmt: skip
        return None  # is that link the item's own, or its non-permalink guid? Only feedparser knows.
    channel = result.get("feed") or {}
    items = [_item_from_fast_entry(entry, base_url, position, declared) for position, entry in enumerate(entries)]
    if b"media:description" in body and not all(item.summary_html for item in items):
        # fastfeedparser keeps a media:description only beside a media:content; feedparser always does.
        return None
    return ParsedFeed(
        title=_typed_title(channel.get("title") or "", declared.channel_title_html),
        link=_absolute_link(channel.get("link"), base_url),
        items=_oldest_first(items),
        parsed_by="fastfeedparser",
    )


def _fast_entry_has_content(entry: Mapping[str, Any]) -> bool:
    content = (entry.get("content") or [{}])[0]
    return bool(content.get("value")) or any(entry.get(name) for name in ("title", "link", "id", "description"))


def _item_from_fast_entry(entry: Mapping[str, Any], base_url: str, position: int, declared: _DeclaredTypes) -> FeedItem:
    summary_html = _fast_summary_html(entry, declared)
    guid, link = entry.get("id"), _alternate_link(entry)
    if guid and guid == entry.get("link") and link != guid:
        # fastfeedparser fills a missing id with whatever link it found first, enclosures included.
        guid = None
    if not link and isinstance(guid, str) and guid.startswith(("http://", "https://")):
        link = guid  # as feedparser does: an item without a link is reached through its URL id
    return _build_item(
        guid=guid,
        link=_absolute_link(link, base_url),
        title=_typed_title(entry.get("title") or "", declared.title_html),
        summary_html=summary_html,
        author=entry.get("author"),
        published=_iso_datetime(entry.get("published")) or _iso_datetime(entry.get("updated")),
        image_url=_first_image(_fast_image_candidates(entry), summary_html, entry, base_url),
        base_url=base_url,
        position=position,
        categories=_categories(entry.get("tags")),
        sanitized=False,
    )


def _typed_title(text: str, is_html: bool | None) -> str:
    """A title read as feedparser reads it: by its declared type, else (RSS) by feedparser's guess."""
    if is_html is None:
        return _text_of_unknown_type(text)
    return html_to_text(text) if is_html else collapse_spaces(text)


def _fast_summary_html(entry: Mapping[str, Any], declared: _DeclaredTypes) -> str:
    """The item's own summary as HTML, falling back to its content.

    fastfeedparser fills 'description' from the content when an item has none; that text is stripped
    of links and cut at 512 characters, so the content itself is the better source then. An RSS
    description is HTML whatever it holds (feedparser's rule: a description that is only a <blockquote>,
    <table> or <iframe> is markup, not text); an Atom summary is what it declares, text by default.
    """
    description = entry.get("description") or ""
    from_media = not description and bool(entry.get("media_content"))
    if from_media:
        description = entry["media_content"][0].get("description") or ""
    content = (entry.get("content") or [{}])[0]
    content_value = content.get("value") or ""
    if content_value and (not description or _is_synthesized(description, content_value)):
        if content.get("type") in ("text", "text/plain"):
            return plain_text_to_html(content_value)
        return content_value
    if declared.atom:
        is_html = bool(declared.summary_html)
    else:
        is_html = not from_media or looks_like_html(description)
    return description if is_html else plain_text_to_html(description)


def _is_synthesized(description: str, content_html: str) -> bool:
    """Whether fastfeedparser made the description up from the content: its tags replaced by spaces
    (the text of scripts and styles included), entities decoded, whitespace collapsed."""
    if "<" in description or len(description) > 512:
        return False
    head = description[:200]
    stripped = collapse_spaces(html.unescape(_TAGS.sub(" ", content_html[:2048])))
    return stripped.startswith(head) or html_to_text(content_html[:4096]).startswith(head)


def _fast_image_candidates(entry: Mapping[str, Any]) -> Iterable[str | None]:
    for enclosure in entry.get("enclosures") or []:
        if str(enclosure.get("type") or "").startswith("image/"):
            yield enclosure.get("url")
    for link in entry.get("links") or []:
        if link.get("rel") == "enclosure" and str(link.get("type") or "").startswith("image/"):
            yield link.get("href")
    media = entry.get("media_content") or []
    for medium in media:
        if medium.get("medium") == "image" or str(medium.get("type") or "").startswith("image/"):
            yield medium.get("url")
    for medium in media:
        yield medium.get("thumbnail_url")


# --- robust path -----------------------------------------------------------------------------------


def parse_with_feedparser(body: bytes, base_url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse with feedparser, which reads ill-formed XML and every RSS/Atom dialect."""
    # No content-location: feedparser would resolve guids against it, and keys must not depend on the
    # fetch URL. Links are resolved here instead; xml:base in the document still applies.
    headers = {"content-type": content_type or "application/xml"}
    result = feedparser.parse(body, response_headers=headers)
    channel = result.get("feed") or {}
    entries = result.get("entries") or []
    if not result.get("version") and not entries:
        raise FeedParseError(_unreadable_message(body, result.get("bozo_exception")))
    items = [_item_from_feedparser_entry(entry, base_url, position) for position, entry in enumerate(entries)]
    return ParsedFeed(
        title=_text_of_detail(channel.get("title_detail"), channel.get("title")),
        link=_absolute_link(channel.get("link"), base_url),
        items=_oldest_first(items),
        parsed_by="feedparser",
    )


def _item_from_feedparser_entry(entry: Mapping[str, Any], base_url: str, position: int) -> FeedItem:
    summary_html = _feedparser_summary_html(entry)
    return _build_item(
        guid=entry.get("id"),
        link=_absolute_link(_alternate_link(entry), base_url),
        title=_text_of_detail(entry.get("title_detail"), entry.get("title")),
        summary_html=summary_html,
        author=entry.get("author"),
        published=_struct_time_datetime(entry.get("published_parsed") or entry.get("updated_parsed")),
        image_url=_first_image(_feedparser_image_candidates(entry), summary_html, entry, base_url),
        base_url=base_url,
        position=position,
        categories=_categories(entry.get("tags")),
    )


def _feedparser_summary_html(entry: Mapping[str, Any]) -> str:
    detail = entry.get("summary_detail")
    if not detail and entry.get("content"):
        detail = entry["content"][0]
    if not detail:
        return ""
    value = detail.get("value") or ""
    return value if _is_html_type(detail.get("type")) else plain_text_to_html(value)


def _feedparser_image_candidates(entry: Mapping[str, Any]) -> Iterable[str | None]:
    for enclosure in entry.get("enclosures") or []:
        if str(enclosure.get("type") or "").startswith("image/"):
            yield enclosure.get("href") or enclosure.get("url")
    for medium in entry.get("media_content") or []:
        if medium.get("medium") == "image" or str(medium.get("type") or "").startswith("image/"):
            yield medium.get("url")
    for thumbnail in entry.get("media_thumbnail") or []:
        yield thumbnail.get("url")
    image = entry.get("image")
    if isinstance(image, Mapping):
        yield image.get("href")


def _text_of_detail(detail: Mapping[str, Any] | None, value: str | None) -> str:
    if detail:
        text = detail.get("value") or ""
        return html_to_text(text) if _is_html_type(detail.get("type")) else collapse_spaces(text)
    return _text_of_unknown_type(value or "")


def _is_html_type(content_type: str | None) -> bool:
    return content_type not in ("text/plain", "text")


def _struct_time_datetime(value: time.struct_time | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, OSError):
        return None


_FEED_LINK = re.compile(
    rb"""<link\b[^>]*\btype\s*=\s*["']application/(?:rss|atom|feed)\+(?:xml|json)["'][^>]*>""",
    re.IGNORECASE,
)
_HREF = re.compile(rb"""\bhref\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


def _unreadable_message(body: bytes, error: object) -> str:
    """Explain why a document is not a feed, pointing at the page's own feed when it advertises one."""
    head = body[:4096].lower()
    if b"<html" in head or b"<!doctype html" in head:
        advertised = _advertised_feed(body)
        hint = f" The page names a feed at {advertised}." if advertised else ""
        return f"That address is a web page, not a feed.{hint} Use the site's RSS, Atom or JSON Feed link."
    if not re.sub(rb"<!--.*?-->|<\?xml[^>]*\?>", b"", body, flags=re.DOTALL).strip():
        return "The feed is empty: the document has no content."
    detail = f" ({error})" if error else ""
    return f"The document is not a feed Agora can read: it is not well-formed RSS or Atom{detail}."


def _advertised_feed(body: bytes) -> str | None:
    link = _FEED_LINK.search(body[:65536])
    href = _HREF.search(link.group(0)) if link else None
    return href.group(1).decode("utf-8", "replace") if href else None


# --- JSON Feed -------------------------------------------------------------------------------------


def _looks_like_json(body: bytes) -> bool:
    return body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def parse_json_feed(body: bytes, base_url: str) -> ParsedFeed:
    """Read a JSON Feed 1.0 or 1.1 document (https://jsonfeed.org/version/1.1)."""
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedParseError(f"The document looks like JSON but cannot be read: {exc}.") from exc
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        raise FeedParseError("The document is JSON but not a JSON Feed: it has no list of items.")
    entries = [entry for entry in document["items"] if isinstance(entry, dict)]
    items = [_item_from_json(entry, base_url, position) for position, entry in enumerate(entries)]
    return ParsedFeed(
        title=collapse_spaces(_json_str(document.get("title"))),
        link=_absolute_link(document.get("home_page_url"), base_url),
        items=_oldest_first(items),
        parsed_by="json",
    )


def _item_from_json(entry: Mapping[str, Any], base_url: str, position: int) -> FeedItem:
    summary_html = _json_summary_html(entry)
    guid = entry.get("id")
    return _build_item(
        # Many JSON feeds write numeric ids though the spec asks for strings.
        guid=str(guid) if isinstance(guid, int | float | str) and not isinstance(guid, bool) else None,
        link=_absolute_link(entry.get("url") or entry.get("external_url"), base_url),
        title=collapse_spaces(_json_str(entry.get("title"))),
        summary_html=summary_html,
        author=_json_author(entry),
        published=_iso_datetime(entry.get("date_published")) or _iso_datetime(entry.get("date_modified")),
        image_url=_first_image(_json_image_candidates(entry), summary_html, entry, base_url),
        base_url=base_url,
        position=position,
        categories=_categories(entry.get("tags")),
    )


def _json_summary_html(entry: Mapping[str, Any]) -> str:
    if summary := _json_str(entry.get("summary")):
        return plain_text_to_html(summary)
    if content_html := _json_str(entry.get("content_html")):
        return content_html
    return plain_text_to_html(_json_str(entry.get("content_text")))


def _json_author(entry: Mapping[str, Any]) -> str | None:
    authors = entry.get("authors")
    author = authors[0] if isinstance(authors, list) and authors else entry.get("author")
    return _json_str(author.get("name")) or None if isinstance(author, dict) else None


def _json_image_candidates(entry: Mapping[str, Any]) -> Iterable[str | None]:
    yield _json_str(entry.get("image"))
    yield _json_str(entry.get("banner_image"))
    for attachment in entry.get("attachments") or []:
        if isinstance(attachment, dict) and _json_str(attachment.get("mime_type")).startswith("image/"):
            yield _json_str(attachment.get("url"))


def _json_str(value: object) -> str:
    return value if isinstance(value, str) else ""


# --- shared item building --------------------------------------------------------------------------


def _build_item(
    *,
    guid: object,
    link: str | None,
    title: str,
    summary_html: str,
    author: object,
    published: datetime | None,
    image_url: str | None,
    base_url: str,
    position: int,
    categories: tuple[str, ...] = (),
    sanitized: bool = True,
) -> FeedItem:
    guid_text = guid.strip() if isinstance(guid, str) and guid.strip() else None
    return FeedItem(
        key=item_key(guid_text, link, title, summary_html),
        guid=guid_text,
        link=link,
        title=title,
        summary_html=summary_html,
        author=display_author(author) if isinstance(author, str) else None,
        published=published,
        image_url=image_url,
        base_url=base_url,
        position=position,
        categories=categories,
        sanitized=sanitized,
    )


MAX_CATEGORIES = 20


def _categories(tags: object) -> tuple[str, ...]:
    """Category names: feedparser and fastfeedparser give {'term': ...} dicts, JSON Feed plain strings."""
    if not isinstance(tags, list):
        return ()
    names = (tag.get("term") if isinstance(tag, Mapping) else tag for tag in tags[:MAX_CATEGORIES])
    return tuple(collapse_spaces(name) for name in names if isinstance(name, str) and name.strip())


def item_key(guid: str | None, link: str | None, title: str, summary_html: str) -> str:
    """The item's identity across fetches: its guid, else its link, else a hash of its text.

    The guid is taken as the document writes it, never resolved against the fetch URL: a feed that
    starts redirecting to https must not make every item look new.
    """
    identity = guid or link
    if identity and len(identity) <= MAX_KEY_LENGTH:
        return identity
    if identity:
        return "sha256:" + hashlib.sha256(identity.encode()).hexdigest()
    text = f"{collapse_spaces(title).casefold()}\n{_summary_fingerprint(summary_html)}"
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


_TAGS = re.compile(r"<[^>]*>")
# What feedparser's sanitiser removes with its content; the fast path's HTML still has it.
_SCRIPT_OR_STYLE = re.compile(r"<(script|style|applet)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


def _summary_fingerprint(summary_html: str) -> str:
    # Cheap and parser-independent: both parsers must derive the same key for the same item.
    if "<" in summary_html:
        summary_html = _SCRIPT_OR_STYLE.sub(" ", summary_html)
    return collapse_spaces(html.unescape(_TAGS.sub(" ", summary_html))).casefold()


_AUTHOR_WITH_EMAIL = (
    re.compile(r"^\s*(?P<email>[^\s()<>]+@[^\s()<>]+)\s*\((?P<name>[^()]+)\)\s*$"),
    re.compile(r"^\s*(?P<name>[^()<>]+?)\s*\((?P<email>[^\s()<>]+@[^\s()<>]+)\)\s*$"),
    re.compile(r"^\s*(?P<name>[^<>]+?)\s*<(?P<email>[^\s<>]+@[^\s<>]+)>\s*$"),
)


def display_author(raw: str) -> str | None:
    """The author's name for a byline: 'me@x (Name)', 'Name (me@x)' and 'Name <me@x>' give 'Name'."""
    text = collapse_spaces(html_to_text(raw) if looks_like_html(raw) else raw)
    for pattern in _AUTHOR_WITH_EMAIL:
        if match := pattern.match(text):
            return match.group("name").strip()
    return text or None


def _alternate_link(entry: Mapping[str, Any]) -> str | None:
    """The item's web page: its first alternate link, never an enclosure's or a 'related' one."""
    links = [link for link in entry.get("links") or [] if isinstance(link, Mapping)]
    for link in links:
        if link.get("rel") in (None, "", "alternate") and link.get("href"):
            return link["href"]
    fallback = entry.get("link")
    return None if fallback in {link.get("href") for link in links} else fallback


def _text_of_unknown_type(text: str) -> str:
    """Plain text of a title whose markup type the parser did not report."""
    return html_to_text(text) if looks_like_html(text) else collapse_spaces(text)


def _absolute_link(value: object, base_url: str) -> str | None:
    """An absolute http(s) URL resolved against base_url, or None for other schemes and garbage."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if value.startswith(("https://", "http://")) and " " not in value:
        return value  # the common case, without urljoin's cost (it dominated parse time)
    if not value:
        return None
    try:
        absolute = urljoin(base_url, value)
        scheme = urlsplit(absolute).scheme.lower()
    except ValueError:
        return None
    return absolute if scheme in ("http", "https") else None


def _iso_datetime(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return _parse_date_text(value)
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _parse_date_text(value: str) -> datetime | None:
    """Dates in any format feedparser knows (RFC 822, W3CDTF, asctime, and regional forms)."""
    # feedparser has no public single-date entry point; this one has been stable through 6.x.
    parsed = feedparser.datetimes._parse_date(value)
    return _struct_time_datetime(parsed)


_IMG_SRC = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+))""", re.IGNORECASE)


def _first_image(
    candidates: Iterable[str | None], summary_html: str, entry: Mapping[str, Any], base_url: str
) -> str | None:
    """The item's picture: enclosure/media images first, else the first <img> in its HTML."""
    for candidate in candidates:
        if url := _absolute_link(candidate, base_url):
            return url
    sources = [summary_html]
    content = entry.get("content")
    if isinstance(content, list) and content and isinstance(content[0], Mapping):
        sources.append(content[0].get("value") or "")
    elif isinstance(entry.get("content_html"), str):
        sources.append(entry["content_html"])
    for source in sources:
        if match := _IMG_SRC.search(source):
            src = next(group for group in match.groups() if group is not None)
            if url := _absolute_link(html.unescape(src), base_url):
                return url
    return None


def _oldest_first(items: list[FeedItem]) -> list[FeedItem]:
    """Oldest first: by date when every item has one, else reversed document order (feeds list newest
    first). A partial date order would interleave dated and undated items arbitrarily."""
    chronological = sorted(items, key=lambda item: -item.position)
    if chronological and all(item.published for item in chronological):
        # Stable: items published at the same instant keep reversed document order.
        chronological.sort(key=lambda item: item.published or datetime.min.replace(tzinfo=UTC))
    return chronological
