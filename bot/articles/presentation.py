"""How an article is shown in Discord: its embed, its thread's name and the opening prompt."""

from __future__ import annotations

import re

import discord

from bot import limits
from bot.articles.article import Article
from bot.limits import shorten

# Shorter than Discord's description limit: an opening a reader takes in at a glance.
OPENING_TARGET = 1500

DEFAULT_PROMPT_QUESTION = "What do you think about this article? Share your view below."
_MARKER = "Agora article #{article_id}"
_MARKER_PATTERN = re.compile(r"Agora article #(\d+)")
__all__ = ["shorten"]


def opening(article: Article, limit: int = OPENING_TARGET) -> str:
    """Whole paragraphs of the body while they fit, the next one shortened to fill the rest."""
    parts: list[str] = []
    used = 0
    for paragraph in article.paragraphs:
        separator = 2 if parts else 0
        if used + separator + len(paragraph) <= limit:
            parts.append(paragraph)
            used += separator + len(paragraph)
            continue
        room = limit - used - separator
        if room >= 80 or not parts:
            parts.append(shorten(paragraph, max(room, 1)))
        break
    return "\n\n".join(parts)


def marker(article_id: int) -> str:
    return _MARKER.format(article_id=article_id)


def marked_article_id(embed: discord.Embed) -> int | None:
    """The article id Agora wrote into one of its embeds, used to find posts after a crash."""
    text = embed.footer.text if embed.footer else None
    match = _MARKER_PATTERN.search(text or "")
    return int(match.group(1)) if match else None


def article_embed(article: Article, article_id: int, *, source: str) -> discord.Embed:
    embed = discord.Embed(
        title=shorten(article.title, limits.EMBED_TITLE),
        description=opening(article),
        url=article.link or None,
        colour=discord.Colour.from_rgb(47, 93, 168),
    )
    if article.published:
        embed.add_field(name="Date", value=shorten(article.published, limits.EMBED_FIELD_VALUE), inline=True)
    embed.add_field(name="Source", value=shorten(source, limits.EMBED_FIELD_VALUE), inline=True)
    if article.image_url:
        embed.set_image(url=article.image_url)
    embed.set_footer(text=f"{shorten(source, 200)} · {marker(article_id)}")
    assert len(embed) <= limits.EMBED_TOTAL
    return embed


def thread_name(article: Article) -> str:
    return shorten(article.title, limits.THREAD_NAME) or "Discussion"


def opening_prompt(article: Article, *, with_poll: bool) -> str:
    question = article.question or DEFAULT_PROMPT_QUESTION
    invitation = "Reply in this thread, and vote in the poll above." if with_poll else "Reply in this thread."
    text = f"💬 **Over to you:** {question}\n{invitation}"
    return shorten(text, limits.MESSAGE)
