"""`agora db backup` and the backup module, against real SQLite files (the bot's connection open meanwhile)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot.cli import main
from bot.polls.options import PollOption
from bot.storage import Database
from bot.storage.backup import BackupCancelled, BackupError, backup_database
from bot.storage.database import bundled_migrations
from bot.storage.polls import PollStore
from bot.timeutil import now_db

ROOT = Path(__file__).resolve().parents[2]
OPTIONS = (PollOption("👍", "Yes"), PollOption("👎", "No"))


@pytest.fixture
async def db(tmp_path):
    database = await Database.open(tmp_path / "agora.db")
    yield database
    await database.close()


async def poll_with_votes(db: Database, voters: range) -> tuple[PollStore, int, int]:
    store = PollStore(db)
    poll = await store.create_poll(guild_id=1, channel_id=2, question="Q?", options=OPTIONS, multiple=False,
                                   created_by=3)  # fmt: skip
    option = poll.options[0].id
    for start in range(voters.start, voters.stop, 5000):
        chunk = range(start, min(start + 5000, voters.stop))
        await store.record_vote_events([(poll.id, option, voter, "added", "live", now_db()) for voter in chunk])
    return store, poll.id, option


def voters_in(path: Path) -> set[int]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return {row[0] for row in conn.execute("SELECT voter_id FROM votes")}


def sidecars(path: Path) -> list[Path]:
    return [p for p in (Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")) if p.exists()]


async def test_copy_of_an_open_database_verifies_and_counts_rows(db, tmp_path):
    await poll_with_votes(db, range(1, 101))
    target = tmp_path / "copy.db"

    result = await asyncio.to_thread(backup_database, db.path, target)

    assert result.integrity == "ok"
    assert result.schema_version == bundled_migrations()[-1][0]
    assert result.row_counts["votes"] == 100 and result.row_counts["polls"] == 1
    assert sidecars(target) == [], "the copy must be one self-contained file"
    assert voters_in(target) == set(range(1, 101))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".copy")] == [], "a partial file was left"


async def test_backup_during_a_burst_of_votes_holds_every_vote_committed_before_it(db, tmp_path):
    """The real command in its own process while this process writes votes through the storage layer."""
    store, poll_id, option = await poll_with_votes(db, range(1, 50_001))  # a copy that takes a while
    committed: list[int] = list(range(1, 50_001))
    stop = asyncio.Event()

    async def burst() -> None:
        voter = 1_000_000
        while not stop.is_set():
            batch = range(voter, voter + 20)
            await store.record_vote_events([(poll_id, option, v, "added", "live", now_db()) for v in batch])
            committed.extend(batch)  # committed: the transaction returned
            voter += 20
            await asyncio.sleep(0)

    writer = asyncio.create_task(burst())
    await asyncio.sleep(0.2)
    before_backup = set(committed)
    target = tmp_path / "backup.db"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "db", "backup", str(target), "--db", str(db.path), cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    during_start = len(committed)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    during = len(committed) - during_start
    stop.set()
    await writer

    assert proc.returncode == 0, err.decode()
    assert "Integrity check (quick_check): ok" in out.decode() and "votes " in out.decode()
    with sqlite3.connect(f"file:{target}?mode=ro", uri=True) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    copied = voters_in(target)
    assert before_backup <= copied, f"{len(before_backup - copied)} committed votes missing from the copy"
    assert copied <= set(committed), "the copy holds votes that were never committed"
    assert during > 0, "the bot's writes were blocked while the backup ran"


async def test_copy_made_in_a_thread_does_not_block_the_event_loop(db, tmp_path):
    await poll_with_votes(db, range(1, 100_001))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    counting = asyncio.create_task(ticker())
    started = time.monotonic()
    await asyncio.to_thread(backup_database, db.path, tmp_path / "copy.db", pages_per_step=64)
    elapsed = time.monotonic() - started
    counting.cancel()
    assert ticks >= max(2, int(elapsed / 0.005 / 10)), (ticks, elapsed)


def test_existing_copy_is_refused_without_force_and_replaced_with_it(tmp_path, capsys):
    source = tmp_path / "agora.db"
    asyncio.run(_make_database(source))
    target = tmp_path / "copy.db"
    target.write_bytes(b"precious")

    assert main(["db", "backup", str(target), "--db", str(source)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already exists" in err and "--force" in err
    assert target.read_bytes() == b"precious"

    assert main(["db", "backup", str(target), "--db", str(source), "--force"]) == 0
    out = capsys.readouterr().out
    assert "Integrity check (quick_check): ok" in out and f"Schema version: {bundled_migrations()[-1][0]}" in out
    assert target.read_bytes().startswith(b"SQLite format 3")


@pytest.mark.parametrize(
    ("source_name", "target_name", "expected"),
    [
        ("missing.db", "copy.db", "there is no database at"),
        ("agora.db", "no-such-folder/copy.db", "does not exist: create it first"),
        ("agora.db", "agora.db", "is the database itself"),
        ("agora.db", ".", "is a folder"),
    ],
)
def test_bad_paths_get_one_line_and_create_nothing(tmp_path, capsys, source_name, target_name, expected):
    asyncio.run(_make_database(tmp_path / "agora.db"))
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["db", "backup", str(tmp_path / target_name), "--db", str(tmp_path / source_name)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("agora: ") and err.count("\n") == 1 and expected in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_cancelled_copy_leaves_no_file(tmp_path):
    source = tmp_path / "agora.db"
    asyncio.run(_make_database(source, votes=20_000))
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(BackupCancelled):
        backup_database(source, tmp_path / "copy.db", cancel=cancel, pages_per_step=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agora.db"]


def test_a_copy_that_fails_its_check_is_not_kept(tmp_path):
    source = tmp_path / "broken.db"
    source.write_bytes(b"this is not a database" * 100)
    with pytest.raises(BackupError):
        backup_database(source, tmp_path / "copy.db")
    assert not (tmp_path / "copy.db").exists()


def test_read_only_source_is_not_modified_when_the_bot_is_stopped(tmp_path):
    source = tmp_path / "agora.db"
    asyncio.run(_make_database(source))
    before, mtime = source.read_bytes(), os.stat(source).st_mtime_ns
    backup_database(source, tmp_path / "copy.db")
    assert source.read_bytes() == before and os.stat(source).st_mtime_ns == mtime


def test_help_mentions_restoring():
    out = subprocess.run([sys.executable, "-m", "bot", "db", "backup", "--help"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    assert "To restore" in out.replace("\n", " ")


async def _make_database(path: Path, votes: int = 10) -> None:
    database = await Database.open(path)
    try:
        await poll_with_votes(database, range(1, votes + 1))
    finally:
        await database.close()
