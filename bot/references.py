"""What a moderator may type to name a poll or an article, read strictly.

Closing a poll cannot be undone, so a reference is read only in the forms it can take: the number (`12` or
`#12`, ASCII digits), a message id, or a link to a message of this server. Anything else (`-1`, `1.5`,
digits of another script, a link into another server, trailing words) is refused with the forms accepted,
rather than guessed at.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from bot.errors import AgoraError
from bot.quoting import quote

MAX_ID = 2**63 - 1  # SQLite's (and Discord's) largest id: a larger number names nothing

_NUMBER = re.compile(r"#?([0-9]+)")
# re.ASCII: case-insensitive matching must not let non-ASCII look-alikes (the Kelvin sign for k) through.
_LINK = re.compile(
    r"https://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/channels/([0-9]+)/([0-9]+)(?:/([0-9]+))?",
    re.ASCII | re.IGNORECASE,
)


T = TypeVar("T")


class InvalidReference(AgoraError):
    """The text is not a poll or article reference; the message lists the accepted forms."""


@dataclass(frozen=True, slots=True)
class Reference:
    """A number, or a message (or thread) id taken from a link of this server."""

    number: int
    from_link: bool  # a link names a message or thread, never a poll or article number


async def look_up(
    reference: Reference,
    by_message: Callable[[int], Awaitable[T | None]],
    by_number: Callable[[int], Awaitable[T | None]],
) -> T | None:
    """What the reference names: the poll or article whose message (or thread) id it is, else, unless it was a
    link, the one with that number.

    The one lookup order for closing a poll and for summaries alike. Discord's ids are far larger than any
    number Agora gives, so trying the message id first never hides a number; a link names a message only.
    """
    found = await by_message(reference.number)
    if found is not None or reference.from_link:
        return found
    return await by_number(reference.number)


def parse_number(text: str) -> int | None:
    """An id typed as ASCII digits (an optional `#` first), within SQLite's range; None for anything else."""
    match = _NUMBER.fullmatch(text.strip())
    if match is None:
        return None
    number = int(match.group(1))
    return number if number <= MAX_ID else None


def parse_reference(text: str, guild_id: int, *, what: str, thread_links: bool = False) -> Reference:
    """Read a reference to a `what` ("poll", "article"); raise InvalidReference for anything else.

    With thread_links, a link to a channel or thread (no message part) is accepted too.
    """
    cleaned = text.strip()
    if _NUMBER.fullmatch(cleaned):
        return Reference(_within_range(cleaned, text, what), from_link=False)
    link = _LINK.fullmatch(cleaned)
    if link is None:
        raise InvalidReference(_accepted_forms(text, what))
    guild, channel, message = link.groups()
    if int(guild) != guild_id:
        raise InvalidReference(f"That link is to another server: give a link to the {what} in this server.")
    target = message if message is not None else (channel if thread_links else None)
    if target is None:
        raise InvalidReference(_accepted_forms(text, what))
    return Reference(_within_range(target, text, what), from_link=True)


def _within_range(digits: str, text: str, what: str) -> int:
    number = int(digits.lstrip("#"))
    if number > MAX_ID:
        raise InvalidReference(f"No {what} matches {quote(text)} in this server.")
    return number


def _accepted_forms(text: str, what: str) -> str:
    return (
        f"{quote(text)} is not a {what} reference. Give the {what}'s number (`12` or `#12`), its message id, "
        f"or a link to its message in this server (Copy Message Link)."
    )
