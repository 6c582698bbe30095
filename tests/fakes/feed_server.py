"""The local feed server (127.0.0.1, free port) every test level uses: feed fixtures, a corpus, routes
that misbehave on request, and one live feed (`/live`) whose items, title and health a test controls.

Start it with `serving_feeds()` (or the `feed_server` fixture of tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from aiohttp import web

from tests.feeds.corpus import CorpusDocument, corpus_documents
from tests.feeds.samples import rss_document

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "feeds" / "agora"
ETAG = '"agora-v1"'
LAST_MODIFIED = "Wed, 05 Jun 2024 12:00:00 GMT"
HUGE_SIZE = 50 * 1024 * 1024
_CONTENT_TYPES = {".xml": "application/xml", ".json": "application/feed+json", ".html": "text/html"}


@dataclass(frozen=True)
class FeedItem:
    """One item of the live feed."""

    title: str
    link: str
    published: datetime | None = None
    categories: tuple[str, ...] = ()
    description: str | None = None  # HTML; default: "<title>: the story."

    def xml(self) -> str:
        date = f"<pubDate>{format_datetime(self.published)}</pubDate>" if self.published else ""
        categories = "".join(f"<category>{escape(name)}</category>" for name in self.categories)
        description = self.description if self.description is not None else f"{self.title}: the story."
        return (
            f"<item><title>{escape(self.title)}</title><link>{self.link}</link><guid>{self.link}</guid>{date}"
            f"{categories}<description>{escape(description)}</description></item>"
        )


@dataclass
class FeedServer:
    """What the server saw, for assertions that a request was (or was not) made."""

    base: str = ""
    requests: list[web.Request] = field(default_factory=list)
    client_ports: list[int] = field(default_factory=list)  # of each request's connection, in order
    huge_bytes_sent: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    # /live: a feed whose items and health tests change; items oldest first.
    live_title: str = "Live News"
    live_items: list[FeedItem] = field(default_factory=list)
    live_status: int = 200
    live_retry_after: str | None = None
    live_delay: float = 0.0  # seconds each /live answer takes, so a fetch is in flight long enough to be seen
    live_in_flight: int = 0
    live_most_in_flight: int = 0  # the most /live requests answered at once
    live_fetch_started: asyncio.Event = field(default_factory=asyncio.Event)  # set at each /live request
    # /old serves the live feed until this is a redirect status; then it redirects there to /live.
    old_redirect: int | None = None
    added: int = 0  # items ever added, so a dropped item's link is never reused

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    @property
    def live_url(self) -> str:
        return self.url("/live")

    def add_item(
        self,
        title: str,
        published: datetime | None = None,
        *,
        categories: tuple[str, ...] = (),
        description: str | None = None,
    ) -> FeedItem:
        self.added += 1
        item = FeedItem(title, f"https://news.example.com/live/{self.added}", published, categories, description)
        self.live_items.append(item)
        return item

    def drop_item(self, title: str) -> FeedItem:
        """Take an item off the feed; returns it so a test can put it back (live_items.append)."""
        item = next(item for item in self.live_items if item.title == title)
        self.live_items.remove(item)
        return item

    def live_document(self) -> bytes:
        items = "".join(item.xml() for item in reversed(self.live_items))  # feeds list the newest first
        title = escape(self.live_title)
        return f"<rss version='2.0'><channel><title>{title}</title>{items}</channel></rss>".encode()

    def count(self, path: str) -> int:
        return sum(1 for request in self.requests if request.path == path)

    def paths(self) -> list[str]:
        return [request.path for request in self.requests]


def _app(state: FeedServer) -> web.Application:
    routes = web.RouteTableDef()

    @web.middleware
    async def record(request: web.Request, handler):  # type: ignore[no-untyped-def]
        state.requests.append(request)
        state.client_ports.append(request.transport.get_extra_info("peername")[1] if request.transport else 0)
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
        state.live_in_flight += 1
        state.live_most_in_flight = max(state.live_most_in_flight, state.live_in_flight)
        state.live_fetch_started.set()
        try:
            if state.live_delay:
                await asyncio.sleep(state.live_delay)
            return live_answer(request)
        finally:
            state.live_in_flight -= 1

    def live_answer(request: web.Request) -> web.Response:
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
        return live_answer(request)

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


@asynccontextmanager
async def serving_feeds(live_title: str = "Live News") -> AsyncIterator[FeedServer]:
    state = FeedServer(live_title=live_title)
    runner = web.AppRunner(_app(state), shutdown_timeout=0.5, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state.base = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        await runner.cleanup()
