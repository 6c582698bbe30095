"""The vote journal: vote changes appended to files beside the database before they are committed.

The vote recorder batches changes in memory, so a process killed between two batches would lose the
changes it had judged but not committed, and with them the order of a voter's latest clicks, which no
reaction listing can give back. Each change is written to the journal (one `write` per event-loop turn,
no fsync) as it is judged: the operating system keeps it when the process dies, which is the durability
SQLite's `synchronous = NORMAL` gives too. The files rotate at each batch: a committed batch records its
file's generation in the database in the same transaction, and its files are deleted; a start replays the
newer files before anything else reads the votes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

log = logging.getLogger(__name__)

JournalRow = tuple[int, int, int, str, str, str]  # poll_id, option_id, voter_id, action, source, at


class VoteJournal:
    def __init__(self, database_path: Path) -> None:
        self._folder = database_path.parent
        self._prefix = f"{database_path.name}-votes."
        self._generation = 0
        self._fd: int | None = None
        self._buffer: list[str] = []
        self._failing = False
        # generation → file: what the folder held when last listed, plus the files opened since. Only this
        # process writes and deletes its journal's files, so the folder is listed once per start.
        self._on_disk: dict[int, Path] | None = None

    def files(self) -> list[tuple[int, Path]]:
        """(generation, path) of the journal files on disk, oldest first, as the folder lists them now."""
        found = []
        for path in self._folder.glob(f"{self._prefix}*"):
            suffix = path.name[len(self._prefix) :]
            if suffix.isascii() and suffix.isdigit():
                found.append((int(suffix), path))
        self._on_disk = dict(found)
        return sorted(found)

    def open(self, after_generation: int) -> None:
        """Start writing a new file numbered after every file on disk and every committed generation."""
        self._generation = max([after_generation, *self._known()])
        self._open_next()

    def append(self, rows: Iterable[JournalRow]) -> None:
        """Buffer rows; `write()` hands them to the operating system."""
        self._buffer.extend(f"{p}\t{o}\t{v}\t{a}\t{s}\t{at}\n" for p, o, v, a, s, at in rows)

    def write(self) -> None:
        if not self._buffer or self._fd is None:
            return
        data = "".join(self._buffer).encode()
        self._buffer.clear()
        try:
            os.write(self._fd, data)
        except OSError as error:
            # The rows stay queued in memory and reach the database when it accepts them; only their
            # protection against a crash is lost meanwhile. Said once, not per write.
            if not self._failing:
                log.error("Cannot write the vote journal (%s); votes are kept in memory until it works", error)
            self._failing = True
            return
        if self._failing:
            log.info("The vote journal is written again")
            self._failing = False

    def rotate(self) -> int:
        """Close the current file and start the next; returns the closed file's generation."""
        self.write()
        closed = self._generation
        self._open_next()
        return closed

    def discard_through(self, generation: int) -> None:
        """Delete the files whose rows are committed."""
        on_disk = self._known()
        for number in [number for number in on_disk if number <= generation and number != self._generation]:
            on_disk.pop(number).unlink(missing_ok=True)

    def close(self) -> None:
        self.write()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _known(self) -> dict[int, Path]:
        if self._on_disk is None:
            self.files()
        assert self._on_disk is not None
        return self._on_disk

    def _open_next(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._generation += 1
        path = self._folder / f"{self._prefix}{self._generation:08d}"
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._known()[self._generation] = path
        except OSError as error:
            if not self._failing:
                log.error("Cannot open the vote journal %s (%s); votes are kept in memory until it works", path, error)
            self._failing = True


def read_rows(path: Path) -> Iterator[JournalRow]:
    """The rows of one journal file; a line cut short by a crash is skipped."""
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 6 or not line.endswith("\n"):
                continue
            try:
                yield int(parts[0]), int(parts[1]), int(parts[2]), parts[3], parts[4], parts[5]
            except ValueError:
                continue
