"""Who may vote in a poll: pure functions of what Discord says about a member and of the poll's rules.

A guild reaction event carries the member (roles, join time) and every user id carries its account's
creation time, so judging a live reaction needs no request and no privileged intent. Reconciliation
fetches the member for reactions it did not see. A vote whose eligibility cannot be established is never
counted: it is refused with the reason "unknown".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

DISCORD_EPOCH_MS = 1_420_070_400_000


class Refusal(StrEnum):
    ACCOUNT_TOO_NEW = "account_too_new"
    MEMBER_TOO_RECENT = "member_too_recent"
    MISSING_ROLE = "missing_role"
    # Not a member any more, or the member could not be looked up: never counted on a guess.
    UNKNOWN = "unknown"


REFUSAL_LABELS = {
    Refusal.ACCOUNT_TOO_NEW: "too new an account",
    Refusal.MEMBER_TOO_RECENT: "too recent a member",
    Refusal.MISSING_ROLE: "missing role",
    Refusal.UNKNOWN: "eligibility unknown",
}


@dataclass(frozen=True, slots=True)
class VoterRules:
    """Who may vote: any one of `role_ids` (none: everyone), and minimum account and membership ages."""

    role_ids: frozenset[int] = frozenset()
    min_account_age: timedelta | None = None
    min_member_age: timedelta | None = None

    @property
    def restricted(self) -> bool:
        return bool(self.role_ids) or bool(self.min_account_age) or bool(self.min_member_age)


EVERYONE = VoterRules()


@dataclass(frozen=True, slots=True)
class MemberFacts:
    """What the rules need to know about a member: its role ids and when it joined (None: not known)."""

    user_id: int
    role_ids: frozenset[int]
    joined_at: datetime | None


def account_created_ms(user_id: int) -> int:
    """Milliseconds since the Unix epoch at which the account was made: the top bits of its snowflake."""
    return (user_id >> 22) + DISCORD_EPOCH_MS


def judge(rules: VoterRules, member: MemberFacts | None, now: datetime) -> Refusal | None:
    """None when `member` may vote; otherwise the first rule it fails, in the order the rules are shown.

    An age exactly equal to the minimum is enough. `member` None means it is not in the server (or could
    not be looked up), which is refused as unknown; so is a missing join time when a membership age is
    required, since Discord omits it only when it does not know it.
    """
    if not rules.restricted:
        return None
    if member is None:
        return Refusal.UNKNOWN
    now_ms = now.timestamp() * 1000
    if rules.min_account_age and now_ms - account_created_ms(member.user_id) < _ms(rules.min_account_age):
        return Refusal.ACCOUNT_TOO_NEW
    if rules.min_member_age:
        if member.joined_at is None:
            return Refusal.UNKNOWN
        if now - member.joined_at < rules.min_member_age:
            return Refusal.MEMBER_TOO_RECENT
    if rules.role_ids and rules.role_ids.isdisjoint(member.role_ids):
        return Refusal.MISSING_ROLE
    return None


def _ms(duration: timedelta) -> float:
    return duration.total_seconds() * 1000


def describe(rules: VoterRules, role_names: Iterable[str] = ()) -> str | None:
    """'Who may vote: …' for the poll's footer, or None when everyone may."""
    if not rules.restricted:
        return None
    parts = []
    names = sorted(role_names)
    if rules.role_ids:
        parts.append("members with " + (" or ".join(f"@{name}" for name in names) if names else "the chosen role"))
    if rules.min_account_age:
        parts.append(f"accounts at least {format_age(rules.min_account_age)} old")
    if rules.min_member_age:
        parts.append(f"members for at least {format_age(rules.min_member_age)}")
    return "Who may vote: " + ", ".join(parts)


def format_age(duration: timedelta) -> str:
    seconds = int(duration.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def member_facts(user_id: int, role_ids: Iterable[int], joined_at: datetime | None) -> MemberFacts:
    return MemberFacts(user_id, frozenset(role_ids), joined_at)
