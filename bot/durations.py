"""Durations as moderators type them: `30m`, `12h`, `3d`, `1d12h`, `90s`, `2w`."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.errors import AgoraError
from bot.quoting import quote

# Long forms are accepted because people type them ("2 hours"); the short form is what help texts show.
_UNIT_SECONDS: dict[str, int] = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
}  # fmt: skip
_PART = re.compile(r"\s*(\d{1,9})\s*([a-z]+)\s*")
_EXAMPLES = "`30m`, `12h`, `3d` or `1d12h`"


class InvalidDuration(AgoraError, ValueError):
    """The text is not a duration, or one out of bounds; the message is fit for a user."""


def parse_duration(text: str, *, maximum: timedelta | None = None) -> timedelta:
    """Parse a positive duration made of number+unit parts, each unit at most once."""
    cleaned = text.strip().lower()
    if not cleaned:
        raise InvalidDuration(f"Give a duration such as {_EXAMPLES}.")
    total = 0
    seen: set[int] = set()
    position = 0
    while position < len(cleaned):
        match = _PART.match(cleaned, position)
        if match is None or match.group(2) not in _UNIT_SECONDS:
            raise InvalidDuration(f"{quote(text)} is not a duration; use for example {_EXAMPLES}.")
        unit = _UNIT_SECONDS[match.group(2)]
        if unit in seen:
            # "1h2h" is most likely a typo; refusing it is kinder than guessing 3 hours.
            raise InvalidDuration(f"{quote(text)} repeats a unit; use for example {_EXAMPLES}.")
        seen.add(unit)
        total += int(match.group(1)) * unit
        position = match.end()
    if total == 0:
        raise InvalidDuration("The duration must be longer than zero.")
    try:
        duration = timedelta(seconds=total)
    except OverflowError:  # beyond timedelta's 999,999,999 days
        raise InvalidDuration(f"{quote(text)} is far too long a duration.") from None
    if maximum is not None and duration > maximum:
        raise InvalidDuration(f"The duration can be at most {format_duration(maximum)}.")
    return duration


def format_duration(duration: timedelta) -> str:
    """Compact form of a duration, largest units first: `1d 12h`, `45m`, `90s` → `1m 30s`."""
    seconds = int(duration.total_seconds())
    if seconds <= 0:
        return "0s"
    parts = []
    for name, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{name}")
    return " ".join(parts)
