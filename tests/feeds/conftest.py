"""Fixtures of the feed tests; the local feed server itself is shared (tests/fakes/feed_server.py)."""

from __future__ import annotations

import socket

import pytest


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on, for 'connection refused'."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
