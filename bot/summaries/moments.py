"""A past moment as moderators and operators type it: an ISO date/time in UTC, or how long ago (`2h`)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from bot.durations import InvalidDuration, parse_duration
from bot.errors import AgoraError
from bot.quoting import quote

log = logging.getLogger(__name__)

EXAMPLES = "`2026-11-01 14:30` (UTC) or how long ago, like `2h` or `1d12h`"


class InvalidMoment(AgoraError, ValueError):
    """Not a time, or one the poll has no tally for; the message is fit for a user."""


def parse_moment(text: str, now: datetime) -> datetime:
    """An aware UTC datetime from ISO text (no offset means UTC) or a duration before `now`."""
    cleaned = text.strip()
    if not cleaned:
        raise InvalidMoment(f"Give a time such as {EXAMPLES}.")
    try:
        moment = datetime.fromisoformat(cleaned.upper().replace("Z", "+00:00"))
    except ValueError:
        pass
    else:
        try:
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        except OverflowError:  # an offset pushing it before year 1 or after 9999
            raise _out_of_range(cleaned) from None
    # "2h ago" reads naturally; the duration parser wants the bare "2h".
    spoken = cleaned.lower().removesuffix("ago").strip()
    try:
        ago = parse_duration(spoken)
    except InvalidDuration:
        raise InvalidMoment(f"{quote(cleaned)} is not a time; use {EXAMPLES}.") from None
    try:
        return now - ago
    except OverflowError:
        raise _out_of_range(cleaned) from None


def _out_of_range(text: str) -> InvalidMoment:
    return InvalidMoment(f"{quote(text)} is too far in the past; use {EXAMPLES}.")


def check_moment(poll_id: int, opened_at: datetime, moment: datetime, now: datetime) -> None:
    """Refuse a moment the vote log cannot answer for: before the poll opened, or not yet come."""
    if moment > now:
        raise InvalidMoment(
            f"{_utc(moment)} is in the future (it is now {_utc(now)}): choose a past time to see poll "
            f"#{poll_id} as it stood then."
        )
    if moment < opened_at:
        raise InvalidMoment(
            f"Poll #{poll_id} opened at {_utc(opened_at)}, after {_utc(moment)}: choose a time since it opened."
        )


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
