"""A poll's fairness settings (who may vote, hidden totals, anonymity), how they read in its footer, and
their stored form. No Discord."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from bot.polls.eligibility import EVERYONE, VoterRules, describe
from bot.storage.polls import FairnessRow


@dataclass(frozen=True, slots=True)
class PollFairness:
    voters: VoterRules = field(default=EVERYONE)
    # The live message shows how many voted, not the split, until the poll closes.
    hide_totals: bool = False
    # Agora removes each reaction once counted; nothing public names a voter.
    anonymous: bool = False

    @property
    def plain(self) -> bool:
        return not (self.voters.restricted or self.hide_totals or self.anonymous)


PLAIN = PollFairness()


def footer_notes(fairness: PollFairness, role_names: Iterable[str] = (), *, is_open: bool = True) -> list[str]:
    """Short notes for the poll message's footer, so readers know the rules before they vote."""
    notes = []
    who = describe(fairness.voters, role_names)
    if who:
        notes.append(who)
    if fairness.hide_totals and is_open:
        notes.append("Totals hidden until the close")
    if fairness.anonymous:
        notes.append("Anonymous: your reaction is removed once counted; /poll my-vote shows your vote")
    return notes


@dataclass(frozen=True, slots=True)
class FairnessChoice:
    """What a moderator gave for one poll; None: take the default (a subscription's, else the server's)."""

    role_id: int | None = None
    min_account_age: timedelta | None = None
    min_member_age: timedelta | None = None
    hide_totals: bool | None = None
    anonymous: bool | None = None

    def over(self, defaults: PollFairness) -> PollFairness:
        rules = defaults.voters
        return PollFairness(
            VoterRules(
                role_ids=frozenset({self.role_id}) if self.role_id is not None else rules.role_ids,
                min_account_age=self.min_account_age if self.min_account_age is not None else rules.min_account_age,
                min_member_age=self.min_member_age if self.min_member_age is not None else rules.min_member_age,
            ),
            hide_totals=defaults.hide_totals if self.hide_totals is None else self.hide_totals,
            anonymous=defaults.anonymous if self.anonymous is None else self.anonymous,
        )


def to_row(fairness: PollFairness) -> FairnessRow:
    """The settings as the poll store keeps them."""
    rules = fairness.voters
    return FairnessRow(
        " ".join(str(role) for role in sorted(rules.role_ids)),
        _seconds(rules.min_account_age),
        _seconds(rules.min_member_age),
        fairness.hide_totals,
        fairness.anonymous,
    )


def from_row(row: FairnessRow | None) -> PollFairness:
    """The settings a stored row stands for; no row: a plain poll, open to everyone."""
    if row is None:
        return PLAIN
    account, member = row.min_account_age_seconds, row.min_member_age_seconds
    rules = VoterRules(
        role_ids=frozenset(int(part) for part in row.voter_role_ids.split()),
        min_account_age=timedelta(seconds=account) if account else None,
        min_member_age=timedelta(seconds=member) if member else None,
    )
    return PollFairness(rules, row.hide_totals, row.anonymous)


def _seconds(duration: timedelta | None) -> int | None:
    return int(duration.total_seconds()) if duration else None
