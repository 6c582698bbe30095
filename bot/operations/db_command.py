"""`agora db backup PATH`: a verified copy of the database, safe while the bot runs."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from bot.config import Config
from bot.storage.backup import BackupError, BackupResult, backup_database


def add_db_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add `db` and its subcommands to the CLI; the caller dispatches to `run_db`."""
    parser = subparsers.add_parser("db", help="database chores: backup", description="Database chores.")
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
    return parser


def run_db(args: argparse.Namespace) -> int:
    if args.db_command == "backup":
        return run_backup(args)
    return 2


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
