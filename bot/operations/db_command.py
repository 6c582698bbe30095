"""`agora db backup PATH`: a verified copy of the database, safe while the bot runs; `agora db migrate` and
`agora db copy --from URL --to URL` for deployments on PostgreSQL (and moving to it)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

from bot.config import Config, DatabaseUrl
from bot.errors import ConfigError
from bot.storage.backends import open_database, open_for_reading
from bot.storage.backup import BackupError, BackupResult, backup_database
from bot.storage.copy import CopyRefused, copy_database
from bot.storage.database import UnusableDatabase


def add_db_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add `db` and its subcommands to the CLI; the caller dispatches to `run_db`."""
    parser = subparsers.add_parser("db", help="database chores: backup, migrate, copy", description="Database chores.")
    actions = parser.add_subparsers(dest="db_command", required=True)
    backup = actions.add_parser(
        "backup",
        help="copy the database to PATH, consistently, while the bot runs or not",
        description="Copy Agora's SQLite database to PATH with SQLite's online backup API (safe while the bot "
        "runs), check the copy's integrity (quick_check), and print its schema version and row counts. "
        "To restore: stop the bot, replace the database file with the copy, start the bot.",
    )
    backup.add_argument("path", type=Path, metavar="PATH", help="the file to write the copy to")
    backup.add_argument("--force", action="store_true", help="replace PATH if it already exists")
    backup.add_argument(
        "--db", type=Path, metavar="SOURCE", help="database to copy (default: $DATABASE_PATH, else data/agora.db)"
    )
    migrate = actions.add_parser(
        "migrate",
        help="create or upgrade the database's schema and exit",
        description="Apply the migrations this Agora brings to the database (DATABASE_URL, else DATABASE_PATH) "
        "and exit: deployments migrate once before rolling out new processes.",
    )
    migrate.add_argument("--database", metavar="URL", help="the database (default: $DATABASE_URL)")
    copy = actions.add_parser(
        "copy",
        help="copy every row of one database into a new, empty one (e.g. SQLite to PostgreSQL)",
        description="Create the schema in the target (which must exist and hold no data), copy every table in "
        "one transaction, and check the row counts. Stop the bot first: rows written during the copy are not "
        "copied.",
    )
    copy.add_argument("--from", dest="source", required=True, metavar="URL", help="sqlite:///path or postgresql://…")
    copy.add_argument("--to", dest="target", required=True, metavar="URL", help="sqlite:///path or postgresql://…")
    return parser


def run_db(args: argparse.Namespace) -> int:
    if args.db_command == "backup":
        return run_backup(args)
    if args.db_command == "migrate":
        return _one_line_errors(_migrate(args.database))
    if args.db_command == "copy":
        return _one_line_errors(_copy(args.source, args.target))
    return 2


def _url_of(raw: str | None, setting: str = "--database") -> DatabaseUrl:
    if raw:
        return DatabaseUrl.parse(raw, setting)
    env = os.environ.get("DATABASE_URL", "").strip()
    if env:
        return DatabaseUrl.parse(env)
    return DatabaseUrl.sqlite(os.environ.get("DATABASE_PATH", "").strip() or Config.database_path)


def _one_line_errors(work) -> int:
    try:
        print(asyncio.run(work))
    except (ConfigError, UnusableDatabase, CopyRefused) as error:
        print(f"agora: {error}", file=sys.stderr)
        return 1
    return 0


async def _migrate(raw: str | None) -> str:
    url = _url_of(raw)
    db = await open_database(url)
    try:
        return f"{url.masked}: schema version {await db.schema_version()}."
    finally:
        await db.close()


async def _copy(source_raw: str, target_raw: str) -> str:
    source_url, target_url = DatabaseUrl.parse(source_raw, "--from"), DatabaseUrl.parse(target_raw, "--to")
    if source_url.path is not None and not source_url.path.is_file():
        raise CopyRefused(f"no database at {source_url.masked} (--from)")
    source = await open_for_reading(source_url)
    try:
        target = await open_database(target_url)
        try:
            started = time.monotonic()
            counts = await copy_database(source, target)
        finally:
            await target.close()
    finally:
        await source.close()
    rows = ", ".join(f"{table} {count}" for table, count in counts.items())
    analyzed = (
        " Vacuumed and analyzed (VACUUM ANALYZE) for fast first queries." if target_url.dialect == "postgresql" else ""
    )
    return (
        f"Copied {source_url.masked} to {target_url.masked} in {time.monotonic() - started:.1f} s; "
        f"row counts checked equal.{analyzed}\nRows: {rows}"
    )


def run_backup(args: argparse.Namespace) -> int:
    source = args.db or Path(os.environ.get("DATABASE_PATH", "").strip() or Config.database_path)
    started = time.monotonic()
    try:
        result = backup_database(source, args.path, overwrite=args.force)
    except BackupError as error:
        print(f"agora: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"agora: could not write the copy {args.path}: {error.strerror or error}.", file=sys.stderr)
        return 1
    print(backup_report(source, result, time.monotonic() - started))
    return 0


def backup_report(source: Path, result: BackupResult, seconds: float) -> str:
    counts = ", ".join(f"{table} {count}" for table, count in result.row_counts.items())
    return "\n".join([
        f"Backed up {source} to {result.path} ({result.size_bytes / 1024:.0f} KiB) in {seconds:.1f} s.",
        f"Integrity check (quick_check): {result.integrity}",
        f"Schema version: {result.schema_version}",
        f"Rows: {counts}",
    ])  # fmt: skip
