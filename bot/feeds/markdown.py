"""Feed HTML → Discord markdown, and HTML → plain text for titles.

Feed content is untrusted HTML written for browsers. Discord renders a small markdown dialect: masked
links, bold/italic, lists, quotes and code, but no headings in embeds, no tables and no images inline.
The converter keeps what Discord renders, drops what it cannot (scripts, styles, media, forms), and
returns text that is safe to paste into an embed: entities decoded, whitespace collapsed, and capped at
a word boundary without leaving a half-open link or bold run behind.
"""

from __future__ import annotations

import html
import html.entities
import logging
import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup, Tag

# feedparser exposes no public sanitiser; these names have been stable through 6.x.
from feedparser.sanitizer import _HTMLSanitizer as _FeedparserSanitizer
from feedparser.sanitizer import _sanitize_html as _feedparser_sanitize
from markdownify import MarkdownConverter, chomp  # type: ignore[attr-defined]  # public, but missing from its .pyi

log = logging.getLogger(__name__)

ELLIPSIS = "…"
DEFAULT_MAX_LENGTH = 1000

# Elements whose content is never prose a reader should see.
_DROPPED_ELEMENTS = (
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "object",
    "embed",
    "applet",
    "svg",
    "math",
    "canvas",
    "video",
    "audio",
    "picture",
    "source",
    "track",
    "form",
    "button",
    "input",
    "select",
    "textarea",
    "head",
    "title",
    "meta",
    "link",
)
_VOID_ELEMENTS = frozenset({"source", "track", "input", "meta", "link", "embed"})
_DROPPED_TAG = re.compile(r"<(?:" + "|".join(_DROPPED_ELEMENTS) + r")\b", re.IGNORECASE)
_LINK_SCHEMES = frozenset({"http", "https", "mailto"})

# Text of unknown type is HTML by feedparser's rule: it has a closing tag or an entity, and every element
# it names is one feedparser's sanitiser accepts (a "<blink>" in a plain-text title is text, not markup).
# feedparser reads its list from its own sanitiser, so both parsing paths draw the same line.
_CLOSING_TAG = re.compile(r"</(\w+)>")
_ANY_ENTITY = re.compile(r"&#?\w+;")
_TAG_NAME = re.compile(r"</?(\w+)")
_NAMED_ENTITY = re.compile(r"&(\w+);")
_ACCEPTABLE_ELEMENTS = frozenset(_FeedparserSanitizer.acceptable_elements)
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"[ \t\f\v\xa0\u2000-\u200a\u202f\u205f\u3000]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_ZERO_WIDTH = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff]")


def looks_like_html(text: str) -> bool:
    """Whether text of unknown type carries HTML markup or entities rather than literal brackets
    (feedparser's mixin.looks_like_html, so the fast path decides as feedparser would)."""
    if not (_CLOSING_TAG.search(text) or _ANY_ENTITY.search(text)):
        return False
    if any(name.lower() not in _ACCEPTABLE_ELEMENTS for name in _TAG_NAME.findall(text)):
        return False
    return all(name in html.entities.entitydefs for name in _NAMED_ENTITY.findall(text))


def sanitize_html(fragment: str) -> str:
    """The fragment as feedparser's sanitiser leaves it: no script, style or embed source, no event handlers,
    links and emphasis kept. feedparser applies it to everything it parses; the fast path applies it here,
    on first use, so both paths render the same article."""
    if "<" not in fragment or _only_acceptable_elements(fragment):
        # The sanitiser would only rewrite attributes, which the markdown conversion ignores (links are
        # checked there): skipping it keeps rendering cheap for ordinary HTML.
        return fragment
    return _feedparser_sanitize(fragment, "utf-8", "text/html")


def _only_acceptable_elements(fragment: str) -> bool:
    return "<!" not in fragment and all(name.lower() in _ACCEPTABLE_ELEMENTS for name in _TAG_NAME.findall(fragment))


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment: tags removed, entities decoded, whitespace collapsed."""
    if "<" in fragment:
        extractor = _TextExtractor()
        extractor.feed(fragment)
        extractor.close()
        fragment = "".join(extractor.parts)
    elif "&" in fragment:
        fragment = html.unescape(fragment)
    return collapse_spaces(fragment)


class _TextExtractor(HTMLParser):
    """Text content of HTML, skipping dropped elements; the stdlib parser is several times faster than
    BeautifulSoup for the short fragments (titles, authors) this is used on."""

    _BREAKS = frozenset({"br", "p", "div", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED_ELEMENTS and tag not in _VOID_ELEMENTS:
            self._skipping.append(tag)
        elif tag in self._BREAKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if self._skipping and self._skipping[-1] == tag:
            self._skipping.pop()
        elif tag in self._BREAKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def collapse_spaces(text: str) -> str:
    """One line of text with runs of whitespace (including newlines) reduced to one space."""
    return " ".join(_ZERO_WIDTH.sub("", text).split())


def plain_text_to_html(text: str) -> str:
    """Escape plain text so it can go through the HTML converter unchanged, keeping its line breaks."""
    return html.escape(text).replace("\n", "<br>")


def html_to_markdown(
    fragment: str, base_url: str = "", max_length: int = DEFAULT_MAX_LENGTH, *, sanitize: bool = False
) -> str:
    """Discord markdown for an HTML fragment, relative links resolved against base_url.

    sanitize: pass the fragment through feedparser's sanitiser first (HTML feedparser has not read).
    """
    if not fragment or fragment.isspace():
        return ""
    bounded = _bounded(fragment, max_length)
    cut_already = bounded is not fragment
    if sanitize:
        bounded = sanitize_html(bounded)
    soup = BeautifulSoup(bounded, "html.parser")
    if _DROPPED_TAG.search(bounded):  # find_all over many names is slow; most summaries have none
        for element in soup.find_all(_DROPPED_ELEMENTS):
            element.decompose()
    markdown = _DiscordConverter(base_url=base_url).convert_soup(soup)
    return truncate_markdown(_tidy(markdown), max_length, cut_already=cut_already)


def _bounded(fragment: str, max_length: int) -> str:
    """A prefix of a long article big enough for max_length characters of markdown.

    Converting a whole 100 KB article to keep its first thousand characters would cost milliseconds per
    item; the cut falls after a tag's '>' so no half tag becomes text, and the parser closes what is open.
    """
    limit = max(4096, max_length * 8)
    if len(fragment) <= limit:
        return fragment
    cut = fragment.rfind(">", 0, limit)
    return fragment[: cut + 1] if cut > 0 else fragment[:limit]


class _DiscordConverter(MarkdownConverter):
    """markdownify tuned to what Discord renders."""

    def __init__(self, base_url: str) -> None:
        # wrap without a width: newlines inside HTML text are just spaces, no line filling.
        super().__init__(
            bullets="-", strong_em_symbol="*", autolinks=False, escape_misc=False, wrap=True, wrap_width=None
        )
        self._base_url = base_url

    def convert_a(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        href = _safe_link(el.get("href"), self._base_url)
        if not href or "_noformat" in parent_tags:
            return text
        prefix, suffix, label = chomp(text)
        if not label:
            return ""
        if label.replace("\\_", "_") == href:
            return f"{prefix}{href}{suffix}"
        label = label.replace("[", "\\[").replace("]", "\\]")
        return f"{prefix}[{label}]({href}){suffix}"

    def convert_img(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        # The item's image is shown by the embed; alt text alone reads as a stray word.
        return ""

    def convert_br(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return "\n" if "_inline" not in parent_tags else " "

    def convert_hN(self, n: int, el: Tag, text: str, parent_tags: set[str]) -> str:  # noqa: N802
        # Embeds do not render '#' headings; a bold line keeps the emphasis.
        text = collapse_spaces(text)
        if "_inline" in parent_tags or not text:
            return text
        return f"\n\n**{text}**\n\n"

    def convert_hr(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return "\n\n"

    def convert_table(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return "\n\n" + text.strip() + "\n\n"

    def convert_tr(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        # Discord has no tables: one row per line, cells separated by a middle dot.
        return " · ".join(cell for cell in (c.strip() for c in text.split("\x1f")) if cell) + "\n"

    def convert_td(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return collapse_spaces(text) + "\x1f"

    convert_th = convert_td

    def convert_thead(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return text

    convert_tbody = convert_thead
    convert_tfoot = convert_thead


def _safe_link(href: object, base_url: str) -> str | None:
    """An absolute http(s)/mailto URL, or None for javascript:, data: and unparseable links."""
    if not isinstance(href, str) or not href.strip():
        return None
    try:
        absolute = urljoin(base_url, href.strip()) if base_url else href.strip()
        scheme = urlsplit(absolute).scheme.lower()
    except ValueError:
        return None
    if scheme not in _LINK_SCHEMES:
        return None
    # A ')' or space would end the markdown link early.
    return absolute.replace(" ", "%20").replace(")", "%29").replace("(", "%28")


def _tidy(markdown: str) -> str:
    """Collapse runs of spaces and blank lines that feed HTML indentation leaves behind.

    Leading spaces stay (they nest lists) and code blocks are left exactly as written.
    """
    lines: list[str] = []
    in_code = False
    for line in _ZERO_WIDTH.sub("", markdown).replace("\x1f", " ").splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
        if not in_code:
            body = line.lstrip(" ")
            line = line[: len(line) - len(body)] + _SPACES.sub(" ", body).rstrip()
        lines.append(line)
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def truncate_markdown(text: str, max_length: int, *, cut_already: bool = False) -> str:
    """Cut text to max_length at a word boundary with '…', never leaving an open link or emphasis.

    cut_already says the text is the start of something longer, so it gets its '…' even when short.
    """
    if len(text) <= max_length and not cut_already:
        return text
    cut = text[: max_length - len(ELLIPSIS)]
    boundary = max(cut.rfind(" "), cut.rfind("\n"))
    if len(text) > len(cut) and boundary > max_length // 2:
        cut = cut[:boundary]
    cut = _drop_open_link(cut).rstrip(" \n,;:-")
    return _close_emphasis(cut + ELLIPSIS, max_length)


_OPEN_LINK = re.compile(r"\[[^\]]*(?:\]\([^)]*)?$")


def _drop_open_link(text: str) -> str:
    """Remove a trailing '[label](url' left open by the cut, keeping the label's text."""
    match = _OPEN_LINK.search(text)
    if not match:
        return text
    label = match.group(0)[1:].split("](", 1)[0]
    return text[: match.start()] + label.replace("\\[", "[").replace("\\]", "]")


_EMPHASIS_TOKEN = re.compile(r"\\.|\*\*|\*|~~|__")


def _close_emphasis(text: str, max_length: int) -> str:
    """Close emphasis runs the cut left open so the rest of the embed is not swallowed."""
    open_runs: list[str] = []
    for token in _EMPHASIS_TOKEN.findall(text):
        if token.startswith("\\"):
            continue
        if open_runs and open_runs[-1] == token:
            open_runs.pop()
        else:
            open_runs.append(token)
    closers = "".join(reversed(open_runs))
    if not closers:
        return text
    if len(text) + len(closers) > max_length:
        text = text[: max_length - len(closers) - len(ELLIPSIS)].rstrip() + ELLIPSIS
    return text + closers
