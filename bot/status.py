"""StatusService: what /agora status reports, read from the database behind one call."""

from __future__ import annotations

from dataclasses import dataclass

from bot.storage.backends import AnyDatabase
from bot.storage.settings import SettingsStore


@dataclass(frozen=True, slots=True)
class Status:
    database_bytes: int
    schema_version: int
    articles: int
    feeds: int
    open_polls: int


class StatusService:
    def __init__(self, db: AnyDatabase, settings: SettingsStore) -> None:
        self._db = db
        self._settings = settings

    async def status(self) -> Status:
        counts = await self._settings.status_counts()
        return Status(
            database_bytes=await self._db.database_size(),
            schema_version=await self._db.schema_version(),
            articles=counts["articles"],
            feeds=counts["feeds"],
            open_polls=counts["open_polls"],
        )
