"""`agora summary`: a poll's or an article's figures from the database, for operators.

Needs no token and no running bot. The database is opened read-only (a running bot may keep
writing to it meanwhile), through the same storage layer and figure functions as the bot's
commands, so the printed figures are the ones Discord shows.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sqlite3
import sys
from pathlib import Path

from bot.config import Config, DatabaseUrl
from bot.errors import ConfigError
from bot.quoting import excerpt
from bot.references import parse_number
from bot.storage.backends import open_for_reading
from bot.storage.database import UnusableDatabase
from bot.storage.summaries import SummaryStore
from bot.summaries import csv_export, text
from bot.summaries.figures import article_summary, poll_summary
from bot.summaries.moments import InvalidMoment, parse_moment
from bot.timeutil import utcnow

log = logging.getLogger(__name__)

FORMATS = ("text", "json", "csv")


def add_summary_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add `summary` to the CLI's subcommands; the caller dispatches to `run_summary`."""
    parser = subparsers.add_parser(
        "summary",
        help="print a poll's or an article's summary from the database (no token needed)",
        description="Print the figures of a poll or an article from Agora's database. "
        "Opens the database read-only; the bot may be running or not.",
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--poll", type=_id_number, metavar="N", help="poll id (as /poll list shows)")
    target.add_argument("--article", type=_id_number, metavar="N", help="article id")
    parser.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    parser.add_argument(
        "--guild", type=int, metavar="ID", help="with --article: count only this server's poll and replies"
    )
    parser.add_argument(
        "--at",
        metavar="WHEN",
        help="with --poll: the figures as they stood at a past moment, from the vote log: "
        "an ISO date/time in UTC (2026-11-01T14:30; an offset like +02:00 is converted) or how long ago (2h, 1d12h)",
    )
    parser.add_argument(
        "--export",
        choices=("votes", "events"),
        help="with --poll: write the current votes or the vote event log as CSV (voter ids included) instead",
    )
    parser.add_argument(
        "--db",
        type=Path,
        metavar="PATH",
        help="database file (default: $DATABASE_URL, else $DATABASE_PATH, else data/agora.db)",
    )
    parser.add_argument(
        "--database",
        metavar="URL",
        help="database URL instead of --db: sqlite:///path or postgresql://user:password@host:port/database",
    )
    return parser


def _id_number(text: str) -> int:
    """A poll or article number as /poll list shows it (12 or #12); -1, 1.5 or other scripts' digits are refused."""
    number = parse_number(text)
    if number is None:
        raise argparse.ArgumentTypeError(f"{excerpt(text)!r} is not a number like 12 or #12")
    return number


def run_summary(args: argparse.Namespace) -> int:
    """Print the summary; 0 on success, 1 when the database or the poll/article is not found."""
    try:
        url = _database_url(args)
    except ConfigError as error:
        print(str(error), file=sys.stderr)
        return 1
    path = url.masked
    if url.path is not None and not url.path.is_file():
        print(f"No database at {path}: pass --db or set DATABASE_PATH.", file=sys.stderr)
        return 1
    if args.export and args.poll is None:
        print("--export needs --poll.", file=sys.stderr)
        return 1
    if args.at is not None and (args.poll is None or args.export):
        print("--at needs --poll (and gives figures, not an --export).", file=sys.stderr)
        return 1
    try:
        args.moment = parse_moment(args.at, utcnow()) if args.at is not None else None
        output = asyncio.run(_export(url, args) if args.export else _render(url, args))
    except InvalidMoment as error:
        print(str(error).replace("`", ""), file=sys.stderr)
        return 1
    except UnusableDatabase as error:
        print(str(error), file=sys.stderr)
        return 1
    except (sqlite3.Error, ValueError) as error:
        print(f"Could not read {path}: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader (`| head`) stopped early; Python's docs advise silencing the final flush too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    if output is None:
        kind, number = ("poll", args.poll) if args.poll is not None else ("article", args.article)
        print(f"No {kind} #{number} in {path}.", file=sys.stderr)
        return 1
    if output:
        sys.stdout.write(output if output.endswith("\n") else output + "\n")
    return 0


def default_database_path() -> Path:
    return Path(os.environ.get("DATABASE_PATH", "").strip() or Config.database_path)


def _database_url(args: argparse.Namespace) -> DatabaseUrl:
    if args.database:
        return DatabaseUrl.parse(args.database, "--database")
    if args.db is None and os.environ.get("DATABASE_URL", "").strip():
        return DatabaseUrl.parse(os.environ["DATABASE_URL"])
    return DatabaseUrl.sqlite((args.db or default_database_path()).resolve())


async def _export(url: DatabaseUrl, args: argparse.Namespace) -> str | None:
    """Write the CSV to stdout as bytes (UTF-8 with BOM, CRLF), exactly as /poll export attaches it."""
    db = await open_for_reading(url)
    try:
        store = SummaryStore(db)
        if await store.poll(args.poll) is None:
            return None
        write = csv_export.write_votes_csv if args.export == "votes" else csv_export.write_events_csv
        sys.stdout.flush()
        await write(store, args.poll, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return ""
    finally:
        await db.close()


async def _render(url: DatabaseUrl, args: argparse.Namespace) -> str | None:
    db = await open_for_reading(url)
    try:
        store = SummaryStore(db)
        if args.poll is not None:
            summary = await poll_summary(store, args.poll, args.moment)
            if summary is None:
                return None
            return _formatted(args.format, summary, text.poll_text, text.poll_dict, text.poll_csv)
        article = await article_summary(store, args.article, args.guild)
        if article is None:
            return None
        return _formatted(args.format, article, text.article_text, text.article_dict, text.article_csv)
    finally:
        await db.close()


def _formatted(fmt: str, summary: object, as_text, as_dict, as_csv) -> str:
    if fmt == "json":
        return text.to_json(as_dict(summary))
    if fmt == "csv":
        return as_csv(summary)
    return as_text(summary)
