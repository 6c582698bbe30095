"""A poll's fairness settings (who may vote, hidden totals, anonymity), how they read in its footer, and
their stored form. No Discord."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import TypeVar

from bot.polls.eligibility import EVERYONE, VoterRules, describe, format_age
from bot.polls.options import InvalidOptions, poll_settings
from bot.storage.polls import FairnessRow, PollRulesRow

_T = TypeVar("_T")


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
        notes.append("Anonymous: your reaction is removed once counted; /poll my-vote shows or withdraws your vote")
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

    def replacing(self, earlier: FairnessChoice) -> FairnessChoice:
        """`earlier` with every setting given here put in its place (editing a subscription's rules)."""

        return FairnessChoice(
            role_id=pick(self.role_id, earlier.role_id),
            min_account_age=pick(self.min_account_age, earlier.min_account_age),
            min_member_age=pick(self.min_member_age, earlier.min_member_age),
            hide_totals=pick(self.hide_totals, earlier.hide_totals),
            anonymous=pick(self.anonymous, earlier.anonymous),
        )

    @property
    def empty(self) -> bool:
        return all(value is None for value in _values(self))


NO_CHOICE = FairnessChoice()


def pick(mine: _T | None, theirs: _T | None) -> _T | None:
    return mine if mine is not None else theirs


def _values(choice: FairnessChoice) -> tuple[object, ...]:
    return (choice.role_id, choice.min_account_age, choice.min_member_age, choice.hide_totals, choice.anonymous)


def choice_to_row(choice: FairnessChoice) -> PollRulesRow:
    """A subscription's poll rules as the stores keep them."""
    return PollRulesRow(
        str(choice.role_id) if choice.role_id is not None else None,
        int(choice.min_account_age.total_seconds()) if choice.min_account_age is not None else None,
        int(choice.min_member_age.total_seconds()) if choice.min_member_age is not None else None,
        choice.hide_totals,
        choice.anonymous,
    )


def choice_from_row(row: PollRulesRow | None) -> FairnessChoice:
    """The rules a stored subscription row stands for; no row: none of its own (the server's apply)."""
    if row is None:
        return NO_CHOICE
    roles = (row.voter_role_ids or "").split()
    account, member = row.min_account_age_seconds, row.min_member_age_seconds
    return FairnessChoice(
        role_id=int(roles[0]) if roles else None,
        min_account_age=timedelta(seconds=account) if account is not None else None,
        min_member_age=timedelta(seconds=member) if member is not None else None,
        hide_totals=row.hide_totals,
        anonymous=row.anonymous,
    )


_SPEC_KEY = "rules"


def spec_with_rules(spec: str | None, rules: PollRulesRow) -> str | None:
    """A delivery's poll spec (bot.polls.options.article_poll_spec) carrying its subscription's poll rules, so
    the article's poll, opened now or when a crashed post is finished, follows the rules of the moment it
    was posted."""
    choice = choice_from_row(rules)
    if choice.empty:
        return spec
    settings = poll_settings(spec) if spec else {}
    settings[_SPEC_KEY] = {key: value for key, value in asdict(rules).items() if value is not None}
    return json.dumps(settings, ensure_ascii=False)


def rules_in_spec(spec: str | None) -> FairnessChoice:
    """The subscription's poll rules a delivery's poll spec carries; unreadable or none: no rules of its own."""
    try:
        stored = poll_settings(spec).get(_SPEC_KEY)
    except InvalidOptions:
        return NO_CHOICE
    if not isinstance(stored, dict):
        return NO_CHOICE
    try:
        return choice_from_row(PollRulesRow(**stored))
    except (TypeError, ValueError):
        return NO_CHOICE


def describe_choice(choice: FairnessChoice, role_names: Iterable[str] = ()) -> list[str]:
    """A subscription's (or the server's) own poll rules in a few words each; nothing given: nothing said."""
    parts = []
    names = sorted(role_names)
    if choice.role_id is not None:
        parts.append("voters: " + (" or ".join(f"@{name}" for name in names) if names else "a role not found"))
    for label, age in (("account", choice.min_account_age), ("membership", choice.min_member_age)):
        if age is not None:
            parts.append(f"{label} at least {format_age(age)}" if age else f"any {label} age")
    if choice.hide_totals is not None:
        parts.append("totals hidden until the close" if choice.hide_totals else "totals shown")
    if choice.anonymous is not None:
        parts.append("anonymous" if choice.anonymous else "not anonymous")
    return parts


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


def unhonoured_anonymity(own: bool | None, server_default: bool, *, can_manage: bool) -> str | None:
    """Why a subscription's article polls cannot be anonymous as its rules say (for /feed list and `agora
    check`); None when they are not meant to be, or can be. Anonymity needs Manage Messages: without it an
    article's poll opens without anonymity rather than leave counted reactions on the message."""
    wanted = own if own is not None else server_default
    if not wanted or can_manage:
        return None
    source = "its own poll rules" if own is not None else "the server's poll defaults"
    return (
        f"its articles' polls should be anonymous ({source}), but I lack Manage Messages in its channel, so they "
        "open without anonymity until it is granted"
    )
