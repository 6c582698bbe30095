"""Repeating what someone typed back to them, short enough that the reply always fits Discord's limits.

A command option may hold 6,000 characters and a message only 2,000: a reply that quoted an option in full
would be refused by Discord, and the moderator would see nothing at all. Every reply that repeats input
quotes an excerpt made here.
"""

from __future__ import annotations

from bot.limits import ELLIPSIS

EXCERPT_LIMIT = 80  # characters of someone's input repeated in a reply
_ELLIPSIS = ELLIPSIS
_BACKTICK_LOOKALIKE = "ˋ"  # a backtick would end the inline code early


def excerpt(text: str, limit: int = EXCERPT_LIMIT) -> str:
    """text on one line, cut to at most `limit` characters (an ellipsis marks the cut)."""
    single_line = " ".join(text.split())
    if len(single_line) <= limit:
        return single_line
    return single_line[: limit - len(_ELLIPSIS)].rstrip() + _ELLIPSIS


def quote(text: str, limit: int = EXCERPT_LIMIT) -> str:
    """An excerpt of text as inline code, for replies such as "`…` is not a duration"."""
    shown = excerpt(text, limit).replace("`", _BACKTICK_LOOKALIKE)
    return f"`{shown}`" if shown else "(nothing)"
