"""An RSS feed served by aiohttp on 127.0.0.1 whose items and HTTP status a test controls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web


class LocalFeed:
    def __init__(self, title: str) -> None:
        self.title = title
        self.items: list[tuple[str, str]] = []
        self.status = 200
        self.requests = 0
        self.url = ""
        self._runner: web.AppRunner | None = None

    def add(self, title: str) -> None:
        self.items.append((title, f"https://news.example/{len(self.items) + 1}"))

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
        if self.status != 200:
            return web.Response(status=self.status, text="the feed server is down")
        items = "".join(
            f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
            f"<description>{title}: the full story.</description></item>"
            for title, link in reversed(self.items)  # feeds list the newest first
        )
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
