"""Storage faults at start, through `python -m bot run`: one line naming DATABASE_PATH, non-zero, nothing written.

The bot opens (and checks) the database before it contacts Discord; Discord's addresses point at a closed
local port all the same, so a start that wrongly went on could not leave the machine.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.storage.database import Database

ROOT = Path(__file__).resolve().parents[2]
PAGE = 4096


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_agora(tmp_path: Path, database: Path | str) -> subprocess.CompletedProcess[str]:
    port = closed_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "DISCORD_TOKEN": "MTEx.test.token",
        "DATABASE_PATH": str(database),
        "DISCORD_API_BASE": f"http://127.0.0.1:{port}/api/v10",
        "DISCORD_GATEWAY_URL": f"ws://127.0.0.1:{port}/",
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )


def assert_refused(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    output = result.stderr + result.stdout
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, output
    [line] = lines
    assert line.startswith("agora: ") and "DATABASE_PATH" in line, line
    for fragment in fragments:
        assert fragment in line, line
    return line


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def agora_database(path: Path, polls: int = 400) -> None:
    """A real, migrated Agora database with enough rows to span many pages, checkpointed into one file."""

    async def build() -> None:
        db = await Database.open(path)
        async with db.transaction() as connection:
            for number in range(polls):
                await connection.execute(
                    "INSERT INTO polls (guild_id, channel_id, question, created_at)"
                    " VALUES (1, 2, ?, '2024-01-01T00:00:00Z')",
                    (f"Question {number} " + "x" * 200,),
                )
        await db.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        await db.close()

    asyncio.run(build())


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    return data


def test_a_file_that_is_not_a_database(tmp_path: Path, folder: Path) -> None:
    path = folder / "agora.db"
    path.write_text("These are my notes, not a database.\n" * 200)
    before = snapshot(folder)
    assert_refused(run_agora(tmp_path, path), str(path), "not a database", "backup")
    assert snapshot(folder) == before


def test_a_truncated_database(tmp_path: Path, folder: Path) -> None:
    path = folder / "agora.db"
    agora_database(path)
    size = path.stat().st_size
    assert size > 20 * PAGE
    with path.open("r+b") as file:
        file.truncate((size // PAGE // 2) * PAGE)
    before = snapshot(folder)
    assert_refused(run_agora(tmp_path, path), str(path), "backup")
    assert snapshot(folder) == before


def test_random_bytes_over_inner_pages(tmp_path: Path, folder: Path) -> None:
    path = folder / "agora.db"
    agora_database(path)
    pages = path.stat().st_size // PAGE
    noise = random.Random(10)
    with path.open("r+b") as file:
        for page in range(pages // 3, 2 * pages // 3):
            file.seek(page * PAGE + 200)
            file.write(bytes(noise.getrandbits(8) for _ in range(1000)))
    before = snapshot(folder)
    line = assert_refused(run_agora(tmp_path, path), str(path), "backup")
    # Where the noise lands decides which check notices first: the schema read (malformed) or quick_check.
    assert "integrity" in line or "malformed" in line, line
    assert snapshot(folder) == before


@pytest.fixture
def read_only(folder: Path) -> Iterator[Path]:
    """An Agora database nobody may write to: immutable for root (who ignores permissions), else mode 0444."""
    path = folder / "agora.db"
    agora_database(path, polls=10)
    if os.geteuid() != 0:
        path.chmod(0o444)
        yield path
        path.chmod(0o644)
        return
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)], check=False).returncode:
        pytest.skip("running as root without chattr: a read-only file cannot be made")
    try:
        yield path
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=False)


def test_a_read_only_database(tmp_path: Path, folder: Path, read_only: Path) -> None:
    before = snapshot(folder)
    assert_refused(run_agora(tmp_path, read_only), str(read_only), "read-only", "permissions")
    assert snapshot(folder) == before


def test_a_folder(tmp_path: Path, folder: Path) -> None:
    assert_refused(run_agora(tmp_path, folder), str(folder), "folder")
    assert list(folder.iterdir()) == []


def test_a_special_file_such_as_proc_version(tmp_path: Path) -> None:
    assert_refused(run_agora(tmp_path, "/proc/version"), "/proc/version")


def test_another_applications_database_is_not_migrated_into(tmp_path: Path, folder: Path) -> None:
    path = folder / "app.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO customers (name) VALUES ('Ada')")
    conn.close()
    before = snapshot(folder)
    assert_refused(run_agora(tmp_path, path), str(path), "not Agora's")
    assert snapshot(folder) == before
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.close()
    assert tables == {"customers"}
