"""Feed URL validation: which addresses Agora agrees to fetch.

A feed URL is typed by a moderator, and every redirect is chosen by a server Agora does not control.
Fetching either blindly would let anyone who can add a feed make the bot request internal services
(the cloud metadata endpoint, an admin panel on the host's network). So a URL must be http(s), name a
host and carry no credentials, and every address its host resolves to must be public. The same check
runs on every redirect hop, and GuardedResolver repeats it on the addresses a connection actually uses,
so a DNS answer that changes between the check and the connection (rebinding) is still refused.

A host can be spelled many ways that the URL library (yarl, under aiohttp) turns into the same address:
fullwidth digits, ideographic full stops, circled digits (UTS-46 mapping). So the checks look at the host
as yarl normalises it, the very value aiohttp connects to; and `guarded_socket_factory` checks the address
of every socket aiohttp opens, IP literals included (they never reach a resolver), whatever the spelling.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit, urlunsplit

import yarl
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from bot.quoting import excerpt

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_CLOUD_METADATA = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
MAX_URL_LENGTH = 2048
_LEGACY_IPV4_CHARACTERS = frozenset("0123456789abcdefx.")


class InvalidFeedUrl(ValueError):
    """The URL cannot be used as a feed; the message is fit to show the moderator who typed it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ForbiddenAddress(OSError):
    """A connection to an address Agora does not fetch from (raised inside aiohttp's connector)."""

    def __init__(self, address: IPAddress, reason: str, host: str | None = None) -> None:
        self.address = address
        self.reason = reason
        self.message = refusal(host or str(address), address, reason)
        super().__init__(self.message)

    def for_host(self, host: str) -> str:
        """The refusal, naming the host as the URL gave it."""
        return refusal(host, self.address, self.reason)


@dataclass(frozen=True, slots=True)
class FeedUrl:
    """A syntactically valid feed URL, split into the parts the checks need.

    `host` is the host as written (for messages); `connect_host` is what aiohttp will connect to or resolve.
    """

    url: str
    host: str
    port: int
    connect_host: str = ""


def check_url_syntax(url: str) -> FeedUrl:
    """Check scheme, host, credentials and port without touching the network; returns the normalised URL."""
    url = url.strip()
    if not url:
        raise InvalidFeedUrl("Give the feed's full address, starting with https://.")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidFeedUrl(f"That address is longer than {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidFeedUrl("That is not a valid web address.") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidFeedUrl("Only http:// and https:// feed addresses are supported.")
    if not parts.hostname:
        raise InvalidFeedUrl("That address has no host name (expected https://example.com/feed).")
    if parts.username is not None or parts.password is not None:
        raise InvalidFeedUrl("Feed addresses with a user name or password are not accepted.")
    host = parts.hostname.rstrip(".").lower()
    try:
        host.encode("idna")  # the codec the resolver uses: it refuses empty labels and labels over 63 characters
    except UnicodeError as exc:
        raise InvalidFeedUrl("That address's host name is not valid (a part is empty or too long).") from exc
    normalised = _normalised(parts)
    default_port = 443 if parts.scheme.lower() == "https" else 80
    return FeedUrl(normalised, host, port or default_port, _connect_host(normalised))


def _connect_host(url: str) -> str:
    """The host aiohttp will use for url: yarl's parse of the same string, IDNA/UTS-46 mapping included."""
    try:
        parsed = yarl.URL(url)
    except (ValueError, UnicodeError) as exc:
        raise InvalidFeedUrl("That address's host name is not valid.") from exc
    if parsed.user is not None or parsed.password is not None:
        raise InvalidFeedUrl("Feed addresses with a user name or password are not accepted.")
    if not parsed.raw_host:
        raise InvalidFeedUrl("That address has no host name (expected https://example.com/feed).")
    return parsed.raw_host.rstrip(".").lower()


def _normalised(parts: SplitResult) -> str:
    """Lower-case scheme and host, drop the fragment (servers never see it), keep path and query as typed."""
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, ""))


def forbidden_reason(address: IPAddress) -> str | None:
    """Why Agora refuses to connect to this address, or None when it is a public one."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or (
            ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if address in _NAT64 else None
        )
        if embedded is not None:
            return forbidden_reason(embedded)
    if address in _CLOUD_METADATA:
        return "a cloud metadata service"
    if address.is_loopback:
        return "this machine (loopback)"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "a carrier-grade NAT address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local):
        return "a private network"  # site-local (fec0::/10) is deprecated but was private addressing
    if not address.is_global:
        return "a reserved address"
    return None


def refusal(host: str, address: IPAddress, reason: str) -> str:
    return f"{excerpt(host)} points to {reason} ({address}); Agora only fetches feeds from public addresses."


def check_address(host: str, address: str | IPAddress, *, allow_private: bool) -> None:
    """Raise InvalidFeedUrl when host's resolved address is not one Agora fetches from."""
    if allow_private:
        return
    ip = ipaddress.ip_address(address.split("%", 1)[0] if isinstance(address, str) else address)
    if reason := forbidden_reason(ip):
        raise InvalidFeedUrl(refusal(host, ip, reason))


def check_host(feed_url: FeedUrl, *, allow_private: bool) -> None:
    """Refuse a URL whose host, as aiohttp will read it, is a non-public IP literal (names go to the resolver)."""
    literal = literal_address(feed_url.connect_host or feed_url.host)
    if literal is not None:
        check_address(feed_url.host, literal, allow_private=allow_private)


def literal_address(host: str) -> IPAddress | None:
    """The address host is written as, if it is one, in standard or legacy numeric form."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return _legacy_ipv4(host)


def _legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The address the system resolver reads in 127.1, 0x7f.0.0.1, 0177.0.0.1 or 2130706433.

    aiohttp refuses these forms today; reading them here keeps the refusal ours, with its reason.
    """
    if not host or not host.isascii() or not set(host.lower()) <= _LEGACY_IPV4_CHARACTERS:
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def guarded_socket_factory(*, allow_private: bool) -> Callable[[tuple], socket.socket]:
    """aiohttp's socket_factory: refuse to open a socket to a non-public address.

    This is the one place every connection passes through with the address it will connect to, whether
    the host was a name (resolved) or an IP literal (never resolved), so the guard holds whatever spelling
    or layer of the HTTP stack let a host through.
    """

    def open_socket(addr_info: tuple) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        if not allow_private:
            ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
            if reason := forbidden_reason(ip):
                log.info("refused connection to %s: %s", ip, reason)
                raise ForbiddenAddress(ip, reason)
        return socket.socket(family=family, type=type_, proto=proto)

    return open_socket


async def validate_feed_url(url: str, *, allow_private: bool = False) -> str:
    """Check a feed URL and every address its host resolves to; returns the normalised URL.

    allow_private is the operator's switch for feeds served on a private network (and for tests).
    """
    feed_url = check_url_syntax(url)
    if literal_address(feed_url.connect_host):
        check_host(feed_url, allow_private=allow_private)
        return feed_url.url
    for address in await resolve(feed_url.connect_host, feed_url.port):
        check_address(feed_url.host, address, allow_private=allow_private)
    return feed_url.url


async def resolve(host: str, port: int) -> list[str]:
    """Every address host resolves to, via the system resolver off the event loop."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise InvalidFeedUrl(f"The host {excerpt(host)} could not be found.") from exc
    return sorted({str(info[4][0]) for info in infos})


class GuardedResolver(AbstractResolver):
    """aiohttp resolver that refuses hosts resolving to non-public addresses.

    Checking at connection time is what makes the check hold: the addresses inspected are the ones the
    socket connects to, not an earlier answer.
    """

    def __init__(self, *, allow_private: bool = False, inner: AbstractResolver | None = None) -> None:
        self._allow_private = allow_private
        self._inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if self._allow_private:
            return results
        for result in results:
            ip = ipaddress.ip_address(str(result["host"]).split("%", 1)[0])
            if reason := forbidden_reason(ip):
                log.info("refused connection to %s: %s", host, reason)
                raise ForbiddenAddress(ip, reason, host)
        return results

    async def close(self) -> None:
        await self._inner.close()
