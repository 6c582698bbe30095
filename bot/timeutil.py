"""One format for times in the database: ISO-8601 UTC text, which sorts and compares as text."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_db(moment: datetime) -> str:
    """Format an aware datetime for storage; naive datetimes are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def stored_time(text: str) -> datetime:
    """Parse a stored time; one written without an offset is UTC, as every stored time is."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def from_db(text: str | None) -> datetime | None:
    """A stored time of a column that may be empty."""
    return stored_time(text) if text else None


def now_db() -> str:
    return to_db(utcnow())
