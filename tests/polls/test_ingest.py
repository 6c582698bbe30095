"""The vote recorder over a real SQLite file: batching, the journal across a crash, a refusing database."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest

from bot.polls.ingest import VoteRecorder
from bot.polls.rules import Action, Source
from bot.storage import Database
from bot.storage.journal import VoteJournal
from bot.storage.polls import PollStore
from tests.polls.helpers import open_poll, vote


@pytest.fixture
async def store(tmp_path: Path):
    db = await Database.open(tmp_path / "agora.db")
    yield PollStore(db)
    await db.close()


async def test_changes_judged_before_a_crash_are_recovered_from_the_journal(store: PollStore, tmp_path: Path):
    poll_id, yes, no = await open_poll(store)
    db_path = tmp_path / "agora.db"
    recorder = VoteRecorder(store, journal=VoteJournal(db_path), interval=60)
    await recorder.recover()
    recorder.record([vote(poll_id, yes, 7)], Source.LIVE)
    await recorder.flush()  # committed: its journal file is gone
    recorder.record([vote(poll_id, yes, 7, Action.REMOVED), vote(poll_id, no, 7)], Source.LIVE)
    recorder.record([vote(poll_id, yes, 7, Action.LEFT)], Source.LIVE)
    await asyncio.sleep(0)  # the end of the event-loop turn writes the journal
    # SIGKILL here: the recorder's memory is lost, the journal file is not.
    assert await store.current_votes(poll_id) == [(7, yes)]

    after = VoteRecorder(store, journal=VoteJournal(db_path), interval=60)
    assert await after.recover() == 3
    assert await store.current_votes(poll_id) == [(7, no)]
    assert await store.current_leftovers(poll_id) == [(7, yes)]
    assert await after.recover() == 0  # replayed once: a second start finds nothing more
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM vote_events").fetchone()[0] == 3


async def test_a_crash_between_commit_and_deleting_the_file_replays_nothing_twice(store: PollStore, tmp_path: Path):
    poll_id, yes, _ = await open_poll(store)
    journal = VoteJournal(tmp_path / "agora.db")
    recorder = VoteRecorder(store, journal=journal, interval=60)
    await recorder.recover()
    recorder.record([vote(poll_id, yes, 7)], Source.LIVE)
    journal.discard_through = lambda generation: None  # type: ignore[method-assign]  # died before deleting
    await recorder.flush()
    assert await VoteRecorder(store, journal=VoteJournal(tmp_path / "agora.db")).recover() == 0


async def test_a_refusing_database_keeps_every_change_logs_once_and_recovers(store: PollStore, caplog, monkeypatch):
    poll_id, yes, no = await open_poll(store)
    recorder = VoteRecorder(store, interval=0.01, max_retry_pause=0.05)
    real = store.record_vote_events
    attempts = 0

    async def disk_full(*args, **kwargs):
        nonlocal attempts
        attempts += 1
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store, "record_vote_events", disk_full)
    recorder.start()
    with caplog.at_level(logging.INFO, logger="bot.polls.ingest"):
        for voter in range(100):
            recorder.record([vote(poll_id, yes if voter % 2 else no, voter)], Source.LIVE)
        await asyncio.sleep(0.5)
        assert attempts >= 5 and recorder.queued == 100  # kept, retried, never dropped
        monkeypatch.setattr(store, "record_vote_events", real)
        for _ in range(100):
            if not recorder.queued:
                break
            await asyncio.sleep(0.02)
        await recorder.stop()
    assert len(await store.current_votes(poll_id)) == 100
    failures = [r for r in caplog.records if r.getMessage().startswith("Cannot write votes")]
    assert len(failures) == 1 and failures[0].exc_info is None  # one line, no traceback per retry
    assert failures[0].getMessage().startswith("Cannot write votes: the disk is full. The 100 vote changes")
    assert any("accepts votes again" in r.getMessage() for r in caplog.records)


async def test_stop_lets_a_write_that_began_finish(store: PollStore):
    poll_id, yes, _ = await open_poll(store)
    recorder = VoteRecorder(store, interval=0.001)
    real = store.record_vote_events
    began = asyncio.Event()

    async def slow(*args, **kwargs):
        began.set()
        await asyncio.sleep(0.05)
        await real(*args, **kwargs)

    store.record_vote_events = slow  # type: ignore[method-assign]
    recorder.start()
    recorder.record([vote(poll_id, yes, 1)], Source.LIVE)
    await began.wait()
    recorder.record([vote(poll_id, yes, 2)], Source.LIVE)
    await recorder.stop()  # SIGTERM while the first batch is being written
    assert sorted(await store.current_votes(poll_id)) == [(1, yes), (2, yes)]


async def test_a_transaction_cancelled_while_it_begins_still_ends(tmp_path: Path):
    db = await Database.open(tmp_path / "agora.db")
    try:
        for _ in range(20):

            async def write() -> None:
                async with db.transaction() as connection:
                    await connection.execute("INSERT INTO guild_settings (guild_id) VALUES (1)")

            task = asyncio.create_task(write())
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            async with db.transaction() as connection:  # would fail: "cannot start a transaction within a transaction"
                await connection.execute("DELETE FROM guild_settings")
    finally:
        await db.close()
