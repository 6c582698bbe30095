"""One Agora process per database: an exclusive lock on a file beside it, held for the process's life.

The operating system releases the lock when the process ends, however it ends, so a crash never leaves
a stale claim behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from bot.errors import AgoraError


class AlreadyRunning(AgoraError):
    """Another Agora process serves this database."""


class InstanceLock:
    def __init__(self, database_path: Path) -> None:
        self.path = database_path.with_name(f"{database_path.name}.lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip()
            os.close(fd)
            raise AlreadyRunning(
                f"another Agora process{f' (pid {holder})' if holder else ''} is already running on the database "
                f"{self.path.with_name(self.path.name.removesuffix('.lock'))} (DATABASE_PATH); stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
