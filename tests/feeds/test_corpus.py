"""Every document of the feedparser corpus goes through the real fetcher and parser.

A document may be refused with FeedParseError only when feedparser itself calls it ill-formed and its
header states nothing about Agora's fields; anything else must parse, and every expectation the header
states about a field Agora uses (see tests/feeds/corpus.py) must hold.
"""

from __future__ import annotations

import functools

import pytest

from bot.feeds.fetcher import FeedFetcher
from bot.feeds.parser import FeedParseError, ParsedFeed, parse_feed
from tests.fakes.feed_server import FeedServer
from tests.feeds.corpus import CorpusDocument, Interpretation, corpus_documents, interpret

DOCUMENTS = corpus_documents()
# Links in the corpus are absolute; the base only matters for relative ones, which the checks resolve too.
BASE = "http://127.0.0.1/corpus/"


@functools.cache
def interpretation(name: str) -> Interpretation:
    document = next(document for document in DOCUMENTS if document.name == name)
    return interpret(document, BASE + name)


@pytest.fixture
async def corpus_fetcher():
    async with FeedFetcher(allow_private=True, total_timeout=10.0) as fetcher:
        yield fetcher


@pytest.mark.parametrize("document", DOCUMENTS, ids=[document.name for document in DOCUMENTS])
async def test_corpus_document_fetches_parses_and_meets_its_expectations(
    document: CorpusDocument, feed_server: FeedServer, corpus_fetcher: FeedFetcher
) -> None:
    result = await corpus_fetcher.fetch(feed_server.url(f"/corpus/{document.name}"))
    assert result.body == document.body
    checks = interpretation(document.name).checks
    try:
        parsed = parse_feed(result.body, BASE + document.name, result.content_type)
    except FeedParseError as error:
        assert document.expects_bozo and not checks, f"refused a readable document: {error.message}"
        return
    assert isinstance(parsed, ParsedFeed)
    failures = [
        f"{check.source}: {check.field} expected {check.expected!r}, got {check.actual(parsed)!r}"
        for check in checks
        if check.actual(parsed) != check.expected
    ]
    assert not failures, failures


def test_corpus_expectations_cover_agoras_fields() -> None:
    """The interpreter must keep finding the expectations it was written for (printed with -s)."""
    counts = {"documents": len(DOCUMENTS), "with_checks": 0, "checks": 0, "not_applicable_parts": 0}
    fields: dict[str, int] = {}
    for document in DOCUMENTS:
        found = interpretation(document.name)
        counts["with_checks"] += bool(found.checks)
        counts["checks"] += len(found.checks)
        counts["not_applicable_parts"] += len(found.not_applicable)
        for check in found.checks:
            fields[check.field] = fields.get(check.field, 0) + 1
    print(f"\nfeedparser corpus: {counts}; checks by field: {dict(sorted(fields.items()))}")
    assert counts["documents"] == 521
    assert counts["checks"] >= 110
    assert set(fields) == {"title", "link", "guid", "summary_markdown", "author", "published", "image_url"}
