"""The vote recorder against a real PostgreSQL server that stops and comes back while votes arrive
(tests.backends.StoppableServer)."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

import pytest

from bot.config import DatabaseUrl
from bot.polls.ingest import VoteRecorder
from bot.polls.rules import Source
from bot.storage.backends import open_database
from bot.storage.journal import VoteJournal
from bot.storage.polls import PollStore
from tests.backends import StoppableServer, selected_backends
from tests.polls.helpers import open_poll, vote

pytestmark = pytest.mark.skipif("postgresql" not in selected_backends(), reason="AGORA_TEST_BACKENDS excludes it")


# The server stopped between two batches: the pooled connection was closed, or no server answers any more.
OUTAGE_LINE = re.compile(
    r"Cannot write votes: (the connection to PostgreSQL was lost|PostgreSQL is unreachable \(connection refused\)"
    r"|PostgreSQL is shutting down)\. The \d+ vote changes so far are kept in memory and in the vote journal and "
    r"written when the database accepts them again \(retrying, up to every 0 s\)"
)


async def wait_until(condition, seconds: float = 20.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_votes_queued_while_postgresql_is_down_are_written_when_it_returns(
    stoppable_server: StoppableServer, tmp_path: Path, caplog
):
    database = await open_database(DatabaseUrl("postgresql", dsn=stoppable_server.uri))
    store = PollStore(database)
    poll_id, yes, no = await open_poll(store)
    journal = VoteJournal(tmp_path / "agora-unsharded")
    recorder = VoteRecorder(store, journal=journal, interval=0.01, max_retry_pause=0.2)
    await recorder.recover()
    recorder.start()
    try:
        recorder.record([vote(poll_id, yes, 1)], Source.LIVE)
        for _ in range(400):  # committed before the outage (queued is 0 as soon as a write begins)
            if await database.fetch_value("SELECT COUNT(*) FROM vote_events") == 1:
                break
            await asyncio.sleep(0.05)

        stoppable_server.stop()
        with caplog.at_level(logging.INFO):  # every logger: asyncpg's own too
            for voter in range(100, 200):
                recorder.record([vote(poll_id, yes if voter % 2 else no, voter)], Source.LIVE)
                await asyncio.sleep(0.005)
            await asyncio.sleep(1.0)
            assert recorder.queued == 100  # kept while the server is down
            stoppable_server.start()
            for _ in range(400):  # written by the recorder's own retries, not by stop()
                if await database.fetch_value("SELECT COUNT(*) FROM vote_events") == 101:
                    break
                await asyncio.sleep(0.05)
            assert recorder.queued == 0
    finally:
        await recorder.stop()
    assert len(await store.current_votes(poll_id)) == 101
    assert await database.fetch_value("SELECT COUNT(*) FROM vote_events") == 101
    failures = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Cannot write votes")]
    assert len(failures) == 1  # said once, not per vote or per retry
    assert OUTAGE_LINE.fullmatch(failures[0]), failures[0]  # what happened, in Agora's words, and what follows
    assert any("accepts votes again" in r.getMessage() for r in caplog.records)
    assert [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING] == failures
    assert [path for _, path in journal.files()] == [journal.files()[-1][1]]  # committed files are gone
    await database.close()
