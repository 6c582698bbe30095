"""Fetching feed documents over HTTP, politely and defensively.

One FeedFetcher holds one aiohttp session for every feed, so connections and DNS answers are reused
across a poll cycle. Each fetch is bounded in time (one deadline over all redirect hops), size (counted
after decompression, so a small gzip bomb is stopped like a large body) and concurrency (a semaphore),
follows at most a few redirects itself so every hop is validated, and sends the stored ETag and
Last-Modified so unchanged feeds cost a 304 and no parsing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import logging
import time
from dataclasses import dataclass
from enum import StrEnum
from http import HTTPStatus
from types import TracebackType
from urllib.parse import urljoin

import aiohttp

from bot import __version__
from bot.feeds.urls import (
    FeedUrl,
    ForbiddenAddress,
    GuardedResolver,
    InvalidFeedUrl,
    check_host,
    check_url_syntax,
    guarded_socket_factory,
)
from bot.quoting import excerpt

log = logging.getLogger(__name__)

USER_AGENT = f"Agora/{__version__} (+feed reader for Discord communities)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_TOTAL_TIMEOUT = 30.0
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_MAX_REDIRECTS = 5
DEFAULT_CONCURRENCY = 20
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT_REDIRECTS = frozenset({301, 308})
_CHUNK = 64 * 1024


class FetchErrorKind(StrEnum):
    DNS = "dns"
    TIMEOUT = "timeout"
    HTTP_STATUS = "http_status"
    TOO_LARGE = "too_large"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    REDIRECT_LOOP = "redirect_loop"
    CONNECTION = "connection"
    TLS = "tls"
    INVALID_URL = "invalid_url"
    BAD_RESPONSE = "bad_response"


class FeedFetchError(Exception):
    """A fetch failed; the message names the host, never the full URL (it may hold a token)."""

    def __init__(
        self,
        kind: FetchErrorKind,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class FetchResult:
    status: int
    body: bytes
    etag: str | None
    last_modified: str | None
    final_url: str
    not_modified: bool
    content_type: str | None
    # Where the feed has moved for good: the address reached through permanent redirects (301/308) alone,
    # from the requested one up to the first temporary redirect. None when the first hop was not permanent.
    moved_to: str | None = None


class FeedFetcher:
    """Fetches feed documents; use as an async context manager or call close()."""

    def __init__(
        self,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        total_timeout: float = DEFAULT_TOTAL_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        concurrency: int = DEFAULT_CONCURRENCY,
        allow_private: bool = False,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.max_bytes = max_bytes
        self.total_timeout = total_timeout
        self.connect_timeout = connect_timeout
        self.max_redirects = max_redirects
        self.allow_private = allow_private
        self.user_agent = user_agent
        self._semaphore = asyncio.Semaphore(concurrency)
        self._concurrency = concurrency
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> FeedFetcher:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _get_session(self) -> aiohttp.ClientSession:
        # Created on first use so the fetcher can be built outside a running event loop.
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(allow_private=self.allow_private),
                # Checks the address of every socket opened, IP literals included (they skip the resolver).
                socket_factory=guarded_socket_factory(allow_private=self.allow_private),
                limit=self._concurrency,
                ttl_dns_cache=300,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": self.user_agent, "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"},
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.connect_timeout),
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,  # an environment proxy would bypass the address checks
            )
        return self._session

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        """Fetch url, sending the validators of the previous fetch; raises FeedFetchError."""
        host = _host_of(url)
        async with self._semaphore:
            started = time.monotonic()
            try:
                async with asyncio.timeout(self.total_timeout):
                    result = await self._follow(url, _conditional_headers(etag, last_modified))
            except FeedFetchError:
                raise
            except TimeoutError as exc:
                raise FeedFetchError(
                    FetchErrorKind.TIMEOUT, f"{host} did not send the feed within {self.total_timeout:g} s."
                ) from exc
            except aiohttp.ClientError as exc:
                raise _client_error(exc, host) from exc
            except UnicodeError as exc:  # a host name the IDNA codec refuses, should one pass _check
                raise FeedFetchError(
                    FetchErrorKind.INVALID_URL, "The feed address, or one it redirected to, has an invalid host name."
                ) from exc
        log.debug("fetched %s: %s in %.2f s", host, result.status, time.monotonic() - started)
        return result

    async def _follow(self, url: str, headers: dict[str, str]) -> FetchResult:
        """Request url, following redirects one validated hop at a time."""
        visited: set[str] = set()
        moved_to: str | None = None
        permanent = True  # every hop so far was a permanent redirect
        for _ in range(self.max_redirects + 1):
            target = self._check(url)
            if target.url in visited:
                raise FeedFetchError(
                    FetchErrorKind.REDIRECT_LOOP, f"{target.host} redirects in a loop and never serves the feed."
                )
            visited.add(target.url)
            if permanent and len(visited) > 1:
                moved_to = target.url
            try:
                async with self._get_session().get(target.url, headers=headers, allow_redirects=False) as response:
                    if response.status not in _REDIRECTS:
                        result = await self._result(response, target)
                        return dataclasses.replace(result, moved_to=moved_to) if moved_to else result
                    url = _redirect_target(response, target)
                    permanent = permanent and response.status in _PERMANENT_REDIRECTS
            except aiohttp.ClientError as exc:
                raise _client_error(exc, target.host) from exc  # named after this hop's host, not the first
        raise FeedFetchError(
            FetchErrorKind.TOO_MANY_REDIRECTS,
            f"The feed address redirected more than {self.max_redirects} times; use its final address.",
        )

    def _check(self, url: str) -> FeedUrl:
        """urls.py's checks for this hop; host names are checked again by the resolver at connect time."""
        try:
            target = check_url_syntax(url)
            check_host(target, allow_private=self.allow_private)
        except InvalidFeedUrl as exc:
            raise FeedFetchError(FetchErrorKind.INVALID_URL, exc.message) from exc
        return target

    async def _result(self, response: aiohttp.ClientResponse, target: FeedUrl) -> FetchResult:
        if response.status == HTTPStatus.NOT_MODIFIED:
            return FetchResult(
                status=response.status,
                body=b"",
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
                final_url=target.url,
                not_modified=True,
                content_type=response.headers.get("Content-Type"),
            )
        if not 200 <= response.status < 300:
            raise _status_error(response, target.host)
        return FetchResult(
            status=response.status,
            body=await self._read_capped(response, target.host),
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
            final_url=target.url,
            not_modified=False,
            content_type=response.headers.get("Content-Type"),
        )

    async def _read_capped(self, response: aiohttp.ClientResponse, host: str) -> bytes:
        """The decompressed body, aborting the transfer as soon as it passes max_bytes."""
        too_large = FeedFetchError(
            FetchErrorKind.TOO_LARGE, f"The feed at {host} is larger than {_megabytes(self.max_bytes)}."
        )
        declared = response.content_length
        if declared is not None and declared > self.max_bytes:
            response.close()
            raise too_large
        body = bytearray()
        async for chunk in response.content.iter_chunked(_CHUNK):
            body += chunk
            if len(body) > self.max_bytes:
                response.close()  # drop the connection rather than drain the rest
                raise too_large
        return bytes(body)


def _conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _redirect_target(response: aiohttp.ClientResponse, target: FeedUrl) -> str:
    location = response.headers.get("Location")
    if not location:
        raise FeedFetchError(FetchErrorKind.BAD_RESPONSE, f"{target.host} answered with a redirect but no new address.")
    try:
        return urljoin(target.url, location)
    except ValueError as exc:
        raise FeedFetchError(FetchErrorKind.INVALID_URL, f"{target.host} redirected to an invalid address.") from exc


def _status_error(response: aiohttp.ClientResponse, host: str) -> FeedFetchError:
    try:
        phrase = HTTPStatus(response.status).phrase
    except ValueError:
        phrase = "unknown status"
    return FeedFetchError(
        FetchErrorKind.HTTP_STATUS,
        f"{host} answered HTTP {response.status} ({phrase}).",
        status=response.status,
        retry_after=_retry_after(response.headers.get("Retry-After")),
    )


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _client_error(exc: aiohttp.ClientError, host: str) -> FeedFetchError:
    """Translate aiohttp's exception into a kind and a moderator-readable sentence."""
    host = excerpt(host)
    if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, ForbiddenAddress):
        return FeedFetchError(FetchErrorKind.INVALID_URL, exc.os_error.for_host(host))
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return FeedFetchError(FetchErrorKind.DNS, f"The host {host} could not be found (DNS lookup failed).")
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
        return FeedFetchError(FetchErrorKind.TLS, f"{host} has an invalid or untrusted HTTPS certificate.")
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = exc.os_error.strerror or "connection failed"
        return FeedFetchError(FetchErrorKind.CONNECTION, f"Could not connect to {host}: {reason.lower()}.")
    if isinstance(exc, aiohttp.InvalidURL):
        return FeedFetchError(FetchErrorKind.INVALID_URL, f"The address for {host} is not a valid URL.")
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        return FeedFetchError(FetchErrorKind.BAD_RESPONSE, f"{host} sent a broken response.")
    return FeedFetchError(FetchErrorKind.CONNECTION, f"The connection to {host} failed.")


def _host_of(url: str) -> str:
    try:
        return check_url_syntax(url).host
    except InvalidFeedUrl:
        return "the feed server"


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"
