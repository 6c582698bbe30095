"""What the summary commands send: figures, chart and embed (or CSV files) for one server's poll or article.

The cogs stay thin: `find_poll`/`find_article` turn what the user typed (or the thread they are
in) into figures, quickly and before the cog defers, so a mistake is answered privately even when
the results were asked for in public; the report functions then draw and format. A poll or article
of another server is reported as not found, so ids cannot be used to peek across servers.
"""

from __future__ import annotations

import asyncio
import codecs
import io
import logging
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO

import discord
from discord import app_commands

from bot import limits
from bot.errors import AgoraError
from bot.limits import cut
from bot.quoting import quote
from bot.references import look_up, parse_reference
from bot.storage.summaries import PollListRow, SummaryStore
from bot.summaries import charts, csv_export, embeds
from bot.summaries.figures import (
    ArticleSummary,
    PollSummary,
    article_summary,
    poll_list,
    poll_summary,
    poll_timeline,
)
from bot.summaries.text import poll_csv

log = logging.getLogger(__name__)

# Exports up to this size stay in memory; larger ones spill to a temporary file.
_SPOOL_BYTES = 8 * 1024 * 1024


class SummaryNotFound(AgoraError):
    """No such poll or article in this server (or no argument given outside its thread)."""


@dataclass
class Report:
    embed: discord.Embed
    files: list[discord.File] = field(default_factory=list)


async def poll_report(store: SummaryStore, summary: PollSummary) -> Report:
    """Results embed with the chart attached; the chart is drawn in a worker thread."""
    timeline = await poll_timeline(store, summary)
    chart = await charts.render_poll_chart_async(summary, timeline)
    filename = f"poll-{summary.poll_id}.png"
    return Report(embeds.poll_results_embed(summary, filename), [_file(chart, filename)])


async def article_report(summary: ArticleSummary) -> Report:
    chart = await charts.render_article_chart_async(summary)
    filename = f"article-{summary.article_id}.png"
    return Report(embeds.article_summary_embed(summary, filename), [_file(chart, filename)])


async def poll_list_report(
    store: SummaryStore, guild_id: int, status: str | None, visible: Callable[[PollListRow], bool] | None = None
) -> Report:
    return Report(embeds.poll_list_embed(await poll_list(store, guild_id, status, visible=visible), status))


async def poll_exports(store: SummaryStore, summary: PollSummary, limit_bytes: int) -> list[discord.File]:
    """The poll's current votes and vote event log as CSV files, each zipped if over `limit_bytes`, and its
    figures with the refused reactions per reason (what `agora summary --format csv` prints)."""
    files = []
    for kind, write in (("votes", csv_export.write_votes_csv), ("events", csv_export.write_events_csv)):
        name = f"poll-{summary.poll_id}-{kind}.csv"
        spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)
        await write(store, summary.poll_id, spool)
        files.append(await _fit(spool, name, limit_bytes, summary.poll_id))
    figures = codecs.BOM_UTF8 + poll_csv(summary).encode("utf-8")  # one row per option: always small
    files.append(discord.File(io.BytesIO(figures), filename=f"poll-{summary.poll_id}-summary.csv"))
    return files


async def _fit(spool: IO[bytes], name: str, limit_bytes: int, poll_id: int) -> discord.File:
    """The CSV as it is, zipped when it is over the upload limit, or an error saying how else to get it."""
    size = spool.tell()
    if size > limit_bytes:
        spool = await asyncio.to_thread(_zip, spool, name)
        size, name = spool.tell(), name + ".zip"
    if size > limit_bytes:
        spool.close()
        raise AgoraError(
            f"The export of poll #{poll_id} is {_size(size)} zipped, over this server's upload limit "
            f"of {_size(limit_bytes)}. The operator can write it with "
            f"`agora summary --poll {poll_id} --export votes` (or `events`)."
        )
    spool.seek(0)
    return discord.File(spool, filename=name)  # type: ignore[arg-type]  # any binary file object will do; the hint names one class


def _size(count: int) -> str:
    return f"{count / 2**20:.1f} MiB" if count >= 2**20 else f"{count / 2**10:.1f} KiB"


def _zip(spool: IO[bytes], name: str) -> IO[bytes]:
    spool.seek(0)
    packed = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)
    with zipfile.ZipFile(packed, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open(name, "w") as member:
            while chunk := spool.read(1 << 20):
                member.write(chunk)
    spool.close()
    packed.seek(0, 2)
    return packed


async def poll_choices(store: SummaryStore, guild_id: int, typed: str) -> list[app_commands.Choice[str]]:
    """Autocomplete: the server's polls whose question contains what was typed, newest first."""
    found = await store.search_polls(guild_id, typed, limit=limits.CHOICES)
    return [
        app_commands.Choice(name=_choice_name(f"#{poll_id} {question}"), value=str(poll_id))
        for poll_id, question in found
    ]


async def article_choices(store: SummaryStore, guild_id: int, typed: str) -> list[app_commands.Choice[str]]:
    """Autocomplete: articles posted in the server whose title contains what was typed, newest first."""
    found = await store.search_articles(guild_id, typed, limit=limits.CHOICES)
    return [
        app_commands.Choice(name=_choice_name(f"#{article_id} {title}"), value=str(article_id))
        for article_id, title in found
    ]


def _choice_name(text: str) -> str:
    return cut(text, limits.CHOICE_NAME)


async def find_poll(
    store: SummaryStore, guild_id: int, reference: str | None, channel_id: int, at: datetime | None = None
) -> PollSummary:
    """The poll named by number, message id or link; without one, the poll of this thread or channel.

    With `at`, its figures as they stood then (InvalidMoment before it opened or in the future).
    """
    if reference is None or not reference.strip():
        poll_id = await store.poll_in_channel(guild_id, channel_id)
        if poll_id is None:
            raise SummaryNotFound("There is no poll in this channel: name one with the `poll` option.")
    else:
        parsed = parse_reference(reference, guild_id, what="poll")
        poll_id = await look_up(
            parsed,
            lambda message: store.poll_by_message(guild_id, message),
            lambda number: store.poll_in_guild(guild_id, number),
        )
        if poll_id is None:
            raise no_poll_matches(reference)
    summary = await poll_summary(store, poll_id, at)
    if summary is None:  # an unsent poll discarded in the meantime
        raise SummaryNotFound(f"Poll #{poll_id} no longer exists.")
    return summary


def no_poll_matches(reference: str) -> SummaryNotFound:
    """The answer for a reference that names no poll; also for a poll the member may not know of."""
    return SummaryNotFound(f"No poll matches {quote(reference)} in this server: `/poll list` shows them.")


async def reread_poll(store: SummaryStore, summary: PollSummary) -> PollSummary:
    """The same poll's figures read again (once queued votes are written), as of the same moment."""
    again = await poll_summary(store, summary.poll_id, summary.as_of)
    if again is None:
        raise SummaryNotFound(f"Poll #{summary.poll_id} no longer exists.")
    return again


async def find_article(store: SummaryStore, guild_id: int, reference: str | None, channel_id: int) -> ArticleSummary:
    """The article named by number, message id or link; without one, the article of this thread."""
    if reference is None or not reference.strip():
        article_id = await store.article_by_message(guild_id, channel_id)  # the thread's id
        if article_id is None:
            raise SummaryNotFound("This is not an article's thread: name the article with the `article` option.")
    else:
        parsed = parse_reference(reference, guild_id, what="article", thread_links=True)
        article_id = await look_up(
            parsed,
            lambda message: store.article_by_message(guild_id, message),
            lambda number: store.article_in_guild(guild_id, number),
        )
        if article_id is None:
            raise SummaryNotFound(f"No article posted in this server matches {quote(reference)}.")
    summary = await article_summary(store, article_id, guild_id)
    if summary is None:  # deleted in the meantime
        raise SummaryNotFound(f"Article #{article_id} no longer exists.")
    return summary


def _file(data: bytes, filename: str) -> discord.File:
    return discord.File(io.BytesIO(data), filename=filename)
