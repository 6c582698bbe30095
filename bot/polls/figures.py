"""A poll's figures and the words every rendering uses for them: one model, one percentage, one bar.

The poll's own message (live and final), the results posted in its thread, /poll results, the CLI, the
CSV and JSON exports and the charts all render `VoteFigures`, so they cannot disagree. Percentages are of
voters (people), not of votes: in a multiple-choice poll they may add up to more than 100 %, and a
single-choice poll reads the same either way. Pure: imports neither discord nor storage.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

BAR_WIDTH = 12
_FULL, _EMPTY = "█", "░"
# Ten tied options with long labels would fill a description on their own.
_TIED_NAMES_MAX = 1000

Verb = Literal["leads", "led", "won"]


class OptionLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def position(self) -> int: ...
    @property
    def emoji(self) -> str: ...
    @property
    def label(self) -> str: ...


@dataclass(frozen=True, slots=True)
class OptionFigure:
    option_id: int
    position: int
    emoji: str
    label: str
    votes: int
    share: float  # of voters, 0..1

    @property
    def percent(self) -> float:
        return percent_value(self.share)

    @property
    def bar(self) -> str:
        return text_bar(self.share)

    @property
    def name(self) -> str:
        return f"{self.emoji} {self.label}".strip()


@dataclass(frozen=True, slots=True)
class VoteFigures:
    options: tuple[OptionFigure, ...]  # in position order
    voters: int

    @property
    def total_votes(self) -> int:
        return sum(option.votes for option in self.options)

    @property
    def leaders(self) -> tuple[OptionFigure, ...]:
        """The options with the most votes; none while nobody has voted."""
        top = max((option.votes for option in self.options), default=0)
        return tuple(option for option in self.options if top and option.votes == top)


def vote_figures(options: Sequence[OptionLike], counts: Sequence[int], voters: int) -> VoteFigures:
    """Figures of `options` in order, `counts[i]` being the votes of `options[i]`."""
    if len(options) != len(counts):
        raise ValueError(f"{len(options)} options but {len(counts)} counts")
    return VoteFigures(
        tuple(
            OptionFigure(option.id, option.position, option.emoji, option.label, count, _share(count, voters))
            for option, count in zip(options, counts, strict=True)
        ),
        voters,
    )


def _share(count: int, voters: int) -> float:
    return count / voters if voters else 0.0


def percent_value(share: float) -> float:
    """The one rounding of a share every rendering uses, so they all print the same number."""
    return round(share * 100, 1)


def format_percent(share: float) -> str:
    return f"{percent_value(share):.1f}%"


def text_bar(share: float, width: int = BAR_WIDTH) -> str:
    """A bar of block characters; any non-zero share shows at least one block."""
    share = min(max(share, 0.0), 1.0)
    filled = round(share * width)
    if share > 0 and filled == 0:
        filled = 1
    return _FULL * filled + _EMPTY * (width - filled)


def count_text(count: int, noun: str) -> str:
    """'1 voter', '3 voters', '0 votes'."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def votes_text(option: OptionFigure) -> str:
    """'2 votes · 66.7%'."""
    return f"{count_text(option.votes, 'vote')} · {format_percent(option.share)}"


def headline(figures: VoteFigures, verb: Verb, name: Callable[[OptionFigure], str] | None = None) -> str:
    """The result in one sentence: who leads (or led, or won) and with what share, or that it is a tie.

    `name` writes an option's name (markdown-escaped in embeds); by default its emoji and label.
    """
    name = name or (lambda option: option.name)
    leaders = figures.leaders
    if figures.voters == 0 or not leaders:
        return "No votes yet." if verb == "leads" else "Nobody voted."
    share = format_percent(leaders[0].share)
    of = f"of {count_text(figures.voters, 'voter')}"
    if len(leaders) == 1:
        return f"{name(leaders[0])} {verb} with {share} {of}."
    names = " and ".join(name(option) for option in leaders)
    if len(names) > _TIED_NAMES_MAX:
        return f"Tie between {len(leaders)} options, {share} each {of}."
    return f"Tie between {names}, {share} each {of}."
