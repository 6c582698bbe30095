"""An open poll's votes held in memory, so a reaction is judged without a database round trip.

The database lags this state by at most one recorder flush, and the recorder's journal holds that lag
on disk, so after a crash this state is rebuilt as it was when the last event was judged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import replace

from bot.polls.fairness import PLAIN
from bot.polls.figures import VoteFigures, vote_figures
from bot.polls.options import emoji_key
from bot.polls.reconcile import reconcile_votes
from bot.polls.rules import NOTHING, Action, Outcome, PollRules, Reaction, VoteChange, apply_reaction
from bot.storage.polls import StoredPoll


class LivePoll:
    """Votes of one open poll: voter → bit mask of option positions, plus running counts per option.

    A mask per voter (a small cached int) instead of a set per voter: a fraction of the memory in a large
    poll (figures in the README).
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
        self.poll_fairness = PLAIN  # who may vote, hidden totals, anonymity (bot/polls/fair.py)
        self.counts = [0] * len(self.option_ids)
        self._bits = {option_id: 1 << position for position, option_id in enumerate(self.option_ids)}
        self._masks: dict[int, int] = {}
        # Superseded reactions still on the message (single choice), as masks too; few voters have any.
        self._left: dict[int, int] = {}
        self._sets: dict[int, frozenset[int]] = {0: frozenset()}
        # From a new gateway session until its reconciliation: reactions held back, in order. They are
        # newer than anything Agora missed while it was away, so they are judged after the listing.
        self._held: list[Reaction] | None = None

    @property
    def voters(self) -> int:
        return len(self._masks)

    def voted(self, voter_id: int) -> frozenset[int]:
        return self._options(self._masks.get(voter_id, 0))

    def left(self, voter_id: int) -> frozenset[int]:
        """Option ids of the voter's superseded reactions still on the message."""
        return self._options(self._left.get(voter_id, 0))

    def leftovers(self) -> dict[int, frozenset[int]]:
        """Every voter's reactions still shown that do not count (voter id → option ids)."""
        return {voter: self._options(mask) for voter, mask in self._left.items()}

    def _options(self, mask: int) -> frozenset[int]:
        found = self._sets.get(mask)
        if found is None:
            found = self._sets[mask] = frozenset(o for o, bit in self._bits.items() if mask & bit)
        return found

    def react(self, reaction: Reaction) -> Outcome:
        """Judge one live reaction and apply the vote changes it makes (or hold it until reconciliation)."""
        if self._held is not None:
            self._held.append(reaction)
            return NOTHING
        return self._judge(reaction)

    def _judge(self, reaction: Reaction) -> Outcome:
        voter = reaction.voter_id
        left = self._left.get(voter, 0)
        outcome = apply_reaction(
            self.rules,
            self.voted(voter),
            reaction,
            can_remove_reactions=self.can_remove_reactions,
            left=self._options(left) if left else frozenset(),
        )
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

    def hold(self) -> None:
        """A new gateway session began: hold live reactions until `reconcile` has read what was missed."""
        if self._held is None:
            self._held = []

    @property
    def holding(self) -> bool:
        return self._held is not None

    def release(self) -> list[Outcome]:
        """Judge the held reactions in order (reconciliation could not run) and stop holding."""
        held, self._held = self._held or [], None
        return [self._judge(reaction) for reaction in held]

    def reconcile(self, reactions: Mapping[int, Set[int]]) -> tuple[Outcome, list[Outcome]]:
        """Apply the difference to a listing (option id → user ids), then the reactions held meanwhile.

        Reactions Agora missed happened before the session began, so they are judged first, by the rule
        in `reconcile`; the held reactions are newer and are judged after, in order. A page may have been
        read before or after a held reaction, so the listing is not trusted for the (voter, option) pairs
        the held reactions touch: those come from judging the held reactions themselves.
        """
        held = self._held or []
        touched = {(r.voter_id, self.rules.option_ids.get(r.emoji_key)) for r in held}
        listed = {
            option_id: {user for user in users if (user, option_id) not in touched}
            for option_id, users in reactions.items()
        }
        for voter, option_id in touched:
            if option_id is not None and (option_id in self.voted(voter) or option_id in self.left(voter)):
                listed.setdefault(option_id, set()).add(voter)  # as recorded: the held events take it from there
        stored = {voter: self.voted(voter) for voter in self._masks}
        left = self.leftovers()
        outcome = reconcile_votes(self.rules, stored, listed, can_remove_reactions=self.can_remove_reactions, left=left)
        self.apply(outcome.changes)
        self.apply(outcome.leftovers)
        return outcome, self.release()

    def figures(self) -> VoteFigures:
        return vote_figures(self.poll.options, self.counts, self.voters)

    def close(self) -> None:
        self.rules = replace(self.rules, is_open=False)

    def reopen(self) -> None:
        self.rules = replace(self.rules, is_open=True)
