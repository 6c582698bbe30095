"""Runs discord.py clients against the emulator: plain clients in-process, and the real bot as a subprocess."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import sys
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

import discord
import yarl
from discord.ext import commands

from .emulator import Emulator

_log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")

# Settings the bot reads that a developer's shell or .env could set; the tests decide them all.
_BOT_ENV_PREFIXES = ("DISCORD_", "DATABASE_", "ARTICLE", "FEED_", "POLL_", "MESSAGE_CONTENT", "STORE_RESPONSE", "LOG_")


class InProcessClients:
    """Plain discord.py clients in the test's event loop, pointed at the emulator like the bot points itself."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self._saved = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
        discord.http.Route.BASE = emu.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(emu.gateway_url)
        self._running: list[tuple[discord.Client, asyncio.Task[None]]] = []

    def bot(self, intents: discord.Intents | None = None, **kwargs: Any) -> commands.Bot:
        """A commands.Bot with the default intents (+ message content) and a short guild_ready_timeout."""
        if intents is None:
            intents = discord.Intents.default()
            intents.message_content = True
        kwargs.setdefault("guild_ready_timeout", 0.2)
        return commands.Bot(command_prefix="!", intents=intents, **kwargs)

    async def start(self, client: discord.Client, *, within: float = 15.0) -> discord.Client:
        """Log in, connect and wait for on_ready (failing fast if the client task dies)."""
        task = asyncio.create_task(client.start(self.emu.token))
        self._running.append((client, task))
        ready = asyncio.create_task(client.wait_until_ready())
        done, _ = await asyncio.wait({task, ready}, timeout=within, return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            ready.cancel()
            if task in done:
                task.result()  # re-raise the client's exception
            raise AssertionError(f"client not ready after {within}s\n{self.emu.diagnostics()}")
        return client

    async def close_all(self) -> None:
        for client, task in self._running:
            await client.close()
            try:
                await asyncio.wait_for(task, 5)
            except (TimeoutError, asyncio.CancelledError, discord.DiscordException) as exc:
                _log.debug("client task ended with %r", exc)
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = self._saved


class BotProcess:
    """`python -m bot run` against the emulator, with its own database and a captured log.

    start() waits until the bot has IDENTIFYed, synced its commands and logged that it is ready;
    stop() sends SIGTERM, then SIGKILL after a grace period; restart() keeps the database.
    """

    ready_marker = "Connected as"

    def __init__(self, emu: Emulator, workdir: Path, extra_env: dict[str, str] | None = None) -> None:
        self.emu = emu
        self.workdir = workdir
        self.database_path = workdir / "agora.db"
        self.log_path = workdir / "bot.log"
        self.extra_env = dict(extra_env or {})
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0
        self.exit_codes: list[int | None] = []
        self.hung_on_stop = 0  # times the bot had to be killed because SIGTERM did not stop it
        self._log_offset = 0

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_BOT_ENV_PREFIXES)}
        community = self.emu.community
        env.update(
            DISCORD_TOKEN=self.emu.token,
            DISCORD_API_BASE=self.emu.api_base,
            DISCORD_GATEWAY_URL=self.emu.gateway_url,
            DATABASE_PATH=str(self.database_path),
            LOG_LEVEL="DEBUG",
            # The emulator sends its one guild at once; waiting the default 2 s for more would cost every start.
            GUILD_READY_TIMEOUT_SECONDS="0.2",
            PYTHONUNBUFFERED="1",
            PYTHONFAULTHANDLER="1",
        )
        if community is not None:
            env["DISCORD_GUILD_ID"] = str(community.guild.id)
        env.update(self.extra_env)
        return env

    async def run_command(self, *args: str, within: float, env: dict[str, str] | None = None) -> tuple[int, str]:
        """`python -m bot <args>` with this bot's environment (`env` on top), expected to exit by itself
        within `within` seconds: (exit code, stdout and stderr together)."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *args, cwd=REPO_ROOT, env={**self.environment(), **(env or {})},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        try:
            output, _ = await asyncio.wait_for(proc.communicate(), within)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise AssertionError(f"`agora {' '.join(args)}` was still running after {within}s") from None
        assert proc.returncode is not None
        return proc.returncode, output.decode(errors="replace")

    async def start(self, *, within: float = 30.0, wait_ready: bool = True, syncs: bool = True) -> None:
        """`syncs` False for a process that does not register commands (a shard other than 0 of a cluster)."""
        identified, synced = self.emu.gateway.identify_count, self.emu.commands.sync_count
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            log.write(f"\n===== e2e driver: start #{self.starts + 1} =====\n".encode())
            log.flush()
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=REPO_ROOT, env=self.environment(), stdout=log, stderr=log
            )
        self.starts += 1
        await self._unless_exited(self.emu.wait_identified(identified + 1, within), "IDENTIFY")
        if syncs:
            await self._unless_exited(
                self.emu.wait_for(lambda: self.emu.commands.sync_count > synced, within, "command sync"),
                "command sync",
            )
        if wait_ready:
            await self.wait_log(self.ready_marker, within=within, since_start=True)

    async def _unless_exited(self, waiting: Awaitable[T], what: str) -> T:
        """Await `waiting`, but fail at once with the bot's log if the process exits first."""
        assert self.process is not None
        wait_task = asyncio.ensure_future(waiting)
        exit_task = asyncio.ensure_future(self.process.wait())
        done, _ = await asyncio.wait({wait_task, exit_task}, return_when=asyncio.FIRST_COMPLETED)
        if wait_task in done:
            exit_task.cancel()
            return wait_task.result()
        wait_task.cancel()
        raise AssertionError(f"bot exited with {self.process.returncode} before {what}\n{self.log_text()}")

    async def wait_log(self, text: str, *, within: float = 10.0, since_start: bool = True) -> str:
        """Wait until the bot's log contains text (since the latest start); returns that log line."""

        async def poll() -> str:
            while True:
                log = self.log_text()[self._log_offset if since_start else 0 :]
                line = next((ln for ln in log.splitlines() if text in ln), None)
                if line is not None:
                    return line
                await asyncio.sleep(0.05)

        try:
            return await self._unless_exited(asyncio.wait_for(poll(), within), f"log line {text!r}")
        except TimeoutError:
            raise AssertionError(f"bot never logged {text!r} within {within}s\n{self.tail()}") from None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def stop(self, *, grace: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL if it has not exited after grace seconds. Returns the exit code."""
        proc = self.process
        if proc is None:
            return None
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), grace)
            except TimeoutError:
                await self._kill_hung(proc, grace)
        self.exit_codes.append(proc.returncode)
        return proc.returncode

    async def _kill_hung(self, proc: asyncio.subprocess.Process, grace: float) -> None:
        """SIGABRT first: with PYTHONFAULTHANDLER the bot's thread stacks land in its log; then SIGKILL."""
        self.hung_on_stop += 1
        _log.warning("bot ignored SIGTERM for %ss; aborting it", grace)
        with self.log_path.open("ab") as log:
            log.write(f"\n===== e2e driver: no exit {grace}s after SIGTERM; SIGABRT, then SIGKILL =====\n".encode())
        proc.send_signal(signal.SIGABRT)
        try:
            await asyncio.wait_for(proc.wait(), 3)
        except TimeoutError:
            proc.kill()
            await proc.wait()

    async def restart(self, **kwargs: Any) -> None:
        """Stop (which must be clean: exit code 0 after SIGTERM) and start again with the same database."""
        code = await self.stop()
        assert code == 0 and not self.hung_on_stop, f"unclean stop (exit code {code})\n{self.tail()}"
        await self.start(**kwargs)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def print_log(self) -> None:
        print(f"----- bot log ({self.log_path}) -----\n{self.log_text()}\n----- end of bot log -----")

    def assert_token_not_logged(self) -> None:
        assert self.emu.token not in self.log_text(), "the bot token appeared in the bot's log output"

    def vote_history(self, voter_id: int) -> list[tuple[str, str, str, str]]:
        """A voter's logged vote changes (emoji, action, source, at), to explain a failed comparison."""
        with sqlite3.connect(f"file:{self.database_path}?mode=ro", uri=True) as conn:
            return conn.execute(
                "SELECT o.emoji, e.action, e.source, e.at FROM vote_events e JOIN poll_options o ON o.id = e.option_id"
                " WHERE e.voter_id = ? ORDER BY e.id",
                (voter_id,),
            ).fetchall()

    def row_counts(self) -> dict[str, int]:
        """Rows per table of the bot's database (read-only), to show that a refused command changed nothing."""
        uri = f"file:{self.database_path}?mode=ro"
        with sqlite3.connect(uri, uri=True) as conn:
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}  # noqa: S608
