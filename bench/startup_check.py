"""What the integrity check at start (PRAGMA quick_check in Database.open) costs as the database grows.

    .venv/bin/python -m bench.startup_check                      # 100k, 1M, 3M vote events
    .venv/bin/python -m bench.startup_check --sizes 100000 --runs 3

Each size gets its own database under bench/out/ (kept between runs: delete it to rebuild). Prints the
database size, the median time of Database.open (check included) and of the quick_check alone, in ms.
The page cache is warm after the first run; a cold start after a reboot reads the file from disk once more.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import time
from pathlib import Path

from bot.storage.database import Database

OUT = Path(__file__).parent / "out"


def build(path: Path, events: int) -> None:
    if path.exists():
        return
    asyncio.run(_migrate(path))
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO polls (id, guild_id, channel_id, question, created_at) VALUES (1, 1, 1, 'Q', 't')")
        conn.execute("INSERT INTO poll_options (id, poll_id, position, emoji, label) VALUES (1, 1, 0, 'x', 'Yes')")
        rows = ((1, 1, voter, "added", "live", f"2024-01-01T00:00:{voter % 60:02d}Z") for voter in range(events))
        conn.executemany(
            "INSERT INTO vote_events (poll_id, option_id, voter_id, action, source, at) VALUES (?, ?, ?, ?, ?, ?)", rows
        )
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


async def _migrate(path: Path) -> None:
    await (await Database.open(path)).close()


async def measure(path: Path) -> tuple[float, float]:
    started = time.perf_counter()
    db = await Database.open(path)
    opened = time.perf_counter() - started
    started = time.perf_counter()
    await db.fetch_all("PRAGMA quick_check(1)")
    checked = time.perf_counter() - started
    await db.close()
    return opened * 1000, checked * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 3_000_000])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    print(f"{'vote events':>12} {'size MB':>8} {'open ms':>8} {'quick_check ms':>15}")
    for size in args.sizes:
        path = OUT / f"startup-{size}.db"
        build(path, size)
        runs = [asyncio.run(measure(path)) for _ in range(args.runs)]
        opened = statistics.median(r[0] for r in runs)
        checked = statistics.median(r[1] for r in runs)
        print(f"{size:>12,} {path.stat().st_size / 2**20:>8.1f} {opened:>8.0f} {checked:>15.0f}")


if __name__ == "__main__":
    main()
