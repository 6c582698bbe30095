"""The poll-rule options (who may vote, hidden totals, anonymity) that /poll create, /agora poll-defaults,
/feed add, /feed edit and /article subscribe-folder share: what a moderator typed, checked and turned into
a FairnessChoice, and how the rules read back.

Not an extension: modules whose name starts with an underscore are not loaded as cogs.
"""

from __future__ import annotations

from datetime import timedelta

import discord

from bot.durations import parse_duration
from bot.errors import AgoraError
from bot.polls.fairness import FairnessChoice, PollFairness, describe_choice, footer_notes

# The longest minimum age a moderator may ask for (Discord itself is younger than this).
MAX_VOTER_AGE = timedelta(days=3650)
# Typed for a minimum age: no minimum, also when a default would set one.
NO_MINIMUM = frozenset({"0", "none", "off", "no"})

VOTERS = "Only members with this role may vote"
ACCOUNT_AGE = "Only accounts at least this old may vote, e.g. 7d; 0: no minimum"
MEMBER_AGE = "Only members who joined at least this long ago may vote, e.g. 1d; 0: no minimum"
HIDE_TOTALS = "Show only how many voted until the poll closes"
ANONYMOUS = "Remove each reaction once counted; nothing public names a voter (needs Manage Messages)"


class InvalidPollRule(AgoraError):
    pass


def poll_rules_choice(
    voters: discord.Role | None,
    min_account_age: str | None,
    min_member_age: str | None,
    hide_totals: bool | None,
    anonymous: bool | None,
) -> FairnessChoice:
    """The rules a moderator gave (None: not given); a role or an age that cannot work is refused politely."""
    if voters is not None:
        check_voter_role(voters)
    return FairnessChoice(
        role_id=voters.id if voters is not None else None,
        min_account_age=minimum_age(min_account_age, "min_account_age"),
        min_member_age=minimum_age(min_member_age, "min_member_age"),
        hide_totals=hide_totals,
        anonymous=anonymous,
    )


def check_voter_role(role: discord.Role) -> None:
    if role.is_default():
        raise InvalidPollRule(
            "`voters`: @everyone is every member, so it restricts nothing. Leave `voters` out to let everyone "
            "vote, or choose a role only some members have. Nothing was changed."
        )
    if role.managed:
        raise InvalidPollRule(
            f"`voters`: @{discord.utils.escape_markdown(role.name)} is managed by an integration (a bot's own "
            "role or the booster role), so it cannot be given to members who should vote. Choose another role. "
            "Nothing was changed."
        )


def minimum_age(text: str | None, setting: str) -> timedelta | None:
    """A minimum age as typed: None when not given, zero for no minimum, else a duration up to MAX_VOTER_AGE."""
    if text is None or not text.strip():
        return None
    if text.strip().casefold() in NO_MINIMUM:
        return timedelta(0)
    try:
        return parse_duration(text, maximum=MAX_VOTER_AGE)
    except AgoraError as error:
        raise InvalidPollRule(f"`{setting}`: {error} Nothing was changed.") from error


def check_anonymous_allowed(channel: discord.abc.GuildChannel | discord.Thread, fairness: PollFairness) -> None:
    """An anonymous poll needs Manage Messages where it runs: its reactions are removed once counted."""
    if fairness.anonymous and not channel.permissions_for(channel.guild.me).manage_messages:
        raise InvalidPollRule(
            f"Anonymous polls need **Manage Messages** in {channel.mention}, so that I can remove each reaction "
            "once I have counted it. Grant it, or set `anonymous:false` (anonymity may come from the server's "
            "poll defaults, see `/agora poll-defaults`). Nothing was changed."
        )


def role_names(guild: discord.Guild, role_ids: frozenset[int] | set[int]) -> list[str]:
    roles = (guild.get_role(role_id) for role_id in role_ids)
    return [role.name for role in roles if role is not None]


def choice_text(choice: FairnessChoice, guild: discord.Guild) -> str:
    """A subscription's own poll rules in one line; empty when it has none (the server's defaults apply)."""
    names = role_names(guild, {choice.role_id} if choice.role_id is not None else set())
    return ", ".join(describe_choice(choice, names))


def fairness_text(fairness: PollFairness, guild: discord.Guild) -> str:
    """Complete poll rules in one line, as the poll's footer states them."""
    if fairness.plain:
        return "everyone may vote, totals shown, not anonymous"
    notes = footer_notes(fairness, role_names(guild, fairness.voters.role_ids))
    return "; ".join(note.split(":", 1)[0] if note.startswith("Anonymous") else note for note in notes)
