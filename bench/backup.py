"""How long `agora db backup` takes, and how it affects the bot's vote writes meanwhile.

    .venv/bin/python -m bench.backup                     # 1M votes
    .venv/bin/python -m bench.backup --votes 100000

Builds a database under bench/out/ (kept between runs: delete it to rebuild) with one poll of `--votes`
votes and their event log. Then, in one event loop like the bot's, writes batches of 20 votes through
PollStore continuously: first alone (baseline), then while backup_database runs in a worker thread as the
scheduled backup does. Prints the copy's size and time, and the writes' commit latency (median, p99, max)
and throughput in both phases.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

from bot.polls.options import PollOption
from bot.storage.backup import backup_database
from bot.storage.database import Database
from bot.storage.polls import PollStore
from bot.timeutil import now_db

OUT = Path(__file__).parent / "out"
BATCH = 20


async def build(path: Path, votes: int) -> None:
    db = await Database.open(path)
    try:
        store = PollStore(db)
        if await db.fetch_value("SELECT COUNT(*) FROM votes") >= votes:
            return
        poll = await store.create_poll(guild_id=1, channel_id=2, question="Q?", multiple=False, created_by=3,
                                       options=(PollOption("👍", "Yes"), PollOption("👎", "No")))  # fmt: skip
        option = poll.options[0].id
        for start in range(0, votes, 50_000):
            chunk = range(start, min(start + 50_000, votes))
            await store.record_vote_events([(poll.id, option, v, "added", "live", now_db()) for v in chunk])
    finally:
        await db.close()


async def write_votes(store: PollStore, poll_id: int, option: int, first_voter: int, stop: asyncio.Event
                      ) -> list[float]:  # fmt: skip
    latencies, voter = [], first_voter
    while not stop.is_set():
        started = time.perf_counter()
        batch = [(poll_id, option, v, "added", "live", now_db()) for v in range(voter, voter + BATCH)]
        await store.record_vote_events(batch)
        latencies.append(time.perf_counter() - started)
        voter += BATCH
    return latencies


def describe(name: str, latencies: list[float], seconds: float) -> str:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{name:<16} {len(latencies) * BATCH / seconds:>9.0f} votes/s   commit median "
        f"{statistics.median(ordered) * 1000:6.2f} ms  p99 {p99 * 1000:6.2f} ms  max {ordered[-1] * 1000:7.2f} ms"
    )


async def measure(path: Path, target: Path) -> None:
    db = await Database.open(path)
    try:
        store = PollStore(db)
        poll = (await store.open_polls() or await store._polls("WHERE 1 ORDER BY id LIMIT 1", ()))[0]
        option = poll.options[0].id

        stop = asyncio.Event()
        writer = asyncio.create_task(write_votes(store, poll.id, option, 10_000_000, stop))
        await asyncio.sleep(3)
        stop.set()
        baseline = await writer
        print(describe("writes alone", baseline, 3))

        stop = asyncio.Event()
        writer = asyncio.create_task(write_votes(store, poll.id, option, 20_000_000, stop))
        started = time.perf_counter()
        result = await asyncio.to_thread(backup_database, path, target, overwrite=True)
        elapsed = time.perf_counter() - started
        stop.set()
        during = await writer
        print(describe("during backup", during, elapsed))
        print(
            f"backup: {result.size_bytes / 2**20:.1f} MiB in {elapsed:.2f} s (copy, quick_check, rename); "
            f"{result.row_counts['votes']} votes, integrity {result.integrity}"
        )
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=1_000_000)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    path = OUT / f"backup-{args.votes}.db"
    asyncio.run(build(path, args.votes))
    asyncio.run(measure(path, OUT / f"backup-{args.votes}-copy.db"))


if __name__ == "__main__":
    main()
