"""The fair-poll settings' layers (a poll's own options, a subscription's rules, the server's defaults) and how
a subscription's rules are stored and carried by a delivery's poll spec. Pure."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.polls.eligibility import VoterRules
from bot.polls.fairness import (
    NO_CHOICE,
    PLAIN,
    FairnessChoice,
    PollFairness,
    choice_from_row,
    choice_to_row,
    describe_choice,
    rules_in_spec,
    spec_with_rules,
    unhonoured_anonymity,
)
from bot.polls.options import PollOption, article_poll, article_poll_spec, options_to_json
from bot.storage.polls import PollRulesRow

PLAIN_OPTIONS = (PollOption("✅", "Agree"), PollOption("❌", "Disagree"))
SERVER = PollFairness(VoterRules(frozenset({7}), timedelta(days=7), None), hide_totals=True)


def test_each_setting_comes_from_the_nearest_layer_that_gives_it() -> None:
    subscription = FairnessChoice(role_id=9, hide_totals=False)
    poll = FairnessChoice(min_member_age=timedelta(days=1))
    fairness = poll.over(subscription.over(SERVER))
    assert fairness.voters == VoterRules(frozenset({9}), timedelta(days=7), timedelta(days=1))
    assert fairness.hide_totals is False and fairness.anonymous is False


def test_a_zero_age_removes_the_servers_minimum_and_nothing_given_keeps_the_servers_rules() -> None:
    assert not FairnessChoice(min_account_age=timedelta(0)).over(SERVER).voters.min_account_age
    assert NO_CHOICE.over(SERVER) == SERVER and NO_CHOICE.over(PLAIN) == PLAIN


def test_replacing_keeps_what_an_edit_does_not_name() -> None:
    earlier = FairnessChoice(role_id=9, min_account_age=timedelta(days=7), anonymous=True)
    edited = FairnessChoice(anonymous=False, hide_totals=True).replacing(earlier)
    assert edited == FairnessChoice(role_id=9, min_account_age=timedelta(days=7), hide_totals=True, anonymous=False)
    assert NO_CHOICE.replacing(NO_CHOICE).empty and not edited.empty


@pytest.mark.parametrize(
    "choice",
    [
        NO_CHOICE,
        FairnessChoice(role_id=9, min_account_age=timedelta(days=7), min_member_age=timedelta(0)),
        FairnessChoice(hide_totals=False, anonymous=True),
    ],
)
def test_a_subscriptions_rules_survive_their_stored_row(choice: FairnessChoice) -> None:
    assert choice_from_row(choice_to_row(choice)) == choice


def test_an_unset_row_stores_nulls_so_the_server_default_applies() -> None:
    assert choice_to_row(NO_CHOICE) == PollRulesRow()
    assert PollRulesRow(hide_totals=True).columns()["poll_hide_totals"] == 1  # stored as integers on both backends


def test_the_delivery_spec_carries_the_rules_beside_the_question_and_options() -> None:
    rules = choice_to_row(FairnessChoice(role_id=9, min_account_age=timedelta(days=7), hide_totals=True))
    spec = spec_with_rules(article_poll_spec("Good news: {title}?", options_to_json(PLAIN_OPTIONS)), rules)
    assert rules_in_spec(spec) == choice_from_row(rules)
    question, options = article_poll(None, "Rates fall", spec)
    assert question == "Good news: Rates fall?" and [o.emoji for o in options] == ["✅", "❌"]


def test_no_rules_leave_the_spec_as_it_was_and_a_bad_spec_has_no_rules() -> None:
    assert spec_with_rules(None, PollRulesRow()) is None
    assert rules_in_spec(None) == NO_CHOICE
    assert rules_in_spec("not json") == NO_CHOICE
    assert rules_in_spec(json.dumps({"rules": {"unknown": 1}})) == NO_CHOICE
    assert rules_in_spec(json.dumps({"rules": [1, 2]})) == NO_CHOICE


def test_rules_read_in_a_few_words() -> None:
    words = describe_choice(
        FairnessChoice(role_id=9, min_account_age=timedelta(days=7), min_member_age=timedelta(0), hide_totals=True,
                       anonymous=False),
        ["Subscribers"],
    )  # fmt: skip
    assert words == ["voters: @Subscribers", "account at least 7d", "any membership age",
                     "totals hidden until the close", "not anonymous"]  # fmt: skip
    assert describe_choice(NO_CHOICE) == []


def test_anonymity_is_unhonoured_only_when_wanted_and_manage_messages_is_missing():
    assert unhonoured_anonymity(None, False, can_manage=False) is None
    assert unhonoured_anonymity(True, False, can_manage=True) is None
    assert unhonoured_anonymity(False, True, can_manage=False) is None  # its own rule turns the default off
    own = unhonoured_anonymity(True, False, can_manage=False)
    default = unhonoured_anonymity(None, True, can_manage=False)
    assert own is not None and "its own poll rules" in own and "Manage Messages" in own
    assert default is not None and "the server's poll defaults" in default
