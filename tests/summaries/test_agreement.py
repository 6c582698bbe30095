"""One poll with switched and withdrawn votes reads the same everywhere: the poll's own message (live, as the
bot rebuilds it at start, and final), the /poll results embed, `agora summary` JSON, the CSV exports and the
numbers handed to the chart, now and at a past moment."""

import asyncio
import csv
import io
import json
import re
from collections import Counter

import pytest

from bot.cli import main
from bot.polls.embeds import poll_embed
from bot.polls.figures import vote_figures
from bot.polls.live import LivePoll
from bot.storage.polls import PollStore
from bot.summaries import charts, csv_export
from bot.summaries.reports import find_poll, poll_report
from bot.summaries.text import percent_value
from bot.timeutil import to_db
from tests.summaries.factories import GUILD, at

OPTIONS = (("👍", "Yes"), ("👎", "No"), ("🤷", "Unsure"))
MOMENT = "2026-11-01T12:15:00"  # after the switches, before the withdrawals and the late votes
_OPTION_LINE = re.compile(r"^(\S+) (\w+) — \*\*(\d+)\*\* · ([\d.]+)%$", re.MULTILINE)
_MESSAGE_LINE = re.compile(r"^(\S+) \*\*(\w+)\*\*\n`([█░]+)` (\d+) votes? · ([\d.]+)%$", re.MULTILINE)
_BAR_LINE = re.compile(r"^`([█░]+)`$", re.MULTILINE)


@pytest.fixture
async def poll(seed):
    poll = await seed.poll(guild_id=GUILD, channel_id=11, options=OPTIONS)
    for voter in range(1, 11):
        await seed.vote(poll, voter % 3, voter, minute=voter)
    await seed.switch(poll, 1, 0, voter=1, minute=11)  # No → Yes
    await seed.switch(poll, 2, 1, voter=2, minute=12)  # Unsure → No
    await seed.unvote(poll, 0, voter=3, minute=20)
    await seed.unvote(poll, 0, voter=1, minute=21)  # the switched vote, withdrawn after all
    await seed.vote(poll, 2, voter=11, minute=22)
    await seed.switch(poll, 2, 0, voter=11, minute=23)
    return poll


@pytest.fixture
def drawn(monkeypatch):
    """What /poll results hands the chart renderer, captured on the way to the real renderer."""
    handed = []
    render = charts.render_poll_chart_async

    async def capture(summary, timeline):
        handed.append((summary, timeline))
        return await render(summary, timeline)

    monkeypatch.setattr(charts, "render_poll_chart_async", capture)
    return handed


def figures(counts: dict[str, int], voters: int) -> dict:
    """(votes, percent) per option label, and voters: the figures every rendering must agree on."""
    shares = {label: (counts.get(label, 0), percent_value(counts.get(label, 0) / voters if voters else 0.0))
              for _, label in OPTIONS}  # fmt: skip
    return {"options": shares, "voters": voters}


async def from_discord(store, poll_id, moment, drawn):
    report = await poll_report(store, await find_poll(store, GUILD, str(poll_id), 11, moment))
    lines = _OPTION_LINE.findall(report.embed.description)
    voters = next(f.value for f in report.embed.fields if f.name == "Voters")
    embed = {"options": {label: (int(votes), float(percent)) for _, label, votes, percent in lines},
             "voters": int(voters.split()[0])}  # fmt: skip
    summary, timeline = drawn[-1]
    bars = figures({o.label: o.votes for o in summary.options}, summary.voters)
    curves = figures({o.label: series[-1] for o, series in zip(summary.options, timeline.counts, strict=True)},
                     summary.voters)  # fmt: skip
    assert [percent_value(o.share) for o in summary.options] == [p for _, p in bars["options"].values()]
    return embed, bars, curves


def _message_figures(embed) -> tuple[dict, list[str]]:
    lines = _MESSAGE_LINE.findall(embed.description)
    voters = int(embed.footer.text.split(" · ")[1].split()[0])
    options = {label: (int(votes), float(percent)) for _, label, _, votes, percent in lines}
    return {"options": options, "voters": voters}, [bar for _, _, bar, _, _ in lines]


async def from_poll_message(db, poll_id):
    """The poll's own message: live, from the in-memory state the bot loads at start, and final, from the
    stored counts it shows once closed."""
    store = PollStore(db)
    poll = await store.poll(poll_id)
    live = LivePoll(poll, bot_user_id=0)
    live.load(await store.current_votes(poll_id), await store.current_leftovers(poll_id))
    counts = await store.vote_counts(poll_id)
    final = vote_figures(poll.options, counts.in_order(poll), counts.voters)
    return _message_figures(poll_embed(poll, live.figures())), _message_figures(poll_embed(poll, final))


async def from_cli(url, poll_id, capsys, *extra):
    # A thread of its own: the CLI runs its own event loop, as it does from a shell.
    where = ["--db", str(url.path)] if url.path is not None else ["--database", url.dsn]
    command = ["summary", "--poll", str(poll_id), *where, "--format", "json", *extra]
    assert await asyncio.to_thread(main, command) == 0
    data = json.loads(capsys.readouterr().out)
    return {"options": {o["label"]: (o["votes"], o["percent"]) for o in data["options"]}, "voters": data["voters"]}


async def test_current_figures_agree_across_discord_cli_csv_and_chart(store, db, poll, drawn, database_url, capsys):
    embed, bars, curves = await from_discord(store, poll.id, None, drawn)
    (live, live_bars), (final, final_bars) = await from_poll_message(db, poll.id)
    report = await poll_report(store, await find_poll(store, GUILD, str(poll.id), 11, None))
    assert live == final == embed and live_bars == final_bars == _BAR_LINE.findall(report.embed.description)
    rows = list(csv.DictReader(io.StringIO((await csv_export.export_votes(store, poll.id)).decode("utf-8-sig"))))
    exported = figures(Counter(row["option"] for row in rows), len({row["voter_id"] for row in rows}))
    cli = await from_cli(database_url, poll.id, capsys)
    assert embed == bars == curves == exported == cli
    assert cli["options"] == {"Yes": (3, 33.3), "No": (4, 44.4), "Unsure": (2, 22.2)} and cli["voters"] == 9


async def test_figures_at_a_past_moment_agree_with_a_replay_of_the_exported_log(
    store, poll, drawn, database_url, capsys
):
    moment = at(15)
    embed, bars, curves = await from_discord(store, poll.id, moment, drawn)
    events = csv.DictReader(io.StringIO((await csv_export.export_events(store, poll.id)).decode("utf-8-sig")))
    last: dict[tuple[str, str], str] = {}  # each vote's last action by then decides whether it is held
    for row in events:
        if row["at_utc"] <= to_db(moment).replace("T", " ")[:23]:
            last[(row["option"], row["voter_id"])] = row["action"]
    held = [key for key, action in last.items() if action == "added"]
    replayed = figures(Counter(option for option, _ in held), len({voter for _, voter in held}))
    cli = await from_cli(database_url, poll.id, capsys, "--at", MOMENT)
    assert embed == bars == curves == replayed == cli
    assert cli["options"] == {"Yes": (4, 40.0), "No": (4, 40.0), "Unsure": (2, 20.0)} and cli["voters"] == 10
