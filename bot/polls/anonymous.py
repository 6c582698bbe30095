"""Vote rules of anonymous polls, where Agora removes each reaction once it has counted it. Pure.

A reaction on an anonymous poll's message is therefore a vote not yet taken off, never the record of a
vote: its disappearance (Agora's removal, or the member's) withdraws nothing, and a listing after a
restart that lacks a voter's reaction keeps their vote. The rule:

1. a reaction with an option the voter has not chosen becomes their vote; in a single-choice poll it
   replaces their earlier vote (of several found at once after a restart, the option listed first);
2. a reaction with an option already chosen changes nothing;
3. a voter's reactions found after a restart are ignored when the voter reacted live since (newer);
4. every member's reaction is removed (when Agora may);
5. a voter withdraws their vote with `/poll my-vote withdraw:true`: each option they chose is withdrawn, as
   removing a reaction withdraws it in other polls, so the vote log replays to the votes as always.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Set

from bot.polls.rules import Action, Outcome, PollRules, ReactionRemoval, VoteChange


def anonymous_vote(
    poll: PollRules, voted: Set[int], voter_id: int, emoji_key: str, *, can_remove_reactions: bool
) -> Outcome:
    """The changes one added reaction makes in an anonymous poll (removals of reactions make none)."""
    option_id = poll.option_ids[emoji_key]
    removals = (ReactionRemoval(emoji_key, voter_id),) if can_remove_reactions else ()
    return Outcome(_vote_for(poll, voted, voter_id, {option_id}), removals)


def withdrawal(poll: PollRules, voted: Set[int], voter_id: int) -> Outcome:
    """The changes of a voter withdrawing their vote: every option they chose, withdrawn."""
    return Outcome(tuple(VoteChange(poll.poll_id, option, voter_id, Action.REMOVED) for option in sorted(voted)))


def reconcile_anonymous(
    poll: PollRules,
    stored: Mapping[int, Set[int]],
    reactions: Mapping[int, Set[int]],
    *,
    reacted_live: Set[int],
    can_remove_reactions: bool,
) -> Outcome:
    """Votes from reactions left while Agora was away (option id → user ids); stored votes never shrink."""
    keys = {option_id: key for key, option_id in poll.option_ids.items()}
    by_voter: dict[int, set[int]] = {}
    for option_id, users in reactions.items():
        for user in users:
            if user != poll.bot_user_id and option_id in keys:
                by_voter.setdefault(user, set()).add(option_id)
    changes: list[VoteChange] = []
    removals: list[ReactionRemoval] = []
    for voter in sorted(by_voter):
        shown = by_voter[voter]
        if voter not in reacted_live:
            have = stored.get(voter, frozenset())
            unseen = shown - have
            if unseen:
                changes.extend(_vote_for(poll, have, voter, unseen if poll.multiple else {min(unseen)}))
        if can_remove_reactions:
            removals.extend(ReactionRemoval(keys[option], voter) for option in sorted(shown))
    return Outcome(tuple(changes), tuple(removals))


def _vote_for(poll: PollRules, voted: Set[int], voter_id: int, chosen: Set[int]) -> tuple[VoteChange, ...]:
    new = sorted(set(chosen) - set(voted))
    if not new:
        return ()
    added = tuple(VoteChange(poll.poll_id, option, voter_id, Action.ADDED) for option in new)
    if poll.multiple:
        return added
    withdrawn = tuple(VoteChange(poll.poll_id, option, voter_id, Action.REMOVED) for option in sorted(voted))
    return (*withdrawn, *added)


def pseudonym(secret: bytes, poll_id: int, voter_id: int) -> str:
    """A voter's name in an anonymous poll's exports: stable within the poll, unlinkable across polls and
    to the user id without the database's secret."""
    digest = hmac.new(secret, f"{poll_id}:{voter_id}".encode(), hashlib.sha256).hexdigest()
    return f"voter-{digest[:16]}"
