"""One feed check cycle over 1,000 subscriptions served locally: wall time, feeds/s, peak memory.

    .venv/bin/python -m bench.feed_cycle                      # 1,000 feeds, half of them changed
    .venv/bin/python -m bench.feed_cycle --feeds 200 --changed 0.2

A child process serves the feeds on 127.0.0.1 (so its CPU and memory are not counted): each is a 50-item
RSS 2.0 document (~80 KB) with an ETag, and answers 304 to the ETag it last sent. The bench subscribes one
channel to each feed through FeedService.subscribe (backfill 0), then makes `--changed` of them gain two
items and runs one cycle: unchanged feeds cost a 304, changed ones a fetch, a parse (in a thread), an
unseen-items query and two article posts. Posting goes through ArticleStore.record_intent with the
service's seen-marking hook and is marked posted, as the real publisher does, minus the Discord calls.
The same cycle is then repeated under tracemalloc for the Python heap peak (tracemalloc slows it down).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import multiprocessing
import resource
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp import web

from bot.feeds.fetcher import FeedFetcher
from bot.feeds.service import CycleReport, FeedService
from bot.storage import Database
from bot.storage.articles import ArticleStore, IntentHook
from bot.storage.feeds import FeedStore
from tests.feeds.samples import NEWEST, rss_document

ITEMS = 50


# --- the feed server (child process) ----------------------------------------------------------------


def serve(feeds: int, port_out: Any, ready: Any) -> None:
    asyncio.run(_serve(feeds, port_out, ready))


async def _serve(feeds: int, port_out: Any, ready: Any) -> None:
    generation = [0] * feeds  # how many times each feed has gained items
    cache: dict[tuple[int, int], tuple[bytes, str]] = {}

    def document(n: int) -> tuple[bytes, str]:
        key = (n, generation[n])
        if key not in cache:
            # Each generation adds two items on top (and drops the two oldest), as a news feed does.
            body = rss_document(ITEMS, channel=f"Feed {n}", first=1 + 2 * generation[n]).replace(
                b"news.example.com/", f"feed{n}.example.com/".encode()
            )
            cache[key] = (body, '"' + hashlib.sha256(body).hexdigest()[:16] + '"')
        return cache[key]

    async def feed(request: web.Request) -> web.Response:
        body, etag = document(int(request.match_info["n"]))
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=body, headers={"ETag": etag, "Content-Type": "application/rss+xml"})

    async def change(request: web.Request) -> web.Response:
        share = float(request.query["share"])
        changed = [n for n in range(feeds) if n % round(1 / share) == 0] if share else []
        for n in changed:
            generation[n] += 1
        return web.Response(text=str(len(changed)))

    app = web.Application()
    app.router.add_get("/feed/{n}", feed)
    app.router.add_post("/change", change)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port_out.value = runner.addresses[0][1]
    ready.set()
    await asyncio.Event().wait()


# --- the bot side -----------------------------------------------------------------------------------


class StorePublisher:
    """The publisher's storage work (intent with the seen hook, then posted), without Discord."""

    def __init__(self, articles: ArticleStore) -> None:
        self._articles = articles
        self.posted = 0

    def check_can_post(self, channel: Any, *, open_thread: bool = True, open_poll: bool = True) -> None:
        return None

    async def publish(
        self, article: Any, channel: Any, *, source: str, open_thread: bool = True, open_poll: bool = True,
        poll_spec: str | None = None, with_intent: IntentHook | None = None,
    ) -> None:  # fmt: skip
        _, delivery = await self._articles.record_intent(
            article, source=source, guild_id=channel.guild.id, channel_id=channel.id, open_thread=open_thread,
            open_poll=open_poll, poll_spec=poll_spec, with_intent=with_intent,
        )  # fmt: skip
        await self._articles.mark_posted(delivery.id)
        self.posted += 1


@dataclass
class Setup:
    service: FeedService
    publisher: StorePublisher
    db: Database
    clock: list
    cpu: float = 0.0  # process CPU seconds of the last cycle


async def build(base: str, feeds: int, folder: Path) -> Setup:
    db = await Database.open(folder / "bench.db")
    publisher = StorePublisher(ArticleStore(db))
    channels = {n: SimpleNamespace(id=10_000 + n, guild=SimpleNamespace(id=1, me=None), mention=f"#c{n}")
                for n in range(feeds)}  # fmt: skip
    # The service's clock starts at the documents' own dates: items dated before the seen-items horizon
    # (90 days) are never posted, and the generated items are dated June 2024.
    clock = [NEWEST]
    service = FeedService(
        FeedStore(db), FeedFetcher(allow_private=True, concurrency=20), publisher, lambda cid: channels[cid - 10_000],
        interval=600, max_failures=5, allow_private=True, clock=lambda: clock[0],
    )  # fmt: skip
    started = time.perf_counter()
    for n in range(feeds):
        await service.subscribe(channels[n], f"{base}/feed/{n}", created_by=1, backfill=0)
    print(f"set-up: {feeds} subscriptions with {ITEMS} seen items each in {time.perf_counter() - started:.1f} s")
    return Setup(service, publisher, db, clock)


async def one_cycle(setup: Setup, base: str, share: float) -> tuple[CycleReport, float]:
    import aiohttp

    async with aiohttp.ClientSession() as session, session.post(f"{base}/change?share={share}") as response:
        await response.text()
    setup.clock[0] += timedelta(hours=1)  # every feed is due
    started, cpu_started = time.perf_counter(), time.process_time()
    report = await setup.service.run_cycle()
    setup.cpu = time.process_time() - cpu_started  # all threads: parsing runs off the event loop
    return report, time.perf_counter() - started


def max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main(feeds: int, share: float) -> None:
    # spawn, not fork: a forked child would inherit this process's running event loop.
    context = multiprocessing.get_context("spawn")
    port, ready = context.Value("i", 0), context.Event()
    server = context.Process(target=serve, args=(feeds, port, ready), daemon=True)
    server.start()
    if not ready.wait(60):
        raise SystemExit("the feed server did not start")
    base = f"http://127.0.0.1:{port.value}"
    with tempfile.TemporaryDirectory() as folder:
        setup = await build(base, feeds, Path(folder))
        rss_before = max_rss_mib()
        report, wall = await one_cycle(setup, base, share)
        rss_after = max_rss_mib()
        print(
            f"cycle: {report.feeds} feeds ({report.feeds - report.not_modified} fetched in full, "
            f"{report.not_modified} answered 304, {report.failed} failed), {report.posted} articles posted"
        )
        print(
            f"  wall {wall:.2f} s   CPU {setup.cpu:.2f} s   {report.feeds / wall:.0f} feeds/s   "
            f"peak RSS {rss_after:.0f} MiB (before the cycle {rss_before:.0f} MiB)"
        )
        tracemalloc.start()
        report, wall = await one_cycle(setup, base, share)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"same cycle under tracemalloc: Python heap peak {peak / 2**20:.0f} MiB "
            f"(wall {wall:.2f} s, slowed by tracing)"
        )
        await setup.service.close()
        await setup.db.close()
    server.terminate()


if __name__ == "__main__":
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--feeds", type=int, default=1000)
    arguments.add_argument("--changed", type=float, default=0.5, help="share of feeds that gain items (0-1)")
    options = arguments.parse_args()
    asyncio.run(main(options.feeds, options.changed))
