import pytest

from bot.storage.summaries import SummaryStore
from tests.summaries.factories import Seed, open_database


@pytest.fixture
async def db(tmp_path):
    database = await open_database(tmp_path / "agora.db")
    yield database
    await database.close()


@pytest.fixture
def seed(db):
    return Seed(db)


@pytest.fixture
def store(db):
    return SummaryStore(db)
