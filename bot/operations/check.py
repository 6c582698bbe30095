"""`agora check`: is this set-up ready? Settings, database, login, intents, channel permissions, feeds.

It reads the database read-only (never creating or writing it), logs in with a plain discord.py client (no
cogs, no command sync, no handlers), so it can never post: it only reads what Discord says about the bot,
its application and its servers, and reports one line per finding, then whether everything is ready.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import discord

from bot import __version__
from bot.config import Config
from bot.feeds.states import SubscriptionState, subscription_state
from bot.gateway import build_intents, point_at_discord
from bot.permissions import can_remove_reactions, missing_poll_permissions, missing_posting_permissions
from bot.polls.fairness import unhonoured_anonymity
from bot.storage.articles import ArticleStore
from bot.storage.database import Database, bundled_migrations
from bot.storage.feeds import Feed, FeedStore, Subscription
from bot.storage.polls import PollStore
from bot.storage.read_only import open_read_only

# How long to wait for the gateway's READY and the servers' data before reporting that it never came.
READY_WITHIN_SECONDS = 30.0

# Privileged intents, by discord.Intents' flag name: (the portal's name, the application flags enabling it).
_PRIVILEGED = {
    "message_content": ("Message Content", ("gateway_message_content", "gateway_message_content_limited")),
    "members": ("Server Members", ("gateway_guild_members", "gateway_guild_members_limited")),
    "presences": ("Presence", ("gateway_presence", "gateway_presence_limited")),
}
_INTENT_NAMES = {
    "guilds": "Guilds",
    "guild_messages": "Guild Messages",
    "guild_reactions": "Guild Message Reactions",
}


class Level(Enum):
    OK = "ok"
    NOTE = "note"
    PROBLEM = "PROBLEM"


@dataclass(frozen=True)
class Finding:
    level: Level
    topic: str
    text: str

    def line(self) -> str:
        return f"{self.level.value:<8}{self.topic}: {self.text}"


@dataclass
class CheckReport:
    findings: list[Finding] = field(default_factory=list)

    def add(self, level: Level, topic: str, text: str) -> None:
        self.findings.append(Finding(level, topic, text))

    @property
    def problems(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.level is Level.PROBLEM]

    @property
    def ready(self) -> bool:
        return not self.problems

    def render(self) -> str:
        lines = [f"Agora {__version__}: checking the set-up (nothing is posted)"]
        lines += [finding.line() for finding in self.findings]
        if self.ready:
            lines.append("Ready: everything Agora needs is in place.")
        else:
            count = len(self.problems)
            lines.append(f"Not ready: {count} problem{'s' if count != 1 else ''} (the PROBLEM lines above).")
        return "\n".join(lines)


@dataclass(frozen=True)
class PostingTarget:
    """A channel (or thread) Agora posts to, and why."""

    guild_id: int
    channel_id: int
    purpose: str
    poll_only: bool = False  # an open poll's channel or thread: poll permissions, not article posting ones
    open_thread: bool = True
    open_poll: bool = True
    anonymous: bool | None = None  # an open poll's rule, or a subscription's own; None: the server's default


@dataclass
class StoredSetup:
    """What the database says Agora posts to."""

    subscriptions: list[tuple[Subscription, Feed]] = field(default_factory=list)
    folder_channels: list[tuple[int, int]] = field(default_factory=list)  # (guild id, channel id)
    open_polls: list[tuple[int, int, int]] = field(default_factory=list)  # (poll id, guild id, channel id)
    folder_anonymous: dict[int, bool | None] = field(default_factory=dict)  # channel id → its own rule
    anonymous_by_default: set[int] = field(default_factory=set)  # guilds whose poll defaults are anonymous
    anonymous_polls: set[int] = field(default_factory=set)  # open polls that are anonymous
    channel_names: dict[int, str] = field(default_factory=dict)  # filled in as Discord shows the channels

    def targets(self) -> list[PostingTarget]:
        found = [
            PostingTarget(sub.guild_id, sub.channel_id, f"feed {feed_label(sub)} (subscription {sub.id})",
                          open_thread=sub.open_thread, open_poll=sub.open_poll, anonymous=sub.poll_rules.anonymous)
            for sub, _feed in self.subscriptions
        ]  # fmt: skip
        found += [
            PostingTarget(guild, channel, "the articles folder", anonymous=self.folder_anonymous.get(channel))
            for guild, channel in self.folder_channels
        ]
        found += [
            PostingTarget(guild, channel, f"open poll #{poll}", poll_only=True, anonymous=poll in self.anonymous_polls)
            for poll, guild, channel in self.open_polls
        ]
        return found


def counted(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def feed_label(subscription: Subscription) -> str:
    return f'"{subscription.feed_title}"' if subscription.feed_title else subscription.feed_url


async def run_check(config: Config) -> CheckReport:
    report = CheckReport()
    report.add(Level.OK, "Settings", "read from the environment and .env; every value is valid")
    stored = await check_database(config.database_path, report)
    await check_discord(config, stored, report)
    check_feeds(stored, report)
    check_articles_folder(config, stored, report)
    return report


# ---- database ------------------------------------------------------------------------------------------


def database_absence(path: Path) -> Finding | None:
    """Why there is no database file to read, if there is none."""
    if not path.exists():
        return Finding(Level.NOTE, "Database", f"{path} does not exist yet: `agora run` will create it")
    if not path.is_file():
        return Finding(Level.PROBLEM, "Database", f"DATABASE_PATH {path} is not a file")
    return None


async def check_database(path: Path, report: CheckReport) -> StoredSetup:
    absence = database_absence(path)
    if absence is not None:
        report.findings.append(absence)
        return StoredSetup()
    try:
        db = await open_read_only(path)
    except sqlite3.Error as error:
        report.add(Level.PROBLEM, "Database", f"{path} could not be opened: {error}")
        return StoredSetup()
    try:
        return await _read_setup(db, path, report)
    except sqlite3.Error as error:
        report.add(Level.PROBLEM, "Database", f"{path} could not be read: {error}")
        return StoredSetup()
    finally:
        await db.close()


async def _read_setup(db: Database, path: Path, report: CheckReport) -> StoredSetup:
    version = await db.schema_version()
    newest = bundled_migrations()[-1][0]
    if version > newest:
        report.add(Level.PROBLEM, "Database", f"{path} has schema version {version}, newer than this Agora "
                   f"({newest}): upgrade Agora, or point DATABASE_PATH elsewhere")  # fmt: skip
        return StoredSetup()
    if version < newest:
        # An older schema lacks columns the stores read; its channels and feeds are checked after the upgrade.
        report.add(Level.NOTE, "Database", f"{path} has schema version {version}; the next start upgrades it "
                   f"to {newest} (run `agora check` again after that to check its channels and feeds)")  # fmt: skip
        return StoredSetup()
    articles, polls = ArticleStore(db), PollStore(db)
    stored = StoredSetup(
        subscriptions=await FeedStore(db).all_subscriptions(),
        folder_channels=[(guild, channel) for _id, guild, channel in await articles.folder_subscriptions()],
        open_polls=[(poll.id, poll.guild_id, poll.channel_id) for poll in await polls.open_polls()],
    )
    await _read_anonymity_rules(stored, articles, polls)
    report.add(Level.OK, "Database", f"{path}: schema version {version} (current); "
                   f"{counted(len(stored.subscriptions), 'feed subscription')}, "
                   f"{counted(len(stored.folder_channels), 'folder channel')}, "
                   f"{counted(len(stored.open_polls), 'open poll')}")  # fmt: skip
    return stored


async def _read_anonymity_rules(stored: StoredSetup, articles: ArticleStore, polls: PollStore) -> None:
    """Which polls are meant to be anonymous: the open ones, each folder's own rule and each server's default."""
    for poll, _guild, _channel in stored.open_polls:
        fairness = await polls.fairness(poll)
        if fairness is not None and fairness.anonymous:
            stored.anonymous_polls.add(poll)
    for _guild, channel in stored.folder_channels:
        rules = await articles.folder_poll_rules(channel)
        stored.folder_anonymous[channel] = rules.anonymous if rules is not None else None
    guilds = {sub.guild_id for sub, _feed in stored.subscriptions} | {guild for guild, _ in stored.folder_channels}
    for guild in guilds:
        defaults = await polls.poll_defaults(guild)
        if defaults is not None and defaults.anonymous:
            stored.anonymous_by_default.add(guild)


# ---- Discord -------------------------------------------------------------------------------------------


def _check_client(config: Config) -> discord.Client:
    """A plain client that only listens: the Guilds intent gives servers, channels, roles and overwrites."""
    intents = discord.Intents.none()
    intents.guilds = True
    return discord.Client(
        intents=intents,
        member_cache_flags=discord.MemberCacheFlags.none(),
        chunk_guilds_at_startup=False,
        guild_ready_timeout=config.guild_ready_timeout_seconds,
        allowed_mentions=discord.AllowedMentions.none(),
    )


async def check_discord(config: Config, stored: StoredSetup, report: CheckReport) -> None:
    point_at_discord(config)
    client = _check_client(config)
    try:
        await _logged_in_check(client, config, stored, report)
    finally:
        await client.close()


async def _logged_in_check(client: discord.Client, config: Config, stored: StoredSetup, report: CheckReport) -> None:
    try:
        await client.login(config.token)
    except discord.LoginFailure:
        report.add(Level.PROBLEM, "Discord", "DISCORD_TOKEN was rejected: reset the token in the developer portal "
                   "and update .env")  # fmt: skip
        return
    except (OSError, discord.HTTPException) as error:
        report.add(Level.PROBLEM, "Discord", f"could not reach Discord: {error}")
        return
    user = client.user
    report.add(Level.OK, "Discord", f"logged in as {user} (id {getattr(user, 'id', '?')})")
    try:
        application = await client.application_info()
    except discord.HTTPException as error:
        report.add(Level.PROBLEM, "Intents", f"could not read the application's settings: {error}")
    else:
        check_intents(build_intents(config), application.flags, report)
    if not await _connect(client, report):
        return
    report_servers(client.guilds, config.guild_id, report)
    for target in stored.targets():
        await check_target(client, target, stored, report)


async def _connect(client: discord.Client, report: CheckReport) -> bool:
    """Open the gateway and wait for READY and the servers' data; False (reported) when that fails."""
    connecting = asyncio.create_task(client.connect(reconnect=False))
    ready = asyncio.create_task(client.wait_until_ready())
    done, _ = await asyncio.wait({connecting, ready}, timeout=READY_WITHIN_SECONDS,
                                 return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
    if ready in done:
        return True
    ready.cancel()
    if connecting in done:
        error = connecting.exception()
        report.add(Level.PROBLEM, "Gateway", f"the gateway connection failed: {error or 'closed by Discord'}")
    else:
        connecting.cancel()
        report.add(Level.PROBLEM, "Gateway", f"no READY from the gateway within {READY_WITHIN_SECONDS:.0f} s")
    return False


def check_intents(needed: discord.Intents, flags: discord.ApplicationFlags, report: CheckReport) -> None:
    """Non-privileged intents are always granted; privileged ones must be enabled in the developer portal."""
    plain = [_INTENT_NAMES.get(name, name) for name, on in needed if on and name not in _PRIVILEGED]
    report.add(Level.OK, "Intents", f"{', '.join(plain)}: needed, not privileged (always granted)")
    for name, (label, flag_names) in _PRIVILEGED.items():
        enabled = any(getattr(flags, flag) for flag in flag_names)
        state = "enabled" if enabled else "not enabled"
        if getattr(needed, name):
            if enabled:
                report.add(Level.OK, "Intents", f"{label}: needed and {state} in the developer portal")
            else:
                setting = " (MESSAGE_CONTENT_INTENT=true)" if name == "message_content" else ""
                report.add(Level.PROBLEM, "Intents", f"{label}: needed{setting} but {state} in the developer "
                           "portal (Bot → Privileged Gateway Intents); the bot would be refused at start")  # fmt: skip
        elif name == "message_content":
            usage = "reply text is stored only with MESSAGE_CONTENT_INTENT=true"
            report.add(Level.OK, "Intents", f"{label}: not needed ({usage}); {state} in the developer portal")


def report_servers(guilds: Sequence[discord.Guild], guild_id: int | None, report: CheckReport) -> None:
    if not guilds:
        report.add(Level.PROBLEM, "Servers", "the bot is in no server: invite it (see README, Setting up)")
        return
    names = ", ".join(f"{guild.name} (id {guild.id})" for guild in guilds)
    report.add(Level.OK, "Servers", f"{len(guilds)}: {names}")
    if guild_id is not None and all(guild.id != guild_id for guild in guilds):
        report.add(Level.PROBLEM, "Servers", f"DISCORD_GUILD_ID is {guild_id}, a server the bot is not in: "
                   "invite it there or fix the setting")  # fmt: skip


async def check_target(client: discord.Client, target: PostingTarget, stored: StoredSetup, report: CheckReport) -> None:
    guild = client.get_guild(target.guild_id)
    if guild is None:
        report.add(Level.PROBLEM, "Channel", f"{target.purpose}: the bot is no longer in server {target.guild_id}")
        return
    channel = await _find_channel(guild, target.channel_id)
    if channel is None or guild.me is None:
        report.add(Level.PROBLEM, "Channel", f"{target.purpose}: channel {target.channel_id} in {guild.name} was "
                   "not found (deleted, or hidden from the bot)")  # fmt: skip
        return
    stored.channel_names[channel.id] = f"#{channel.name}"
    where = f"#{channel.name} in {guild.name}, for {target.purpose}"
    if target.poll_only:
        missing = missing_poll_permissions(channel, guild.me)
    else:
        assert not isinstance(channel, discord.Thread)
        missing = missing_posting_permissions(
            channel, guild.me, open_thread=target.open_thread, open_poll=target.open_poll
        )
    if missing:
        report.add(Level.PROBLEM, "Channel", f"{where}: missing {', '.join(missing)}")
    else:
        report.add(Level.OK, "Channel", f"{where}: every permission it needs")
    manage = can_remove_reactions(channel, guild.me)
    unhonoured = None if target.poll_only or not target.open_poll else unhonoured_anonymity(
        target.anonymous, target.guild_id in stored.anonymous_by_default, can_manage=manage
    )  # fmt: skip
    if unhonoured:
        report.add(Level.PROBLEM, "Channel", f"{where}: {unhonoured}")
    elif target.poll_only and target.anonymous and not manage:
        report.add(Level.PROBLEM, "Channel", f"{where}: the poll is anonymous, but I lack Manage Messages there, so "
                   "its reactions stay on the message (showing who voted) until it is granted")  # fmt: skip
    elif (target.poll_only or target.open_poll) and not manage:
        report.add(Level.NOTE, "Channel", f"{where}: no Manage Messages (optional: a moved single-choice vote "
                   "leaves the earlier reaction in place)")  # fmt: skip


async def _find_channel(guild: discord.Guild, channel_id: int) -> discord.abc.GuildChannel | discord.Thread | None:
    """From the cache, else (an archived thread) from Discord; None when it is gone or hidden."""
    found = guild.get_channel_or_thread(channel_id)
    if found is not None:
        return found
    try:
        fetched = await guild.fetch_channel(channel_id)
    except (discord.NotFound, discord.Forbidden):
        return None
    return fetched if isinstance(fetched, discord.abc.GuildChannel | discord.Thread) else None


# ---- feeds and the folder ------------------------------------------------------------------------------


def check_feeds(stored: StoredSetup, report: CheckReport) -> None:
    for subscription, feed in stored.subscriptions:
        channel = stored.channel_names.get(subscription.channel_id, f"channel {subscription.channel_id}")
        name = f"{feed_label(subscription)} → {channel} (subscription {subscription.id})"
        match subscription_state(subscription, feed):
            case SubscriptionState.PAUSED:
                report.add(Level.PROBLEM, "Feed", f"{name}: paused: {subscription.paused_reason or 'by a moderator'} "
                           "(/feed resume)")  # fmt: skip
            case SubscriptionState.FAILING:
                report.add(Level.PROBLEM, "Feed", f"{name}: failing ({feed.consecutive_failures} in a row): "
                           f"{feed.last_error or 'unknown error'}")  # fmt: skip
            case SubscriptionState.ACTIVE:
                report.add(Level.OK, "Feed", f"{name}: active")
        if subscription.last_error:
            report.add(Level.NOTE, "Feed", f"{name}: last delivery error: {subscription.last_error}")


def check_articles_folder(config: Config, stored: StoredSetup, report: CheckReport) -> None:
    if config.articles_dir and not stored.folder_channels:
        report.add(Level.NOTE, "Articles", f"ARTICLES_DIR is {config.articles_dir}, but no channel subscribes to "
                   "it (/article subscribe-folder)")  # fmt: skip
    elif stored.folder_channels and not config.articles_dir:
        report.add(Level.NOTE, "Articles", f"{counted(len(stored.folder_channels), 'channel')} subscribed to the "
                   "articles folder, but ARTICLES_DIR is empty: nothing will be posted from it")  # fmt: skip
