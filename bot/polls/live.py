"""An open poll's votes held in memory, so a reaction is judged without a database round trip.

The database lags this state by at most one recorder flush; after a crash the lost tail is recovered
by reconciliation with the reactions on Discord.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import replace

from bot.polls.options import emoji_key
from bot.polls.reconcile import reconcile_votes
from bot.polls.rules import Action, Outcome, PollRules, Reaction, VoteChange, apply_reaction
from bot.polls.tally import Tally, make_tally
from bot.storage.polls import StoredPoll


class LivePoll:
    """Votes of one open poll: voter → bit mask of option positions, plus running counts per option.

    A mask per voter (a small cached int) instead of a set per voter: a million voters take about 80 MB
    instead of about 300 MB.
    """

    def __init__(self, poll: StoredPoll, *, bot_user_id: int, can_remove_reactions: bool = True) -> None:
        self.poll = poll
        self.option_ids = tuple(option.id for option in poll.options)
        self.emojis = {emoji_key(option.emoji): option.emoji for option in poll.options}
        self.rules = PollRules(
            poll_id=poll.id,
            multiple=poll.multiple,
            is_open=poll.is_open,
            option_ids={emoji_key(option.emoji): option.id for option in poll.options},
            bot_user_id=bot_user_id,
        )
        # Without Manage Messages the bot cannot tidy reactions; votes are judged the same either way.
        self.can_remove_reactions = can_remove_reactions
        self.counts = [0] * len(self.option_ids)
        self._bits = {option_id: 1 << position for position, option_id in enumerate(self.option_ids)}
        self._masks: dict[int, int] = {}
        self._sets: dict[int, frozenset[int]] = {0: frozenset()}
        self._touched: set[int] | None = None

    @property
    def voters(self) -> int:
        return len(self._masks)

    def voted(self, voter_id: int) -> frozenset[int]:
        mask = self._masks.get(voter_id, 0)
        found = self._sets.get(mask)
        if found is None:
            found = self._sets[mask] = frozenset(o for o, bit in self._bits.items() if mask & bit)
        return found

    def react(self, reaction: Reaction) -> Outcome:
        """Judge one live reaction and apply the vote changes it makes."""
        outcome = apply_reaction(
            self.rules, self.voted(reaction.voter_id), reaction, can_remove_reactions=self.can_remove_reactions
        )
        if self._touched is not None:
            self._touched.add(reaction.voter_id)
        if outcome.changes:
            self.apply(outcome.changes)
        return outcome

    def apply(self, changes: Iterable[VoteChange]) -> None:
        for change in changes:
            bit = self._bits[change.option_id]
            mask = self._masks.get(change.voter_id, 0)
            position = bit.bit_length() - 1
            if change.action is Action.ADDED and not mask & bit:
                self._masks[change.voter_id] = mask | bit
                self.counts[position] += 1
            elif change.action is Action.REMOVED and mask & bit:
                mask &= ~bit
                self.counts[position] -= 1
                if mask:
                    self._masks[change.voter_id] = mask
                else:
                    del self._masks[change.voter_id]

    def clear(self, option_id: int | None = None) -> list[VoteChange]:
        """Withdraw every vote (or every vote for one option), as when a moderator clears reactions."""
        bits = self._bits[option_id] if option_id is not None else (1 << len(self.option_ids)) - 1
        changes = [
            VoteChange(self.poll.id, other_id, voter_id, Action.REMOVED)
            for voter_id, mask in self._masks.items()
            for other_id, bit in self._bits.items()
            if mask & bit & bits
        ]
        self.apply(changes)
        return changes

    def load(self, votes: Iterable[tuple[int, int]]) -> None:
        """Take (voter id, option id) pairs as stored; pairs for unknown options are skipped."""
        self.apply(
            VoteChange(self.poll.id, option_id, voter_id, Action.ADDED)
            for voter_id, option_id in votes
            if option_id in self._bits
        )

    def begin_listing(self) -> None:
        """Reactions are about to be listed from Discord: note who reacts live meanwhile."""
        self._touched = set()

    def reconcile(self, reactions: Mapping[int, Set[int]]) -> Outcome:
        """Apply the difference to a listing (option id → user ids) begun with `begin_listing`.

        Voters who reacted live during the listing are left alone: their live state is newer than a page
        listed before their reaction, and judging them from the listing would undo their vote.
        """
        touched = self._touched or set()
        self._touched = None
        stored = {voter: self.voted(voter) for voter in self._masks if voter not in touched}
        listed = {option_id: set(users) - touched for option_id, users in reactions.items()}
        outcome = reconcile_votes(self.rules, stored, listed, can_remove_reactions=self.can_remove_reactions)
        self.apply(outcome.changes)
        return outcome

    def tally(self) -> Tally:
        return make_tally(
            [option.option for option in self.poll.options], self.counts, self.voters, multiple=self.poll.multiple
        )

    def close(self) -> None:
        self.rules = replace(self.rules, is_open=False)

    def reopen(self) -> None:
        self.rules = replace(self.rules, is_open=True)
