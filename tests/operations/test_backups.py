"""Scheduled backups: names, pruning beyond BACKUP_KEEP, the daily rhythm, and the background task."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.operations.backups import (
    BackupSchedule,
    backup_name,
    backup_time,
    backups_to_prune,
    next_backup_at,
    scheduled_backups,
)
from bot.storage import Database

T0 = datetime(2026, 11, 1, 3, 0, 0, tzinfo=UTC)


def test_names_sort_by_time_and_read_back():
    names = [backup_name(T0 + timedelta(days=d)) for d in (0, 1, 10)]
    assert names[0] == "agora-20261101T030000Z.db"
    assert sorted(names) == names
    assert [backup_time(n) for n in names] == [T0 + timedelta(days=d) for d in (0, 1, 10)]


@pytest.mark.parametrize(
    "name",
    [
        "agora.db",
        "agora-2026.db",
        "notes.txt",
        "agora-20261101T030000Z.db.bak",
        ".agora-20261101T030000Z.db.partial-1-2",
        "xagora-20261101T030000Z.db",
    ],
)
def test_other_files_are_not_backups(name):
    assert backup_time(name) is None


def test_prune_keeps_the_newest_and_never_names_other_files():
    ours = [backup_name(T0 + timedelta(days=d)) for d in range(5)]
    others = ["agora.db", "README.txt", "agora-manual.db"]
    assert backups_to_prune(others + ours[::-1], keep=2) == ours[:3]
    assert backups_to_prune(ours, keep=5) == []
    assert backups_to_prune(ours, keep=7) == []
    assert backups_to_prune(others, keep=1) == []


def test_next_backup_is_a_day_after_the_newest_or_now():
    now = T0 + timedelta(hours=5)
    assert next_backup_at(None, now) == now
    assert next_backup_at(T0, now) == T0 + timedelta(days=1)
    assert next_backup_at(T0 - timedelta(days=3), now) == now  # overdue: at once


@pytest.fixture
async def database(tmp_path) -> Path:
    path = tmp_path / "agora.db"
    db = await Database.open(path)
    await db.close()
    return path


async def test_each_backup_is_timestamped_and_old_ones_are_pruned(database, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / "keep-me.db").write_bytes(b"the operator's own file")
    moments = iter(T0 + timedelta(days=d) for d in range(10))
    schedule = BackupSchedule(database, folder, keep=3, clock=lambda: next(moments))

    for _ in range(5):
        result = await schedule.back_up_now()
        assert result is not None and result.integrity == "ok"

    assert [p.name for p in scheduled_backups(folder)] == [backup_name(T0 + timedelta(days=d)) for d in (2, 3, 4)]
    assert (folder / "keep-me.db").read_bytes() == b"the operator's own file"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [backup_name(T0 + timedelta(days=d)) for d in (2, 3, 4)] + ["keep-me.db"]
    ), "no partial or sidecar file may be left"


async def test_a_failed_backup_is_logged_and_keeps_the_earlier_copies(database, tmp_path, caplog):
    folder = tmp_path / "backups"
    folder.mkdir()
    schedule = BackupSchedule(database, folder, keep=2, clock=lambda: T0)
    assert await schedule.back_up_now() is not None
    assert await schedule.back_up_now() is None  # same second: the name exists, nothing is overwritten
    assert "Scheduled backup" in caplog.text and "already exists" in caplog.text
    assert [p.name for p in scheduled_backups(folder)] == [backup_name(T0)]


async def test_the_task_backs_up_at_once_when_none_exists_and_stops_promptly(database, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    schedule = BackupSchedule(database, folder, keep=7)
    schedule.start()
    try:
        for _ in range(200):  # up to 10 s
            if scheduled_backups(folder):
                break
            await asyncio.sleep(0.05)
    finally:
        async with asyncio.timeout(5):  # the next copy is a day away: stop must not wait for it
            await schedule.stop()
    assert len(scheduled_backups(folder)) == 1


async def test_the_task_waits_for_the_day_when_a_recent_copy_exists(database, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    recent = BackupSchedule(database, folder, keep=7)
    await recent.back_up_now()
    schedule = BackupSchedule(database, folder, keep=7)
    schedule.start()
    await asyncio.sleep(0.5)
    await schedule.stop()
    assert len(scheduled_backups(folder)) == 1
