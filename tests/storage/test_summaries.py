"""Aggregate queries: lookups, search, streaming exports, and the indexes the big queries rely on."""

import contextlib

import pytest

from bot.storage import summaries as storage_summaries
from bot.storage.summaries import SummaryStore
from tests.summaries.factories import GUILD, OTHER_GUILD, Seed


@pytest.fixture
def db(db_on):
    return db_on


@pytest.fixture
def seed(db):
    return Seed(db)


@pytest.fixture
def store(db):
    return SummaryStore(db)


async def plan(db, sql, params):
    if db.dialect != "sqlite":
        pytest.skip("asks SQLite's query planner")
    return " / ".join(row[3] for row in await db.fetch_all(f"EXPLAIN QUERY PLAN {sql}", params))


async def test_option_counts_include_options_without_votes(seed, store):
    poll = await seed.poll(options=(("1️⃣", "A"), ("2️⃣", "B"), ("3️⃣", "C")))
    await seed.vote(poll, 2, voter=1, minute=1)
    counts = await store.option_counts(poll.id)
    assert [counts[option] for option in poll.option_ids] == [0, 0, 1] and counts.keys() == set(poll.option_ids)


async def test_counts_ignore_other_polls(seed, store):
    poll = await seed.poll()
    other = await seed.poll()
    await seed.vote(other, 0, voter=1, minute=1)
    assert await store.option_counts(poll.id) == dict.fromkeys(poll.option_ids, 0)
    assert await store.voter_count(poll.id) == 0 and await store.event_span(poll.id) is None


async def test_search_takes_percent_and_underscore_literally(seed, store):
    wanted = await seed.poll(question="Is 100% fair?")
    await seed.poll(question="Is 1000 fair?")
    await seed.poll(question="Is 100% fair elsewhere?", guild_id=OTHER_GUILD)
    assert await store.search_polls(GUILD, "100%", 25) == [(wanted.id, "Is 100% fair?")]
    assert await store.search_polls(GUILD, "_", 25) == []
    assert len(await store.search_polls(GUILD, "", 25)) == 2


async def test_poll_in_channel_finds_a_thread_poll_by_channel_or_by_delivery(seed, store):
    article = await seed.article()
    delivery = await seed.delivery(article, channel_id=10, thread_id=11)
    in_parent = await seed.poll(channel_id=10, article_id=article, delivery_id=delivery)
    assert await store.poll_in_channel(GUILD, 11) == in_parent.id  # the thread of the poll's article
    in_thread = await seed.poll(channel_id=11)
    assert await store.poll_in_channel(GUILD, 11) == in_thread.id  # newest first
    assert await store.poll_in_channel(OTHER_GUILD, 11) is None
    assert await store.poll_in_channel(GUILD, 99) is None


async def test_articles_are_found_only_in_servers_they_were_posted_in(seed, store):
    article = await seed.article(title="Bike lanes")
    await seed.delivery(article, thread_id=11)
    assert await store.search_articles(GUILD, "bike", 25) == [(article, "Bike lanes")]
    assert await store.search_articles(OTHER_GUILD, "bike", 25) == []
    assert await store.article_in_guild(GUILD, article) == article
    assert await store.article_in_guild(OTHER_GUILD, article) is None
    assert await store.article_by_message(GUILD, 11) == article  # its thread
    assert await store.article_by_message(OTHER_GUILD, 11) is None
    assert await store.article_by_message(GUILD, 12) is None


async def test_a_poll_is_found_by_message_id_or_number_in_its_server_only(seed, store, db):
    poll = await seed.poll()
    async with db.transaction() as connection:
        await connection.execute("UPDATE polls SET message_id = 1234567890123 WHERE id = ?", (poll.id,))
    assert await store.poll_by_message(GUILD, 1234567890123) == poll.id
    assert await store.poll_by_message(OTHER_GUILD, 1234567890123) is None
    assert await store.poll_by_message(GUILD, poll.id) is None
    assert await store.poll_in_guild(GUILD, poll.id) == poll.id
    assert await store.poll_in_guild(OTHER_GUILD, poll.id) is None


async def test_net_changes_per_bucket_and_option(seed, store):
    poll = await seed.poll()
    await seed.vote(poll, 0, voter=1, minute=1)
    await seed.switch(poll, 0, 1, voter=1, minute=12)
    bounds = [("", "2026-11-01T12:10"), ("2026-11-01T12:10", "~")]
    rows = sorted(await store.event_net_by_bucket(poll.id, bounds))
    assert rows == sorted(
        [
            (0, poll.option_ids[0], 1),
            (0, poll.option_ids[1], 0),
            (1, poll.option_ids[0], -1),
            (1, poll.option_ids[1], 1),
        ]
    )


async def test_export_streams_in_chunks_in_option_then_voter_order(seed, store, monkeypatch):
    monkeypatch.setattr(storage_summaries, "EXPORT_CHUNK_ROWS", 2)
    poll = await seed.poll()
    for voter, option in [(5, 1), (3, 0), (4, 1), (1, 1)]:
        await seed.vote(poll, option, voter, minute=voter)
    chunks = [chunk async for chunk in store.iter_votes(poll.id)]
    assert [len(chunk) for chunk in chunks] == [2, 2]
    assert [(row[1], row[3]) for chunk in chunks for row in chunk] == [("Yes", 3), ("No", 1), ("No", 4), ("No", 5)]


async def test_an_export_stopped_early_closes_its_cursor(seed, store, db, monkeypatch):
    monkeypatch.setattr(storage_summaries, "EXPORT_CHUNK_ROWS", 1)
    poll = await seed.poll()
    for voter in range(3):
        await seed.vote(poll, 0, voter, minute=voter)
    async with contextlib.aclosing(store.iter_events(poll.id)) as chunks:
        async for _ in chunks:
            break
    assert await db.fetch_value("SELECT COUNT(*) FROM vote_events") == 3  # the connection is still usable


async def test_discussion_queries_are_scoped_to_the_guild(seed, store):
    article = await seed.article()
    here = await seed.delivery(article, thread_id=11)
    there = await seed.delivery(article, guild_id=OTHER_GUILD, channel_id=20, thread_id=21)
    await seed.reply(article, here, 1, 1)
    await seed.reply(article, there, 2, 2, thread_id=21)
    assert (await store.discussion_totals(article, GUILD)).replies == 1
    assert (await store.discussion_totals(article, None)).replies == 2
    assert await store.top_participants(article, OTHER_GUILD, 5) == [(2, 1)]
    assert (await store.article(article, OTHER_GUILD)).posted_at == "2026-11-01T12:00:00.000+00:00"


@pytest.mark.parametrize(
    ("sql", "index"),
    [
        ("SELECT COUNT(*) FROM votes WHERE poll_id = 1 AND option_id = 1", "PRIMARY KEY (poll_id=? AND option_id=?)"),
        ("SELECT COUNT(DISTINCT voter_id) FROM votes WHERE poll_id = 1", "COVERING INDEX votes_by_voter"),
        ("SELECT MIN(at) FROM vote_events WHERE poll_id = 1", "vote_events_by_poll_time"),
        (  # a tally at a past moment (option_counts_at): the migrations' covering index, no table row
            "SELECT TOTAL(CASE action WHEN 'added' THEN 1 ELSE -1 END) FROM vote_events"
            " WHERE poll_id = 1 AND option_id = 1 AND at <= '2026'",
            "COVERING INDEX vote_events_timeline (poll_id=? AND option_id=? AND at<?)",
        ),
    ],
)
async def test_big_aggregates_read_an_index_not_the_table(db, sql, index):
    """The 1M-vote figures in bench/summary.py hold only while these plans do."""
    assert index in await plan(db, sql, ())


async def test_timeline_reads_its_covering_index_when_present(db, seed, store):
    if db.dialect != "sqlite":
        pytest.skip("asks SQLite's query planner")
    await db.connection.execute(
        "CREATE INDEX IF NOT EXISTS vote_events_timeline ON vote_events (poll_id, option_id, at, action)"
    )
    poll = await seed.poll()
    await seed.vote(poll, 0, voter=1, minute=1)
    sql = "SELECT COUNT(*) FROM vote_events e WHERE e.poll_id = 1 AND e.option_id = 1 AND e.at >= '' AND e.at < '~'"
    assert "COVERING INDEX vote_events_timeline" in await plan(db, sql, ())
