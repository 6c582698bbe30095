"""How long poll summaries (now and at a past moment), timelines, exports and charts take at 10k-1M votes,
on SQLite and on PostgreSQL side by side.

    .venv/bin/python -m bench.summary                    # 10k, 100k, 1M votes, 5 runs each, both backends
    .venv/bin/python -m bench.summary --sizes 10000 --runs 3 --database sqlite

Each size gets its own SQLite database under bench/out/ (kept between runs: delete it to rebuild).
PostgreSQL (`--database postgresql`: a throwaway server; or a postgresql:// URL of an empty database)
gets a copy of it through `agora db copy`'s code, then ANALYZE. The measured poll shares its tables with
`--neighbours` other polls of the same size, so the queries must find its rows by index rather than own the
whole table. Prints one table of median milliseconds (min-max in brackets). The "round trips" column is the
floor for a poll summary on that backend: as many `SELECT 1` as the summary makes queries.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.databases import BenchDatabase, add_argument, chosen
from bot.config import DatabaseUrl
from bot.storage.backends import AnyDatabase, open_database, open_for_reading
from bot.storage.copy import CopyRefused, copy_database
from bot.storage.database import Database
from bot.storage.summaries import SummaryStore
from bot.summaries import charts, csv_export, drawing
from bot.summaries.figures import article_summary, poll_summary, poll_timeline
from bot.timeutil import to_db, utcnow

OUT = Path(__file__).parent / "out"
OPTIONS = (("👍", "Agree"), ("👎", "Disagree"), ("🤷", "Not sure"), ("🔥", "Strongly agree"))
START = datetime(2026, 11, 1, tzinfo=UTC)
SPAN = timedelta(days=3)
SWITCH_SHARE = 0.1  # voters who move their vote once, so the event log is longer than the votes
ARTICLE_REPLIES = 5000


def build(path: Path, votes: int, neighbours: int) -> None:
    """A fresh database: the measured poll is the last one, so its rows are not the table's first."""
    asyncio.run(_migrate(path))
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    rng = random.Random(votes)
    conn.execute(
        "INSERT INTO articles (id, article_key, title, body, source, created_at)"
        " VALUES (1, 'bench', 'Bench article', 'body', 'upload', ?)",
        (to_db(START),),
    )
    conn.execute(
        "INSERT INTO deliveries (id, article_id, guild_id, channel_id, state, thread_id, created_at, posted_at)"
        " VALUES (1, 1, 1, 10, 'posted', 11, ?, ?)",
        (to_db(START), to_db(START)),
    )
    for poll_id in range(1, neighbours + 2):
        _insert_poll(conn, poll_id, votes, rng)
    _insert_replies(conn, rng)
    _keep_counts(conn)
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()


async def _migrate(path: Path) -> None:
    """Create the schema exactly as the bot does (migrations include the timeline's covering index)."""
    db = await Database.open(path)
    await db.close()


def _insert_poll(conn: sqlite3.Connection, poll_id: int, votes: int, rng: random.Random) -> None:
    conn.execute(
        "INSERT INTO polls (id, guild_id, channel_id, message_id, article_id, delivery_id, question, status,"
        " created_at, deadline_at) VALUES (?, 1, 11, ?, 1, 1, ?, 'open', ?, ?)",
        (poll_id, 1000 + poll_id, f"Bench poll {poll_id}?", to_db(START), to_db(START + SPAN)),
    )
    option_ids = []
    for position, (emoji, label) in enumerate(OPTIONS):
        cursor = conn.execute(
            "INSERT INTO poll_options (poll_id, position, emoji, label) VALUES (?, ?, ?, ?)",
            (poll_id, position, emoji, label),
        )
        option_ids.append(cursor.lastrowid)
    batch_votes, batch_events = [], []
    for voter in range(votes):
        voter_id = 10**17 + voter
        at = START + SPAN * (voter / votes)
        first = rng.choice(option_ids)
        final = first
        batch_events.append((poll_id, first, voter_id, "added", "live", to_db(at)))
        if rng.random() < SWITCH_SHARE:
            final = rng.choice(option_ids)
            later = to_db(at + timedelta(minutes=5))
            batch_events.append((poll_id, first, voter_id, "removed", "live", later))
            batch_events.append((poll_id, final, voter_id, "added", "live", later))
        batch_votes.append((poll_id, final, voter_id, to_db(at)))
        if len(batch_votes) >= 50_000:
            _flush(conn, batch_votes, batch_events)
    _flush(conn, batch_votes, batch_events)


def _flush(conn: sqlite3.Connection, batch_votes: list, batch_events: list) -> None:
    conn.executemany(
        "INSERT OR REPLACE INTO votes (poll_id, option_id, voter_id, voted_at) VALUES (?, ?, ?, ?)", batch_votes
    )
    conn.executemany(
        "INSERT INTO vote_events (poll_id, option_id, voter_id, action, source, at) VALUES (?, ?, ?, ?, ?, ?)",
        batch_events,
    )
    batch_votes.clear()
    batch_events.clear()


def _keep_counts(conn: sqlite3.Connection) -> None:
    """The per-option and per-poll counts the vote recorder keeps; written here at once, as migration 0005
    fills them, because the bench writes its votes directly."""
    conn.execute(
        "UPDATE poll_options SET votes = (SELECT COUNT(*) FROM votes v"
        " WHERE v.poll_id = poll_options.poll_id AND v.option_id = poll_options.id)"
    )
    conn.execute(
        "UPDATE polls SET voters = (SELECT COUNT(DISTINCT v.voter_id) FROM votes v WHERE v.poll_id = polls.id)"
    )


def _insert_replies(conn: sqlite3.Connection, rng: random.Random) -> None:
    rows = []
    for n in range(ARTICLE_REPLIES):
        at = START + SPAN * (n / ARTICLE_REPLIES)
        rows.append((n + 1, 11, 1, 1, rng.randrange(200), to_db(at), rng.randrange(1, 500)))
    conn.executemany(
        "INSERT INTO responses (message_id, thread_id, article_id, delivery_id, author_id, created_at, length)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


async def _time_ms(step: Callable[[], Awaitable[object]], runs: int) -> list[float]:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        await step()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


async def _loop_lag_ms(work: Awaitable[object]) -> float:
    """The longest the event loop went unserved while `work` ran: what vote ingestion would wait."""
    done = False
    worst = 0.0

    async def ticker() -> None:
        nonlocal worst
        while not done:
            started = time.perf_counter()
            await asyncio.sleep(0.001)
            worst = max(worst, (time.perf_counter() - started) * 1000 - 1)

    watching = asyncio.create_task(ticker())
    await work
    done = True
    await watching
    return worst


class _Counting:
    """The database, counting the reads a summary makes (to time as many bare round trips)."""

    def __init__(self, db: AnyDatabase) -> None:
        self._db = db
        self.reads = 0

    def __getattr__(self, name: str) -> Any:
        if name.startswith("fetch_"):
            self.reads += 1
        return getattr(self._db, name)


async def _round_trips(db: AnyDatabase, count: int) -> None:
    for _ in range(count):
        await db.fetch_value("SELECT 1")


async def measure(url: DatabaseUrl, poll_id: int, runs: int) -> dict[str, list[float]]:
    db = await open_database(url)
    try:
        counting = _Counting(db)
        summary = await poll_summary(SummaryStore(counting), poll_id)  # type: ignore[arg-type]
        store = SummaryStore(db)
        assert summary is not None
        timeline = await poll_timeline(store, summary)
        article = await article_summary(store, 1, 1)
        assert article is not None
        moment = min(START + SPAN + timedelta(hours=1), utcnow())
        past = await poll_summary(store, poll_id, moment)
        assert past is not None and past.options == summary.options  # every vote was cast by then
        return {
            "round trips": await _time_ms(lambda: _round_trips(db, counting.reads), runs),
            "poll summary": await _time_ms(lambda: poll_summary(store, poll_id), runs),
            # /poll results at: after the last vote, so the whole log is counted (the worst case).
            "poll at moment": await _time_ms(lambda: poll_summary(store, poll_id, moment), runs),
            # A multiple-choice poll also counts voters per person from the log's rows (no index has them).
            "voters at, multiple": await _time_ms(lambda: store.voter_count_at(poll_id, to_db(moment)), runs),
            "timeline": await _time_ms(lambda: poll_timeline(store, summary), runs),
            "article summary": await _time_ms(lambda: article_summary(store, 1, 1), runs),
            "poll chart": await _time_ms(lambda: charts.render_poll_chart_async(summary, timeline), runs),
            "article chart": await _time_ms(lambda: charts.render_article_chart_async(article), runs),
            "loop lag in chart": [await _loop_lag_ms(charts.render_poll_chart_async(summary, timeline))],
            # What the chart process saves: the same chart drawn in a thread of the bot's process.
            "lag, chart in thread": [
                await _loop_lag_ms(asyncio.to_thread(drawing.render_poll_chart, summary, timeline))
            ],
            "votes csv": await _time_ms(lambda: csv_export.export_votes(store, poll_id), 1),
        }
    finally:
        await db.close()


async def _measure_and_stop(url: DatabaseUrl, poll_id: int, runs: int) -> dict[str, list[float]]:
    try:
        return await measure(url, poll_id, runs)
    finally:
        await charts.shutdown()


def _cell(timings: list[float]) -> str:
    if len(timings) == 1:
        return f"{timings[0]:,.0f}"
    return f"{statistics.median(timings):,.1f} [{min(timings):,.1f}-{max(timings):,.1f}]"


def sqlite_copy(size: int, neighbours: int) -> Path:
    """The size's SQLite database under bench/out/, built the first time."""
    path = OUT / f"summary-{size}-n{neighbours}.db"
    if not path.exists():
        started = time.perf_counter()
        build(path, size, neighbours)
        print(f"built {path.name} in {time.perf_counter() - started:.1f} s")
    return path


async def _fill_postgres(source: Path, target: DatabaseUrl, votes: int, neighbours: int) -> None:
    """`target` holding the bench's rows: copied from the SQLite file unless an earlier run did it."""
    database = await open_database(target)
    try:
        voters = await database.fetch_value("SELECT voters FROM polls WHERE id = ?", (neighbours + 1,))
        if voters == votes and await database.fetch_value("SELECT COUNT(*) FROM polls") == neighbours + 1:
            return  # a given database this bench filled before
        started = time.perf_counter()
        origin = await open_for_reading(DatabaseUrl.sqlite(source))
        try:
            await copy_database(origin, database)
        except CopyRefused as error:
            raise SystemExit(f"{target.masked}: {error}") from None
        finally:
            await origin.close()
        print(f"copied {source.name} to PostgreSQL in {time.perf_counter() - started:.1f} s")
    finally:
        await database.close()


def measure_on(database: BenchDatabase, size: int, neighbours: int, runs: int) -> dict[str, list[float]]:
    source = sqlite_copy(size, neighbours)
    if database.dialect == "sqlite":
        url = database.url or DatabaseUrl.sqlite(source)
        if url.path is not None and not url.path.exists():
            build(url.path, size, neighbours)
        return asyncio.run(_measure_and_stop(url, neighbours + 1, runs))

    async def fresh() -> DatabaseUrl:
        url = await database.fresh(OUT)
        await _fill_postgres(source, url, size, neighbours)
        return url

    url = asyncio.run(fresh())
    try:
        return asyncio.run(_measure_and_stop(url, neighbours + 1, runs))
    finally:
        asyncio.run(database.discard(url))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--neighbours", type=int, default=1, help="other polls of the same size in the tables")
    add_argument(parser)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    databases = chosen(args.database)
    results: dict[tuple[int, str], dict[str, list[float]]] = {}
    try:
        for database in databases:
            database.start()
        for size in args.sizes:
            for database in databases:
                results[(size, database.label)] = measure_on(database, size, args.neighbours, args.runs)
    finally:
        for database in databases:
            database.stop()
    report(results, args.runs)


def report(results: dict[tuple[int, str], dict[str, list[float]]], runs: int) -> None:
    steps = list(next(iter(results.values())))
    width = max(10, *(len(label) for _, label in results))
    print(f"\nmilliseconds, median [min-max] of {runs} runs (csv and loop lag: one run)")
    print(f"{'votes':>10} | {'database':<{width}} | " + " | ".join(f"{step:>22}" for step in steps))
    for (size, label), row in results.items():
        print(f"{size:>10,} | {label:<{width}} | " + " | ".join(f"{_cell(row[step]):>22}" for step in steps))
    for (size, label), row in results.items():
        if label.startswith("PostgreSQL") and size >= 1_000_000:
            summary = statistics.median(row["poll summary"])
            print(f"{label}, {size:,}-vote poll summary: {summary:,.1f} ms (target < 200 ms)")


if __name__ == "__main__":
    main()
