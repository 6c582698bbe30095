"""Poll embeds stay within Discord's limits whatever the options say."""

from datetime import UTC, datetime

import pytest

from bot.polls.embeds import EMBED_DESCRIPTION_MAX, clamp_lines, poll_embed, results_embed
from bot.polls.tally import make_tally
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
    return poll, make_tally([o.option for o in options], [7] * 10, 7, multiple=True)


@pytest.mark.parametrize("status", ["open", "closed"])
def test_ten_tied_markdown_heavy_options_fit_the_description(status):
    poll, tally = ten_tied_options(status)
    for embed in (poll_embed(poll, tally), results_embed(poll, tally, "https://discord.com/channels/1/2/3")):
        assert len(embed.description) <= EMBED_DESCRIPTION_MAX and len(embed) <= 6000
        assert "Tied for most votes: 10 options." in embed.description or status == "open"


def test_clamping_cuts_at_a_line_boundary():
    text = "\n".join(f"line {i:03}" for i in range(100))  # 8 characters a line
    clamped = clamp_lines(text, 50)
    assert len(clamped) <= 50 and clamped.endswith("\n…")
    assert all(line in text.splitlines() for line in clamped.splitlines()[:-1])
    assert clamp_lines("short", 50) == "short"
