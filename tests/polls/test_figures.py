"""The one figure model: shares of voters, one rounding, one bar and one headline for every rendering."""

import pytest

from bot.polls.figures import BAR_WIDTH, headline, percent_value, text_bar, vote_figures
from bot.storage.polls import StoredOption

OPTIONS = (StoredOption(1, 0, "👍", "Support"), StoredOption(2, 1, "👎", "Oppose"), StoredOption(3, 2, "🤷", "Unsure"))


def test_single_choice_shares_are_of_voters_who_are_the_votes() -> None:
    figures = vote_figures(OPTIONS, [1, 1, 1], voters=3)
    assert [(o.label, o.votes, o.percent) for o in figures.options] == [
        ("Support", 1, 33.3),
        ("Oppose", 1, 33.3),
        ("Unsure", 1, 33.3),
    ]
    assert figures.total_votes == 3 and figures.voters == 3


def test_multiple_choice_percentages_are_of_voters_and_may_exceed_100_in_sum() -> None:
    figures = vote_figures(OPTIONS, [4, 3, 1], voters=4)
    assert [o.percent for o in figures.options] == [100.0, 75.0, 25.0]
    assert figures.total_votes == 8


def test_percent_is_rounded_to_one_decimal() -> None:
    assert percent_value(2 / 3) == 66.7 and percent_value(0.0) == 0.0


def test_leaders_are_all_options_tied_for_most_votes() -> None:
    figures = vote_figures(OPTIONS, [2, 2, 1], voters=5)
    assert [o.label for o in figures.leaders] == ["Support", "Oppose"]


def test_no_leader_without_votes() -> None:
    assert vote_figures(OPTIONS, [0, 0, 0], voters=0).leaders == ()


def test_counts_must_match_options() -> None:
    with pytest.raises(ValueError):
        vote_figures(OPTIONS, [1, 2], voters=3)


@pytest.mark.parametrize(
    ("verb", "counts", "voters", "expected"),
    [
        ("leads", [2, 1, 0], 3, "👍 Support leads with 66.7% of 3 voters."),
        ("won", [0, 1, 0], 1, "👎 Oppose won with 100.0% of 1 voter."),
        ("led", [1, 1, 0], 2, "Tie between 👍 Support and 👎 Oppose, 50.0% each of 2 voters."),
        ("leads", [0, 0, 0], 0, "No votes yet."),
        ("won", [0, 0, 0], 0, "Nobody voted."),
    ],
)
def test_headline(verb, counts, voters, expected) -> None:
    assert headline(vote_figures(OPTIONS, counts, voters), verb) == expected


@pytest.mark.parametrize(
    ("fraction", "filled"),
    [(0.0, 0), (0.001, 1), (0.5, 6), (1.0, 12), (1.5, 12), (-1.0, 0)],
)
def test_text_bar(fraction: float, filled: int) -> None:
    bar = text_bar(fraction)
    assert len(bar) == BAR_WIDTH
    assert bar.count("█") == filled
