"""An RSS feed served by aiohttp on 127.0.0.1 whose items and HTTP status a test controls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape

from aiohttp import web


@dataclass(frozen=True)
class LocalItem:
    title: str
    link: str
    published: datetime | None = None
    categories: tuple[str, ...] = ()
    description: str | None = None  # HTML; default: "<title>: the full story."

    def xml(self) -> str:
        date = f"<pubDate>{format_datetime(self.published)}</pubDate>" if self.published else ""
        categories = "".join(f"<category>{escape(name)}</category>" for name in self.categories)
        description = self.description if self.description is not None else f"{self.title}: the full story."
        return (
            f"<item><title>{escape(self.title)}</title><link>{self.link}</link><guid>{self.link}</guid>{date}"
            f"{categories}<description>{escape(description)}</description></item>"
        )


class LocalFeed:
    def __init__(self, title: str) -> None:
        self.title = title
        self.items: list[LocalItem] = []
        self.status = 200
        self.requests = 0
        self.delay = 0.0  # seconds each answer takes, so a fetch is in flight long enough to be seen
        self.in_flight = 0
        self.most_in_flight = 0  # the most requests answered at once
        self.fetch_started = asyncio.Event()  # set at each request; clear it to wait for the next one
        self.url = ""
        self._runner: web.AppRunner | None = None

    def add(
        self,
        title: str,
        *,
        published: datetime | None = None,
        categories: tuple[str, ...] = (),
        description: str | None = None,
    ) -> None:
        link = f"https://news.example/{len(self.items) + 1}"
        self.items.append(LocalItem(title, link, published, categories, description))

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/feed.xml", self._serve)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/feed.xml"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _serve(self, request: web.Request) -> web.Response:
        self.requests += 1
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        self.fetch_started.set()
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            return self._answer()
        finally:
            self.in_flight -= 1

    def _answer(self) -> web.Response:
        if self.status != 200:
            return web.Response(status=self.status, text="the feed server is down")
        items = "".join(item.xml() for item in reversed(self.items))  # feeds list the newest first
        body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>{self.title}</title>{items}</channel></rss>'
        return web.Response(body=body.encode(), content_type="application/rss+xml")


@asynccontextmanager
async def serving_feed(title: str) -> AsyncIterator[LocalFeed]:
    feed = LocalFeed(title)
    await feed.start()
    try:
        yield feed
    finally:
        await feed.stop()
