"""Vote and event-log CSV exports: header, encoding, round trip, and agreement with the figures."""

import csv
import io
from collections import Counter

from bot.polls.fairness import PollFairness, to_row
from bot.storage import summaries as storage_summaries
from bot.storage.polls import PollStore
from bot.summaries.csv_export import EVENTS_HEADER, VOTES_HEADER, export_events, export_votes, spreadsheet_time
from bot.summaries.figures import poll_summary
from bot.timeutil import to_db
from tests.summaries.factories import at


def parse(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM that makes Excel read UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


async def test_empty_poll_exports_only_the_headers(seed, store):
    poll = await seed.poll()
    assert parse(await export_votes(store, poll.id)) == [list(VOTES_HEADER)]
    assert parse(await export_events(store, poll.id)) == [list(EVENTS_HEADER)]


async def test_votes_round_trip(seed, store):
    poll = await seed.poll(options=(("👍", 'Yes, "really"'), ("<:meh:42>", "Meh, maybe\nlater")))
    await seed.vote(poll, 1, voter=987654321012345678, minute=2)
    await seed.vote(poll, 0, voter=7, minute=1)
    rows = parse(await export_votes(store, poll.id))
    assert rows == [
        list(VOTES_HEADER),
        [str(poll.id), 'Yes, "really"', "👍", "7", "2026-11-01 12:01:00.000"],
        [str(poll.id), "Meh, maybe\nlater", "<:meh:42>", "987654321012345678", "2026-11-01 12:02:00.000"],
    ]


async def test_event_log_round_trip_in_time_order(seed, store):
    poll = await seed.poll()
    await seed.vote(poll, 0, voter=7, minute=1)
    await seed.switch(poll, 0, 1, voter=7, minute=2)
    await seed.vote(poll, 0, voter=8, minute=3, source="reconciled")
    rows = parse(await export_events(store, poll.id))
    assert rows[0] == list(EVENTS_HEADER)
    assert [(r[1], r[3], r[4], r[5], r[6]) for r in rows[1:]] == [
        ("Yes", "7", "2026-11-01 12:01:00.000", "added", "live"),
        ("Yes", "7", "2026-11-01 12:02:00.000", "removed", "live"),
        ("No", "7", "2026-11-01 12:02:00.000", "added", "live"),
        ("Yes", "8", "2026-11-01 12:03:00.000", "added", "reconciled"),
    ]


async def test_lines_end_with_crlf(seed, store):
    poll = await seed.poll()
    await seed.vote(poll, 0, voter=7, minute=1)
    data = await export_votes(store, poll.id)
    assert data.count(b"\r\n") == 2 and data.endswith(b"\r\n")


async def test_formula_like_labels_are_neutralised(seed, store):
    poll = await seed.poll(options=(("👍", '=HYPERLINK("x")'), ("👎", "-1 point")))
    await seed.vote(poll, 0, voter=7, minute=1)
    await seed.vote(poll, 1, voter=8, minute=1)
    rows = parse(await export_votes(store, poll.id))
    assert [row[1] for row in rows[1:]] == ['\'=HYPERLINK("x")', "'-1 point"]


async def test_export_counts_agree_with_the_summary_across_chunks(seed, store, monkeypatch):
    monkeypatch.setattr(storage_summaries, "EXPORT_CHUNK_ROWS", 3)  # several chunks from a few rows
    poll = await seed.poll()
    for voter in range(10):
        await seed.vote(poll, voter % 3 == 0, voter=voter, minute=voter)
    await seed.unvote(poll, 0, voter=1, minute=20)
    summary = await poll_summary(store, poll.id)
    rows = parse(await export_votes(store, poll.id))[1:]
    assert Counter(row[1] for row in rows) == {o.label: o.votes for o in summary.options}
    assert len({row[3] for row in rows}) == summary.voters
    events = parse(await export_events(store, poll.id))[1:]
    assert len(events) == 11


def test_spreadsheet_time_converts_any_offset_to_utc():
    assert spreadsheet_time(to_db(at(0))) == "2026-11-01 12:00:00.000"
    assert spreadsheet_time("2026-11-01T14:00:00.250+02:00") == "2026-11-01 12:00:00.250"
    assert spreadsheet_time("2026-11-01T12:00:00") == "2026-11-01 12:00:00.000"


async def test_an_anonymous_polls_exports_name_voters_by_a_per_poll_pseudonym(seed, store, db):
    first, second = await seed.poll(), await seed.poll()
    for poll in (first, second):
        await PollStore(db).set_fairness(poll.id, to_row(PollFairness(anonymous=True)))
        await seed.vote(poll, 0, voter=987654321012345678, minute=1)
        await seed.vote(poll, 1, voter=7, minute=2)
    votes, events = parse(await export_votes(store, first.id)), parse(await export_events(store, first.id))
    exported = (await export_votes(store, first.id)) + (await export_events(store, first.id))
    assert b"987654321012345678" not in exported and b",7," not in exported
    assert votes[0][3] == events[0][3] == "voter"
    names = {row[3] for row in votes[1:]}
    assert len(names) == 2 and names == {row[3] for row in events[1:]}  # stable within the poll
    assert not names & {row[3] for row in parse(await export_votes(store, second.id))[1:]}  # unlinkable across
