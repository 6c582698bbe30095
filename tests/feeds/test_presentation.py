"""Feed replies: what /feed list and /feed check write, within Discord's limits."""

from __future__ import annotations

from bot import limits
from bot.feeds.presentation import check_text, fit_lines
from bot.feeds.service import CycleReport


def test_long_lists_are_cut_with_a_count() -> None:
    text = fit_lines([f"line {n} " + "x" * 100 for n in range(100)])
    assert len(text) <= limits.EMBED_DESCRIPTION and text.endswith("more")


def test_check_text_lists_errors() -> None:
    report = CycleReport(feeds=2, posted=1, not_modified=0, failed=1, errors=["Live News: HTTP 500"])
    assert check_text(report) == (
        "Checked 2 feeds: 1 new article posted, 0 unchanged, 1 failed.\n⚠️ Live News: HTTP 500"
    )
