"""The `agora` command: `agora run` starts the bot; operators' offline commands live beside it."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

import aiohttp
import discord
from dotenv import find_dotenv, load_dotenv

from bot import __version__
from bot.config import Config
from bot.errors import ConfigError
from bot.logs import configure_logging
from bot.operations.db_command import add_db_parser, run_db
from bot.storage.backends import AdvisoryLock, OwnershipLost, instance_lock_for, open_database
from bot.storage.database import UnusableDatabase
from bot.storage.lock import AlreadyRunning, InstanceLock
from bot.summaries.cli import add_summary_parser, run_summary

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agora", description="Agora, a Discord bot for news communities.")
    parser.add_argument("--version", action="version", version=f"agora {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="connect to Discord and run the bot (settings from the environment / .env)")
    add_check_parser(commands)
    add_summary_parser(commands)
    add_db_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    load_dotenv(find_dotenv(usecwd=True), override=False)  # the .env of the folder the operator runs in
    args = build_parser().parse_args(argv)
    if args.command == "run":
        return run_bot()
    if args.command == "summary":
        return run_summary(args)
    if args.command == "db":
        return run_db(args)
    if args.command == "check":
        return run_check_command()
    return 2


def fail(message: str) -> int:
    print(f"agora: {message}", file=sys.stderr)
    return 1


def add_check_parser(commands: argparse._SubParsersAction) -> None:
    commands.add_parser(
        "check",
        help="check the set-up without posting anything: settings, database, login, intents, permissions, feeds",
        description="Read the settings, open the database read-only, log in to Discord and report whether "
        "everything Agora needs is in place. Posts nothing and writes nothing. Exit code 0 only when ready.",
    )


def run_check_command() -> int:
    from bot.operations.check import run_check  # imported late: discord.py set-up is not needed for --help

    try:
        config = Config.from_env()
    except ConfigError as error:
        return fail(str(error))
    configure_logging("WARNING", [config.token])  # the report is the output; only real trouble is logged
    report = asyncio.run(run_check(config))
    print(report.render())
    return 0 if report.ready else 1


def run_bot() -> int:
    try:
        config = Config.from_env()
    except ConfigError as error:
        return fail(str(error))
    configure_logging(config.log_level, [config.token])
    lock = _instance_lock(config)
    try:
        asyncio.run(_serve(config, lock))
    except discord.LoginFailure:
        return fail("DISCORD_TOKEN was rejected by Discord: reset the token in the developer portal and update .env.")
    except discord.PrivilegedIntentsRequired:
        return fail(
            "MESSAGE_CONTENT_INTENT is on, but the Message Content intent is not enabled for this bot: enable it "
            "in the developer portal (Bot → Privileged Gateway Intents) or set MESSAGE_CONTENT_INTENT=false."
        )
    except (UnusableDatabase, AlreadyRunning) as error:  # damaged, read-only, not Agora's, newer, or in use
        return fail(str(error))
    except (aiohttp.ClientError, discord.GatewayNotFound) as error:  # before OSError: a refused connection is both
        return fail(
            f"could not reach Discord: {error or type(error).__name__}. Check the network (and DISCORD_API_BASE or "
            "DISCORD_GATEWAY_URL, if set)."
        )
    except OSError as error:  # the database's own failures are UnusableDatabase; this is the rest of the system
        return fail(f"stopped by an operating-system error: {error}.")
    finally:
        if isinstance(lock, InstanceLock):
            lock.release()
    return 0


def _instance_lock(config: Config) -> InstanceLock | AdvisoryLock:
    """One process per store: a file lock beside an SQLite database, advisory locks on PostgreSQL."""
    database = config.database
    if database.dialect == "sqlite":
        return InstanceLock(config.database_path)
    return instance_lock_for(database.dsn, database.masked, config.shards)


def _database_setting(config: Config) -> str:
    """The setting naming the database, with its value (a URL's password masked)."""
    if config.database_url is None:
        return f"DATABASE_PATH {config.database_path}"
    return f"DATABASE_URL {config.database_url.masked}"


async def _acquire(lock: InstanceLock | AdvisoryLock) -> None:
    if isinstance(lock, InstanceLock):
        lock.acquire()
    else:
        await lock.acquire()


async def _serve(config: Config, lock: InstanceLock | AdvisoryLock) -> None:
    from bot.gateway import point_at_discord  # imported late: discord.py set-up is not needed for --help

    point_at_discord(config)
    # Opened (and migrated, or refused) before logging in: a database problem stops the bot before Discord.
    try:
        db = await open_database(config.database)
    except OSError as error:
        raise UnusableDatabase(f"{_database_setting(config)} cannot be used: {error}.") from None
    try:
        # After the start-up checks (a refused database leaves nothing beside it), before anything counts votes.
        await _acquire(lock)
    except OSError as error:
        await db.close()
        raise UnusableDatabase(f"{_database_setting(config)}: its instance lock cannot be taken: {error}.") from None
    except BaseException:
        await db.close()
        raise
    try:
        await _run_bot(config, db, lock)
    finally:
        if isinstance(lock, AdvisoryLock):
            await lock.release()


async def _run_bot(config: Config, db, lock: InstanceLock | AdvisoryLock) -> None:
    from bot.client import build_bot

    bot = build_bot(config, db)
    loop = asyncio.get_running_loop()
    stopping: list[asyncio.Task[None]] = []
    lost: list[OwnershipLost] = []

    def request_stop(signame: str) -> None:
        if not stopping:
            log.info("Received %s, shutting down", signame)
            stopping.append(loop.create_task(bot.close()))

    async def keep_ownership(advisory: AdvisoryLock) -> None:
        try:
            await advisory.watch()
        except OwnershipLost as error:  # another owner runs now: this one stops rather than count twice
            lost.append(error)
            if not stopping:
                stopping.append(loop.create_task(bot.close()))

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, request_stop, signal.Signals(signum).name)
    watcher = loop.create_task(keep_ownership(lock)) if isinstance(lock, AdvisoryLock) else None
    try:
        async with bot:
            await bot.start(config.token)
    finally:
        if watcher is not None and not lost:
            watcher.cancel()
    if stopping:
        # discord.py's exit waits only for its own part of close(); AgoraBot's closers (queued votes, the feed
        # fetcher, the database) must finish before the event loop ends and cancels them.
        await stopping[0]
    if lost:
        raise lost[0]
