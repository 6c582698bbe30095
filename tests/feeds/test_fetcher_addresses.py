"""The fetcher never connects to a private address, however a redirect or a stored URL spells the host.

The feed server stands in for a public one: connections to PUBLIC_ADDRESS:80 are routed to it on loopback
at the socket layer, so the fetcher runs exactly as in production (FEED_ALLOW_PRIVATE_ADDRESSES=false).
Every other connection the fetcher attempts is recorded; one to a non-loopback address is refused there,
so nothing ever leaves the machine. A second local server, the target, records any request that reaches it.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web

from bot.feeds.fetcher import FeedFetcher, FeedFetchError, FetchErrorKind
from bot.feeds.urls import ForbiddenAddress, guarded_socket_factory
from tests.feeds.samples import rss_document

PUBLIC_ADDRESS = "93.184.216.34"  # a global address the checks accept; never really contacted

# Hosts that all mean this machine, its private network or the cloud metadata service. {port} is the target's.
FORBIDDEN_HOSTS = [
    "１２７.０.０.１:{port}",  # fullwidth digits
    "127。0。0。1:{port}",  # ideographic full stop
    "127．0．0．1:{port}",  # fullwidth full stop
    "127｡0｡0｡1:{port}",  # halfwidth ideographic full stop
    "１２７。０。０。１:{port}",
    "①②⑦.0.0.1:{port}",  # circled digits, which UTS-46 maps to ASCII ones
    "１６９.２５４.１６９.２５４",  # cloud metadata
    "169.254.169.254",
    "[fd00:ec2::254]",
    "127.0.0.1:{port}",
    "127.0.0.1.:{port}",
    "0.0.0.0:{port}",
    "０.０.０.０:{port}",
    "localhost:{port}",
    "ＬＯＣＡＬＨＯＳＴ:{port}",
    "[::1]:{port}",
    "[::ffff:127.0.0.1]:{port}",
    "[::ffff:7f00:1]:{port}",
    "[64:ff9b::7f00:1]:{port}",
    "2130706433:{port}",
    "0x7f.0.0.1:{port}",
    "0177.0.0.1:{port}",
    "127.1:{port}",
    "10.0.0.1",
    "１０.０.０.１",
    "192.168.1.1",
    "[fe80::1]",
]


@dataclass
class Network:
    """What the fetcher tried to connect to, besides the public feed server."""

    feed_port: int = 0
    target_port: int = 0
    attempts: list[tuple[str, int]] = field(default_factory=list)
    target_requests: list[str] = field(default_factory=list)
    feed_requests: list[str] = field(default_factory=list)

    def feed(self, path: str) -> str:
        return f"http://{PUBLIC_ADDRESS}{path}"


def _feed_app(network: Network) -> web.Application:
    async def redirect(request: web.Request) -> web.Response:
        network.feed_requests.append(request.path_qs)
        return web.Response(status=int(request.match_info["code"]), headers={"Location": request.query["to"]})

    app = web.Application()
    app.router.add_get("/redirect/{code}", redirect)
    return app


def _target_app(network: Network) -> web.Application:
    async def anything(request: web.Request) -> web.Response:
        network.target_requests.append(request.path_qs)
        return web.Response(body=rss_document(1), headers={"Content-Type": "application/rss+xml"})

    app = web.Application()
    app.router.add_get("/{tail:.*}", anything)
    return app


async def _serve(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, runner.addresses[0][1]


@pytest.fixture
async def network(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Network]:
    network = Network()
    feed_runner, network.feed_port = await _serve(_feed_app(network))
    target_runner, network.target_port = await _serve(_target_app(network))
    loop = asyncio.get_running_loop()
    real_sock_connect = loop.sock_connect

    async def sock_connect(sock: socket.socket, address: tuple) -> None:
        host, port = str(address[0]), int(address[1])
        if (host, port) == (PUBLIC_ADDRESS, 80):
            return await real_sock_connect(sock, ("127.0.0.1", network.feed_port))
        network.attempts.append((host, port))
        if host not in ("127.0.0.1", "::1"):
            raise ConnectionRefusedError(111, "refused by the test network")  # never leave the machine
        return await real_sock_connect(sock, address)

    monkeypatch.setattr(loop, "sock_connect", sock_connect)
    try:
        yield network
    finally:
        await feed_runner.cleanup()
        await target_runner.cleanup()


@pytest.fixture
async def fetcher() -> AsyncIterator[FeedFetcher]:
    async with FeedFetcher(allow_private=False, total_timeout=5.0, connect_timeout=2.0) as fetcher:
        yield fetcher


async def test_the_public_stand_in_is_fetched(fetcher: FeedFetcher, network: Network) -> None:
    # The harness itself: a redirect to a public address is followed (and refused only by the test network).
    with pytest.raises(FeedFetchError) as caught:
        await fetcher.fetch(network.feed("/redirect/302?to=http://93.184.216.35/feed"))
    assert caught.value.kind is FetchErrorKind.CONNECTION
    assert network.attempts == [("93.184.216.35", 80)]
    assert "93.184.216.35" in caught.value.message


@pytest.mark.parametrize("code", [301, 302, 307, 308])
@pytest.mark.parametrize("host", FORBIDDEN_HOSTS)
async def test_redirect_to_a_private_address_is_never_connected(
    fetcher: FeedFetcher, network: Network, code: int, host: str
) -> None:
    location = f"http://{host.format(port=network.target_port)}/feed.xml"
    with pytest.raises(FeedFetchError) as caught:
        await fetcher.fetch(network.feed(f"/redirect/{code}?to={location}"))
    assert network.feed_requests, "the redirect was never asked for"
    assert network.target_requests == [], f"{location} reached the target"
    assert network.attempts == [], f"{location} made the fetcher connect to {network.attempts}"
    assert caught.value.kind is FetchErrorKind.INVALID_URL, caught.value.message
    assert PUBLIC_ADDRESS not in caught.value.message, "the refusal names the redirecting host, not the refused one"
    assert "public addresses" in caught.value.message


@pytest.mark.parametrize("host", FORBIDDEN_HOSTS)
async def test_stored_url_with_a_private_address_is_never_connected(
    fetcher: FeedFetcher, network: Network, host: str
) -> None:
    with pytest.raises(FeedFetchError) as caught:
        await fetcher.fetch(f"http://{host.format(port=network.target_port)}/feed.xml")
    assert network.target_requests == [] and network.attempts == []
    assert caught.value.kind is FetchErrorKind.INVALID_URL, caught.value.message
    assert "public addresses" in caught.value.message


@pytest.mark.parametrize("host", ["127.0.0.1", "１２７.０.０.１", "127。0。0。1", "[::ffff:127.0.0.1]"])
async def test_the_socket_guard_alone_refuses_a_literal_that_skips_the_resolver(network: Network, host: str) -> None:
    # Without Agora's URL checks or resolver: the connector's socket factory is the last line, and holds.
    connector = aiohttp.TCPConnector(socket_factory=guarded_socket_factory(allow_private=False))
    async with aiohttp.ClientSession(connector=connector) as session:
        with pytest.raises(aiohttp.ClientConnectorError) as caught:
            await session.get(f"http://{host}:{network.target_port}/feed.xml")
    assert isinstance(caught.value.os_error, ForbiddenAddress)
    assert "loopback" in caught.value.os_error.message
    assert network.target_requests == [] and network.attempts == []
