"""How a poll looks in Discord: the poll embed while open and once closed, and the results message."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime

import discord

from bot.polls.eligibility import REFUSAL_LABELS, Refusal
from bot.polls.fairness import PLAIN, PollFairness, footer_notes
from bot.polls.tally import OptionResult, Tally
from bot.storage.polls import StoredPoll

EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
# Ten tied options with long, markdown-escaped labels would fill a description on their own.
_VERDICT_NAMES_MAX = 1000
OPEN_COLOUR = discord.Colour.from_rgb(67, 160, 71)
CLOSED_COLOUR = discord.Colour.from_rgb(120, 124, 130)
_MARKER = "Agora poll #{poll_id}"
_MARKER_PATTERN = re.compile(r"Agora poll #(\d+)")
_CLOSED_BECAUSE = {
    "manual": "closed by a moderator",
    "deadline": "closed at its deadline",
    "message_deleted": "closed because its message was deleted",
}


def marker(poll_id: int) -> str:
    return _MARKER.format(poll_id=poll_id)


def marked_poll_id(embed: discord.Embed) -> int | None:
    """The poll id written into a poll embed's footer, used to find a poll sent just before a crash."""
    match = _MARKER_PATTERN.search(embed.footer.text or "") if embed.footer else None
    return int(match.group(1)) if match else None


def poll_embed(
    poll: StoredPoll, tally: Tally, fairness: PollFairness = PLAIN, role_names: Sequence[str] = ()
) -> discord.Embed:
    """The poll message: live totals while open (only how many voted, when totals are hidden), final
    results once closed; its footer says who may vote, and whether totals are hidden or votes anonymous."""
    hidden = fairness.hide_totals and poll.is_open
    lines = [_hidden_option_line(result) if hidden else _option_lines(result) for result in tally.results]
    if hidden:
        lines.append(f"\n🙈 **{_voters(tally.voters).capitalize()} so far.** The split is shown when the poll closes.")
    if poll.is_open:
        lines.append(_how_to_vote(poll))
    else:
        lines.append(_closed_line(poll, tally))
    embed = discord.Embed(
        title=poll.question[:EMBED_TITLE_MAX],
        description=clamp_lines("\n".join(lines), EMBED_DESCRIPTION_MAX),
        colour=OPEN_COLOUR if poll.is_open else CLOSED_COLOUR,
    )
    state = "Open" if poll.is_open else "Final results"
    notes = "".join(f" · {note}" for note in footer_notes(fairness, role_names, is_open=poll.is_open))
    embed.set_footer(text=f"{state} · {_voters(tally.voters)}{notes} · {marker(poll.id)}")
    return embed


def results_embed(
    poll: StoredPoll, tally: Tally, poll_url: str | None = None, *, refused: Mapping[str, int] | None = None
) -> discord.Embed:
    """The message posted in the thread when a poll closes."""
    ranked = sorted(tally.results, key=lambda result: -result.count)
    lines = [f"{rank}. {result.option.emoji} **{_escape(result.option.label)}**: {_votes(result)}"
             for rank, result in enumerate(ranked, start=1)]  # fmt: skip
    lines.append("")
    lines.append(_verdict(tally))
    if poll_url:
        lines.append(f"[The poll]({poll_url}) · {_voters(tally.voters)}")
    else:
        lines.append(_voters(tally.voters).capitalize())
    if refused:
        lines.append(refusals_line(refused))
    title = f"📊 Results: {poll.question}"
    embed = discord.Embed(
        title=title if len(title) <= EMBED_TITLE_MAX else title[: EMBED_TITLE_MAX - 1] + "…",
        description=clamp_lines("\n".join(lines), EMBED_DESCRIPTION_MAX),
        colour=CLOSED_COLOUR,
    )
    embed.set_footer(text=f"{_CLOSED_BECAUSE.get(poll.closed_reason or '', 'closed').capitalize()}")
    return embed


def refusals_line(refused: Mapping[str, int]) -> str:
    """'Not counted: 12 reactions (too new an account 8, missing role 4)', naming nobody."""
    total = sum(refused.values())
    parts = ", ".join(f"{REFUSAL_LABELS[Refusal(reason)]} {count}" for reason, count in sorted(refused.items()))
    noun = "reaction" if total == 1 else "reactions"
    return f"Not counted: {total} {noun} from members who may not vote ({parts})"


def _hidden_option_line(result: OptionResult) -> str:
    return f"{result.option.emoji} **{_escape(result.option.label)}**"


def _option_lines(result: OptionResult) -> str:
    return f"{result.option.emoji} **{_escape(result.option.label)}**\n`{result.bar}` {_votes(result)}"


def _votes(result: OptionResult) -> str:
    noun = "vote" if result.count == 1 else "votes"
    return f"{result.count} {noun} · {result.percent}%"


def _voters(count: int) -> str:
    return f"{count} voter" if count == 1 else f"{count} voters"


def _how_to_vote(poll: StoredPoll) -> str:
    if poll.multiple:
        how = "**Vote** by reacting with the emoji of each option you choose; remove a reaction to take it back."
    else:
        how = (
            "**Vote** by reacting with your option's emoji. One choice per person: reacting with another "
            "option moves your vote; remove your reaction to take it back."
        )
    deadline = f"\nCloses {_timestamp(poll.deadline_at, 'R')}." if poll.deadline_at else ""
    return f"\n{how}{deadline}"


def _closed_line(poll: StoredPoll, tally: Tally) -> str:
    when = f" {_timestamp(poll.closed_at, 'f')}" if poll.closed_at else ""
    because = _CLOSED_BECAUSE.get(poll.closed_reason or "", "closed")
    return f"\n🔒 **This poll is closed** ({because}){when}. {_verdict(tally)}"


def _verdict(tally: Tally) -> str:
    leaders = tally.leaders
    if not leaders:
        return "Nobody voted."
    names = " and ".join(f"{r.option.emoji} **{_escape(r.option.label)}**" for r in leaders)
    if len(names) > _VERDICT_NAMES_MAX:
        return f"Tied for most votes: {len(leaders)} options."
    if len(leaders) == 1:
        return f"Most votes: {names}."
    return f"Tied for most votes: {names}."


def clamp_lines(text: str, limit: int) -> str:
    """`text` cut after the last whole line that fits in `limit` characters, then "…" on a line of its own."""
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit - 1)
    return text[:cut] + "\n…" if cut > 0 else text[: limit - 1] + "…"


def _timestamp(moment: datetime | None, style: str) -> str:
    return discord.utils.format_dt(moment, style) if moment else ""  # type: ignore[arg-type]


def _escape(text: str) -> str:
    return discord.utils.escape_markdown(text)
