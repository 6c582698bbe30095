"""A feed item as an Article, so it is posted exactly like an uploaded article file."""

from __future__ import annotations

import re
from datetime import datetime

from bot.articles.article import Article
from bot.articles.parser import find_reader_question
from bot.feeds.markdown import collapse_spaces
from bot.feeds.parser import FeedItem

# Discord refuses embed URLs past 2048 characters; such a link is dropped rather than failing the post.
MAX_URL_LENGTH = 2000
_GLOBAL_ID = re.compile(r"^(?:https?|tag|urn):", re.IGNORECASE)
_MARKDOWN_MARKS = re.compile(r"[*_~`>#\[\]()]|\\")


def article_from_item(item: FeedItem, feed_url: str, source: str, *, key: str | None = None) -> Article:
    """The article Agora posts for a feed item (computes the item's markdown: call off the event loop).

    key is the item's identity under the subscription's setting (the parser's key by default).
    """
    paragraphs = tuple(part.strip() for part in item.summary_markdown.split("\n\n") if part.strip())
    return Article(
        title=item.title or _fallback_title(item, paragraphs),
        paragraphs=paragraphs,
        question=find_reader_question(list(paragraphs)),
        published=published_text(item.published),
        source_name=source,
        link=_usable_url(item.link),
        guid=article_guid(feed_url, key or item.key),
        image_url=_usable_url(item.image_url),
    )


def article_guid(feed_url: str, item_key: str) -> str:
    """The article's identity across Agora.

    URL, tag: and urn: ids name one story wherever it appears, so the same story from two feeds is one
    article (posted once per channel). Anything else ("42", a hash) only means something inside its
    own feed, so it is scoped to the feed's URL.
    """
    if _GLOBAL_ID.match(item_key):
        return item_key
    return f"{feed_url}#{item_key}"


def published_text(moment: datetime | None) -> str | None:
    return moment.strftime("%d %B %Y, %H:%M UTC").lstrip("0") if moment else None


def _fallback_title(item: FeedItem, paragraphs: tuple[str, ...]) -> str:
    """Items may have no title (microblogs, JSON Feed): their text's start, else their link."""
    if paragraphs:
        text = collapse_spaces(_MARKDOWN_MARKS.sub("", paragraphs[0]))
        if text:
            return text if len(text) <= 80 else text[:79].rsplit(" ", 1)[0] + "…"
    return item.link or "Untitled"


def _usable_url(url: str | None) -> str | None:
    return url if url and len(url) <= MAX_URL_LENGTH else None
