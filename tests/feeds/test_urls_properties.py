"""Properties of feed URL validation over arbitrary Unicode: no spelling of a forbidden address gets through."""

import ipaddress

import yarl
from hypothesis import given
from hypothesis import strategies as st

from bot.feeds.urls import InvalidFeedUrl, check_host, check_url_syntax, forbidden_reason, literal_address

# Characters UTS-46 maps to each ASCII digit and to the full stop: what a URL library turns into an IP literal.
DIGITS = {
    str(d): [str(d), chr(0xFF10 + d), chr(0x1D7CE + d), chr(0x1D7D8 + d), chr(0x1D7E2 + d), chr(0x1D7EC + d)]
    + ([chr(0x2460 + d - 1)] if d else [])  # circled digits 1-9
    for d in range(10)
}
DOTS = [".", "\u3002", "\uff0e", "\uff61"]
FORBIDDEN = ["127.0.0.1", "169.254.169.254", "10.0.0.1", "192.168.0.10", "172.16.5.4", "0.0.0.0", "100.64.0.1"]


@st.composite
def spelled(draw: st.DrawFn, address: str) -> str:
    """address with each digit and dot written as any character that maps to it."""
    return "".join(draw(st.sampled_from(DOTS if c == "." else DIGITS[c])) for c in address)


@given(st.sampled_from(FORBIDDEN).flatmap(spelled), st.sampled_from(["http", "https"]))
def test_every_spelling_of_a_forbidden_address_is_refused(host: str, scheme: str) -> None:
    url = f"{scheme}://{host}/feed.xml"
    try:
        checked = check_url_syntax(url)
        check_host(checked, allow_private=False)
    except InvalidFeedUrl:
        return
    raise AssertionError(f"{url!r} passed; aiohttp would connect to {yarl.URL(checked.url).raw_host}")


@given(st.text(max_size=60))
def test_any_host_is_refused_cleanly_or_checked_as_aiohttp_reads_it(host: str) -> None:
    url = f"http://{host}/feed.xml"
    try:
        checked = check_url_syntax(url)
        check_host(checked, allow_private=False)
    except InvalidFeedUrl as error:
        assert len(error.message) <= 2000
        return
    # Accepted: whatever host aiohttp's URL library makes of it is the one checked, and it is not forbidden.
    connect_host = yarl.URL(checked.url).raw_host or ""
    assert connect_host.rstrip(".").lower() == checked.connect_host
    literal = literal_address(connect_host.rstrip("."))
    assert literal is None or forbidden_reason(literal) is None


@given(st.ip_addresses())
def test_a_literal_address_is_refused_exactly_when_it_is_not_public(address: ipaddress._BaseAddress) -> None:
    host = f"[{address}]" if address.version == 6 else str(address)
    checked = check_url_syntax(f"http://{host}/")
    try:
        check_host(checked, allow_private=False)
    except InvalidFeedUrl:
        assert forbidden_reason(address) is not None
    else:
        assert forbidden_reason(address) is None
