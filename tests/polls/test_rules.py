"""Vote rules as a table: poll kind and state, the voter's votes so far, one reaction → changes, removals."""

from dataclasses import dataclass

import pytest

from bot.polls.rules import Action, Outcome, PollRules, Reaction, ReactionRemoval, VoteChange, apply_reaction

BOT = 999
VOTER = 7
YES, NO, MAYBE = 11, 12, 13
OPTION_IDS = {"👍": YES, "👎": NO, "🤷": MAYBE}


def poll(*, multiple: bool = False, is_open: bool = True) -> PollRules:
    return PollRules(poll_id=1, multiple=multiple, is_open=is_open, option_ids=OPTION_IDS, bot_user_id=BOT)


def add(option: int) -> VoteChange:
    return VoteChange(1, option, VOTER, Action.ADDED)


def remove(option: int) -> VoteChange:
    return VoteChange(1, option, VOTER, Action.REMOVED)


def take_off(emoji: str, voter: int = VOTER) -> ReactionRemoval:
    return ReactionRemoval(emoji, voter)


def left(option: int) -> VoteChange:
    return VoteChange(1, option, VOTER, Action.LEFT)


def gone(option: int) -> VoteChange:
    return VoteChange(1, option, VOTER, Action.GONE)


@dataclass(frozen=True)
class Case:
    name: str
    poll: PollRules
    voted: frozenset[int]
    reaction: Reaction
    manage: bool
    expected: Outcome
    left: frozenset[int] = frozenset()


def react(emoji: str, *, added: bool = True, voter: int = VOTER) -> Reaction:
    return Reaction(voter, emoji, added)


CASES = [
    Case("single: first vote", poll(), frozenset(), react("👍"), True, Outcome((add(YES),))),
    Case(
        "single: second option moves the vote and removes the earlier reaction",
        poll(), frozenset({YES}), react("👎"), True,
        Outcome((remove(YES), add(NO)), (take_off("👍"),), (left(YES),)),
    ),
    Case(
        "single: without Manage Messages the latest reaction counts and nothing is removed",
        poll(), frozenset({YES}), react("👎"), False, Outcome((remove(YES), add(NO)), leftovers=(left(YES),)),
    ),
    Case("single: a superseded reaction taken off is never a withdrawal", poll(), frozenset({NO}),
         react("👍", added=False), True, Outcome(leftovers=(gone(YES),)), left=frozenset({YES})),
    Case("single: the superseded reaction added again (a replay) changes nothing", poll(), frozenset({NO}),
         react("👍"), True, Outcome(), left=frozenset({YES})),
    Case("single: same option again is a no-op", poll(), frozenset({YES}), react("👍"), True, Outcome()),
    Case("single: removing the counted reaction removes the vote", poll(), frozenset({YES}),
         react("👍", added=False), True, Outcome((remove(YES),))),
    Case("single: removal of a reaction the bot already moved away from", poll(), frozenset({NO}),
         react("👍", added=False), True, Outcome()),
    Case("multiple: each option counts", poll(multiple=True), frozenset({YES}), react("👎"), True,
         Outcome((add(NO),))),
    Case("multiple: third option", poll(multiple=True), frozenset({YES, NO}), react("🤷"), False,
         Outcome((add(MAYBE),))),
    Case("multiple: removing one keeps the others", poll(multiple=True), frozenset({YES, NO}),
         react("👎", added=False), True, Outcome((remove(NO),))),
    Case("multiple: repeated add is a no-op", poll(multiple=True), frozenset({YES}), react("👍"), True, Outcome()),
    Case("foreign emoji is removed when permitted", poll(), frozenset(), react("🍕"), True,
         Outcome(removals=(take_off("🍕"),))),
    Case("foreign emoji is ignored without permission", poll(), frozenset({YES}), react("🍕"), False, Outcome()),
    Case("foreign emoji removal event is ignored", poll(), frozenset({YES}), react("🍕", added=False), True, Outcome()),
    Case("closed poll: reaction does not count and is removed", poll(is_open=False), frozenset(), react("👍"), True,
         Outcome(removals=(take_off("👍"),))),
    Case("closed poll: reaction does not count, kept without permission", poll(is_open=False), frozenset(),
         react("👍"), False, Outcome()),
    Case("closed poll: removing a reaction keeps the final vote", poll(is_open=False), frozenset({YES}),
         react("👍", added=False), True, Outcome()),
    Case("bot's own reaction never counts", poll(), frozenset(), react("👍", voter=BOT), True, Outcome()),
    Case("bot's own reaction removal never counts", poll(), frozenset(), react("👍", added=False, voter=BOT), True,
         Outcome()),
    Case("bot's foreign reaction is never removed", poll(), frozenset(), react("🍕", voter=BOT), True, Outcome()),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_vote_rules(case: Case) -> None:
    outcome = apply_reaction(case.poll, case.voted, case.reaction, can_remove_reactions=case.manage, left=case.left)
    assert outcome == case.expected


def test_single_choice_repairs_a_voter_holding_several_votes() -> None:
    # Possible only if votes were stored while the poll was multiple-choice; the new vote replaces all.
    outcome = apply_reaction(poll(), frozenset({NO, YES}), react("🤷"), can_remove_reactions=True)
    assert outcome == Outcome(
        (remove(YES), remove(NO), add(MAYBE)), (take_off("👍"), take_off("👎")), (left(YES), left(NO))
    )


def test_reactions_replayed_in_order_leave_one_vote_in_single_choice() -> None:
    voted: set[int] = set()
    for emoji, added in [("👍", True), ("👎", True), ("🤷", True), ("🤷", False), ("👍", True)]:
        outcome = apply_reaction(poll(), voted, react(emoji, added=added), can_remove_reactions=False)
        for change in outcome.changes:
            (voted.add if change.action is Action.ADDED else voted.discard)(change.option_id)
    assert voted == {YES}
