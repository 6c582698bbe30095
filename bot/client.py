"""The Agora bot: intents, mentions, services, extensions, command sync and the command error handler."""

from __future__ import annotations

import asyncio
import logging
import pkgutil
import secrets
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

import cogs
from bot import __version__
from bot.articles.folder import ArticleFolder
from bot.config import Config
from bot.discussion import DiscussionService
from bot.errors import AgoraError
from bot.feeds.service import FeedService, build_feed_service
from bot.gateway import build_intents
from bot.operations.backups import BackupSchedule
from bot.polls.ingest import VoteRecorder
from bot.polls.service import PollService
from bot.publishing import ArticlePublisher
from bot.server_settings import ServerSettings
from bot.status import StatusService
from bot.storage.articles import ArticleStore
from bot.storage.backends import AnyDatabase, journal_base, open_database
from bot.storage.faults import storage_fault
from bot.storage.journal import VoteJournal
from bot.storage.polls import PollStore
from bot.storage.responses import ResponseStore
from bot.storage.settings import SettingsStore
from bot.storage.summaries import SummaryStore
from bot.summaries import charts
from bot.summaries.service import SummaryService

log = logging.getLogger(__name__)

EVENT_FAULT_QUIET_SECONDS = 60.0
# The answer to a command while the database is down (PostgreSQL stopped or unreachable, the disk full).
STORAGE_UNAVAILABLE = (
    "Agora cannot reach its storage just now, so this command cannot be answered. Votes are still counted "
    "and kept. Please try again in a minute."
)


def extension_names() -> list[str]:
    """Every module in cogs/ is an extension: adding a capability needs no edit here."""
    modules = pkgutil.iter_modules(cogs.__path__)
    return sorted(f"cogs.{module.name}" for module in modules if not module.name.startswith("_"))


class AgoraBot(commands.Bot):
    """The bot and the services it wires in `setup_hook`; cogs reach Agora only through these."""

    db: AnyDatabase | None
    settings: ServerSettings
    polls: PollService
    publisher: ArticlePublisher
    discussion: DiscussionService
    summaries: SummaryService
    status_service: StatusService  # not `status`: discord.Client has a property of that name
    feeds: FeedService
    folder: ArticleFolder | None

    def __init__(self, config: Config, db: AnyDatabase | None = None, **sharding: Any) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=build_intents(config),
            allowed_mentions=discord.AllowedMentions.none(),  # article text must never ping anyone
            member_cache_flags=discord.MemberCacheFlags.none(),  # votes carry user ids; no member list needed
            chunk_guilds_at_startup=False,
            guild_ready_timeout=config.guild_ready_timeout_seconds,
            help_command=None,
            **sharding,
        )
        self.config = config
        self.db = db  # opened before logging in by `agora run`, so a bad database stops it before Discord
        self.version = __version__
        self._closers: list[Callable[[], Awaitable[None]]] = []
        self._first_ready_done = False
        self._closing: asyncio.Future[None] | None = None
        self._event_fault_said_at: float | None = None

    async def setup_hook(self) -> None:
        if self.db is None:
            self.db = await open_database(self.config.database)
        settings_store = SettingsStore(self.db)
        self.settings = ServerSettings(settings_store)
        articles = ArticleStore(self.db)
        # Votes count from here on (before the gateway connects), and queued votes are written on close.
        poll_store = PollStore(self.db, journal_name=self.config.shards.name, shards=self.config.shards)
        journal_path = journal_base(self.db, self.config.data_dir, self.config.shards.name)
        journal = VoteJournal(journal_path) if journal_path is not None else None
        self.polls = PollService(
            self,
            poll_store,
            edit_interval=self.config.poll_edit_interval_seconds,
            recorder=VoteRecorder(poll_store, journal=journal),
        )
        await self.polls.start()
        self.add_closer(self.polls.stop)
        self.publisher = ArticlePublisher(
            self, articles, poll_opener=self.polls.open_article_poll, shards=self.config.shards
        )
        # Reply text is kept only when the operator enabled both the intent and its storage.
        self.discussion = DiscussionService(
            ResponseStore(self.db),
            store_text=self.config.message_content_intent and self.config.store_response_text,
        )
        self.summaries = SummaryService(SummaryStore(self.db), flush_votes=self.polls.recorder.flush)
        self.status_service = StatusService(self.db, settings_store)
        self.add_closer(charts.shutdown)  # the chart process, if a chart was drawn
        self.feeds = build_feed_service(self.config, self.db, self.publisher, self.get_channel)
        self.add_closer(self.feeds.close)
        self.folder = (
            ArticleFolder(
                self.config.articles_dir,
                self.publisher,
                articles,
                self.config.article_max_bytes,
                shards=self.config.shards,
            )  # fmt: skip
            if self.config.articles_dir
            else None
        )
        self._start_backups()
        self.tree.error(self.on_app_command_error)
        for name in extension_names():
            try:
                await self.load_extension(name)
            except commands.ExtensionError:
                log.exception("Extension %s failed to load; the bot runs without it", name)
        await self._sync_commands()

    def _start_backups(self) -> None:
        """The daily copy of the database, when BACKUP_DIR is set; it runs in a thread, off the event loop."""
        if self.config.backup_dir is None:
            return
        if self.config.database.dialect != "sqlite":
            log.warning("BACKUP_DIR is ignored: a PostgreSQL database is backed up with PostgreSQL's own tools")
            return
        schedule = BackupSchedule(self.config.database_path, self.config.backup_dir, self.config.backup_keep)
        schedule.start()
        self.add_closer(schedule.stop)

    def add_closer(self, closer: Callable[[], Awaitable[None]]) -> None:
        """Register work to finish (e.g. flushing queued votes) after the gateway closes and before the DB does."""
        self._closers.append(closer)

    async def _sync_commands(self) -> None:
        if not self.config.shards.registers_commands:
            log.info("Commands are registered by the process running shard 0")
            return
        if self.config.guild_id:
            guild = discord.Object(id=self.config.guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("Synced %d commands to guild %s", len(synced), self.config.guild_id)
        else:
            synced = await self.tree.sync()
            log.info("Synced %d global commands (they can take a while to appear)", len(synced))

    async def on_ready(self) -> None:
        status = await self.status_service.status()
        # One line says what this start is serving; the database with its password masked.
        log.info(
            "Connected as %s (%s): Agora %s, database %s, %s, %d open polls, %d feeds",
            self.user, getattr(self.user, "id", "?"), self.version, self.config.database.masked,
            servers_text(self.guilds), status.open_polls, status.feeds,
        )  # fmt: skip
        if not self._first_ready_done:
            self._first_ready_done = True
            finished = await self.publisher.resume_pending()
            if finished:
                log.info("Finished %d article posts interrupted by the last shutdown", finished)

    async def close(self) -> None:
        # A signal handler and leaving `async with bot` both close: the second waits for the first.
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close_once())
        await asyncio.shield(self._closing)

    async def _close_once(self) -> None:
        polls: PollService | None = getattr(self, "polls", None)  # absent when the setup failed before it
        if polls is not None and not self.is_closed():
            try:
                await polls.finish_edits()  # needs Discord, so before it is disconnected
            except Exception:
                log.exception("Error while sending the last poll edits")
        await super().close()
        for closer in reversed(self._closers):
            try:
                await closer()
            except Exception:
                log.exception("Error while shutting down")
        if self.db is not None:
            await self.db.close()
        log.info("Shut down cleanly")

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        """An event listener failed: a storage outage is one line at most once a minute, a bug a traceback."""
        error = sys.exc_info()[1]
        fault = storage_fault(error) if error is not None else None
        if fault is None:
            await super().on_error(event_method, *args, **kwargs)
            return
        now = time.monotonic()
        if self._event_fault_said_at is None or now - self._event_fault_said_at >= EVENT_FAULT_QUIET_SECONDS:
            self._event_fault_said_at = now
            log.warning(
                "Discord events are not handled while the database is down (%s: %s): replies and edits seen "
                "meanwhile are not recorded; votes are kept. Said at most once a minute",
                event_method,
                fault,
            )

    async def on_app_command_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        original = getattr(error, "original", error)
        if isinstance(original, AgoraError | app_commands.CheckFailure | app_commands.TransformerError):
            message = str(original) or "You can't use this command here."
        elif isinstance(original, discord.Forbidden):
            reason = original.text or "missing permissions"
            message = f"Discord refused: {reason}. Check my permissions in that channel."
        elif fault := storage_fault(original):
            # An outage, not a bug: one line for the operator, no traceback; the member is asked to wait.
            log.warning("Command %s not answered: %s", getattr(interaction.command, "qualified_name", "?"), fault)
            message = STORAGE_UNAVAILABLE
        else:
            error_id = secrets.token_hex(4)
            log.error(
                "Command %s failed (error id %s)",
                getattr(interaction.command, "qualified_name", "?"),
                error_id,
                exc_info=original,
            )
            message = f"Something went wrong on my side. Please tell the operator the error id `{error_id}`."
        await send_ephemeral(interaction, message)


def servers_text(guilds: Sequence[discord.Guild], shown: int = 5) -> str:
    """ "2 servers: Agora News (1), Other (2)", the first few by name, for the start line."""
    names = ", ".join(f"{guild.name} ({guild.id})" for guild in guilds[:shown])
    more = f" and {len(guilds) - shown} more" if len(guilds) > shown else ""
    label = "server" if len(guilds) == 1 else "servers"
    return f"{len(guilds)} {label}" + (f": {names}{more}" if guilds else "")


async def send_ephemeral(interaction: discord.Interaction, message: str) -> None:
    """Reply privately, whether or not the interaction was already answered or deferred."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(message, ephemeral=True)
        else:
            await interaction.response.send_message(message, ephemeral=True)
    except discord.HTTPException:
        log.warning("Could not send an error reply for interaction %s", interaction.id)


class ShardedAgoraBot(AgoraBot, commands.AutoShardedBot):
    """AgoraBot over the shards of SHARD_IDS, one gateway connection each (discord.py's AutoShardedClient)."""


def build_bot(config: Config, db: AnyDatabase | None = None) -> AgoraBot:
    """The bot for this process: one gateway connection, or one per shard of SHARD_IDS out of SHARD_COUNT."""
    shards = config.shards
    if not shards.sharded:
        return AgoraBot(config, db)
    return ShardedAgoraBot(config, db, shard_count=shards.count, shard_ids=list(shards.ids))
