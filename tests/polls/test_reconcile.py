"""Reconciliation as a table: stored votes and the reactions Discord shows → changes and removals."""

from dataclasses import dataclass, field

import pytest

from bot.polls.reconcile import reconcile_votes
from bot.polls.rules import Action, Outcome, PollRules, ReactionRemoval, VoteChange

BOT = 999
YES, NO, MAYBE = 11, 12, 13
OPTION_IDS = {"👍": YES, "👎": NO, "🤷": MAYBE}
EMOJI = {YES: "👍", NO: "👎", MAYBE: "🤷"}


def poll(*, multiple: bool = False) -> PollRules:
    return PollRules(poll_id=1, multiple=multiple, is_open=True, option_ids=OPTION_IDS, bot_user_id=BOT)


def added(voter: int, option: int) -> VoteChange:
    return VoteChange(1, option, voter, Action.ADDED)


def removed(voter: int, option: int) -> VoteChange:
    return VoteChange(1, option, voter, Action.REMOVED)


def left(voter: int, option: int) -> VoteChange:
    return VoteChange(1, option, voter, Action.LEFT)


def gone(voter: int, option: int) -> VoteChange:
    return VoteChange(1, option, voter, Action.GONE)


@dataclass(frozen=True)
class Case:
    name: str
    multiple: bool
    stored: dict[int, set[int]]
    reactions: dict[int, set[int]]
    changes: tuple[VoteChange, ...]
    removals: tuple[ReactionRemoval, ...] = field(default=())
    left: dict[int, set[int]] = field(default_factory=dict)
    leftovers: tuple[VoteChange, ...] = field(default=())


CASES = [
    Case("in sync", False, {1: {YES}, 2: {NO}}, {YES: {1, BOT}, NO: {2, BOT}}, ()),
    Case("vote cast offline is counted", False, {}, {YES: {1}}, (added(1, YES),)),
    Case("vote withdrawn offline is removed", False, {1: {YES}}, {YES: {BOT}}, (removed(1, YES),)),
    Case("switch offline with the old reaction gone", False, {1: {YES}}, {NO: {1}}, (removed(1, YES), added(1, NO))),
    Case("a reaction Agora never saw is newer than the stored vote: it wins, the stored one is taken off", False,
         {1: {YES}}, {YES: {1}, NO: {1}}, (removed(1, YES), added(1, NO)), (ReactionRemoval("👍", 1),),
         leftovers=(left(1, YES),)),
    Case("several unseen reactions and no stored vote: the option listed first counts, the rest taken off", False,
         {}, {YES: {1}, NO: {1}}, (added(1, YES),), (ReactionRemoval("👎", 1),), leftovers=(left(1, NO),)),
    Case("a superseded reaction still shown is not a vote", False, {}, {YES: {1}}, (), (ReactionRemoval("👍", 1),),
         left={1: {YES}}),
    Case("stored vote and a known superseded reaction: the vote stays", False, {1: {NO}}, {YES: {1}, NO: {1}}, (),
         (ReactionRemoval("👍", 1),), left={1: {YES}}),
    Case("a superseded reaction taken off meanwhile is forgotten", False, {1: {NO}}, {NO: {1}}, (),
         left={1: {YES}}, leftovers=(gone(1, YES),)),
    Case("an unseen reaction beats both the stored vote and a superseded one", False, {1: {NO}},
         {YES: {1}, NO: {1}, MAYBE: {1}}, (removed(1, NO), added(1, MAYBE)),
         (ReactionRemoval("👍", 1), ReactionRemoval("👎", 1)), left={1: {YES}}, leftovers=(left(1, NO),)),
    Case("withdrawn offline with the superseded reaction still shown: no vote", False, {1: {NO}}, {YES: {1}},
         (removed(1, NO),), (ReactionRemoval("👍", 1),), left={1: {YES}}),
    Case("the bot's own reactions never count", False, {}, {YES: {BOT}, NO: {BOT}}, ()),
    Case("reactions on unknown option ids are ignored", False, {}, {404: {1}}, ()),
    Case("multiple: reactions are the votes", True, {1: {YES, NO}}, {NO: {1}, MAYBE: {1}},
         (removed(1, YES), added(1, MAYBE))),
    Case("multiple: several voters, sorted by voter", True, {}, {YES: {3, 2}, NO: {2}},
         (added(2, YES), added(2, NO), added(3, YES))),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_reconciliation(case: Case) -> None:
    result = reconcile_votes(
        poll(multiple=case.multiple), case.stored, case.reactions, can_remove_reactions=True, left=case.left
    )
    assert result == Outcome(case.changes, case.removals, case.leftovers)


def test_without_permission_nothing_is_removed_but_votes_are_the_same() -> None:
    with_permission = reconcile_votes(poll(), {}, {YES: {1}, NO: {1}, MAYBE: {2}}, can_remove_reactions=True)
    without = reconcile_votes(poll(), {}, {YES: {1}, NO: {1}, MAYBE: {2}}, can_remove_reactions=False)
    assert without.changes == with_permission.changes == (added(1, YES), added(2, MAYBE))
    assert without.leftovers == with_permission.leftovers == (left(1, NO),)
    assert without.removals == ()


def test_many_voters_beyond_one_listing_page() -> None:
    reactions = {YES: set(range(1, 251)), NO: set(range(251, 401))}
    stored = {voter: {YES} for voter in range(1, 101)} | {voter: {NO} for voter in range(500, 510)}
    result = reconcile_votes(poll(), stored, reactions, can_remove_reactions=True)
    adds = [c for c in result.changes if c.action is Action.ADDED]
    removes = [c for c in result.changes if c.action is Action.REMOVED]
    assert len(adds) == 150 + 150 and len(removes) == 10
    assert {c.voter_id for c in removes} == set(range(500, 510))
