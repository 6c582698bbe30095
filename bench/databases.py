"""The databases a benchmark runs against: `--database` values, each a backend measured side by side.

    sqlite                      a new SQLite file per round in a temporary folder (the default's first)
    postgresql                  a throwaway PostgreSQL 16 (the pgserver wheel, as the tests start it), a new
                                database per round copied from a migrated template (the default's second)
    sqlite:///path, postgresql://user:password@host/db
                                that database, migrated if needed; each round adds its own poll to it, so
                                point it at a scratch database, never a community's

Without `--database` a bench runs `sqlite` and `postgresql`.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import DatabaseUrl
from bot.errors import ConfigError
from tests.backends import PostgresServer

DEFAULT = ("sqlite", "postgresql")
HELP = "sqlite, postgresql (throwaway server) or a database URL; repeat for several (default: sqlite and postgresql)"


@dataclass
class BenchDatabase:
    """One `--database` value: where each round's database comes from."""

    spec: str
    label: str
    dialect: str
    url: DatabaseUrl | None = None  # a given database, shared by every round
    _server: PostgresServer | None = field(default=None, repr=False)
    _folder: Path | None = field(default=None, repr=False)

    async def fresh(self, workdir: Path) -> DatabaseUrl:
        """The database of one round: new for the throwaway backends, the given one otherwise."""
        if self.url is not None:
            return self.url
        if self.spec == "sqlite":
            return DatabaseUrl.sqlite(workdir / f"bench-{time.monotonic_ns()}.db")
        assert self._server is not None
        return DatabaseUrl("postgresql", dsn=await self._server.create_database())

    async def discard(self, url: DatabaseUrl) -> None:
        """Drop a round's throwaway PostgreSQL database (a given one is kept)."""
        if self._server is not None and url.dialect == "postgresql":
            await self._server.drop_database(url.dsn)

    def start(self) -> None:
        if self.spec == "postgresql":
            import pgserver  # the dev extra, as for the tests

            self._folder = Path(tempfile.mkdtemp(prefix="agora-bench-pg-"))
            handle = pgserver.get_server(self._folder, cleanup_mode="delete")
            self._server = PostgresServer(handle.get_uri("postgres"), handle)

    def stop(self) -> None:
        if self._server is not None:
            self._server.handle.cleanup()
            self._server = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)


def add_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database", action="append", metavar="URL", help=HELP)


def chosen(values: list[str] | None) -> list[BenchDatabase]:
    """The benches' databases from the `--database` values, in order (labels say which is which)."""
    databases = []
    for spec in values or DEFAULT:
        if spec in ("sqlite", "postgresql"):
            databases.append(BenchDatabase(spec, "SQLite" if spec == "sqlite" else "PostgreSQL", spec))
            continue
        try:
            url = DatabaseUrl.parse(spec, "--database")
        except ConfigError as error:
            raise SystemExit(str(error)) from None
        label = "SQLite" if url.dialect == "sqlite" else "PostgreSQL"
        databases.append(BenchDatabase(spec, f"{label} ({url.masked})", url.dialect, url))
    return databases


@contextlib.asynccontextmanager
async def started(databases: list[BenchDatabase]) -> AsyncIterator[list[BenchDatabase]]:
    try:
        for database in databases:
            database.start()
        yield databases
    finally:
        for database in databases:
            database.stop()
