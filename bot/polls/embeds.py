"""How a poll looks in Discord: the poll embed while open and once closed, and the results message.

The figures and their wording come from bot.polls.figures, as /poll results and the CLI's do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime

import discord

from bot import limits
from bot.polls.eligibility import REFUSAL_LABELS, Refusal
from bot.polls.fairness import PLAIN, PollFairness, footer_notes
from bot.polls.figures import OptionFigure, VoteFigures, count_text, headline, votes_text
from bot.polls.states import close_description
from bot.storage.polls import StoredPoll

OPEN_COLOUR = discord.Colour.from_rgb(67, 160, 71)
CLOSED_COLOUR = discord.Colour.from_rgb(120, 124, 130)
_MARKER = "Agora poll #{poll_id}"
_MARKER_PATTERN = re.compile(r"Agora poll #(\d+)")


def marker(poll_id: int) -> str:
    return _MARKER.format(poll_id=poll_id)


def marked_poll_id(embed: discord.Embed) -> int | None:
    """The poll id written into a poll embed's footer, used to find a poll sent just before a crash."""
    match = _MARKER_PATTERN.search(embed.footer.text or "") if embed.footer else None
    return int(match.group(1)) if match else None


def poll_embed(
    poll: StoredPoll, figures: VoteFigures, fairness: PollFairness = PLAIN, role_names: Sequence[str] = ()
) -> discord.Embed:
    """The poll message: live totals while open (only how many voted, when totals are hidden), final
    results once closed; its footer says who may vote, and whether totals are hidden or votes anonymous."""
    hidden = fairness.hide_totals and poll.is_open
    lines = [_name(option) if hidden else _option_lines(option) for option in figures.options]
    if hidden:
        voters = count_text(figures.voters, "voter").capitalize()
        lines.append(f"\n🙈 **{voters} so far.** The split is shown when the poll closes.")
    if poll.is_open:
        lines.append(_how_to_vote(poll, anonymous=fairness.anonymous))
    else:
        lines.append(_closed_line(poll, figures))
    embed = discord.Embed(
        title=limits.cut(poll.question, limits.EMBED_TITLE),
        description=limits.clamp_lines("\n".join(lines), limits.EMBED_DESCRIPTION),
        colour=OPEN_COLOUR if poll.is_open else CLOSED_COLOUR,
    )
    state = "Open" if poll.is_open else "Final results"
    notes = "".join(f" · {note}" for note in footer_notes(fairness, role_names, is_open=poll.is_open))
    embed.set_footer(text=f"{state} · {count_text(figures.voters, 'voter')}{notes} · {marker(poll.id)}")
    return embed


def shows_drawn(shown: Mapping[str, object] | None, drawn: discord.Embed) -> bool:
    """Whether a message's embed, as Discord returns it, already shows what `drawn` would: its title, text and
    footer carry every figure (colour and type are the same for any open poll)."""
    if shown is None:
        return False
    footer = shown.get("footer")
    shown_footer = footer.get("text") if isinstance(footer, Mapping) else None
    return (shown.get("title"), shown.get("description"), shown_footer) == (
        drawn.title,
        drawn.description,
        drawn.footer.text,
    )


def results_embed(
    poll: StoredPoll, figures: VoteFigures, poll_url: str | None = None, *, refused: Mapping[str, int] | None = None
) -> discord.Embed:
    """The message posted in the thread when a poll closes."""
    ranked = sorted(figures.options, key=lambda option: -option.votes)
    lines = [f"{rank}. {_name(option)}: {votes_text(option)}" for rank, option in enumerate(ranked, start=1)]
    lines.append("")
    lines.append(headline(figures, "won", _name))
    voters = count_text(figures.voters, "voter")
    lines.append(f"[The poll]({poll_url}) · {voters}" if poll_url else voters.capitalize())
    if refused:
        lines.append(refusals_line(refused))
    embed = discord.Embed(
        title=limits.cut(f"📊 Results: {poll.question}", limits.EMBED_TITLE),
        description=limits.clamp_lines("\n".join(lines), limits.EMBED_DESCRIPTION),
        colour=CLOSED_COLOUR,
    )
    embed.set_footer(text=close_description(poll.closed_reason).capitalize())
    return embed


def refusals_line(refused: Mapping[str, int]) -> str:
    """'Not counted: 12 reactions (too new an account 8, missing role 4)', naming nobody."""
    total = sum(refused.values())
    parts = ", ".join(f"{REFUSAL_LABELS[Refusal(reason)]} {count}" for reason, count in sorted(refused.items()))
    noun = "reaction" if total == 1 else "reactions"
    return f"Not counted: {total} {noun} from members who may not vote ({parts})"


def _name(option: OptionFigure) -> str:
    return f"{option.emoji} **{discord.utils.escape_markdown(option.label)}**"


def _option_lines(option: OptionFigure) -> str:
    return f"{_name(option)}\n`{option.bar}` {votes_text(option)}"


def _how_to_vote(poll: StoredPoll, *, anonymous: bool = False) -> str:
    if anonymous:
        # Reactions are removed once counted, so a vote is changed by reacting again and withdrawn by command.
        choice = "each option you choose" if poll.multiple else "your option's emoji; react with another to change it"
        how = (
            f"**Vote** by reacting with {choice}. Your reaction disappears once counted and your vote is kept; "
            "`/poll my-vote` shows it, and `/poll my-vote withdraw:true` withdraws it."
        )
    elif poll.multiple:
        how = "**Vote** by reacting with the emoji of each option you choose; remove a reaction to take it back."
    else:
        how = (
            "**Vote** by reacting with your option's emoji. One choice per person: reacting with another "
            "option moves your vote; remove your reaction to take it back."
        )
    deadline = f"\nCloses {_timestamp(poll.deadline_at, 'R')}." if poll.deadline_at else ""
    return f"\n{how}{deadline}"


def _closed_line(poll: StoredPoll, figures: VoteFigures) -> str:
    when = f" {_timestamp(poll.closed_at, 'f')}" if poll.closed_at else ""
    because = close_description(poll.closed_reason)
    return f"\n🔒 **This poll is closed** ({because}){when}. {headline(figures, 'won', _name)}"


def _timestamp(moment: datetime | None, style: discord.utils.TimestampStyle) -> str:
    return discord.utils.format_dt(moment, style) if moment else ""
