from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.polls.eligibility import (
    DISCORD_EPOCH_MS,
    EVERYONE,
    MemberFacts,
    Refusal,
    VoterRules,
    account_created_ms,
    describe,
    judge,
)

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ROLE, OTHER_ROLE, THIRD_ROLE = 11, 22, 33


def user_made(at: datetime, low_bits: int = 7) -> int:
    return ((int(at.timestamp() * 1000) - DISCORD_EPOCH_MS) << 22) | low_bits


def member(account_age: timedelta, member_age: timedelta | None, roles: tuple[int, ...] = ()) -> MemberFacts:
    joined = NOW - member_age if member_age is not None else None
    return MemberFacts(user_made(NOW - account_age), frozenset(roles), joined)


def test_the_account_time_is_read_from_the_snowflake() -> None:
    made = datetime(2020, 5, 17, 8, 30, 15, 123000, tzinfo=UTC)
    assert account_created_ms(user_made(made)) == int(made.timestamp() * 1000)


def test_everyone_may_vote_without_rules_even_when_unknown() -> None:
    assert judge(EVERYONE, None, NOW) is None
    assert judge(EVERYONE, member(timedelta(0), None), NOW) is None


def test_an_account_exactly_the_minimum_age_may_vote_a_millisecond_younger_may_not() -> None:
    rules = VoterRules(min_account_age=timedelta(days=7))
    assert judge(rules, member(timedelta(days=7), timedelta(days=1)), NOW) is None
    younger = member(timedelta(days=7) - timedelta(milliseconds=1), timedelta(days=1))
    assert judge(rules, younger, NOW) is Refusal.ACCOUNT_TOO_NEW


def test_a_member_exactly_the_minimum_time_may_vote_a_second_less_may_not() -> None:
    rules = VoterRules(min_member_age=timedelta(days=1))
    assert judge(rules, member(timedelta(days=30), timedelta(days=1)), NOW) is None
    assert judge(rules, member(timedelta(days=30), timedelta(days=1) - timedelta(seconds=1)), NOW) is (
        Refusal.MEMBER_TOO_RECENT
    )


def test_a_missing_join_time_is_unknown_only_when_membership_age_matters() -> None:
    assert judge(VoterRules(min_member_age=timedelta(days=1)), member(timedelta(days=30), None), NOW) is (
        Refusal.UNKNOWN
    )
    assert judge(VoterRules(min_account_age=timedelta(days=1)), member(timedelta(days=30), None), NOW) is None


def test_a_member_not_found_is_never_counted() -> None:
    assert judge(VoterRules(role_ids=frozenset({ROLE})), None, NOW) is Refusal.UNKNOWN


def test_any_one_of_several_roles_is_enough() -> None:
    rules = VoterRules(role_ids=frozenset({ROLE, OTHER_ROLE}))
    assert judge(rules, member(timedelta(days=30), timedelta(days=30), (THIRD_ROLE, OTHER_ROLE)), NOW) is None
    assert judge(rules, member(timedelta(days=30), timedelta(days=30), (THIRD_ROLE,)), NOW) is Refusal.MISSING_ROLE
    assert judge(rules, member(timedelta(days=30), timedelta(days=30)), NOW) is Refusal.MISSING_ROLE


def test_the_first_rule_failed_is_the_reason_in_the_shown_order() -> None:
    rules = VoterRules(frozenset({ROLE}), timedelta(days=7), timedelta(days=1))
    assert judge(rules, member(timedelta(hours=1), timedelta(hours=1)), NOW) is Refusal.ACCOUNT_TOO_NEW
    assert judge(rules, member(timedelta(days=8), timedelta(hours=1)), NOW) is Refusal.MEMBER_TOO_RECENT
    assert judge(rules, member(timedelta(days=8), timedelta(days=2)), NOW) is Refusal.MISSING_ROLE
    assert judge(rules, member(timedelta(days=8), timedelta(days=2), (ROLE,)), NOW) is None


def test_the_footer_names_every_rule() -> None:
    rules = VoterRules(frozenset({ROLE}), timedelta(days=7), timedelta(hours=36))
    text = describe(rules, ["Subscribers"])
    assert text == "Who may vote: members with @Subscribers, accounts at least 7d old, members for at least 36h"
    assert describe(EVERYONE) is None
