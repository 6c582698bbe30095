"""An open poll's votes held in memory, so a reaction is judged without a database round trip.

The database lags this state by at most one recorder flush, and the recorder's journal holds that lag
on disk, so after a crash this state is rebuilt as it was when the last event was judged.
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
        # Superseded reactions still on the message (single choice), as masks too; few voters have any.
        self._left: dict[int, int] = {}
        self._sets: dict[int, frozenset[int]] = {0: frozenset()}
        # While reactions are being listed: (voter, option id) → whether that reaction is on the message
        # after the latest live event, which is newer than whatever page the listing read.
        self._touched: dict[tuple[int, int], bool] | None = None

    @property
    def voters(self) -> int:
        return len(self._masks)

    def voted(self, voter_id: int) -> frozenset[int]:
        return self._options(self._masks.get(voter_id, 0))

    def left(self, voter_id: int) -> frozenset[int]:
        """Option ids of the voter's superseded reactions still on the message."""
        return self._options(self._left.get(voter_id, 0))

    def _options(self, mask: int) -> frozenset[int]:
        found = self._sets.get(mask)
        if found is None:
            found = self._sets[mask] = frozenset(o for o, bit in self._bits.items() if mask & bit)
        return found

    def react(self, reaction: Reaction) -> Outcome:
        """Judge one live reaction and apply the vote changes it makes."""
        voter = reaction.voter_id
        left = self._left.get(voter, 0)
        outcome = apply_reaction(
            self.rules,
            self.voted(voter),
            reaction,
            can_remove_reactions=self.can_remove_reactions,
            left=self._options(left) if left else frozenset(),
        )
        if self._touched is not None:
            option_id = self.rules.option_ids.get(reaction.emoji_key)
            if option_id is not None:
                self._touched[(voter, option_id)] = reaction.added
        if outcome.changes:
            self.apply(outcome.changes)
        if outcome.leftovers:
            self.apply(outcome.leftovers)
        return outcome

    def apply(self, changes: Iterable[VoteChange]) -> None:
        for change in changes:
            if change.action is Action.LEFT or change.action is Action.GONE:
                self._mark_left(change)
                continue
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

    def _mark_left(self, change: VoteChange) -> None:
        bit = self._bits[change.option_id]
        mask = self._left.get(change.voter_id, 0)
        mask = mask | bit if change.action is Action.LEFT else mask & ~bit
        if mask:
            self._left[change.voter_id] = mask
        else:
            self._left.pop(change.voter_id, None)

    def clear(self, option_id: int | None = None) -> list[VoteChange]:
        """Withdraw every vote (or every vote for one option), as when a moderator clears reactions."""
        bits = self._bits[option_id] if option_id is not None else (1 << len(self.option_ids)) - 1
        changes = [
            VoteChange(self.poll.id, other_id, voter_id, action)
            for masks, action in ((self._masks, Action.REMOVED), (self._left, Action.GONE))
            for voter_id, mask in masks.items()
            for other_id, bit in self._bits.items()
            if mask & bit & bits
        ]
        self.apply(changes)
        return changes

    def load(self, votes: Iterable[tuple[int, int]], left: Iterable[tuple[int, int]] = ()) -> None:
        """Take (voter id, option id) pairs as stored: votes, then superseded reactions; unknown options skipped."""
        for pairs, action in ((votes, Action.ADDED), (left, Action.LEFT)):
            self.apply(
                VoteChange(self.poll.id, option_id, voter_id, action)
                for voter_id, option_id in pairs
                if option_id in self._bits
            )

    def begin_listing(self) -> None:
        """Reactions are about to be listed from Discord: note the live reactions that arrive meanwhile."""
        self._touched = {}

    def reconcile(self, reactions: Mapping[int, Set[int]]) -> Outcome:
        """Apply the difference to a listing (option id → user ids) begun with `begin_listing`.

        A reaction that changed live during the listing is taken as the live event left it: a page listed
        before that event is older, and judging by it would undo the voter's latest action.
        """
        touched = self._touched or {}
        self._touched = None
        listed = {option_id: set(users) for option_id, users in reactions.items()}
        for (voter, option_id), present in touched.items():
            users = listed.setdefault(option_id, set())
            if present:
                users.add(voter)
            else:
                users.discard(voter)
        stored = {voter: self.voted(voter) for voter in self._masks}
        left = {voter: self.left(voter) for voter in self._left}
        outcome = reconcile_votes(
            self.rules, stored, listed, can_remove_reactions=self.can_remove_reactions, left=left
        )
        self.apply(outcome.changes)
        self.apply(outcome.leftovers)
        return outcome

    def tally(self) -> Tally:
        return make_tally(
            [option.option for option in self.poll.options], self.counts, self.voters, multiple=self.poll.multiple
        )

    def close(self) -> None:
        self.rules = replace(self.rules, is_open=False)

    def reopen(self) -> None:
        self.rules = replace(self.rules, is_open=True)
