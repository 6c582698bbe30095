"""The article as Agora knows it, whatever its source (an uploaded file, the folder, a feed)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.storage.articles import StoredArticle

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Article:
    title: str
    paragraphs: tuple[str, ...]
    question: str | None = None  # the article's own question to readers, ready to show
    published: str | None = None  # the date as the source gives it
    sign_off: str | None = None
    source_name: str | None = None  # the publication, when the article names it
    link: str | None = None
    guid: str | None = None
    image_url: str | None = None

    @property
    def body(self) -> str:
        return "\n\n".join(self.paragraphs)

    @property
    def key(self) -> str:
        return article_key(self.title, self.body, guid=self.guid, link=self.link)


def _normalise(text: str) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip().casefold()


def article_key(title: str, body: str, *, guid: str | None = None, link: str | None = None) -> str:
    """A stable identity: the source's guid, else its link, else a hash of normalised title and body.

    Normalising (unicode form, case, whitespace, line endings) keeps a re-saved file with the
    same words from counting as a new article.
    """
    if guid and guid.strip():
        return f"guid:{guid.strip()}"
    if link and link.strip():
        return f"link:{link.strip()}"
    digest = hashlib.sha256(f"{_normalise(title)}\n{_normalise(body)}".encode()).hexdigest()
    return f"sha256:{digest}"


def stored_article(stored: StoredArticle) -> Article:
    """The article as it was recorded, to finish posting it after a restart."""
    return Article(
        title=stored.title,
        paragraphs=tuple(paragraph for paragraph in stored.body.split("\n\n") if paragraph),
        question=stored.question,
        published=stored.published,
        link=stored.link,
        image_url=stored.image_url,
    )
