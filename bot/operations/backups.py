"""Scheduled daily backups inside the bot: timestamped copies in BACKUP_DIR, the newest BACKUP_KEEP kept."""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.storage.backup import BackupError, BackupResult, backup_database
from bot.timeutil import utcnow

log = logging.getLogger(__name__)

BACKUP_INTERVAL = timedelta(days=1)
# The copies this schedule writes, and the only files pruning may delete: agora-20260101T120000Z.db
_NAME = re.compile(r"^agora-(\d{8}T\d{6}Z)\.db$")
_STAMP = "%Y%m%dT%H%M%SZ"


def backup_name(moment: datetime) -> str:
    return f"agora-{moment.astimezone(UTC).strftime(_STAMP)}.db"


def backup_time(name: str) -> datetime | None:
    """When a scheduled copy was made, from its name; None for any other file."""
    match = _NAME.match(name)
    if match is None:
        return None
    return datetime.strptime(match.group(1), _STAMP).replace(tzinfo=UTC)


def scheduled_backups(folder: Path) -> list[Path]:
    """The schedule's copies in `folder`, oldest first (other files are never listed)."""
    found = [path for path in folder.iterdir() if path.is_file() and backup_time(path.name) is not None]
    return sorted(found, key=lambda path: path.name)


def backups_to_prune(names: list[str], keep: int) -> list[str]:
    """The schedule's copies beyond the newest `keep`, oldest first; names of other files are left alone."""
    ours = sorted(name for name in names if backup_time(name) is not None)
    return ours[: max(len(ours) - keep, 0)]


def next_backup_at(newest: datetime | None, now: datetime, interval: timedelta = BACKUP_INTERVAL) -> datetime:
    """A day after the newest copy (now when there is none, or it is overdue), so restarts keep the rhythm."""
    if newest is None:
        return now
    return max(now, newest + interval)


class BackupSchedule:
    """A background task that copies the database every `interval` and prunes old copies."""

    def __init__(
        self,
        database: Path,
        folder: Path,
        keep: int,
        *,
        interval: timedelta = BACKUP_INTERVAL,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.folder = folder
        self.keep = keep
        self.interval = interval
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._stop = threading.Event()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="agora-backups")

    async def stop(self) -> None:
        self._stop.set()  # a copy in progress ends at its next step
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        last_attempt: datetime | None = None  # a failed attempt waits an interval too, rather than looping
        while True:
            newest = await asyncio.to_thread(self._newest)
            reference = max((moment for moment in (newest, last_attempt) if moment is not None), default=None)
            now = self._clock()
            delay = (next_backup_at(reference, now, self.interval) - now).total_seconds()
            if delay > 0:
                await asyncio.sleep(delay)
            last_attempt = self._clock()
            await self.back_up_now()

    def _newest(self) -> datetime | None:
        copies = scheduled_backups(self.folder)
        return backup_time(copies[-1].name) if copies else None

    async def back_up_now(self) -> BackupResult | None:
        """One copy and a prune, in a worker thread; a failure is logged and retried at the next interval."""
        target = self.folder / backup_name(self._clock())
        try:
            result = await asyncio.to_thread(backup_database, self.database, target, cancel=self._stop)
        except (BackupError, OSError) as error:
            log.error("Scheduled backup to %s failed: %s", target, error)
            return None
        log.info(
            "Backed up the database to %s (%d KiB, schema %d, %d votes)",
            result.path, result.size_bytes // 1024, result.schema_version, result.row_counts.get("votes", 0),
        )  # fmt: skip
        removed = await asyncio.to_thread(self.prune)
        for path in removed:
            log.info("Removed old backup %s (BACKUP_KEEP=%d)", path, self.keep)
        return result

    def prune(self) -> list[Path]:
        copies = scheduled_backups(self.folder)
        doomed = set(backups_to_prune([path.name for path in copies], self.keep))
        removed = []
        for path in copies:
            if path.name in doomed:
                try:
                    path.unlink()
                    removed.append(path)
                except OSError as error:
                    log.warning("Could not remove old backup %s: %s", path, error)
        return removed
