"""A local HTTP server (127.0.0.1, free port) that serves feed fixtures and misbehaves on request."""

from __future__ import annotations

import asyncio
import functools
import gzip
import hashlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from aiohttp import web

from tests.feeds.corpus import CorpusDocument, corpus_documents
from tests.feeds.samples import rss_document

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "feeds" / "agora"
ETAG = '"agora-v1"'
LAST_MODIFIED = "Wed, 05 Jun 2024 12:00:00 GMT"
HUGE_SIZE = 50 * 1024 * 1024
_CONTENT_TYPES = {".xml": "application/xml", ".json": "application/feed+json", ".html": "text/html"}


@dataclass
class FeedServer:
    """What the server saw, for assertions that a request was (or was not) made."""

    base: str = ""
    requests: list[web.Request] = field(default_factory=list)
    huge_bytes_sent: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    # /live: a feed whose items and health tests change; items are (title, link), oldest first.
    live_items: list[tuple[str, str]] = field(default_factory=list)
    live_status: int = 200
    live_retry_after: str | None = None
    live_dates: dict[str, datetime] = field(default_factory=dict)  # link → pubDate, for dated items
    # /old serves the live feed until this is a redirect status; then it redirects there to /live.
    old_redirect: int | None = None
    added: int = 0  # items ever added, so a dropped item's link is never reused

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def add_item(self, title: str, published: datetime | None = None) -> str:
        self.added += 1
        link = f"https://news.example.com/live/{self.added}"
        self.live_items.append((title, link))
        if published is not None:
            self.live_dates[link] = published
        return link

    def drop_item(self, title: str) -> tuple[str, str]:
        """Take an item off the feed; returns it so a test can put it back (live_items.append)."""
        item = next(item for item in self.live_items if item[0] == title)
        self.live_items.remove(item)
        return item

    def live_document(self) -> bytes:
        items = "".join(
            f"<item><title>{escape(title)}</title><link>{link}</link><guid>{link}</guid>"
            f"<description>{escape(title)}: the story.</description>{self._pub_date(link)}</item>"
            for title, link in reversed(self.live_items)
        )
        return f"<rss version='2.0'><channel><title>Live News</title>{items}</channel></rss>".encode()

    def _pub_date(self, link: str) -> str:
        published = self.live_dates.get(link)
        return f"<pubDate>{format_datetime(published)}</pubDate>" if published else ""

    def count(self, path: str) -> int:
        return sum(1 for request in self.requests if request.path == path)

    def paths(self) -> list[str]:
        return [request.path for request in self.requests]


def _app(state: FeedServer) -> web.Application:
    routes = web.RouteTableDef()

    @web.middleware
    async def record(request: web.Request, handler):  # type: ignore[no-untyped-def]
        state.requests.append(request)
        return await handler(request)

    @routes.get("/corpus/{path:.+}")
    async def corpus(request: web.Request) -> web.Response:
        document = _corpus().get(request.match_info["path"])
        if document is None:
            raise web.HTTPNotFound()
        return web.Response(body=document.body, headers={"Content-Type": document.content_type})

    @routes.get("/fixtures/{name}")
    async def fixture(request: web.Request) -> web.Response:
        path = FIXTURES / request.match_info["name"]
        if not path.is_file():
            raise web.HTTPNotFound()
        content_type = _CONTENT_TYPES.get(path.suffix, "text/plain")
        return web.Response(body=path.read_bytes(), headers={"Content-Type": content_type})

    @routes.get("/conditional")
    async def conditional(request: web.Request) -> web.Response:
        headers = {"ETag": ETAG, "Last-Modified": LAST_MODIFIED, "Content-Type": "application/rss+xml"}
        if request.headers.get("If-None-Match") == ETAG or request.headers.get("If-Modified-Since") == LAST_MODIFIED:
            return web.Response(status=304, headers=headers)
        return web.Response(body=rss_document(3), headers=headers)

    @routes.get("/gzip")
    async def gzipped(request: web.Request) -> web.Response:
        body = gzip.compress(rss_document(20))
        return web.Response(body=body, headers={"Content-Encoding": "gzip", "Content-Type": "application/xml"})

    @routes.get("/gzip-bomb")
    async def gzip_bomb(request: web.Request) -> web.Response:
        body = gzip.compress(b"<rss>" + b" " * HUGE_SIZE, compresslevel=9)
        return web.Response(body=body, headers={"Content-Encoding": "gzip", "Content-Type": "application/xml"})

    @routes.get("/huge")
    async def huge(request: web.Request) -> web.StreamResponse:
        # Chunked, no Content-Length: only counting the bytes can stop it.
        response = web.StreamResponse(headers={"Content-Type": "application/xml"})
        await response.prepare(request)
        chunk = b"<!-- padding -->" * 4096
        try:
            while state.huge_bytes_sent < HUGE_SIZE:
                await response.write(chunk)
                state.huge_bytes_sent += len(chunk)
        except (ConnectionResetError, ConnectionError):
            return response
        await response.write_eof()
        return response

    @routes.get("/huge-declared")
    async def huge_declared(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/xml"})
        response.content_length = HUGE_SIZE
        await response.prepare(request)
        try:
            await response.write(b"<rss>")
        except ConnectionError:
            pass
        return response

    @routes.get("/chain/{hops}")
    async def chain(request: web.Request) -> web.Response:
        hops = int(request.match_info["hops"])
        if hops == 0:
            return web.Response(body=rss_document(2), headers={"Content-Type": "application/xml"})
        raise web.HTTPFound(f"/chain/{hops - 1}")

    @routes.get("/loop/{side}")
    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop/b" if request.match_info["side"] == "a" else "/loop/a")

    @routes.get("/redirect")
    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently(request.query["to"])

    @routes.get("/redirect-without-location")
    async def redirect_without_location(request: web.Request) -> web.Response:
        return web.Response(status=302)

    @routes.get("/status/{code}")
    async def status(request: web.Request) -> web.Response:
        headers = {"Retry-After": "120"} if request.match_info["code"] == "429" else {}
        return web.Response(status=int(request.match_info["code"]), text="no feed here", headers=headers)

    @routes.get("/slow")
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.Response(body=rss_document(1))

    @routes.get("/empty")
    async def empty(request: web.Request) -> web.Response:
        return web.Response(body=b"", headers={"Content-Type": "application/rss+xml"})

    @routes.get("/live")
    async def live(request: web.Request) -> web.Response:
        if state.live_status != 200:
            headers = {"Retry-After": state.live_retry_after} if state.live_retry_after else {}
            return web.Response(status=state.live_status, text="down", headers=headers)
        body = state.live_document()
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=body, headers={"ETag": etag, "Content-Type": "application/rss+xml"})

    @routes.get("/old")
    async def old(request: web.Request) -> web.Response:
        if state.old_redirect is not None:
            return web.Response(status=state.old_redirect, headers={"Location": "/live"})
        return await live(request)

    @routes.get("/busy")
    async def busy(request: web.Request) -> web.Response:
        state.in_flight += 1
        state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            await asyncio.sleep(0.05)
        finally:
            state.in_flight -= 1
        return web.Response(body=rss_document(1), headers={"Content-Type": "application/xml"})

    app = web.Application(middlewares=[record])
    app.add_routes(routes)
    return app


@functools.cache
def _corpus() -> dict[str, CorpusDocument]:
    return {document.name: document for document in corpus_documents()}


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    state = FeedServer()
    runner = web.AppRunner(_app(state), shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state.base = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        await runner.cleanup()


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on, for 'connection refused'."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
