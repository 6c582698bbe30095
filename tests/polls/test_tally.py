import pytest

from bot.polls.options import PollOption
from bot.polls.tally import BAR_WIDTH, largest_remainder_percentages, make_tally, text_bar

OPTIONS = (PollOption("👍", "Support"), PollOption("👎", "Oppose"), PollOption("🤷", "Unsure"))


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ([0, 0, 0], [0, 0, 0]),
        ([1, 1, 1], [34, 33, 33]),
        ([2, 1], [67, 33]),
        ([1, 0, 0], [100, 0, 0]),
        ([1, 2, 3, 4, 5, 6, 7], [4, 7, 11, 14, 18, 21, 25]),
        ([999, 1], [100, 0]),
        ([995, 5], [100, 0]),  # a tie of remainders goes to the earlier option
        ([5, 995], [1, 99]),
    ],
)
def test_largest_remainder_percentages_add_up_to_100(counts: list[int], expected: list[int]) -> None:
    shares = largest_remainder_percentages(counts)
    assert shares == expected
    assert sum(shares) in (0, 100)


def test_single_choice_tally_uses_shares_of_all_votes() -> None:
    tally = make_tally(OPTIONS, [1, 1, 1], voters=3, multiple=False)
    assert [(r.option.label, r.count, r.percent) for r in tally.results] == [
        ("Support", 1, 34),
        ("Oppose", 1, 33),
        ("Unsure", 1, 33),
    ]
    assert tally.votes == 3 and tally.voters == 3


def test_multiple_choice_percentages_are_of_voters_and_may_exceed_100_in_sum() -> None:
    tally = make_tally(OPTIONS, [4, 3, 1], voters=4, multiple=True)
    assert [r.percent for r in tally.results] == [100, 75, 25]
    assert tally.votes == 8


def test_leaders_are_all_options_tied_for_most_votes() -> None:
    tally = make_tally(OPTIONS, [2, 2, 1], voters=5, multiple=False)
    assert [r.option.label for r in tally.leaders] == ["Support", "Oppose"]


def test_no_leader_without_votes() -> None:
    assert make_tally(OPTIONS, [0, 0, 0], voters=0, multiple=False).leaders == ()


def test_counts_must_match_options() -> None:
    with pytest.raises(ValueError):
        make_tally(OPTIONS, [1, 2], voters=3, multiple=False)


@pytest.mark.parametrize(
    ("fraction", "filled"),
    [(0.0, 0), (0.001, 1), (0.5, 6), (1.0, 12), (1.5, 12), (-1.0, 0)],
)
def test_text_bar(fraction: float, filled: int) -> None:
    bar = text_bar(fraction)
    assert len(bar) == BAR_WIDTH
    assert bar.count("█") == filled
