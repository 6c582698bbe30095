"""Poll totals: counts, whole-number percentages and text bars for the live and final embeds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.polls.options import PollOption

BAR_WIDTH = 12
_FULL, _EMPTY = "█", "░"


@dataclass(frozen=True, slots=True)
class OptionResult:
    option: PollOption
    count: int
    percent: int  # of voters, so multiple-choice percentages may add up to more than 100

    @property
    def bar(self) -> str:
        return text_bar(self.percent / 100)


@dataclass(frozen=True, slots=True)
class Tally:
    results: tuple[OptionResult, ...]
    voters: int

    @property
    def votes(self) -> int:
        return sum(result.count for result in self.results)

    @property
    def leaders(self) -> tuple[OptionResult, ...]:
        """The options with the most votes; none while nobody has voted."""
        top = max((result.count for result in self.results), default=0)
        return tuple(result for result in self.results if top and result.count == top)


def make_tally(options: Sequence[PollOption], counts: Sequence[int], voters: int, *, multiple: bool) -> Tally:
    """Tally of options in order, `counts[i]` being the votes of `options[i]`."""
    if len(options) != len(counts):
        raise ValueError(f"{len(options)} options but {len(counts)} counts")
    # Single-choice shares must add up to exactly 100: readers check, and 99 % looks like a bug.
    shares = largest_remainder_percentages(counts) if not multiple else [_percent(c, voters) for c in counts]
    return Tally(
        tuple(OptionResult(option, count, share) for option, count, share in zip(options, counts, shares, strict=True)),
        voters,
    )


def _percent(count: int, base: int) -> int:
    return round(100 * count / base) if base else 0


def largest_remainder_percentages(counts: Sequence[int]) -> list[int]:
    """Whole percentages of the total that add up to 100 (or all 0 when the total is 0)."""
    total = sum(counts)
    if total == 0:
        return [0] * len(counts)
    exact = [100 * count / total for count in counts]
    floors = [int(share) for share in exact]
    missing = 100 - sum(floors)
    # Ties go to the earlier option so the result does not depend on anything but the counts.
    by_remainder = sorted(range(len(counts)), key=lambda i: (-(exact[i] - floors[i]), i))
    for index in by_remainder[:missing]:
        floors[index] += 1
    return floors


def text_bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """A bar of block characters; any non-zero share shows at least one block."""
    fraction = min(max(fraction, 0.0), 1.0)
    filled = round(fraction * width)
    if fraction > 0 and filled == 0:
        filled = 1
    return _FULL * filled + _EMPTY * (width - filled)
