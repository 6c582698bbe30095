"""Vote rules: what one reaction added or removed does to a voter's votes. Pure and synchronous.

Called once per gateway reaction event, so it is kept to plain comparisons and small tuples.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    # Not votes: a single-choice voter's earlier reaction that a switch superseded stays on the message
    # ("left") until it is taken off ("gone"). Agora remembers it so that after a restart it is known as
    # old, never mistaken for a new vote.
    LEFT = "left"
    GONE = "gone"


class Source(StrEnum):
    LIVE = "live"
    RECONCILED = "reconciled"


@dataclass(frozen=True, slots=True)
class PollRules:
    """What the rules need to know about a poll."""

    poll_id: int
    multiple: bool
    is_open: bool
    option_ids: Mapping[str, int]  # emoji key (options.emoji_key) → option id
    bot_user_id: int


@dataclass(frozen=True, slots=True)
class Reaction:
    voter_id: int
    emoji_key: str
    added: bool


@dataclass(frozen=True, slots=True)
class VoteChange:
    poll_id: int
    option_id: int
    voter_id: int
    action: Action


@dataclass(frozen=True, slots=True)
class ReactionRemoval:
    """A reaction the bot should take off the poll message, when it has Manage Messages."""

    emoji_key: str
    voter_id: int


@dataclass(frozen=True, slots=True)
class Outcome:
    changes: tuple[VoteChange, ...] = ()
    removals: tuple[ReactionRemoval, ...] = ()
    leftovers: tuple[VoteChange, ...] = ()  # LEFT / GONE marks of superseded reactions


NOTHING = Outcome()


def apply_reaction(
    poll: PollRules,
    voted: Set[int],
    reaction: Reaction,
    *,
    can_remove_reactions: bool,
    left: Set[int] = frozenset(),
) -> Outcome:
    """The changes one reaction causes, given the option ids `voted` so far and the superseded reactions
    `left` on the message."""
    if reaction.voter_id == poll.bot_user_id:
        return NOTHING  # the bot's own reactions are the ballot, never a vote
    option_id = poll.option_ids.get(reaction.emoji_key)
    if not reaction.added:
        # Removals on a closed poll change nothing: the results were final at closing.
        if option_id is None or not poll.is_open:
            return NOTHING
        if option_id in voted:
            return Outcome((VoteChange(poll.poll_id, option_id, reaction.voter_id, Action.REMOVED),))
        if option_id in left:
            # A superseded reaction went (taken off by Agora or by the voter): never a withdrawal.
            return Outcome(leftovers=(VoteChange(poll.poll_id, option_id, reaction.voter_id, Action.GONE),))
        return NOTHING
    if option_id is None or not poll.is_open:
        return _refuse(reaction, can_remove_reactions)
    if option_id in voted or option_id in left:
        return NOTHING  # a repeated event (gateway replay) or a reaction already known
    added = VoteChange(poll.poll_id, option_id, reaction.voter_id, Action.ADDED)
    if poll.multiple or not voted:
        return Outcome((added,))
    return _switch(poll, voted, reaction, added, can_remove_reactions)


def _refuse(reaction: Reaction, can_remove_reactions: bool) -> Outcome:
    if not can_remove_reactions:
        return NOTHING
    return Outcome(removals=(ReactionRemoval(reaction.emoji_key, reaction.voter_id),))


def _switch(
    poll: PollRules, voted: Set[int], reaction: Reaction, added: VoteChange, can_remove_reactions: bool
) -> Outcome:
    """Single choice: the new option replaces the earlier one, whose reaction is left until it is taken off."""
    earlier = sorted(voted)
    voter = reaction.voter_id
    withdrawn = tuple(VoteChange(poll.poll_id, option_id, voter, Action.REMOVED) for option_id in earlier)
    left = tuple(VoteChange(poll.poll_id, option_id, voter, Action.LEFT) for option_id in earlier)
    removals: tuple[ReactionRemoval, ...] = ()
    if can_remove_reactions:
        keys = {option_id: key for key, option_id in poll.option_ids.items()}
        removals = tuple(ReactionRemoval(keys[option_id], voter) for option_id in earlier)
    return Outcome((*withdrawn, added), removals, left)
