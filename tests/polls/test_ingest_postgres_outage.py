"""The vote recorder against a real PostgreSQL server that stops and comes back while votes arrive.

The server gets a data folder of its own and is stopped and started again with pg_ctl over that folder, so
what it held before the outage is still there after it (a fresh pgserver would initialise a new, empty one).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import DatabaseUrl
from bot.polls.ingest import VoteRecorder
from bot.polls.rules import Source
from bot.storage.backends import open_database
from bot.storage.journal import VoteJournal
from bot.storage.polls import PollStore
from tests.backends import database_dsn, selected_backends
from tests.polls.helpers import open_poll, vote

pytestmark = pytest.mark.skipif("postgresql" not in selected_backends(), reason="AGORA_TEST_BACKENDS excludes it")


class StoppableServer:
    def __init__(self, folder: Path) -> None:
        import pgserver

        self.folder = folder
        self.handle = pgserver.get_server(folder / "data", cleanup_mode="delete")

    @property
    def uri(self) -> str:
        return database_dsn(self.handle.get_uri("postgres"), "postgres")

    def stop(self) -> None:
        import pgserver

        pgserver.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.handle.pgdata, user=self.handle.system_user)

    def start(self) -> None:
        self.handle.ensure_postgres_running()  # the same data folder: PG_VERSION is there, nothing re-initialised


@pytest.fixture
def stoppable_server() -> Iterator[StoppableServer]:
    folder = Path(tempfile.mkdtemp(prefix="agora-pg-outage-"))
    server = StoppableServer(folder)
    try:
        yield server
    finally:
        server.handle.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


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
        await wait_until(lambda: recorder.queued == 0)  # written before the outage

        stoppable_server.stop()
        with caplog.at_level(logging.INFO, logger="bot.polls.ingest"):
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
    refusals = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 1 and refusals[0].exc_info is None  # said once, not per vote or per retry
    assert any("accepts votes again" in r.getMessage() for r in caplog.records)
    assert [path for _, path in journal.files()] == [journal.files()[-1][1]]  # committed files are gone
    await database.close()
