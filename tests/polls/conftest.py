"""Fixtures of the poll tests."""

from __future__ import annotations

import pytest

from tests.polls.helpers import make_world


@pytest.fixture
async def world(database_url, tmp_path):
    made = await make_world(database_url, database_url.path or tmp_path / "agora-unsharded")
    yield made
    await made.service.stop()
    await made.db.close()
