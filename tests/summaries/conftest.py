import pytest

from bot.storage.summaries import SummaryStore
from tests.summaries.factories import Seed


@pytest.fixture
def db(db_on):
    return db_on


@pytest.fixture
def seed(db):
    return Seed(db)


@pytest.fixture
def store(db):
    return SummaryStore(db)
