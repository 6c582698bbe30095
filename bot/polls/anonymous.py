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
   removing a reaction withdraws it in other polls, so the vote log replays to the votes as always;
6. a reaction Discord would not take off at the withdrawal stays marked "left": it is not a vote while it
   is shown, and the mark goes when it is seen gone (its removal event, a listing without it) or when the
   voter adds that reaction again (Discord sends an addition only for a reaction that was not there).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Set

from bot.polls.rules import Action, Outcome, PollRules, ReactionRemoval, VoteChange


def anonymous_vote(
    poll: PollRules,
    voted: Set[int],
    voter_id: int,
    emoji_key: str,
    *,
    can_remove_reactions: bool,
    left: Set[int] = frozenset(),
) -> Outcome:
    """The changes one added reaction makes in an anonymous poll."""
    option_id = poll.option_ids[emoji_key]
    removals = (ReactionRemoval(emoji_key, voter_id),) if can_remove_reactions else ()
    gone = _marks(poll, voter_id, {option_id} & left, Action.GONE)
    return Outcome(_vote_for(poll, voted, voter_id, {option_id}), removals, gone)


def anonymous_removal(poll: PollRules, voter_id: int, emoji_key: str, *, left: Set[int]) -> Outcome:
    """A reaction taken off an anonymous poll withdraws nothing; a withdrawn one's mark goes with it."""
    return Outcome(leftovers=_marks(poll, voter_id, {poll.option_ids[emoji_key]} & left, Action.GONE))


def withdrawal(poll: PollRules, voted: Set[int], voter_id: int, *, still_shown: Set[int] = frozenset()) -> Outcome:
    """The changes of a voter withdrawing their vote: every option they chose, withdrawn; the options whose
    reaction may still be on the message (`still_shown`) marked left, so no listing counts them again."""
    withdrawn = tuple(VoteChange(poll.poll_id, option, voter_id, Action.REMOVED) for option in sorted(voted))
    return Outcome(withdrawn, leftovers=_marks(poll, voter_id, still_shown, Action.LEFT))


def reconcile_anonymous(
    poll: PollRules,
    stored: Mapping[int, Set[int]],
    reactions: Mapping[int, Set[int]],
    *,
    reacted_live: Set[int],
    can_remove_reactions: bool,
    left: Mapping[int, Set[int]] | None = None,
) -> Outcome:
    """Votes from reactions left while Agora was away (option id → user ids); stored votes never shrink.
    `left`: voter → options whose withdrawn reaction may still be shown (rule 6)."""
    left = left or {}
    keys = {option_id: key for key, option_id in poll.option_ids.items()}
    by_voter: dict[int, set[int]] = {}
    for option_id, users in reactions.items():
        for user in users:
            if user != poll.bot_user_id and option_id in keys:
                by_voter.setdefault(user, set()).add(option_id)
    changes: list[VoteChange] = []
    removals: list[ReactionRemoval] = []
    marks: list[VoteChange] = []
    for voter in sorted(by_voter.keys() | left.keys()):
        shown = by_voter.get(voter, set())
        if voter not in reacted_live:  # else the listing is older than what the voter did live
            marked = set(left.get(voter, ()))
            withdrawn_shown = shown & marked
            marks.extend(_marks(poll, voter, marked - shown, Action.GONE))
            have = stored.get(voter, frozenset())
            unseen = shown - have - withdrawn_shown
            if unseen:
                changes.extend(_vote_for(poll, have, voter, unseen if poll.multiple else {min(unseen)}))
        if can_remove_reactions:
            removals.extend(ReactionRemoval(keys[option], voter) for option in sorted(shown))
    return Outcome(tuple(changes), tuple(removals), tuple(marks))


def _marks(poll: PollRules, voter_id: int, options: Set[int], action: Action) -> tuple[VoteChange, ...]:
    return tuple(VoteChange(poll.poll_id, option, voter_id, action) for option in sorted(options))


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
