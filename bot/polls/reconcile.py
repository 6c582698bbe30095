"""Reconciliation: the vote changes that bring stored votes in line with the reactions on Discord. Pure.

Used after a start or a session that could not be resumed, when reaction events may have been missed.

Discord lists who reacted with each emoji but not when, so the order of reactions Agora did not see is
unknowable. What Agora knows is its own record: every vote it counted and every superseded ("left")
reaction it has not yet seen taken off. A reaction outside that record was added while Agora was not
looking, so it is newer than anything recorded. The single-choice rule follows:

1. a reaction Agora never saw is the voter's latest action and becomes their vote; of several such,
   the option listed first in the poll counts (the order among them is unknowable);
2. otherwise a recorded vote still shown stays;
3. otherwise the voter has no vote: the reactions left are ones Agora had superseded.

Every reaction that does not count is left to be taken off (when Agora may), so the message shows the tally.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Set

from bot.polls.rules import Action, Outcome, PollRules, ReactionRemoval, VoteChange


def reconcile_votes(
    poll: PollRules,
    stored: Mapping[int, Set[int]],
    reactions: Mapping[int, Set[int]],
    *,
    can_remove_reactions: bool,
    left: Mapping[int, Set[int]] | None = None,
) -> Outcome:
    """Changes from `stored` (voter → option ids) and `left` (voter → superseded option reactions) to what
    `reactions` (option id → user ids) show."""
    left = left or {}
    reacted = _reactions_by_voter(poll, reactions)
    changes: list[VoteChange] = []
    leftovers: list[VoteChange] = []
    removals: list[ReactionRemoval] = []
    keys = {option_id: key for key, option_id in poll.option_ids.items()}
    for voter_id in sorted(stored.keys() | reacted.keys() | left.keys()):
        have = stored.get(voter_id, frozenset())
        was_left = left.get(voter_id, frozenset())
        shown = reacted.get(voter_id, frozenset())
        want = shown if poll.multiple else single_choice(have, was_left, shown)
        now_left = shown - want
        changes.extend(_changes(poll, voter_id, have - want, Action.REMOVED))
        changes.extend(_changes(poll, voter_id, want - have, Action.ADDED))
        leftovers.extend(_changes(poll, voter_id, was_left - now_left, Action.GONE))
        leftovers.extend(_changes(poll, voter_id, now_left - was_left, Action.LEFT))
        if can_remove_reactions:
            removals.extend(ReactionRemoval(keys[option], voter_id) for option in sorted(now_left))
    return Outcome(tuple(changes), tuple(removals), tuple(leftovers))


def single_choice(have: Set[int], left: Set[int], shown: frozenset[int]) -> frozenset[int]:
    """The vote a single-choice voter's reactions `shown` stand for (the rule in this module's docstring)."""
    unseen = shown - have - left
    if unseen:
        return frozenset({min(unseen)})  # option ids grow with the options' order in the poll
    kept = shown & have
    if kept:
        return frozenset({min(kept)})
    return frozenset()


def _changes(poll: PollRules, voter_id: int, options: Set[int], action: Action) -> list[VoteChange]:
    return [VoteChange(poll.poll_id, option, voter_id, action) for option in sorted(options)]


def _reactions_by_voter(poll: PollRules, reactions: Mapping[int, Set[int]]) -> dict[int, frozenset[int]]:
    known = set(poll.option_ids.values())
    by_voter: dict[int, set[int]] = defaultdict(set)
    for option_id, users in reactions.items():
        if option_id not in known:
            continue
        for user_id in users:
            if user_id != poll.bot_user_id:
                by_voter[user_id].add(option_id)
    return {voter: frozenset(options) for voter, options in by_voter.items()}
