"""Fixtures every test level may use; see tests/README.md for the three levels and where fakes live."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from tests.builders import fake_bot
from tests.fakes.feed_server import FeedServer, serving_feeds


@pytest.fixture
def make_bot() -> Callable[..., tuple]:
    """`make_bot(**env)` → (bot, fake http, guild): see tests.builders.fake_bot."""
    return fake_bot


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    """The local feed server (tests/fakes/feed_server.py), its live feed titled "Live News"."""
    async with serving_feeds() as server:
        yield server
