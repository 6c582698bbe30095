"""Discord's size limits and the helpers that cut text to fit them: the one place both live.

Discord refuses a message or embed that exceeds any of these, and the user then sees nothing at all, so
everything Agora sends is cut here first. Quoting someone's own input back to them (bot.quoting) uses the
same ellipsis.
"""

from __future__ import annotations

import re

MESSAGE = 2000  # characters of a message's content
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELD_NAME = 256
EMBED_FIELD_VALUE = 1024
EMBED_FOOTER = 2048
EMBED_FIELDS = 25
EMBED_TOTAL = 6000  # all titles, names, values, description, footer and author of one embed together
THREAD_NAME = 100
CHOICE_NAME = 100  # an autocomplete choice's name
CHOICES = 25  # autocomplete choices shown at once
REACTION_USERS_PAGE = 100  # users per page of a reaction's listing

ELLIPSIS = "…"
_SENTENCE_END = re.compile(r"[.!?][\"'”’)]*(?=\s|$)")


def cut(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else its start and an ellipsis, `limit` characters in all."""
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)].rstrip() + ELLIPSIS


def clamp_lines(text: str, limit: int) -> str:
    """`text` cut after the last whole line that fits in `limit` characters, then "…" on a line of its own."""
    if len(text) <= limit:
        return text
    cut_at = text.rfind("\n", 0, limit - 1)
    return text[:cut_at] + "\n" + ELLIPSIS if cut_at > 0 else text[: limit - 1] + ELLIPSIS


def shorten(text: str, limit: int, *, ellipsis: str = ELLIPSIS) -> str:
    """Cut prose to at most `limit` characters at a sentence end, else a word boundary, never mid-word."""
    text = text.strip()
    if len(text) <= limit:
        return text
    room = limit - len(ellipsis)
    window = text[: room + 1]
    sentence_ends = [m.end() for m in _SENTENCE_END.finditer(window) if m.end() <= limit]
    if sentence_ends and sentence_ends[-1] >= room // 2:
        return text[: sentence_ends[-1]].rstrip()
    space = window.rfind(" ")
    if space <= 0:  # one giant word: a hard cut is the only honest option
        return text[:room] + ellipsis
    return text[:space].rstrip(" ,;:-–—") + ellipsis
