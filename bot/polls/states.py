"""The states a poll can be in and why it closed.

The values are what the database stores (and always has), so rows written by any earlier Agora read
back as these members; a `StrEnum` member also compares equal to its stored text.
"""

from __future__ import annotations

from enum import StrEnum


class PollStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class CloseReason(StrEnum):
    MANUAL = "manual"
    DEADLINE = "deadline"
    MESSAGE_DELETED = "message_deleted"
    CHANNEL_DELETED = "channel_deleted"

    @property
    def description(self) -> str:
        """How a reader is told why the poll closed: 'closed by a moderator', ..."""
        return _DESCRIPTIONS[self]

    @property
    def announced(self) -> bool:
        """Whether the results are posted: not when the poll's message or its channel is gone."""
        return self in (CloseReason.MANUAL, CloseReason.DEADLINE)

    @classmethod
    def read(cls, stored: str | None) -> CloseReason | None:
        """A stored reason; None for an open poll or a value this Agora does not know."""
        try:
            return cls(stored) if stored else None
        except ValueError:
            return None


_DESCRIPTIONS = {
    CloseReason.MANUAL: "closed by a moderator",
    CloseReason.DEADLINE: "closed at its deadline",
    CloseReason.MESSAGE_DELETED: "closed because its message was deleted",
    CloseReason.CHANNEL_DELETED: "closed because its channel was deleted",
}


def close_description(stored: str | None) -> str:
    """The reader's wording for a stored close reason; plain 'closed' for one this Agora does not know."""
    reason = CloseReason.read(stored)
    return reason.description if reason else "closed"
