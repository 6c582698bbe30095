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


NOTHING = Outcome()


def apply_reaction(poll: PollRules, voted: Set[int], reaction: Reaction, *, can_remove_reactions: bool) -> Outcome:
    """The vote changes and reaction removals one reaction causes, given the option ids `voted` so far."""
    if reaction.voter_id == poll.bot_user_id:
        return NOTHING  # the bot's own reactions are the ballot, never a vote
    option_id = poll.option_ids.get(reaction.emoji_key)
    if not reaction.added:
        # Removals on a closed poll change nothing: the results were final at closing.
        if option_id is None or not poll.is_open or option_id not in voted:
            return NOTHING
        return Outcome((VoteChange(poll.poll_id, option_id, reaction.voter_id, Action.REMOVED),))
    if option_id is None or not poll.is_open:
        return _refuse(reaction, can_remove_reactions)
    if option_id in voted:
        return NOTHING  # a repeated event (gateway replay) or a vote already counted by reconciliation
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
    """Single choice: the new option replaces the earlier one; its reaction goes when the bot may remove it."""
    earlier = sorted(voted)
    withdrawn = tuple(VoteChange(poll.poll_id, option_id, reaction.voter_id, Action.REMOVED) for option_id in earlier)
    removals: tuple[ReactionRemoval, ...] = ()
    if can_remove_reactions:
        keys = {option_id: key for key, option_id in poll.option_ids.items()}
        removals = tuple(ReactionRemoval(keys[option_id], reaction.voter_id) for option_id in earlier)
    return Outcome((*withdrawn, added), removals)
