"""The article a reader sees is what feedparser's sanitised rendering gives, whichever path parsed the feed.

Each document is a shape found in real feeds. It is parsed by parse_feed (fast path when it can), and by
feedparser alone; both must give the same title, link and markdown, and the markdown must read right.
"""

from __future__ import annotations

import pytest

from bot.feeds.parser import ParsedFeed, parse_feed, parse_with_fastfeedparser, parse_with_feedparser

BASE = "https://news.example.com/feed"


def rss(items: str, namespaces: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        f"{namespaces}><channel><title>Shapes</title><link>https://news.example.com/</link>{items}</channel></rss>"
    ).encode()


def atom(entries: str, feed_title: str = "<title>Shapes</title>") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"{feed_title}<id>tag:x,2024:feed</id><updated>2024-06-01T00:00:00Z</updated>{entries}</feed>"
    ).encode()


def rendered(parsed: ParsedFeed) -> list[tuple[str, str | None, str]]:
    return [(item.title, item.link, item.summary_markdown) for item in parsed.items]


def both_paths(document: bytes) -> tuple[ParsedFeed, ParsedFeed]:
    """parse_feed's result and feedparser's own; they must agree."""
    ours, feedparser_alone = parse_feed(document, BASE), parse_with_feedparser(document, BASE)
    assert rendered(ours) == rendered(feedparser_alone)
    return ours, feedparser_alone


BLOCK_ONLY = {
    "blockquote": ("<blockquote>A <a href='https://q.example/'>quoted</a> view</blockquote>", "[quoted]"),
    "table": ("<table><tr><td>Votes</td><td>42</td></tr></table>", "Votes · 42"),
    "figure": ("<figure><img src='https://i.example/a.jpg'><figcaption>The <em>mayor</em></figcaption></figure>",
               "*mayor*"),
    "section": ("<section><p>Council <strong>agrees</strong></p></section>", "**agrees**"),
    "iframe": ("<iframe src='https://video.example/embed/1'></iframe>", ""),
    "svg": ("<svg viewBox='0 0 10 10'><circle r='4'/></svg>", ""),
}  # fmt: skip


@pytest.mark.parametrize("shape", sorted(BLOCK_ONLY))
def test_a_block_level_only_description_is_html_not_literal_markup(shape: str) -> None:
    markup, expected = BLOCK_ONLY[shape]
    escaped = markup.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    document = rss(f"<item><title>Item</title><link>https://news.example.com/1</link>"
                   f"<description>{escaped}</description></item>")  # fmt: skip
    ours, _ = both_paths(document)
    assert ours.parsed_by == "fastfeedparser"
    markdown = ours.items[0].summary_markdown
    assert "<" not in markdown and "&lt;" not in markdown
    assert expected in markdown


def test_script_style_and_embeds_in_content_never_reach_the_reader_and_links_stay() -> None:
    content = (
        "<p style='color:red;font-size:2em'>Hello <a href='https://l.example/x'>link</a> and <em>emphasis</em></p>"
        "<script>alert('x'); var tracking = 1;</script><style>p { color: red }</style>"
        "<iframe src='https://v.example/e'></iframe><object data='movie.swf'><embed src='movie.swf'></object>"
    )
    document = rss(f"<item><title>Item</title><link>https://news.example.com/1</link>"
                   f"<content:encoded><![CDATA[{content}]]></content:encoded></item>")  # fmt: skip
    ours, _ = both_paths(document)
    assert ours.parsed_by == "fastfeedparser"
    markdown = ours.items[0].summary_markdown
    assert "[link](https://l.example/x)" in markdown and "*emphasis*" in markdown
    for source in ("alert", "tracking", "color", "swf", "v.example"):
        assert source not in markdown


def test_a_description_with_a_script_is_not_replaced_by_fastfeedparsers_tag_stripped_text() -> None:
    content = "<p style='color:red'>Styled <strong>bold</strong> <a href='https://l.example/'>here</a></p>" \
              "<script>var a = 1;</script>"  # fmt: skip
    document = rss(f"<item><title>Item</title><link>https://news.example.com/1</link>"
                   f"<content:encoded><![CDATA[{content}]]></content:encoded></item>")  # fmt: skip
    ours, _ = both_paths(document)
    assert ours.items[0].summary_markdown == "Styled **bold** [here](https://l.example/)"


LOOKALIKES = {
    "title": "<foo:title>Fake title</foo:title>",
    "link": "<foo:link>https://fake.example/</foo:link>",
    "guid": "<foo:guid>fake-guid</foo:guid>",
    "description": "<foo:description>Fake text</foo:description>",
    "itunes title": "<itunes:title>Fake title</itunes:title>",
    "atom id": "<atom:id>fake-guid</atom:id>",
}


@pytest.mark.parametrize("name", sorted(LOOKALIKES))
def test_elements_from_other_namespaces_named_like_rss_elements_do_not_replace_the_real_ones(name: str) -> None:
    document = rss(
        f"<item>{LOOKALIKES[name]}<title>Real title</title><link>https://news.example.com/1</link>"
        "<guid isPermaLink='false'>real-guid</guid><description>Real text</description></item>",
        'xmlns:foo="https://foo.example/ns" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" '
        'xmlns:atom="http://www.w3.org/2005/Atom"',
    )
    ours, _ = both_paths(document)
    item = ours.items[0]
    assert (item.title, item.link, item.guid, item.summary_markdown) == (
        "Real title", "https://news.example.com/1", "real-guid", "Real text"
    )  # fmt: skip


def test_a_channel_self_link_keeps_the_fast_path() -> None:
    document = rss(
        '<atom:link href="https://news.example.com/feed" rel="self" type="application/rss+xml"/>'
        "<item><title>T</title><link>https://news.example.com/1</link><description>x</description></item>",
        'xmlns:atom="http://www.w3.org/2005/Atom"',
    )
    assert parse_with_fastfeedparser(document, BASE) is not None
    assert both_paths(document)[0].items[0].link == "https://news.example.com/1"


def test_a_guid_that_is_not_a_permalink_never_becomes_the_link() -> None:
    document = rss(
        '<item><title>No link</title><guid isPermaLink="false">https://news.example.com/guid/1</guid>'
        "<description>x</description></item>"
        "<item><title>Permalink</title><guid>https://news.example.com/2</guid><description>y</description></item>"
    )
    ours, _ = both_paths(document)
    links = {item.title: item.link for item in ours.items}
    assert links == {"No link": None, "Permalink": "https://news.example.com/2"}


def test_declared_html_titles_and_summaries_are_read_as_html_on_the_atom_fast_path() -> None:
    document = atom(
        "<entry><title type='html'>Vote &lt;q&gt;now&lt;/q&gt; &lt;mark&gt;today&lt;/mark&gt;</title>"
        "<id>tag:x,2024:1</id><link href='https://news.example.com/1'/><updated>2024-06-01T00:00:00Z</updated>"
        "<summary type='html'>&lt;section&gt;&lt;p&gt;A &lt;b&gt;big&lt;/b&gt; day&lt;/p&gt;&lt;/section&gt;</summary>"
        "</entry>"
    )
    ours, _ = both_paths(document)
    assert ours.parsed_by == "fastfeedparser"
    assert ours.items[0].title == "Vote now today"
    assert ours.items[0].summary_markdown == "A **big** day"


def test_atom_text_titles_keep_their_brackets() -> None:
    document = atom(
        "<entry><title type='text'>Why &lt;b&gt; is bold</title><id>tag:x,2024:1</id>"
        "<link href='https://news.example.com/1'/><updated>2024-06-01T00:00:00Z</updated>"
        "<summary>Use &lt;b&gt;tags&lt;/b&gt; well</summary></entry>"
    )
    ours, _ = both_paths(document)
    assert ours.items[0].title == "Why <b> is bold"
    assert "<b>tags</b>" in ours.items[0].summary_markdown.replace("\\", "")


def test_items_that_declare_different_title_types_are_read_by_feedparser() -> None:
    document = atom(
        "<entry><title type='html'>A &lt;em&gt;b&lt;/em&gt;</title><id>tag:x,1</id>"
        "<updated>2024-06-01T00:00:00Z</updated></entry>"
        "<entry><title type='text'>C &lt;em&gt;d&lt;/em&gt;</title><id>tag:x,2</id>"
        "<updated>2024-06-02T00:00:00Z</updated></entry>"
    )
    assert parse_with_fastfeedparser(document, BASE) is None
    assert [item.title for item in parse_feed(document, BASE).items] == ["A b", "C <em>d</em>"]


def test_categories_are_read_on_both_paths() -> None:
    document = rss(
        "<item><title>T</title><link>https://news.example.com/1</link><category>Politics</category>"
        "<category> Local  news </category><description>x</description></item>"
    )
    ours, feedparser_alone = both_paths(document)
    assert ours.items[0].categories == feedparser_alone.items[0].categories == ("Politics", "Local news")
