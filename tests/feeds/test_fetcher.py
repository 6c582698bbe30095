import asyncio

import pytest

from bot.feeds.fetcher import USER_AGENT, FeedFetcher, FeedFetchError, FetchErrorKind
from bot.feeds.parser import FeedParseError, parse_feed
from tests.fakes.feed_server import ETAG, FIXTURES, HUGE_SIZE, LAST_MODIFIED, FeedServer
from tests.feeds.samples import rss_document


@pytest.fixture
async def fetcher():
    async with FeedFetcher(allow_private=True, total_timeout=5.0, connect_timeout=2.0) as fetcher:
        yield fetcher


async def fetch_error(fetcher: FeedFetcher, url: str) -> FeedFetchError:
    with pytest.raises(FeedFetchError) as caught:
        await fetcher.fetch(url)
    return caught.value


async def test_fetches_a_feed_with_its_validators(fetcher: FeedFetcher, feed_server: FeedServer) -> None:
    result = await fetcher.fetch(feed_server.url("/conditional"))
    assert result.status == 200
    assert result.body == rss_document(3)
    assert (result.etag, result.last_modified) == (ETAG, LAST_MODIFIED)
    assert result.final_url == feed_server.url("/conditional")
    assert result.content_type == "application/rss+xml"
    assert result.not_modified is False


async def test_identifies_itself_and_asks_for_feeds(fetcher: FeedFetcher, feed_server: FeedServer) -> None:
    await fetcher.fetch(feed_server.url("/fixtures/rss20_news.xml"))
    headers = feed_server.requests[0].headers
    assert headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("Agora/") and USER_AGENT.endswith("(+feed reader for Discord communities)")
    assert "application/rss+xml" in headers["Accept"]
    assert "gzip" in headers["Accept-Encoding"]


async def test_unchanged_feed_with_etag_is_not_modified(fetcher: FeedFetcher, feed_server: FeedServer) -> None:
    result = await fetcher.fetch(feed_server.url("/conditional"), etag=ETAG)
    assert result.not_modified is True
    assert (result.status, result.body) == (304, b"")
    assert feed_server.requests[0].headers["If-None-Match"] == ETAG


async def test_unchanged_feed_with_last_modified_is_not_modified(fetcher: FeedFetcher, feed_server: FeedServer) -> None:
    result = await fetcher.fetch(feed_server.url("/conditional"), last_modified=LAST_MODIFIED)
    assert result.not_modified is True
    assert feed_server.requests[0].headers["If-Modified-Since"] == LAST_MODIFIED
    assert "If-None-Match" not in feed_server.requests[0].headers


async def test_stale_etag_gets_the_full_feed(fetcher: FeedFetcher, feed_server: FeedServer) -> None:
    result = await fetcher.fetch(feed_server.url("/conditional"), etag='"old"')
    assert result.not_modified is False and result.body == rss_document(3)


async def test_gzip_body_is_decompressed(fetcher: FeedFetcher, feed_server: FeedServer) -> None:
    result = await fetcher.fetch(feed_server.url("/gzip"))
    assert result.body == rss_document(20)


async def test_streamed_response_past_the_cap_is_aborted(feed_server: FeedServer) -> None:
    async with FeedFetcher(allow_private=True, max_bytes=5 * 1024 * 1024) as fetcher:
        error = await fetch_error(fetcher, feed_server.url("/huge"))
    assert error.kind is FetchErrorKind.TOO_LARGE
    assert "larger than 5 MB" in error.message
    await asyncio.sleep(0.1)  # let the server notice the closed connection
    assert feed_server.huge_bytes_sent < HUGE_SIZE  # the transfer was cut, not drained


async def test_declared_length_past_the_cap_is_refused_before_reading(
    fetcher: FeedFetcher, feed_server: FeedServer
) -> None:
    error = await fetch_error(fetcher, feed_server.url("/huge-declared"))
    assert error.kind is FetchErrorKind.TOO_LARGE


async def test_cap_counts_decompressed_bytes(feed_server: FeedServer) -> None:
    # About 50 KB on the wire, 50 MB once inflated.
    async with FeedFetcher(allow_private=True, max_bytes=1024 * 1024) as fetcher:
        error = await fetch_error(fetcher, feed_server.url("/gzip-bomb"))
    assert error.kind is FetchErrorKind.TOO_LARGE


async def test_follows_up_to_five_redirects(fetcher: FeedFetcher, feed_server: FeedServer) -> None:
    result = await fetcher.fetch(feed_server.url("/chain/5"))
    assert result.final_url == feed_server.url("/chain/0")
    assert feed_server.paths() == [f"/chain/{hops}" for hops in range(5, -1, -1)]


@pytest.mark.parametrize(
    ("path", "moved_to"),
    [
        ("/redirect?to=/conditional", "/conditional"),  # 301
        ("/redirect?to=/redirect%3Fto%3D/chain/1", "/chain/1"),  # 301, 301, then a temporary redirect
        ("/chain/1", None),  # 302
        ("/conditional", None),
    ],
)
async def test_only_permanent_redirects_from_the_start_say_where_the_feed_moved(
    fetcher: FeedFetcher, feed_server: FeedServer, path: str, moved_to: str | None
) -> None:
    result = await fetcher.fetch(feed_server.url(path))
    assert result.moved_to == (feed_server.url(moved_to) if moved_to else None)


async def test_too_many_redirects(fetcher: FeedFetcher, feed_server: FeedServer) -> None:
    error = await fetch_error(fetcher, feed_server.url("/chain/6"))
    assert error.kind is FetchErrorKind.TOO_MANY_REDIRECTS
    assert len(feed_server.requests) == 6


async def test_redirect_loop_is_detected(fetcher: FeedFetcher, feed_server: FeedServer) -> None:
    error = await fetch_error(fetcher, feed_server.url("/loop/a"))
    assert error.kind is FetchErrorKind.REDIRECT_LOOP
    assert feed_server.paths() == ["/loop/a", "/loop/b"]


async def test_redirect_without_location_is_a_bad_response(fetcher: FeedFetcher, feed_server: FeedServer) -> None:
    error = await fetch_error(fetcher, feed_server.url("/redirect-without-location"))
    assert error.kind is FetchErrorKind.BAD_RESPONSE


@pytest.mark.parametrize(
    "target",
    ["ftp://127.0.0.1/feed.xml", "http://admin:hunter2@127.0.0.1/feed.xml", "file:///etc/passwd"],
)
async def test_each_redirect_hop_is_validated(fetcher: FeedFetcher, feed_server: FeedServer, target: str) -> None:
    error = await fetch_error(fetcher, feed_server.url(f"/redirect?to={target}"))
    assert error.kind is FetchErrorKind.INVALID_URL
    assert "hunter2" not in error.message
    assert len(feed_server.requests) == 1


@pytest.mark.parametrize("target", ["http://a..b/feed.xml", "http://" + "a" * 64 + ".example/feed.xml"])
async def test_redirect_to_a_malformed_host_is_an_invalid_url_error(
    fetcher: FeedFetcher, feed_server: FeedServer, target: str
) -> None:
    error = await fetch_error(fetcher, feed_server.url(f"/redirect?to={target}"))
    assert error.kind is FetchErrorKind.INVALID_URL
    assert "host name is not valid" in error.message
    assert len(feed_server.requests) == 1


async def test_private_literal_address_is_refused_without_connecting(feed_server: FeedServer) -> None:
    async with FeedFetcher() as fetcher:
        error = await fetch_error(fetcher, feed_server.url("/conditional"))
    assert error.kind is FetchErrorKind.INVALID_URL
    assert "public addresses" in error.message
    assert feed_server.requests == []


async def test_host_resolving_to_loopback_is_refused_at_connect_time(feed_server: FeedServer) -> None:
    port = feed_server.base.rsplit(":", 1)[1]
    async with FeedFetcher() as fetcher:
        error = await fetch_error(fetcher, f"http://localhost:{port}/conditional")
    assert error.kind is FetchErrorKind.INVALID_URL
    assert "loopback" in error.message
    assert feed_server.requests == []


@pytest.mark.parametrize(("code", "phrase"), [(404, "Not Found"), (500, "Internal Server Error"), (410, "Gone")])
async def test_error_status_is_reported_with_its_code(
    fetcher: FeedFetcher, feed_server: FeedServer, code: int, phrase: str
) -> None:
    error = await fetch_error(fetcher, feed_server.url(f"/status/{code}"))
    assert error.kind is FetchErrorKind.HTTP_STATUS
    assert error.status == code
    assert f"HTTP {code} ({phrase})" in error.message


async def test_rate_limit_reports_retry_after(fetcher: FeedFetcher, feed_server: FeedServer) -> None:
    error = await fetch_error(fetcher, feed_server.url("/status/429"))
    assert (error.status, error.retry_after) == (429, 120.0)


async def test_error_messages_never_contain_the_query(fetcher: FeedFetcher, feed_server: FeedServer) -> None:
    error = await fetch_error(fetcher, feed_server.url("/status/403?token=s3cr3t-token"))
    assert "s3cr3t" not in error.message and "127.0.0.1" in error.message


async def test_slow_server_times_out(feed_server: FeedServer) -> None:
    async with FeedFetcher(allow_private=True, total_timeout=0.3) as fetcher:
        error = await fetch_error(fetcher, feed_server.url("/slow"))
    assert error.kind is FetchErrorKind.TIMEOUT
    assert "did not send the feed within 0.3 s" in error.message


async def test_connection_refused(fetcher: FeedFetcher, closed_port: int) -> None:
    error = await fetch_error(fetcher, f"http://127.0.0.1:{closed_port}/feed.xml")
    assert error.kind is FetchErrorKind.CONNECTION
    assert "Could not connect to 127.0.0.1" in error.message


async def test_malformed_url_is_an_invalid_url_error(fetcher: FeedFetcher) -> None:
    error = await fetch_error(fetcher, "gopher://example.com/")
    assert error.kind is FetchErrorKind.INVALID_URL


async def test_concurrency_is_bounded_by_the_semaphore(feed_server: FeedServer) -> None:
    async with FeedFetcher(allow_private=True, concurrency=2) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(feed_server.url("/busy")) for _ in range(6)))
    assert [result.status for result in results] == [200] * 6
    assert feed_server.max_in_flight == 2


async def test_one_session_serves_every_fetch(fetcher: FeedFetcher, feed_server: FeedServer) -> None:
    await fetcher.fetch(feed_server.url("/conditional"))
    await fetcher.fetch(feed_server.url("/gzip"))
    first, second = feed_server.client_ports
    assert first == second  # the second fetch reused the first one's connection, so its session


async def test_html_page_is_fetched_but_not_a_feed(fetcher: FeedFetcher, feed_server: FeedServer) -> None:
    result = await fetcher.fetch(feed_server.url("/fixtures/not_a_feed.html"))
    with pytest.raises(FeedParseError, match="web page, not a feed") as caught:
        parse_feed(result.body, result.final_url, result.content_type)
    assert "https://news.example.com/feed.xml" in caught.value.message


async def test_empty_body_is_not_a_feed(fetcher: FeedFetcher, feed_server: FeedServer) -> None:
    result = await fetcher.fetch(feed_server.url("/empty"))
    assert result.body == b""
    with pytest.raises(FeedParseError, match="empty"):
        parse_feed(result.body, result.final_url, result.content_type)


async def test_fetched_fixture_parses_with_links_resolved_against_the_final_url(
    fetcher: FeedFetcher, feed_server: FeedServer
) -> None:
    result = await fetcher.fetch(feed_server.url("/fixtures/rss20_news.xml"))
    assert result.body == (FIXTURES / "rss20_news.xml").read_bytes()
    parsed = parse_feed(result.body, result.final_url, result.content_type)
    assert parsed.items[-1].link == feed_server.url("/news/2024/06/budget")
