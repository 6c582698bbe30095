"""Feed parser figures: fastfeedparser vs feedparser vs Agora's parse_feed.

Run from the repository root:  .venv/bin/python bench/feed_parsers.py [--seconds 2]

Prints parses per second on a generated 50-item RSS 2.0 feed and 50-entry Atom feed (about 80 KB each,
shaped like news feeds), the time to parse the whole feedparser corpus, and how many of the corpus's
stated expectations on Agora's fields each approach meets. parse_feed's markdown is lazy, so it is shown
both without it (what a poll cycle pays for unchanged items) and with it for every item.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import fastfeedparser
import feedparser

from bot.feeds import parser
from tests.feeds.corpus import corpus_documents, interpret
from tests.feeds.samples import atom_document, rss_document

BASE = "https://news.example.com/feed"


def rate(work: Callable[[], object], seconds: float) -> float:
    """Calls per second, after one warm-up call."""
    work()
    calls, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        work()
        calls += 1
    return calls / elapsed


def with_markdown(document: bytes) -> Callable[[], object]:
    return lambda: [item.summary_markdown for item in parser.parse_feed(document, BASE).items]


def parsers_for(document: bytes) -> dict[str, Callable[[], object]]:
    return {
        "fastfeedparser.parse": lambda: fastfeedparser.parse(document),
        "feedparser.parse": lambda: feedparser.parse(document),
        "parse_feed": lambda: parser.parse_feed(document, BASE),
        "parse_feed + markdown": with_markdown(document),
    }


def print_generated(seconds: float) -> None:
    for name, document in (("RSS 2.0, 50 items", rss_document(50)), ("Atom 1.0, 50 entries", atom_document(50))):
        print(f"\n{name} ({len(document) / 1024:.0f} KB)")
        rates = {label: rate(work, seconds) for label, work in parsers_for(document).items()}
        slowest = rates["feedparser.parse"]
        for label, per_second in rates.items():
            print(
                f"  {label:24} {per_second:9.1f} parses/s  {1000 / per_second:8.2f} ms/feed  "
                f"{per_second / slowest:6.1f}x feedparser"
            )


def fastfeedparser_only(body: bytes, base: str) -> parser.ParsedFeed:
    """fastfeedparser through Agora's adapter with no fallback, to measure it alone."""
    result = fastfeedparser.parse(body)
    declared = parser._declared_types(body.lower()) or parser._DeclaredTypes(False, None, None, None)
    entries = enumerate(result.get("entries") or [])
    items = [parser._item_from_fast_entry(entry, base, n, declared) for n, entry in entries]
    channel = result.get("feed") or {}
    title = parser._typed_title(channel.get("title") or "", declared.channel_title_html)
    return parser.ParsedFeed(title, parser._absolute_link(channel.get("link"), base), items)


def print_corpus() -> None:
    documents = corpus_documents()
    print(f"\nfeedparser corpus ({len(documents)} documents)")
    approaches: dict[str, Callable[[bytes, str], object]] = {
        "fastfeedparser alone": fastfeedparser_only,
        "feedparser alone": parser.parse_with_feedparser,
        "parse_feed": parser.parse_feed,
    }
    interpretations = {document.name: interpret(document, BASE) for document in documents}
    total_checks = sum(len(found.checks) for found in interpretations.values())
    for label, parse in approaches.items():
        met = failed = refused = crashed = 0
        started = time.perf_counter()
        for document in documents:
            try:
                parsed = parse(document.body, BASE)
            except parser.FeedParseError:
                parsed, refused = None, refused + 1
            except Exception:
                parsed, crashed = None, crashed + 1
            for check in interpretations[document.name].checks:
                if parsed is not None and check.actual(parsed) == check.expected:
                    met += 1
                else:
                    failed += 1
        elapsed = time.perf_counter() - started
        print(
            f"  {label:22} {elapsed * 1000:7.0f} ms ({len(documents) / elapsed:6.0f} docs/s)  "
            f"expectations met {met}/{total_checks}  exceptions {crashed}  FeedParseError {refused}"
        )
    used = {"fastfeedparser": 0, "feedparser": 0, "json": 0, "refused": 0}
    for document in documents:
        try:
            used[parser.parse_feed(document.body, BASE).parsed_by] += 1
        except parser.FeedParseError:
            used["refused"] += 1
    print(f"  parse_feed paths taken: {used}")


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    options = arguments.parse_args()
    print(
        f"Python {sys.version.split()[0]}, fastfeedparser {fastfeedparser.__version__}, "
        f"feedparser {feedparser.__version__}"
    )
    print_generated(options.seconds)
    print_corpus()


if __name__ == "__main__":
    main()
