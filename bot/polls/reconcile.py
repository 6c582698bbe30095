"""Reconciliation: the vote changes that bring stored votes in line with the reactions on Discord. Pure.

Used after a start or a session that could not be resumed, when reaction events may have been missed.
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
) -> Outcome:
    """Changes from `stored` (voter → option ids) to what `reactions` (option id → user ids) show.

    Multiple choice: every option reaction is a vote. Single choice: a stored vote still backed by its
    reaction is kept (the bot saw it being cast, later than any other reaction it did not remove); else a
    voter's only option reaction is the vote; with several and none stored the order is unknowable, so
    none counts. Reactions that do not count are removed when permitted, so what people see is the tally.
    """
    reacted = _reactions_by_voter(poll, reactions)
    changes: list[VoteChange] = []
    removals: list[ReactionRemoval] = []
    keys = {option_id: key for key, option_id in poll.option_ids.items()}
    for voter_id in sorted(stored.keys() | reacted.keys()):
        have = stored.get(voter_id, frozenset())
        shown = reacted.get(voter_id, frozenset())
        want = shown if poll.multiple else _single_choice(have, shown)
        changes.extend(VoteChange(poll.poll_id, option, voter_id, Action.REMOVED) for option in sorted(have - want))
        changes.extend(VoteChange(poll.poll_id, option, voter_id, Action.ADDED) for option in sorted(want - have))
        if can_remove_reactions:
            removals.extend(ReactionRemoval(keys[option], voter_id) for option in sorted(shown - want))
    return Outcome(tuple(changes), tuple(removals))


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


def _single_choice(have: Set[int], shown: frozenset[int]) -> frozenset[int]:
    kept = shown & have
    if kept:
        # Normally one; a stored state with several (it should not happen) keeps the first option.
        return frozenset({min(kept)})
    if len(shown) == 1:
        return shown
    return frozenset()
