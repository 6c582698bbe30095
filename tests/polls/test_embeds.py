"""Poll embeds stay within Discord's limits whatever the options say."""

from datetime import UTC, datetime

import pytest

from bot.limits import EMBED_DESCRIPTION, EMBED_TOTAL, clamp_lines
from bot.polls.embeds import poll_embed, results_embed
from bot.polls.fairness import PollFairness
from bot.polls.figures import vote_figures
from bot.storage.polls import StoredOption, StoredPoll

MOMENT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
# 100 characters (the longest label) that markdown escaping doubles.
HEAVY_LABEL = "*_" * 50


def ten_tied_options(status: str) -> tuple[StoredPoll, object]:
    options = tuple(StoredOption(i, i, f"{i}\N{COMBINING ENCLOSING KEYCAP}", HEAVY_LABEL) for i in range(10))
    poll = StoredPoll(
        id=1, guild_id=1, channel_id=2, message_id=3, article_id=None, delivery_id=None, question="Which?",
        multiple=True, status=status, closed_reason="manual" if status == "closed" else None, created_by=None,
        created_at=MOMENT, deadline_at=MOMENT, closed_at=MOMENT if status == "closed" else None, options=options,
    )  # fmt: skip
    return poll, vote_figures(options, [7] * 10, 7)


@pytest.mark.parametrize("status", ["open", "closed"])
def test_ten_tied_markdown_heavy_options_fit_the_description(status):
    poll, tally = ten_tied_options(status)
    for embed in (poll_embed(poll, tally), results_embed(poll, tally, "https://discord.com/channels/1/2/3")):
        assert len(embed.description) <= EMBED_DESCRIPTION and len(embed) <= EMBED_TOTAL
        assert "Tie between 10 options, 100.0% each of 7 voters." in embed.description or status == "open"


def test_clamping_cuts_at_a_line_boundary():
    text = "\n".join(f"line {i:03}" for i in range(100))  # 8 characters a line
    clamped = clamp_lines(text, 50)
    assert len(clamped) <= 50 and clamped.endswith("\n…")
    assert all(line in text.splitlines() for line in clamped.splitlines()[:-1])
    assert clamp_lines("short", 50) == "short"


def test_an_anonymous_poll_says_a_vote_is_changed_by_reacting_again_not_withdrawn():
    poll, figures = ten_tied_options("open")
    anonymous = poll_embed(poll, figures, PollFairness(anonymous=True)).description or ""
    plain = poll_embed(poll, figures).description or ""
    assert "disappears once counted" in anonymous and "take it back" not in anonymous
    assert "take it back" in plain
