"""The feedparser test corpus and an interpreter of its `Expect:` headers in Agora's terms.

Each corpus document opens with a comment such as

    Description: item title
    Expect:      not bozo and entries[0]['title'] == 'Item 1 title'

The expression is written against feedparser's result. This module splits it into its `and`ed parts,
keeps the equality tests on fields Agora uses (title, link, id, dates, summary, author, image), and turns
each expected value into what ParsedFeed should hold: HTML titles become plain text, summaries go through
the same markdown converter, 'Name (email)' authors become the name. Whether a value is HTML or text is
not in the expression; it is read from feedparser's own result for the document (the corpus is written
for feedparser, so its detail types are the reference). Parts about other fields are not applicable.
"""

from __future__ import annotations

import ast
import calendar
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import feedparser

from bot.feeds.markdown import collapse_spaces, html_to_markdown, html_to_text, plain_text_to_html
from bot.feeds.parser import SUMMARY_MAX_LENGTH, FeedItem, ParsedFeed, display_author

CORPUS_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "feeds" / "feedparser-tests"
_EXPECT = re.compile(r"^\s*Expect:\s*(.*?)\s*$", re.MULTILINE)
_HEADER = re.compile(r"^\s*Header:\s*([^:]+):\s*(.*?)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class CorpusDocument:
    path: Path
    body: bytes
    expect: str
    headers: dict[str, str]

    @property
    def name(self) -> str:
        return self.path.relative_to(CORPUS_DIR).as_posix()

    @property
    def content_type(self) -> str:
        """What the local server sends: the document's own Header line, else plain XML."""
        return self.headers.get("Content-type", "application/xml")

    @property
    def expects_bozo(self) -> bool:
        """feedparser flags the document as ill-formed."""
        return bool(re.match(r"^\s*bozo\b", self.expect))


def corpus_documents() -> list[CorpusDocument]:
    documents = []
    for path in sorted(CORPUS_DIR.rglob("*.xml")):
        body = path.read_bytes()
        head = body[:3000].decode("latin-1")
        match = _EXPECT.search(head)
        headers = {name.strip(): value for name, value in _HEADER.findall(head)}
        documents.append(CorpusDocument(path, body, match.group(1) if match else "", headers))
    return documents


@dataclass(frozen=True)
class FieldCheck:
    """One expected value of one ParsedFeed field, already in Agora's terms."""

    field: str  # attribute of ParsedFeed (entry None) or of FeedItem: 'title', 'link', ...
    entry: int | None  # document position of the item, None for feed fields
    expected: Any
    source: str  # the part of the Expect expression it came from

    def actual(self, parsed: ParsedFeed) -> Any:
        if self.entry is None:
            return getattr(parsed, self.field)
        item = item_at(parsed, self.entry)
        return None if item is None else getattr(item, self.field)


def item_at(parsed: ParsedFeed, position: int) -> FeedItem | None:
    return next((item for item in parsed.items if item.position == position), None)


@dataclass(frozen=True)
class Interpretation:
    checks: list[FieldCheck]
    not_applicable: list[str]  # parts of the expression about fields Agora does not use


def interpret(document: CorpusDocument, base_url: str) -> Interpretation:
    """Split the document's Expect expression into checks on Agora's fields."""
    headers = {"content-type": document.content_type}  # as parse_with_feedparser calls it
    reference = feedparser.parse(document.body, response_headers=headers)
    if not _holds(document.expect, reference):
        # A header feedparser itself does not satisfy (e.g. needs chardet) is no reference for us.
        return Interpretation([], [document.expect])
    checks: list[FieldCheck] = []
    skipped: list[str] = []
    for part in _conjuncts(document.expect):
        found = list(_checks_for(part, reference, base_url))
        checks.extend(found)
        if not found and not _is_bozo_test(part):
            skipped.append(ast.unparse(part))
    return Interpretation(checks, skipped)


def _holds(expression: str, reference: Any) -> bool:
    try:
        return bool(eval(expression, {}, dict(reference)))
    except Exception:
        return False


def _conjuncts(expression: str) -> list[ast.expr]:
    tree = ast.parse(expression, mode="eval").body
    if isinstance(tree, ast.BoolOp) and isinstance(tree.op, ast.And):
        return list(tree.values)
    return [tree]


def _is_bozo_test(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        node = node.operand
    return isinstance(node, ast.Name | ast.Constant)


def _checks_for(node: ast.expr, reference: Any, base_url: str) -> Iterator[FieldCheck]:
    if not isinstance(node, ast.Compare) or not all(isinstance(op, ast.Eq) for op in node.ops):
        return
    operands = [node.left, *node.comparators]
    constants = [operand for operand in operands if isinstance(operand, ast.Constant | ast.Tuple)]
    paths = [_path(operand) for operand in operands if operand not in constants]
    if len(constants) != 1 or not paths or any(path is None for path in paths):
        return
    try:
        expected = ast.literal_eval(constants[0])
    except ValueError:
        return
    for path in paths:
        check = _map_path(path, expected, reference, base_url)
        if check is not None:
            yield FieldCheck(*check, source=ast.unparse(node))


def _path(node: ast.expr) -> tuple[Any, ...] | None:
    """('entries', 0, 'title') for entries[0]['title'] or entries[0].title."""
    steps: list[Any] = []
    while True:
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            steps.append(node.slice.value)
            node = node.value
        elif isinstance(node, ast.Attribute):
            steps.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Name):
            steps.append(node.id)
            return tuple(reversed(steps))
        else:
            return None


_Mapper = Callable[[Any, Any, Any, str], tuple[str, Any] | None]


def _map_path(path: tuple[Any, ...], expected: Any, reference: Any, base_url: str):
    if path[0] == "feed" and len(path) >= 2:
        mapper = _FEED_FIELDS.get(path[1:])
        found = mapper(expected, reference.feed, None, base_url) if mapper else None
        return (found[0], None, found[1]) if found else None
    if path[0] == "entries" and len(path) >= 3 and isinstance(path[1], int):
        entries = reference.entries
        if path[1] >= len(entries):
            return None
        mapper = _ENTRY_FIELDS.get(path[2:])
        found = mapper(expected, entries[path[1]], reference.feed, base_url) if mapper else None
        return (found[0], path[1], found[1]) if found else None
    return None


def _title(expected: Any, owner: Any, _feed: Any, _base: str) -> tuple[str, Any] | None:
    detail = owner.get("title_detail") or {}
    text = html_to_text(expected) if _is_html(detail.get("type")) else collapse_spaces(expected)
    return ("title", text)


def _link(expected: Any, _owner: Any, _feed: Any, base_url: str) -> tuple[str, Any]:
    return ("link", urljoin(base_url, expected))


def _guid(expected: Any, _owner: Any, _feed: Any, _base: str) -> tuple[str, Any]:
    return ("guid", expected.strip() or None)


def _summary(expected: Any, entry: Any, _feed: Any, base_url: str) -> tuple[str, Any]:
    detail = entry.get("summary_detail") or {}
    return ("summary_markdown", _markdown(expected, detail.get("type"), base_url))


def _content(expected: Any, entry: Any, _feed: Any, base_url: str) -> tuple[str, Any] | None:
    # Agora shows an item's summary and uses its content only when it has none; feedparser then
    # copies the content into 'summary', which is how the two can be told apart here.
    content = (entry.get("content") or [{}])[0]
    if (entry.get("summary_detail") or {}).get("value") != content.get("value"):
        return None
    return ("summary_markdown", _markdown(expected, content.get("type"), base_url))


def _markdown(value: str, content_type: str | None, base_url: str) -> str:
    source = value if _is_html(content_type) else plain_text_to_html(value)
    return html_to_markdown(source, base_url, SUMMARY_MAX_LENGTH)


def _author(expected: Any, _entry: Any, _feed: Any, _base: str) -> tuple[str, Any]:
    return ("author", display_author(expected))


def _date(name: str) -> _Mapper:
    """Agora's date is the published date, else the updated one; map each only where it applies."""

    def mapper(expected: Any, entry: Any, _feed: Any, _base: str) -> tuple[str, Any] | None:
        if name.startswith("updated") and entry.get("published_parsed"):
            return None
        parsed = expected if name.endswith("_parsed") else entry.get(f"{name}_parsed")
        if not parsed:
            return None
        return ("published", datetime.fromtimestamp(calendar.timegm(tuple(parsed)), UTC))

    return mapper


def _image(expected: Any, entry: Any, _feed: Any, base_url: str) -> tuple[str, Any] | None:
    # Only where nothing Agora prefers (an image enclosure or media:content) is also present.
    if any(str(e.get("type", "")).startswith("image/") for e in entry.get("enclosures") or []):
        return None
    if entry.get("media_content"):
        return None
    return ("image_url", urljoin(base_url, expected))


def _image_enclosure(expected: Any, entry: Any, _feed: Any, base_url: str) -> tuple[str, Any] | None:
    first_image = next((e for e in entry.get("enclosures") or [] if str(e.get("type", "")).startswith("image/")), None)
    if not isinstance(expected, dict) or first_image is None or expected.get("href") != first_image["href"]:
        return None
    return ("image_url", urljoin(base_url, expected["href"]))


def _is_html(content_type: str | None) -> bool:
    return content_type not in ("text/plain", "text")


_FEED_FIELDS: dict[tuple[Any, ...], _Mapper] = {
    ("title",): _title,
    ("title_detail", "value"): _title,
    ("link",): _link,
}
_ENTRY_FIELDS: dict[tuple[Any, ...], _Mapper] = {
    ("title",): _title,
    ("title_detail", "value"): _title,
    ("link",): _link,
    ("id",): _guid,
    ("guid",): _guid,
    ("summary",): _summary,
    ("description",): _summary,
    ("summary_detail", "value"): _summary,
    ("content", 0, "value"): _content,
    ("author",): _author,
    ("published",): _date("published"),
    ("published_parsed",): _date("published"),
    ("updated",): _date("updated"),
    ("updated_parsed",): _date("updated"),
    ("image", "href"): _image,
    ("media_thumbnail", 0, "url"): _image,
    ("enclosures", 0): _image_enclosure,
}
