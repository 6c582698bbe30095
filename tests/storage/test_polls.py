"""Poll SQL against a real SQLite file with the bundled migrations."""

from __future__ import annotations

import random
import sqlite3
from datetime import timedelta

import pytest

from bot.polls.options import PollOption
from bot.storage import Database
from bot.storage.database import bundled_migrations
from bot.storage.polls import FairnessRow, PollStore
from bot.storage.summaries import SummaryStore
from bot.timeutil import to_db, utcnow

OPTIONS = (PollOption("👍", "Yes"), PollOption("👎", "No"), PollOption("🤷", "Unsure"))
T0 = utcnow().replace(microsecond=0)


def at(seconds: float) -> str:
    return to_db(T0 + timedelta(seconds=seconds))


@pytest.fixture
def db(db_on):
    return db_on


@pytest.fixture
def store(db):
    return PollStore(db)


async def new_poll(store: PollStore, **kwargs):
    values = dict(guild_id=1, channel_id=2, question="Q?", options=OPTIONS, multiple=False, created_by=3)
    poll = await store.create_poll(**(values | kwargs))
    await store.set_message(poll.id, 1000 + poll.id)
    return await store.poll(poll.id)


async def test_create_poll_stores_options_in_order_and_waits_for_its_message(store):
    poll = await store.create_poll(
        guild_id=1, channel_id=2, question="Q?", options=OPTIONS, multiple=True, created_by=3,
        deadline_at=T0 + timedelta(hours=1),
    )  # fmt: skip
    assert [(o.position, o.emoji, o.label) for o in poll.options] == [
        (0, "👍", "Yes"),
        (1, "👎", "No"),
        (2, "🤷", "Unsure"),
    ]
    assert poll.multiple and poll.is_open and poll.message_id is None
    assert poll.deadline_at == T0 + timedelta(hours=1)
    assert await store.open_polls() == [] and [p.id for p in await store.unsent_polls()] == [poll.id]
    await store.set_message(poll.id, 55)
    assert (await store.poll_by_message(55)).id == poll.id
    assert [p.id for p in await store.open_polls()] == [poll.id]


async def test_delete_unsent_never_deletes_a_sent_poll(store):
    sent = await new_poll(store)
    unsent = await store.create_poll(guild_id=1, channel_id=2, question="Q", options=OPTIONS, multiple=False,
                                     created_by=None)  # fmt: skip
    await store.delete_unsent(sent.id)
    await store.delete_unsent(unsent.id)
    assert await store.poll(sent.id) is not None and await store.poll(unsent.id) is None


async def test_close_poll_happens_once(store):
    poll = await new_poll(store)
    assert await store.close_poll(poll.id, "manual", T0)
    assert not await store.close_poll(poll.id, "deadline", T0)
    closed = await store.poll(poll.id)
    assert (closed.status, closed.closed_reason, closed.closed_at) == ("closed", "manual", T0)
    assert await store.closed_poll_messages() == {poll.message_id: poll.channel_id}


async def test_a_batch_logs_every_event_and_keeps_each_votes_last_state(store, db):
    poll = await new_poll(store)
    yes, no, _ = (o.id for o in poll.options)
    await store.record_vote_events([
        (poll.id, yes, 7, "added", "live", at(1)),
        (poll.id, yes, 7, "removed", "live", at(2)),
        (poll.id, no, 7, "added", "live", at(3)),
        (poll.id, yes, 8, "added", "live", at(4)),
        (poll.id, yes, 8, "removed", "live", at(5)),
        (poll.id, yes, 8, "added", "reconciled", at(6)),
    ])  # fmt: skip
    assert sorted(await store.current_votes(poll.id)) == [(7, no), (8, yes)]
    assert await db.fetch_value("SELECT COUNT(*) FROM vote_events") == 6
    assert await db.fetch_value("SELECT voted_at FROM votes WHERE voter_id = 8") == at(6)
    history = await db.fetch_all("SELECT action, source FROM vote_events WHERE voter_id = 8 ORDER BY id")
    assert [(row["action"], row["source"]) for row in history] == [
        ("added", "live"), ("removed", "live"), ("added", "reconciled"),
    ]  # fmt: skip


async def test_removing_a_vote_in_a_later_batch_deletes_its_row(store):
    poll = await new_poll(store)
    yes = poll.options[0].id
    await store.record_vote_events([(poll.id, yes, 7, "added", "live", at(1))])
    await store.record_vote_events([(poll.id, yes, 7, "removed", "live", at(2))])
    assert await store.current_votes(poll.id) == []


async def test_a_failing_batch_leaves_nothing_behind(store, db):
    poll = await new_poll(store)
    yes = poll.options[0].id
    with pytest.raises(sqlite3.IntegrityError):
        await store.record_vote_events([
            (poll.id, yes, 7, "added", "live", at(1)),
            (poll.id, yes, 8, "added", "bogus-source", at(2)),
        ])  # fmt: skip
    assert await db.fetch_value("SELECT COUNT(*) FROM vote_events") == 0
    assert await store.current_votes(poll.id) == []


async def test_vote_counts_per_option_and_distinct_voters(store):
    poll = await new_poll(store, multiple=True)
    yes, no, unsure = (o.id for o in poll.options)
    await store.record_vote_events([
        (poll.id, yes, 1, "added", "live", at(1)),
        (poll.id, no, 1, "added", "live", at(1)),
        (poll.id, yes, 2, "added", "live", at(1)),
    ])  # fmt: skip
    counts = await store.vote_counts(poll.id)
    assert counts.per_option == {yes: 2, no: 1} and counts.voters == 2
    assert counts.in_order(poll) == [2, 1, 0]
    empty = await store.vote_counts((await new_poll(store)).id)
    assert empty.per_option == {} and empty.voters == 0
    assert unsure not in counts.per_option


@pytest.mark.parametrize("multiple", [False, True])
async def test_the_log_this_store_writes_replays_to_the_tally_at_each_moment(store, db, multiple):
    """Summaries count past tallies as added minus removed events: true only while every logged
    change is one the current votes made, batches with a vote added and withdrawn repeatedly included."""
    poll = await new_poll(store, multiple=multiple)
    yes, no, _ = (o.id for o in poll.options)
    await store.record_vote_events([
        (poll.id, yes, 1, "added", "live", at(10)),
        (poll.id, yes, 2, "added", "live", at(20)),
        (poll.id, yes, 2, "removed", "live", at(20)),
        (poll.id, yes, 2, "added", "live", at(20)),
    ])  # fmt: skip
    await store.record_vote_events([
        (poll.id, yes, 1, "removed", "live", at(30)),
        (poll.id, no, 1, "added", "live", at(30)),
        (poll.id, yes, 2, "removed", "reconciled", at(40)),
    ])  # fmt: skip
    summaries = SummaryStore(db)
    moments = {5: ([0, 0, 0], 0), 10: ([1, 0, 0], 1), 25: ([2, 0, 0], 2), 30: ([1, 1, 0], 2), 45: ([0, 1, 0], 1)}
    for seconds, (per_option, voters) in moments.items():
        by_option = await summaries.option_counts_at(poll.id, at(seconds))
        counts = [by_option[option.id] for option in poll.options]
        assert (counts, await summaries.voter_count_at(poll.id, at(seconds))) == (per_option, voters), seconds
    now = await store.vote_counts(poll.id)
    assert (now.in_order(poll), now.voters) == moments[45]


async def test_poll_for_delivery_and_open_polls_in_a_channel(store, db):
    first = await new_poll(store, channel_id=9)
    await new_poll(store, channel_id=10)
    assert [p.id for p in await store.open_polls_in_channel(9)] == [first.id]
    assert await store.poll_for_delivery(12345) is None


async def test_deleting_a_poll_takes_its_votes_and_events(store, db):
    poll = await new_poll(store)
    await store.record_vote_events([(poll.id, poll.options[0].id, 1, "added", "live", at(1))])
    await store.delete_poll(poll.id)
    assert await db.fetch_value("SELECT COUNT(*) FROM votes") == 0
    assert await db.fetch_value("SELECT COUNT(*) FROM vote_events") == 0
    assert await db.fetch_value("SELECT COUNT(*) FROM poll_options") == 0


async def recounted(db, poll_id: int) -> tuple[list[int], int]:
    """The poll's figures counted from its current votes, the way the counts would be without being kept."""
    rows = await db.fetch_all(
        "SELECT (SELECT COUNT(*) FROM votes v WHERE v.option_id = o.id) FROM poll_options o WHERE o.poll_id = ?"
        " ORDER BY o.position",
        (poll_id,),
    )
    voters = await db.fetch_value("SELECT COUNT(DISTINCT voter_id) FROM votes WHERE poll_id = ?", (poll_id,))
    return [int(row[0]) for row in rows], int(voters)


@pytest.mark.parametrize("seed", range(6))
async def test_kept_counts_equal_a_recount_after_any_batches(store, db, seed):
    """Random batches of adds, withdrawals, repeats and superseded reactions over two polls: after each batch
    the counts the store keeps are what counting the current votes gives."""
    rng = random.Random(seed)
    polls = [await new_poll(store, multiple=bool(seed % 2)), await new_poll(store, multiple=True)]
    for batch in range(12):
        events = []
        for _ in range(rng.randrange(1, 40)):
            poll = rng.choice(polls)
            action = rng.choice(["added", "added", "removed", "left", "gone"])
            option = rng.choice(poll.options).id
            events.append((poll.id, option, rng.randrange(1, 9), action, "live", at(batch)))
        await store.record_vote_events(events)
        for poll in polls:
            counts = await store.vote_counts(poll.id)
            assert (counts.in_order(poll), counts.voters) == await recounted(db, poll.id), (seed, batch)


async def test_the_counts_migration_counts_the_votes_already_stored(tmp_path):
    path = tmp_path / "agora.db"
    before_counts = [m for m in bundled_migrations() if m[1] != "vote_counts" and m[0] < 6]
    db = await Database.open(path, migrations=before_counts)
    async with db.transaction() as connection:
        await connection.execute(
            "INSERT INTO polls (id, guild_id, channel_id, question, created_at) VALUES (1, 1, 2, 'Q?', ?)", (at(0),)
        )
        for option_id in (1, 2):
            await connection.execute(
                "INSERT INTO poll_options (id, poll_id, position, emoji, label) VALUES (?, 1, ?, ?, 'x')",
                (option_id, option_id, str(option_id)),
            )
        for option_id, voter in ((1, 7), (1, 8), (2, 7)):
            await connection.execute(
                "INSERT INTO votes (poll_id, option_id, voter_id, voted_at) VALUES (1, ?, ?, ?)",
                (option_id, voter, at(1)),
            )
    await db.close()
    db = await Database.open(path)
    try:
        assert [tuple(r) for r in await db.fetch_all("SELECT id, votes FROM poll_options ORDER BY id")] == [
            (1, 2),
            (2, 1),
        ]
        assert await db.fetch_value("SELECT voters FROM polls WHERE id = 1") == 2
    finally:
        await db.close()


async def test_each_process_commits_its_own_vote_journal(db_on):
    shard_zero, shard_one = PollStore(db_on, journal_name="shards-0"), PollStore(db_on, journal_name="shards-1")
    poll = await shard_zero.create_poll(
        guild_id=1, channel_id=2, question="Q?", options=[PollOption("👍", "Yes")], multiple=False, created_by=None
    )
    event = (poll.id, poll.options[0].id, 7, "added", "live", to_db(utcnow()))
    await shard_zero.record_vote_events([event], journal_generation=5)
    await shard_one.record_vote_events([], journal_generation=2)
    await shard_zero.record_vote_events([], journal_generation=3)  # an older file never moves it back
    assert await shard_zero.journal_generation() == 5
    assert await shard_one.journal_generation() == 2
    assert await PollStore(db_on).journal_generation() == 0  # the unsharded row is untouched


async def test_a_sharded_process_loads_the_polls_of_its_own_servers_only(db_on):
    from bot.shards import Shards

    store = PollStore(db_on)
    guilds = {shard: (shard << 22) + 5 for shard in range(4)}  # server ids Discord sends to shards 0..3 of 4
    for shard, guild_id in guilds.items():
        poll = await store.create_poll(
            guild_id=guild_id, channel_id=2, question=f"Q{shard}?", options=[PollOption("👍", "Yes")],
            multiple=False, created_by=None,
        )  # fmt: skip
        await store.set_message(poll.id, 1000 + shard)
    await store.create_poll(
        guild_id=guilds[3], channel_id=2, question="unsent", options=[PollOption("👍", "Yes")],
        multiple=False, created_by=None,
    )  # fmt: skip
    owner = PollStore(db_on, shards=Shards(4, (1, 3)))
    assert sorted(poll.guild_id for poll in await owner.open_polls()) == [guilds[1], guilds[3]]
    assert [poll.guild_id for poll in await owner.unsent_polls()] == [guilds[3]]
    assert await PollStore(db_on, shards=Shards(4, (2,))).unsent_polls() == []
    assert len(await store.open_polls()) == 4  # unsharded: every server


async def test_server_poll_defaults_are_kept_and_cleared(db):
    store = PollStore(db)
    assert await store.poll_defaults(GUILD_DEFAULTS) is None
    rules = FairnessRow("42", 7 * 86_400, None, True, False)
    await store.set_poll_defaults(GUILD_DEFAULTS, rules)
    assert await store.poll_defaults(GUILD_DEFAULTS) == rules
    await store.clear_poll_defaults(GUILD_DEFAULTS)
    assert await store.poll_defaults(GUILD_DEFAULTS) is None


GUILD_DEFAULTS = 77


async def test_refused_reactions_are_kept_once_per_member_option_and_reason(store, db):
    poll = await new_poll(store)
    yes, no, _ = (o.id for o in poll.options)
    await store.record_vote_events([
        (poll.id, yes, 7, "refused:account_too_new", "live", at(1)),
        (poll.id, yes, 7, "refused:account_too_new", "live", at(2)),  # the same refusal again, in the same batch
        (poll.id, no, 7, "refused:account_too_new", "live", at(3)),
        (poll.id, yes, 8, "refused:missing_role", "reconciled", at(4)),
        (poll.id, yes, 9, "added", "live", at(5)),
    ])  # fmt: skip
    await store.record_vote_events([(poll.id, yes, 8, "refused:missing_role", "live", at(6))])
    assert await store.refusal_counts(poll.id) == {"account_too_new": 2, "missing_role": 1}
    assert await store.current_votes(poll.id) == [(9, yes)]
    assert await db.fetch_value("SELECT COUNT(*) FROM vote_events") == 1
