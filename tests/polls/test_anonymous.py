from __future__ import annotations

from bot.polls.anonymous import anonymous_removal, anonymous_vote, reconcile_anonymous, withdrawal
from bot.polls.rules import Action, Outcome, PollRules, ReactionRemoval, VoteChange

BOT = 1
YES, NO, UNSURE = 10, 11, 12
KEYS = {"👍": YES, "👎": NO, "🤷": UNSURE}


def rules(multiple: bool = False) -> PollRules:
    return PollRules(poll_id=5, multiple=multiple, is_open=True, option_ids=KEYS, bot_user_id=BOT)


def test_a_reaction_is_counted_and_removed() -> None:
    outcome = anonymous_vote(rules(), frozenset(), 7, "👍", can_remove_reactions=True)
    assert outcome.changes == (VoteChange(5, YES, 7, Action.ADDED),)
    assert outcome.removals == (ReactionRemoval("👍", 7),)
    assert outcome.leftovers == ()


def test_reacting_again_moves_a_single_choice_vote_and_leaves_nothing_behind() -> None:
    outcome = anonymous_vote(rules(), frozenset({YES}), 7, "👎", can_remove_reactions=True)
    assert outcome.changes == (VoteChange(5, YES, 7, Action.REMOVED), VoteChange(5, NO, 7, Action.ADDED))
    assert outcome.leftovers == ()


def test_the_same_option_again_changes_nothing_but_is_removed() -> None:
    outcome = anonymous_vote(rules(), frozenset({YES}), 7, "👍", can_remove_reactions=True)
    assert outcome.changes == () and outcome.removals == (ReactionRemoval("👍", 7),)


def test_a_listing_without_the_voters_reaction_keeps_their_vote() -> None:
    outcome = reconcile_anonymous(rules(), {7: {YES}}, {YES: set(), NO: {BOT}}, reacted_live=set(),
                                  can_remove_reactions=True)  # fmt: skip
    assert outcome.changes == () and outcome.removals == ()


def test_reactions_left_while_away_become_votes_the_first_listed_option_for_several() -> None:
    outcome = reconcile_anonymous(rules(), {7: {YES}}, {NO: {7, 8}, UNSURE: {7}}, reacted_live=set(),
                                  can_remove_reactions=True)  # fmt: skip
    assert outcome.changes == (
        VoteChange(5, YES, 7, Action.REMOVED), VoteChange(5, NO, 7, Action.ADDED), VoteChange(5, NO, 8, Action.ADDED),
    )  # fmt: skip
    assert set(outcome.removals) == {ReactionRemoval("👎", 7), ReactionRemoval("🤷", 7), ReactionRemoval("👎", 8)}


def test_a_voter_who_reacted_live_since_keeps_the_newer_vote() -> None:
    outcome = reconcile_anonymous(rules(), {7: {UNSURE}}, {NO: {7}}, reacted_live={7}, can_remove_reactions=True)
    assert outcome.changes == () and outcome.removals == (ReactionRemoval("👎", 7),)


def test_a_withdrawal_takes_back_every_option_chosen_as_ordinary_withdrawals() -> None:
    outcome = withdrawal(rules(multiple=True), frozenset({NO, YES}), 7)
    assert outcome.changes == (VoteChange(5, YES, 7, Action.REMOVED), VoteChange(5, NO, 7, Action.REMOVED))
    assert outcome.removals == () and outcome.leftovers == ()
    assert withdrawal(rules(), frozenset(), 7).changes == ()


def test_a_reaction_discord_kept_at_a_withdrawal_is_marked_left() -> None:
    outcome = withdrawal(rules(), frozenset({YES}), 7, still_shown={YES})
    assert outcome.changes == (VoteChange(5, YES, 7, Action.REMOVED),)
    assert outcome.leftovers == (VoteChange(5, YES, 7, Action.LEFT),)


def test_a_withdrawn_reaction_still_listed_is_not_a_vote_and_one_gone_loses_its_mark() -> None:
    outcome = reconcile_anonymous(rules(), {}, {YES: {7}, NO: {BOT}}, reacted_live=set(), can_remove_reactions=True,
                                  left={7: {YES}, 8: {NO}})  # fmt: skip
    assert outcome.changes == ()
    assert outcome.removals == (ReactionRemoval("👍", 7),)
    assert outcome.leftovers == (VoteChange(5, NO, 8, Action.GONE),)


def test_a_listing_older_than_a_live_withdrawal_leaves_its_marks_alone() -> None:
    outcome = reconcile_anonymous(rules(), {}, {NO: {BOT}}, reacted_live={7}, can_remove_reactions=True,
                                  left={7: {YES}})  # fmt: skip
    assert outcome == reconcile_anonymous(rules(), {}, {NO: {BOT}}, reacted_live={7}, can_remove_reactions=True)


def test_adding_a_withdrawn_reaction_again_is_a_vote_and_ends_its_mark() -> None:
    outcome = anonymous_vote(rules(), frozenset(), 7, "👍", can_remove_reactions=True, left={YES})
    assert outcome.changes == (VoteChange(5, YES, 7, Action.ADDED),)
    assert outcome.leftovers == (VoteChange(5, YES, 7, Action.GONE),)


def test_a_withdrawn_reaction_taken_off_ends_its_mark_and_withdraws_nothing() -> None:
    outcome = anonymous_removal(rules(), 7, "👍", left={YES})
    assert outcome.changes == () and outcome.leftovers == (VoteChange(5, YES, 7, Action.GONE),)
    assert anonymous_removal(rules(), 7, "👎", left={YES}) == Outcome()
