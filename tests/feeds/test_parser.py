from dataclasses import astuple
from datetime import UTC, datetime

import pytest

from bot.feeds.parser import (
    FeedItem,
    FeedParseError,
    ParsedFeed,
    display_author,
    item_key,
    parse_feed,
    parse_with_fastfeedparser,
    parse_with_feedparser,
)
from tests.fakes.feed_server import FIXTURES
from tests.feeds.samples import atom_document, rss_document

CORPUS = FIXTURES.parent / "feedparser-tests"

BASE = "https://news.example.com/feeds/main.xml"


def parse_fixture(name: str, base_url: str = BASE, content_type: str | None = None) -> ParsedFeed:
    return parse_feed((FIXTURES / name).read_bytes(), base_url, content_type)


def at(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)


def comparable(item: FeedItem) -> tuple[object, ...]:
    return (*astuple(item)[:8], item.summary_markdown)


@pytest.fixture(scope="module")
def rss_feed() -> ParsedFeed:
    return parse_fixture("rss20_news.xml")


@pytest.fixture(scope="module")
def atom_feed() -> ParsedFeed:
    return parse_fixture("atom10_blog.xml")


class TestRss20:
    @pytest.fixture
    def feed(self, rss_feed: ParsedFeed) -> ParsedFeed:
        return rss_feed

    def test_channel(self, feed: ParsedFeed) -> None:
        assert feed.title == "Agora Test News & Views"
        assert feed.link == "https://news.example.com/news/"

    def test_items_are_oldest_first(self, feed: ParsedFeed) -> None:
        assert [item.title for item in feed.items] == [
            "Market day moves to Saturday",
            "Bridge reopens after repairs",
            "Council approves the new budget",
        ]

    def test_item_with_guid_and_relative_link(self, feed: ParsedFeed) -> None:
        budget = feed.items[2]
        assert budget.guid == "agora-news-3"
        assert budget.key == "agora-news-3"
        assert budget.link == "https://news.example.com/news/2024/06/budget"
        assert budget.author == "Jane Doe"
        assert budget.published == at(2024, 6, 4, 7, 30)
        assert budget.image_url == "https://news.example.com/img/budget.jpg"

    def test_summary_prefers_description_over_full_content(self, feed: ParsedFeed) -> None:
        assert feed.items[2].summary_markdown == (
            "The council **approved** the budget after a *long* debate. "
            "[Read the debate](https://news.example.com/news/2024/06/debate).\n\nVote: 7 to 2."
        )

    def test_image_enclosure_and_email_author(self, feed: ParsedFeed) -> None:
        bridge = feed.items[1]
        assert bridge.image_url == "https://news.example.com/img/bridge.jpg"
        assert bridge.author == "John Smith"
        assert bridge.summary_markdown == 'The bridge reopened on Monday. Traffic is "flowing again".'

    def test_media_content_image_and_list_summary(self, feed: ParsedFeed) -> None:
        market = feed.items[0]
        assert market.image_url == "https://cdn.example.com/market.jpg"
        assert market.summary_markdown == "- Saturdays from 8:00\n- Town square"

    def test_item_without_guid_is_keyed_by_link(self, feed: ParsedFeed) -> None:
        assert feed.items[0].key == "https://news.example.com/2024/06/market"

    def test_dates_are_aware_utc(self, feed: ParsedFeed) -> None:
        assert all(item.published and item.published.tzinfo is UTC for item in feed.items)


class TestAtom10:
    @pytest.fixture
    def feed(self, atom_feed: ParsedFeed) -> ParsedFeed:
        return atom_feed

    def test_feed(self, feed: ParsedFeed) -> None:
        assert (feed.title, feed.link) == ("Agora Test Blog", "https://blog.example.org/")

    def test_html_title_becomes_text_and_text_title_keeps_brackets(self, feed: ParsedFeed) -> None:
        assert [item.title for item in feed.items] == ["Plain <text> title", "Why we moved to Atom"]

    def test_entry_fields(self, feed: ParsedFeed) -> None:
        entry = feed.items[1]
        assert entry.key == entry.guid == "tag:blog.example.org,2024:post-2"
        assert entry.link == "https://news.example.com/feeds/posts/why-atom"
        assert entry.published == at(2024, 6, 5, 8, 0)
        assert entry.author == "Ada Writer"
        assert entry.image_url == "https://blog.example.org/img/atom.png"
        assert entry.summary_markdown == "A short **summary** with a [relative link](https://news.example.com/about)."

    def test_entry_without_summary_uses_content_and_updated_date(self, feed: ParsedFeed) -> None:
        entry = feed.items[0]
        assert entry.summary_markdown == "Only content, no summary."
        assert entry.image_url == "https://news.example.com/img/plain.gif"
        assert entry.published == at(2024, 6, 1, 13, 15)


def test_atom03() -> None:
    feed = parse_fixture("atom03.xml")
    assert feed.title == "Old Atom Feed"
    [entry] = feed.items
    assert (entry.key, entry.link) == ("tag:old.example.com,2004:1", "http://old.example.com/2004/01/entry")
    assert entry.published == at(2004, 1, 1, 17, 0)
    assert entry.summary_markdown == "Escaped *summary*."


def test_rss10_rdf() -> None:
    feed = parse_fixture("rss10_rdf.xml")
    assert feed.title == "RDF Site Summary"
    assert [(item.title, item.published) for item in feed.items] == [
        ("First RDF item", at(2024, 3, 1, 9, 0)),
        ("Second RDF item", at(2024, 3, 2, 9, 0)),
    ]
    assert feed.items[1].author == "R. Dee"


def test_rss091_latin1_without_dates_is_in_reverse_document_order() -> None:
    feed = parse_fixture("rss091.xml")
    assert feed.title == "Café News 0.91"
    assert [item.title for item in feed.items] == [
        "Oldest entry, listed last",
        "Middle entry",
        "Newest entry, listed first",
    ]
    assert feed.items[2].summary_markdown == "Crème brûlée"
    assert all(item.published is None for item in feed.items)


@pytest.mark.parametrize(
    ("guid", "published"),
    [
        ("d1", at(2024, 6, 5, 13, 0)),  # EST
        ("d2", at(2024, 6, 4, 23, 30)),  # no seconds
        ("d3", at(2024, 6, 3, 19, 0)),  # PDT, no weekday
        ("d4", at(2024, 6, 2, 6, 30)),  # dc:date with +05:30
        ("d5", at(2024, 6, 1, 6, 0)),  # no zone: taken as UTC
    ],
)
def test_date_formats_become_aware_utc(guid: str, published: datetime) -> None:
    items = {item.guid: item for item in parse_fixture("rss20_dates.xml").items}
    assert items[guid].published == published


class TestJsonFeed:
    def test_version_1_1(self) -> None:
        feed = parse_fixture("jsonfeed11.json")
        assert (feed.title, feed.link, feed.parsed_by) == ("Agora JSON Feed", "https://json.example.com/", "json")
        first, second = feed.items
        assert first.key == first.guid == "1"  # numeric id, as many JSON feeds write it
        assert first.summary_markdown == "A plain <summary> with brackets"
        assert first.image_url == "https://json.example.com/img/1.jpg"
        assert first.author is None
        assert second.link == "https://news.example.com/posts/2"
        assert second.published == at(2024, 5, 2, 16, 0)
        assert second.author == "Item Author"
        assert second.summary_markdown == "Hello [about](https://news.example.com/about)"
        assert second.image_url == "https://news.example.com/img/2.png"

    def test_version_1_0(self) -> None:
        feed = parse_fixture("jsonfeed10.json")
        untitled, text_only = feed.items
        assert untitled.title == "" and untitled.summary_markdown == "**No title**"
        assert text_only.author == "Singular Author"
        assert text_only.summary_markdown == "Line one\nLine two & more"
        assert text_only.published == at(2024, 4, 2, 10, 0)
        assert text_only.image_url == "https://news.example.com/pics/b.webp"
        assert text_only.link is None and text_only.key == "b"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("not_a_feed.html", "web page, not a feed. The page names a feed at https://news.example.com/feed.xml"),
        ("not_xml.txt", "not a feed Agora can read"),
        ("not_a_jsonfeed.json", "not a JSON Feed"),
    ],
)
def test_documents_that_are_not_feeds(name: str, message: str) -> None:
    with pytest.raises(FeedParseError, match=message):
        parse_fixture(name)


@pytest.mark.parametrize("body", [b"", b"   \n\t", b"<!-- only a comment -->", b'<?xml version="1.0"?>\n'])
def test_empty_documents(body: bytes) -> None:
    with pytest.raises(FeedParseError, match="empty"):
        parse_feed(body, BASE)


def test_broken_json() -> None:
    with pytest.raises(FeedParseError, match="looks like JSON"):
        parse_feed(b'{"version": "https://jsonfeed.org/version/1.1", "items": [', BASE)


def test_feed_with_no_items_is_a_feed() -> None:
    feed = parse_feed(b"<rss version='2.0'><channel><title>Quiet</title></channel></rss>", BASE)
    assert (feed.title, feed.items) == ("Quiet", [])


def test_truncated_xml_is_still_read() -> None:
    body = b"<rss version='2.0'><channel><title>Cut</title><item><title>Only item</title><link>http://a/1</link>"
    assert [item.title for item in parse_feed(body, BASE).items] == ["Only item"]


def test_xml_only_the_robust_parser_reads() -> None:
    body = b"<rss version='2.0'><item><title>An item outside any channel</title></item></rss>"
    feed = parse_feed(body, BASE)
    assert feed.parsed_by == "feedparser" and len(feed.items) == 1


def test_http_charset_is_applied_to_documents_without_a_declaration() -> None:
    body = "<rss version='2.0'><channel><title>Café</title><item><title>Crème</title></item></channel></rss>"
    feed = parse_feed(body.encode("latin-1"), BASE, "text/xml; charset=iso-8859-1")
    assert (feed.title, feed.items[0].title) == ("Café", "Crème")


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("koi8r.xml", "Как пережить новогоднюю ночь"),
        ("shiftjis.xml", "DrecomRSSに記事投稿が反映されない…"),
        ("euckr.xml", "EUC-KR 에서 TypeKey 한글닉네임 표시하기"),
        ("gb2312.xml", "不归移民漫画系列：专业工作"),
    ],
)
def test_undeclared_legacy_encodings_are_detected(name: str, title: str) -> None:
    """feedparser guesses the encoding with chardet (a dependency for this); without it these are mojibake."""
    body = (CORPUS / "illformed" / "chardet" / name).read_bytes()
    feed = parse_feed(body, BASE, "text/xml")
    assert [item.title for item in feed.items] == [title]


@pytest.mark.parametrize("document", [rss_document(50), atom_document(50)], ids=["rss", "atom"])
def test_fast_and_robust_parsers_agree_on_well_formed_feeds(document: bytes) -> None:
    fast = parse_with_fastfeedparser(document, BASE)
    robust = parse_with_feedparser(document, BASE)
    assert fast is not None
    assert (fast.title, fast.link) == (robust.title, robust.link)
    assert [comparable(item) for item in fast.items] == [comparable(item) for item in robust.items]


def test_well_formed_feed_takes_the_fast_path() -> None:
    assert parse_feed(rss_document(5), BASE).parsed_by == "fastfeedparser"


@pytest.mark.parametrize(
    "construct",
    [
        b'<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">x</div></content>',
        b'<summary type="application/octet-stream">eA==</summary>',
        b'<link xml:base="http://other.example/" href="x"/>',
    ],
)
def test_constructs_fastfeedparser_misreads_go_to_feedparser(construct: bytes) -> None:
    body = b"<feed xmlns='http://www.w3.org/2005/Atom'><entry><id>1</id><title>t</title>" + construct
    assert parse_feed(body + b"</entry></feed>", BASE).parsed_by == "feedparser"


def test_items_with_partial_dates_keep_reverse_document_order() -> None:
    body = (
        b"<rss version='2.0'><channel>"
        b"<item><guid>c</guid><pubDate>Mon, 03 Jun 2024 10:00:00 GMT</pubDate></item>"
        b"<item><guid>b</guid></item>"
        b"<item><guid>a</guid><pubDate>Sat, 01 Jun 2024 10:00:00 GMT</pubDate></item>"
        b"</channel></rss>"
    )
    assert [item.key for item in parse_feed(body, BASE).items] == ["a", "b", "c"]


def test_dated_items_are_sorted_by_date_whatever_the_document_order() -> None:
    body = (
        b"<rss version='2.0'><channel>"
        b"<item><guid>mid</guid><pubDate>Sun, 02 Jun 2024 10:00:00 GMT</pubDate></item>"
        b"<item><guid>new</guid><pubDate>Mon, 03 Jun 2024 10:00:00 GMT</pubDate></item>"
        b"<item><guid>old</guid><pubDate>Sat, 01 Jun 2024 10:00:00 GMT</pubDate></item>"
        b"</channel></rss>"
    )
    assert [item.key for item in parse_feed(body, BASE).items] == ["old", "mid", "new"]


def test_unsafe_links_are_dropped() -> None:
    body = b"<rss version='2.0'><channel><item><title>x</title><link>javascript:alert(1)</link></item></channel></rss>"
    [item] = parse_feed(body, BASE).items
    assert item.link is None


class TestItemKey:
    def test_guid_wins(self) -> None:
        assert item_key("guid-1", "https://a/1", "t", "s") == "guid-1"

    def test_link_when_no_guid(self) -> None:
        assert item_key(None, "https://a/1", "t", "s") == "https://a/1"

    def test_hash_of_normalised_text_when_neither(self) -> None:
        key = item_key(None, None, "  Big  News ", "<p>Some <b>text</b></p>")
        assert key.startswith("sha256:")
        assert key == item_key(None, None, "big news", "Some   text")
        assert key != item_key(None, None, "big news", "Other text")

    def test_overlong_guid_is_hashed(self) -> None:
        key = item_key("x" * 5000, None, "t", "s")
        assert key.startswith("sha256:") and len(key) == 71

    def test_key_does_not_depend_on_the_fetch_url(self) -> None:
        body = b"<rss version='2.0'><channel><item><guid>relative-id</guid></item></channel></rss>"
        keys = {parse_feed(body, base).items[0].key for base in ("http://a.example/f", "https://b.example/g")}
        assert keys == {"relative-id"}

    def test_same_key_whichever_parser_reads_the_document(self) -> None:
        body = b"<rss version='2.0'><channel><item><title>No id</title><description>d</description></item></channel>"
        body += b"</rss>"
        fast = parse_with_fastfeedparser(body, BASE)
        assert fast is not None
        assert fast.items[0].key == parse_with_feedparser(body, BASE).items[0].key


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("Jane Doe", "Jane Doe"),
        ("jane@example.com (Jane Doe)", "Jane Doe"),
        ("Jane Doe (jane@example.com)", "Jane Doe"),
        ("Jane Doe <jane@example.com>", "Jane Doe"),
        ("jane@example.com", "jane@example.com"),
        ("  ", None),
    ],
)
def test_display_author(raw: str, name: str | None) -> None:
    assert display_author(raw) == name


def test_summary_markdown_is_derived_once_and_capped() -> None:
    body = (
        "<rss version='2.0'><channel><item><guid>1</guid><description>"
        + "word " * 1000
        + "</description></item></channel></rss>"
    ).encode()
    [item] = parse_feed(body, BASE).items
    assert len(item.summary_markdown) <= 1000 and item.summary_markdown.endswith("…")
    assert item.summary_markdown is item.summary_markdown
