"""Text, JSON and CSV renderings print the figures the summary holds, and agree with each other."""

import csv
import io
import json

import pytest

from bot.summaries import text
from bot.summaries.figures import article_summary, poll_summary
from tests.summaries.factories import GUILD, at


@pytest.fixture
async def poll_2_of_3(seed, store):
    poll = await seed.poll(question="More bike lanes?", options=(("👍", "Yes"), ("👎", "No"), ("🤷", "Unsure")))
    for voter, option in [(1, 0), (2, 0), (3, 1)]:
        await seed.vote(poll, option, voter, minute=voter)
    return await poll_summary(store, poll.id)


@pytest.mark.parametrize(
    ("share", "bar"), [(0.0, "░" * 12), (1.0, "█" * 12), (0.5, "█" * 6 + "░" * 6), (2 / 3, "█" * 8 + "░" * 4)]
)
def test_text_bar(share, bar):
    assert text.text_bar(share) == bar


def test_percent_is_rounded_once_for_everyone():
    assert text.percent_value(2 / 3) == 66.7
    assert text.format_percent(2 / 3) == "66.7%"


def test_poll_text_shows_every_figure(poll_2_of_3):
    out = text.poll_text(poll_2_of_3)
    assert "More bike lanes?" in out and "Status:   open" in out
    assert "Voters:   3 (3 votes, single choice)" in out
    assert "👍 Yes     2   66.7%  ████████░░░░" in out
    assert "🤷 Unsure  0    0.0%  ░░░░░░░░░░░░" in out


def test_poll_json_and_csv_agree_with_the_text(poll_2_of_3):
    data = json.loads(text.to_json(text.poll_dict(poll_2_of_3)))
    assert data["voters"] == 3 and data["votes"] == 3
    assert [(o["label"], o["votes"], o["percent"]) for o in data["options"]] == [
        ("Yes", 2, 66.7),
        ("No", 1, 33.3),
        ("Unsure", 0, 0.0),
    ]
    rows = list(csv.DictReader(io.StringIO(text.poll_csv(poll_2_of_3))))
    assert [(r["label"], int(r["votes"]), float(r["percent"])) for r in rows] == [
        (o["label"], o["votes"], o["percent"]) for o in data["options"]
    ]
    assert {r["voters"] for r in rows} == {"3"}


async def test_closed_early_status_reads_as_such(seed, store):
    poll = await seed.poll(deadline=at(600), closed=at(60), closed_reason="manual")
    summary = await poll_summary(store, poll.id)
    assert text.status_text(summary) == "closed early: closed by a moderator"
    assert "Closed:   2026-11-01 13:00 UTC" in text.poll_text(summary)


async def test_article_renderings(seed, store):
    article = await seed.article(title="=cmd|' /C calc'!A0")
    delivery = await seed.delivery(article)
    poll = await seed.poll(article_id=article, delivery_id=delivery)
    await seed.vote(poll, 1, voter=9, minute=1)
    for author, minute in [(100, 5), (101, 6), (100, 7)]:
        await seed.reply(article, delivery, author, minute)
    summary = await article_summary(store, article, GUILD)
    out = text.article_text(summary)
    assert "Discussion: 3 replies from 2 participants (thread open)" in out
    assert "    100  2" in out and "Replies per day: 3.0 over 1 days" in out
    data = json.loads(text.to_json(text.article_dict(summary)))
    assert data["discussion"]["replies"] == 3 and data["polls"][0]["voters"] == 1
    rows = list(csv.DictReader(io.StringIO(text.article_csv(summary))))
    by_name = {(r["section"], r["name"]): r for r in rows}
    assert by_name[("discussion", "replies")]["value"] == "3"
    assert by_name[("participant", "100")]["value"] == "2"
    assert by_name[(f"poll {poll.id}", "👎 No")]["value"] == "1"
    assert by_name[(f"poll {poll.id}", "👎 No")]["percent"] == "100.0"
    assert by_name[("article", "title")]["value"].startswith("'=")  # no formula in a spreadsheet
