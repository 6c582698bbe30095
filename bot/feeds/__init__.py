"""Feeds: URL validation, fetching, parsing and HTML→markdown, as plain Python without Discord."""

from bot.feeds.fetcher import FeedFetcher, FeedFetchError, FetchErrorKind, FetchResult
from bot.feeds.markdown import html_to_markdown, html_to_text
from bot.feeds.parser import FeedItem, FeedParseError, ParsedFeed, parse_feed
from bot.feeds.urls import InvalidFeedUrl, validate_feed_url

__all__ = [
    "FeedFetchError",
    "FeedFetcher",
    "FeedItem",
    "FeedParseError",
    "FetchErrorKind",
    "FetchResult",
    "InvalidFeedUrl",
    "ParsedFeed",
    "html_to_markdown",
    "html_to_text",
    "parse_feed",
    "validate_feed_url",
]
