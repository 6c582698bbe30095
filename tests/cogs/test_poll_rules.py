"""The poll-rule options shared by /poll create, /agora poll-defaults, /feed add and edit and /article
subscribe-folder: what is refused, and how it is read. Roles come from a guild parsed by discord.py."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.polls.fairness import FairnessChoice, PollFairness
from cogs._poll_rules import InvalidPollRule, check_anonymous_allowed, fairness_text, poll_rules_choice
from tests.builders import fake_bot
from tests.fakes.discord_http import BOT_ROLE_ID, HELPER_ROLE_ID
from tests.fakes.polls import NO_MANAGE_CHANNEL_ID, poll_guild_payload


@pytest.fixture
def guild():
    _bot, _http, guild = fake_bot(guild=poll_guild_payload())
    return guild


def test_a_role_and_ages_make_a_choice_and_zero_means_no_minimum(guild) -> None:
    helper = guild.get_role(HELPER_ROLE_ID)
    choice = poll_rules_choice(helper, "7d", "0", None, True)
    assert choice == FairnessChoice(HELPER_ROLE_ID, timedelta(days=7), timedelta(0), None, True)
    assert poll_rules_choice(None, None, " ", None, None).empty


@pytest.mark.parametrize(
    ("role", "account", "member", "refusal"),
    [
        ("everyone", None, None, "@everyone is every member"),
        ("bot", None, None, "managed by an integration"),
        (None, "20000d", None, "`min_account_age`: The duration can be at most"),
        (None, None, "soon", "`min_member_age`: `soon` is not a duration"),
    ],
)
def test_what_cannot_work_is_refused_politely(guild, role, account, member, refusal) -> None:
    chosen = {"everyone": guild.default_role, "bot": guild.get_role(BOT_ROLE_ID), None: None}[role]
    with pytest.raises(InvalidPollRule, match=refusal):
        poll_rules_choice(chosen, account, member, None, None)


def test_anonymous_needs_manage_messages_where_the_poll_runs(guild) -> None:
    check_anonymous_allowed(guild.get_channel(NO_MANAGE_CHANNEL_ID), PollFairness())
    with pytest.raises(InvalidPollRule, match="Manage Messages"):
        check_anonymous_allowed(guild.get_channel(NO_MANAGE_CHANNEL_ID), PollFairness(anonymous=True))


def test_the_complete_rules_read_in_one_line(guild) -> None:
    assert fairness_text(PollFairness(), guild) == "everyone may vote, totals shown, not anonymous"
    helper = guild.get_role(HELPER_ROLE_ID)
    text = fairness_text(poll_rules_choice(helper, "7d", None, True, True).over(PollFairness()), guild)
    assert (
        text == "Who may vote: members with @Helper, accounts at least 7d old; Totals hidden until the close; Anonymous"
    )
