"""Fixtures every test level may use; see tests/README.md for the three levels and where fakes live."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.builders import fake_bot


@pytest.fixture
def make_bot() -> Callable[..., tuple]:
    """`make_bot(**env)` → (bot, fake http, guild): see tests.builders.fake_bot."""
    return fake_bot
