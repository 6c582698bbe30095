"""SummaryService: what the summary commands ask for, with queued votes written before any figure is read.

Cogs call this service only; the store (SQL) and the report builders (presentation) stay behind it. Every
read that shows current figures first flushes the vote recorder, so a vote counted a moment ago is in them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import discord
from discord import app_commands

from bot.storage.summaries import PollListRow, SummaryStore
from bot.summaries import reports
from bot.summaries.figures import ArticleSummary, PollSummary, article_summary
from bot.summaries.reports import Report, SummaryNotFound

Flush = Callable[[], Awaitable[None]]


class SummaryService:
    def __init__(self, store: SummaryStore, flush_votes: Flush) -> None:
        self._store = store
        self._flush_votes = flush_votes

    async def find_poll(
        self, guild_id: int, reference: str | None, channel_id: int, at: datetime | None = None
    ) -> PollSummary:
        """The poll a moderator names (SummaryNotFound, InvalidReference or InvalidMoment when it cannot be)."""
        return await reports.find_poll(self._store, guild_id, reference, channel_id, at)

    async def poll_report(self, found: PollSummary) -> Report:
        """/poll results: the poll found earlier, its figures read again once queued votes are written."""
        await self._flush_votes()
        return await reports.poll_report(self._store, await reports.reread_poll(self._store, found))

    async def poll_exports(self, found: PollSummary, limit_bytes: int) -> tuple[PollSummary, list[discord.File]]:
        """/poll export: the poll's figures and its CSV files, once queued votes are written."""
        await self._flush_votes()
        summary = await reports.reread_poll(self._store, found)
        return summary, await reports.poll_exports(self._store, summary, limit_bytes)

    async def poll_list_report(
        self, guild_id: int, status: str | None, visible: Callable[[PollListRow], bool] | None = None
    ) -> Report:
        await self._flush_votes()
        return await reports.poll_list_report(self._store, guild_id, status, visible=visible)

    async def find_article(self, guild_id: int, reference: str | None, channel_id: int) -> ArticleSummary:
        """The article a moderator names (SummaryNotFound or InvalidReference when it cannot be)."""
        return await reports.find_article(self._store, guild_id, reference, channel_id)

    async def article_report(self, guild_id: int, found: ArticleSummary) -> Report:
        """/article summary: the article found earlier, read again once queued votes are written."""
        await self._flush_votes()
        summary = await article_summary(self._store, found.article_id, guild_id)
        if summary is None:
            raise SummaryNotFound(f"Article #{found.article_id} no longer exists.")
        return await reports.article_report(summary)

    async def poll_choices(self, guild_id: int, typed: str) -> list[app_commands.Choice[str]]:
        return await reports.poll_choices(self._store, guild_id, typed)

    async def article_choices(self, guild_id: int, typed: str) -> list[app_commands.Choice[str]]:
        return await reports.article_choices(self._store, guild_id, typed)
