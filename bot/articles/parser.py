"""Parse the publication's plain-text article files.

The format: an optional `Today: <date>` line, a title line, body paragraphs, usually a closing
question to readers, and a sign-off ("If you liked this article, ... follow X ...").
"""

from __future__ import annotations

import re

from bot.articles.article import Article
from bot.errors import AgoraError

TITLE_MAX = 256  # Discord's embed title limit; a longer first line is a paragraph, not a title

_DATE_LINE = re.compile(r"^\s*today\s*:\s*(?P<date>.+?)\s*$", re.IGNORECASE)
_TRAILING_YEAR_WORD = re.compile(r"(\d{4})\s+year\s*$", re.IGNORECASE)
_SIGN_OFF = re.compile(
    r"(if you (liked|enjoyed) this|make sure to (continue )?follow|don'?t forget to (subscribe|follow)"
    r"|subscribe to our|share this article|follow us on|all rights reserved|©|copyright \d{4}"
    r"|for the latest .{0,40}news)",
    re.IGNORECASE,
)
_PUBLICATION = re.compile(r"follow(?:ing)?\s+(?P<name>[A-Z][\w&' .-]{1,60}?)\s+for\b")
_SENTENCE = re.compile(r"[^.!?]*[.!?]+[\"'”’)]*|[^.!?]+$")
# Where a closing question opens with a lead-in clause ("Based on all this, what do you think?"),
# the question proper starts at its first question word after a comma.
_LEAD_IN = re.compile(
    r"^.*?,\s+(?=(what|how|do|does|did|will|would|should|could|can|is|are|who|which|why|where|when)\b)",
    re.IGNORECASE,
)
_READER_WORDS = re.compile(r"\b(you|your|readers?|comments?)\b", re.IGNORECASE)


class ArticleFormatError(AgoraError):
    """The file is not an article Agora can post; the message says what is wrong."""


def parse_article_text(text: str) -> Article:
    """Parse an article file's text; raises ArticleFormatError for text that is not an article."""
    lines = _clean_lines(text)
    if not any(lines):
        raise ArticleFormatError("The file is empty: an article needs a title line and a body.")
    position = _skip_blank(lines, 0)
    published = None
    match = _DATE_LINE.match(lines[position])
    if match:
        published = _TRAILING_YEAR_WORD.sub(r"\1", match.group("date")).strip()
        position = _skip_blank(lines, position + 1)
    if position >= len(lines):
        raise ArticleFormatError("The file has a date line but no title: put the title on the next line.")
    title = lines[position].strip()
    if len(title) > TITLE_MAX:
        raise ArticleFormatError(
            f"The first line after the date is {len(title)} characters long, which is a paragraph, "
            f"not a title (at most {TITLE_MAX}): put the title on a line of its own."
        )
    paragraphs = _paragraphs(lines[position + 1 :])
    paragraphs, sign_off = _split_sign_off(paragraphs)
    return Article(
        title=title,
        paragraphs=tuple(paragraphs),
        question=find_reader_question(paragraphs),
        published=published,
        sign_off=sign_off,
        source_name=_publication(sign_off),
    )


def _clean_lines(text: str) -> list[str]:
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    # Control characters (other than tab/newline) have no business in an article.
    text = "".join(ch for ch in text if ch in "\n\t" or ch.isprintable())
    return [line.rstrip() for line in text.split("\n")]


def _skip_blank(lines: list[str], position: int) -> int:
    while position < len(lines) and not lines[position].strip():
        position += 1
    return position


def _paragraphs(lines: list[str]) -> list[str]:
    """Blocks separated by blank lines, with hard-wrapped lines joined; without any blank
    line between them, every line is its own paragraph."""
    body = "\n".join(lines).strip()
    if not body:
        return []
    blocks = re.split(r"\n\s*\n", body)
    if len(blocks) == 1:
        return [line.strip() for line in body.split("\n") if line.strip()]
    return [" ".join(part.strip() for part in block.split("\n") if part.strip()) for block in blocks]


def _split_sign_off(paragraphs: list[str]) -> tuple[list[str], str | None]:
    """Trailing boilerplate paragraphs are the sign-off, not the article."""
    cut = len(paragraphs)
    while cut > 1 and _SIGN_OFF.search(paragraphs[cut - 1]) and "?" not in paragraphs[cut - 1]:
        cut -= 1
    sign_off = "\n\n".join(paragraphs[cut:]) or None
    return paragraphs[:cut], sign_off


def find_reader_question(paragraphs: list[str]) -> str | None:
    """The article's closing question to readers, from its last two paragraphs, ready to show.

    Only the question sentences are kept ("Let us know below." is dropped), the lead-in clause
    is cut, and the first letter capitalised.
    """
    for paragraph in reversed(paragraphs[-2:]):
        questions = [s.strip() for s in _SENTENCE.findall(paragraph) if s.strip().rstrip("\"'”’)").endswith("?")]
        if questions and (_READER_WORDS.search(paragraph) or paragraph is paragraphs[-1]):
            first = _LEAD_IN.sub("", questions[0], count=1)
            questions[0] = first[:1].upper() + first[1:]
            return " ".join(questions)
    return None


def _publication(sign_off: str | None) -> str | None:
    if not sign_off:
        return None
    match = _PUBLICATION.search(sign_off)
    return match.group("name").strip() if match else None


def check_article_size(size: int, *, max_bytes: int) -> None:
    if size > max_bytes:
        raise ArticleFormatError(f"The file is {size:,} bytes; article files may be at most {max_bytes:,} bytes.")


def decode_article_file(data: bytes, *, max_bytes: int) -> str:
    """The text of an uploaded or dropped article file; ArticleFormatError if it is not text."""
    check_article_size(len(data), max_bytes=max_bytes)
    if not data.strip():
        raise ArticleFormatError("The file is empty: an article needs a title line and a body.")
    if b"\x00" in data:
        raise ArticleFormatError("The file is binary, not text: upload the article as a plain-text (.txt) file.")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ArticleFormatError("The file is not readable text: save it as UTF-8 plain text and upload it again.")
