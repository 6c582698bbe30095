import asyncio
import ipaddress
import socket

import pytest

from bot.feeds import urls
from bot.feeds.urls import (
    ForbiddenAddress,
    GuardedResolver,
    InvalidFeedUrl,
    check_url_syntax,
    forbidden_reason,
    validate_feed_url,
)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("", "full address"),
        ("   ", "full address"),
        ("ftp://example.com/feed.xml", "Only http"),
        ("file:///etc/passwd", "Only http"),
        ("javascript:alert(1)", "Only http"),
        ("example.com/feed", "Only http"),
        ("http://", "no host"),
        ("https:///feed.xml", "no host"),
        ("https://user:secret@example.com/feed", "user name or password"),
        ("https://user@example.com/feed", "user name or password"),
        ("https://example.com:99999/feed", "not a valid"),
        ("http://[::1/feed", "not a valid"),
        ("https://example.com/" + "a" * 2100, "longer than"),
        ("http://a..b/feed", "host name is not valid"),  # an empty label: the resolver's codec raises UnicodeError
        ("http://" + "a" * 64 + ".example/feed", "host name is not valid"),  # a label over 63 characters
    ],
)
def test_malformed_urls_are_refused_with_a_reason(url: str, fragment: str) -> None:
    with pytest.raises(InvalidFeedUrl) as caught:
        check_url_syntax(url)
    assert fragment in caught.value.message


def test_refusal_message_never_repeats_the_password() -> None:
    with pytest.raises(InvalidFeedUrl) as caught:
        check_url_syntax("https://bob:hunter2@example.com/feed")
    assert "hunter2" not in caught.value.message


def test_url_is_normalised_without_changing_path_or_query() -> None:
    checked = check_url_syntax("  HTTPS://News.Example.COM/Feed.xml?Key=AbC#section ")
    assert checked.url == "https://news.example.com/Feed.xml?Key=AbC"
    assert (checked.host, checked.port) == ("news.example.com", 443)


def test_bare_host_gets_a_root_path_and_default_port() -> None:
    checked = check_url_syntax("http://example.com")
    assert (checked.url, checked.port) == ("http://example.com/", 80)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("fec0::1", "private"),  # deprecated IPv6 site-local range
        ("feff:ffff::1", "private"),
        ("169.254.10.20", "link-local"),
        ("fe80::1", "link-local"),
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.127.255.254", "carrier-grade NAT"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("192.0.2.10", "private"),  # documentation range: never a real feed host
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped IPv6 must not smuggle loopback in
        ("::ffff:169.254.169.254", "metadata"),
        ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
    ],
)
def test_non_public_addresses_are_refused(address: str, reason: str) -> None:
    found = forbidden_reason(ipaddress.ip_address(address))
    assert found is not None and reason in found


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "100.128.0.1", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/feed.xml",
        "http://[::1]/feed",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://10.0.0.7/rss",
        "http://100.64.1.1/rss",
        "http://localhost:8080/feed.xml",  # resolved through /etc/hosts, no DNS server involved
        "http://2130706433/feed",  # 127.0.0.1 written as one number
    ],
)
async def test_private_hosts_are_refused(url: str) -> None:
    with pytest.raises(InvalidFeedUrl) as caught:
        await validate_feed_url(url)
    assert "public addresses" in caught.value.message


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/feed.xml", "http://localhost:8080/feed.xml", "http://[::1]/"])
async def test_private_hosts_are_allowed_when_the_operator_allows_them(url: str) -> None:
    assert await validate_feed_url(url, allow_private=True) == url.lower()


async def test_public_literal_address_is_accepted() -> None:
    assert await validate_feed_url("https://93.184.216.34/feed.xml") == "https://93.184.216.34/feed.xml"


async def test_host_that_does_not_resolve_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_such_host(*args: object, **kwargs: object) -> list[object]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", no_such_host)
    with pytest.raises(InvalidFeedUrl) as caught:
        await validate_feed_url("https://feeds.example.invalid/rss")
    assert "could not be found" in caught.value.message


async def test_host_with_any_private_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    async def mixed(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.0.0.1"]

    monkeypatch.setattr(urls, "resolve", mixed)
    with pytest.raises(InvalidFeedUrl, match="private network"):
        await validate_feed_url("https://rebind.example.com/feed")


class _FixedResolver:
    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[dict[str, object]]:
        return [
            {"hostname": host, "host": address, "port": port, "family": family, "proto": 0, "flags": 0}
            for address in self.addresses
        ]

    async def close(self) -> None:
        pass


async def test_guarded_resolver_refuses_private_answers_at_connect_time() -> None:
    resolver = GuardedResolver(inner=_FixedResolver("93.184.216.34", "169.254.169.254"))  # type: ignore[arg-type]
    with pytest.raises(ForbiddenAddress, match="metadata"):
        await resolver.resolve("feeds.example.com", 443)


async def test_guarded_resolver_passes_public_answers_through() -> None:
    resolver = GuardedResolver(inner=_FixedResolver("93.184.216.34"))  # type: ignore[arg-type]
    results = await resolver.resolve("feeds.example.com", 443)
    assert [result["host"] for result in results] == ["93.184.216.34"]


async def test_guarded_resolver_allows_private_answers_when_allowed() -> None:
    resolver = GuardedResolver(allow_private=True, inner=_FixedResolver("10.0.0.1"))  # type: ignore[arg-type]
    assert len(await resolver.resolve("intranet.example", 80)) == 1


def test_forbidden_address_is_an_oserror_so_aiohttp_reports_it_as_a_lookup_failure() -> None:
    # aiohttp wraps only OSError from a resolver into ClientConnectorDNSError; the fetcher unwraps it.
    assert issubclass(ForbiddenAddress, OSError)
