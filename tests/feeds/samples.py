"""Generated feed documents shaped like real news feeds, for tests and benchmarks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

NEWEST = datetime(2024, 6, 5, 12, 0, tzinfo=UTC)

_PARAGRAPH = (
    "<p>The city council met on <strong>Tuesday</strong> to discuss item {n} of the agenda, "
    'including the <a href="/topics/transport">transport plan</a> &amp; the new library. '
    "Residents asked <em>many</em> questions about costs, timing and the consultation.</p>"
)


def article_html(n: int) -> str:
    """About 1 KB of article HTML: paragraphs, a list, links, an image, entities."""
    paragraphs = "".join(_PARAGRAPH.format(n=n) for _ in range(3))
    return (
        f'{paragraphs}<p><img src="/images/{n}.jpg" alt="Photo {n}"></p>'
        "<ul><li>First point</li><li>Second point</li></ul>"
    )


def rss_document(items: int = 50, *, channel: str = "Generated News", first: int = 1) -> bytes:
    """An RSS 2.0 feed of items first..first+items-1, newest first, with content:encoded, dc:creator and
    media images; raising `first` by k makes k new items appear on top and k old ones drop off."""
    entries = []
    newest = first + items - 1
    for n in range(newest, first - 1, -1):
        published = format_datetime(NEWEST - timedelta(hours=newest - n), usegmt=True)
        entries.append(
            "<item>"
            f"<title>Article {n}: council &amp; budget news</title>"
            f"<link>https://news.example.com/articles/{n}</link>"
            f'<guid isPermaLink="true">https://news.example.com/articles/{n}</guid>'
            f"<pubDate>{published}</pubDate>"
            f"<dc:creator>Reporter {n % 7}</dc:creator>"
            f"<description>{escape(_PARAGRAPH.format(n=n))}</description>"
            f"<content:encoded><![CDATA[{article_html(n)}]]></content:encoded>"
            f'<media:content url="https://cdn.example.com/{n}.jpg" medium="image"/>'
            "</item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/">'
        f"<channel><title>{escape(channel)}</title><link>https://news.example.com/</link>"
        "<description>Generated for Agora's tests</description>"
        f"{''.join(entries)}</channel></rss>"
    ).encode()


def atom_document(entries: int = 50, *, title: str = "Generated Blog") -> bytes:
    """An Atom 1.0 feed, newest entry first, with html summary and content."""
    parts = []
    for n in range(entries, 0, -1):
        updated = (NEWEST - timedelta(hours=entries - n)).isoformat().replace("+00:00", "Z")
        parts.append(
            "<entry>"
            f'<title type="html">Post {n} &lt;em&gt;update&lt;/em&gt;</title>'
            f'<link rel="alternate" type="text/html" href="https://blog.example.org/posts/{n}"/>'
            f"<id>tag:blog.example.org,2024:post-{n}</id>"
            f"<published>{updated}</published><updated>{updated}</updated>"
            f"<author><name>Author {n % 5}</name></author>"
            f'<summary type="html">{escape(_PARAGRAPH.format(n=n))}</summary>'
            f'<content type="html">{escape(article_html(n))}</content>'
            "</entry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title>"
        '<link rel="alternate" href="https://blog.example.org/"/>'
        "<id>tag:blog.example.org,2024:feed</id><updated>2024-06-05T12:00:00Z</updated>"
        f"{''.join(parts)}</feed>"
    ).encode()
