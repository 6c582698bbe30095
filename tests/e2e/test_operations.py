"""Operators' first hour against the emulated Discord: a quiet start, `agora check`, scheduled backups."""

from __future__ import annotations

import os
import re
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot import __version__
from bot.operations.backups import backup_name, backup_time, scheduled_backups
from bot.polls.options import PollOption
from bot.storage import Database
from bot.storage.articles import ArticleStore
from bot.storage.database import bundled_migrations
from bot.storage.feeds import FeedCheck, FeedStore, NewSubscription
from bot.storage.polls import PollStore
from bot.timeutil import utcnow

from .driver import BotProcess
from .emulator import Emulator
from .helpers import problems, run_check


def warning_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if re.search(r"\b(WARNING|ERROR|CRITICAL)\b", line)]


async def test_a_start_prints_no_warnings_and_one_line_saying_what_it_serves(
    emulator: Emulator, agora: BotProcess
) -> None:
    seed = emulator.community
    assert seed is not None
    log = agora.log_text()
    assert warning_lines(log) == [], "a clean start must print no warning"
    assert "voice will NOT be supported" not in log
    start = [line for line in log.splitlines() if "Connected as" in line]
    assert len(start) == 1, log
    line = start[0]
    assert " INFO " in line and f"Agora {__version__}" in line and str(agora.database_path) in line, line
    assert f"1 server: {seed.guild.name} ({seed.guild.id})" in line and "0 open polls, 0 feeds" in line, line


# ---- agora check ----------------------------------------------------------------------------------------

GATEWAY_MESSAGE_CONTENT = 1 << 18  # the application flag the portal's Message Content switch sets


def assert_nothing_posted(emu: Emulator, since: int = 0) -> None:
    """No message sent, edited, reacted to or deleted: the check only reads (every request a GET)."""
    writes = [f"{r.method} {r.path}" for r in emu.rest.requests[since:] if r.method != "GET"]
    assert writes == [], f"agora check wrote to Discord: {writes}"
    assert [m.id for m in emu.world.messages.values() if m.author_id == emu.bot_user.id] == []


def files_beside(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name.startswith(path.name))


async def seed_database(path: Path, emu: Emulator, *, failing_feed: bool) -> None:
    """What moderators set up earlier, written through the storage layer the bot uses (the bot is stopped)."""
    seed = emu.community
    assert seed is not None
    db = await Database.open(path)
    try:
        feeds = FeedStore(db)
        now = utcnow()
        healthy = await feeds.subscribe(_subscription("https://news.example/feed", "Daily News", seed.news.id,
                                                      seed.guild.id, now), [])  # fmt: skip
        checks = [FeedCheck(healthy.feed_id, now, now + timedelta(hours=1), fetched=True, title="Daily News")]
        if failing_feed:
            broken = await feeds.subscribe(_subscription("https://broken.example/rss", "Broken Wire",
                                                         seed.general.id, seed.guild.id, now), [])  # fmt: skip
            failure = "HTTP 503 Service Unavailable"
            checks.append(FeedCheck(broken.feed_id, now, now + timedelta(hours=1), error=failure))
        await feeds.record_checks(checks)
        await ArticleStore(db).add_folder_subscription(seed.guild.id, seed.news.id, seed.moderator.id, [])
        polls = PollStore(db)
        poll = await polls.create_poll(guild_id=seed.guild.id, channel_id=seed.news.id, question="Is it ready?",
                                       options=(PollOption("👍", "Yes"), PollOption("👎", "No")), multiple=False,
                                       created_by=seed.moderator.id)  # fmt: skip
        await polls.set_message(poll.id, 123456789)
    finally:
        await db.close()


def _subscription(url: str, title: str, channel_id: int, guild_id: int, now: datetime) -> NewSubscription:
    return NewSubscription(url=url, title=title, etag=None, last_modified=None, next_check_at=now,
                           guild_id=guild_id, channel_id=channel_id, created_by=None)  # fmt: skip


async def test_check_names_a_missing_permission_a_failing_feed_and_a_disabled_intent(
    emulator: Emulator, tmp_path: Path
) -> None:
    seed = emulator.community
    assert seed is not None
    bot = BotProcess(emulator, tmp_path)
    await seed_database(bot.database_path, emulator, failing_feed=True)
    await emulator.set_overwrite(seed.general, seed.bot_role, deny=("embed_links",))
    before, mtime = bot.database_path.read_bytes(), os.stat(bot.database_path).st_mtime_ns

    code, output = await run_check(bot, MESSAGE_CONTENT_INTENT="true")

    assert code != 0, output
    found = problems(output)
    assert any("#general" in p and "Broken Wire" in p and "missing Embed Links" in p for p in found), output
    assert any("Broken Wire" in p and "failing (1 in a row): HTTP 503 Service Unavailable" in p for p in found), output
    assert any("Message Content" in p and "not enabled in the developer portal" in p for p in found), output
    assert len(found) == 3, output
    assert output.strip().splitlines()[-1] == "Not ready: 3 problems (the PROBLEM lines above)."
    assert "Traceback" not in output and emulator.token not in output
    assert_nothing_posted(emulator)
    assert bot.database_path.read_bytes() == before and os.stat(bot.database_path).st_mtime_ns == mtime
    assert files_beside(bot.database_path) == ["agora.db"], "agora check left files beside the database"


async def test_check_of_a_set_up_in_order_is_ready(emulator: Emulator, tmp_path: Path) -> None:
    seed = emulator.community
    assert seed is not None
    emulator.application_flags = GATEWAY_MESSAGE_CONTENT
    bot = BotProcess(emulator, tmp_path)
    await seed_database(bot.database_path, emulator, failing_feed=False)

    code, output = await run_check(bot, MESSAGE_CONTENT_INTENT="true")

    assert code == 0, output
    assert problems(output) == [], output
    lines = output.strip().splitlines()
    assert lines[-1] == "Ready: everything Agora needs is in place."
    assert f"logged in as {emulator.bot_user.username}" in output
    assert f"Servers: 1: {seed.guild.name} (id {seed.guild.id})" in output
    assert "Message Content: needed and enabled in the developer portal" in output
    for purpose in ('feed "Daily News" (subscription 1)', "the articles folder", "open poll #1"):
        assert f"#articles in {seed.guild.name}, for {purpose}: every permission it needs" in output, output
    assert "Daily News" in output and "active" in output
    assert_nothing_posted(emulator)
    assert files_beside(bot.database_path) == ["agora.db"]


async def test_check_without_a_database_says_it_will_be_created_and_creates_nothing(
    emulator: Emulator, tmp_path: Path
) -> None:
    bot = BotProcess(emulator, tmp_path)
    code, output = await run_check(bot)
    assert code == 0, output
    assert f"{bot.database_path} does not exist yet: `agora run` will create it" in output
    assert files_beside(bot.database_path) == [], "agora check created the database"
    assert_nothing_posted(emulator)


async def test_check_while_the_bot_runs(emulator: Emulator, agora: BotProcess) -> None:
    requests_before = len(emulator.rest.requests)
    code, output = await run_check(agora)
    assert code == 0, output
    assert "schema version" in output and "(current)" in output
    assert_nothing_posted(emulator, since=requests_before)
    assert agora.running


async def test_check_with_a_bad_setting_is_one_line(emulator: Emulator, tmp_path: Path) -> None:
    bot = BotProcess(emulator, tmp_path)
    code, output = await run_check(bot, BACKUP_KEEP="none")
    assert code != 0
    assert output.strip() == "agora: BACKUP_KEEP must be a whole number, got 'none'."
    assert emulator.rest.requests == []


# ---- scheduled backups ----------------------------------------------------------------------------------


@pytest.fixture
def backup_dir(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """A BACKUP_DIR for the bot, put into the bot_env marker the `agora` fixture reads."""
    folder = tmp_path / "backups"
    folder.mkdir()
    marker = request.node.get_closest_marker("bot_env")
    env = {**(marker.kwargs if marker else {}), "BACKUP_DIR": str(folder), "BACKUP_KEEP": "2"}
    request.node.add_marker(pytest.mark.bot_env(**env), append=False)
    for days in (3, 4, 5):  # copies from earlier days, the last one overdue
        (folder / backup_name(utcnow() - timedelta(days=days))).write_bytes(b"an old copy")
    (folder / "notes.txt").write_text("the operator's own file")
    return folder


@pytest.fixture
def backup_agora(backup_dir: Path, request: pytest.FixtureRequest) -> BotProcess:
    """The `agora` bot, started only once `backup_dir` has put BACKUP_DIR into its environment."""
    return request.getfixturevalue("agora")


async def test_the_running_bot_backs_up_its_database_into_backup_dir(
    emulator: Emulator, backup_dir: Path, backup_agora: BotProcess
) -> None:
    agora = backup_agora

    line = await agora.wait_log("Backed up the database to", within=20)
    copies = scheduled_backups(backup_dir)
    assert len(copies) == 2, "BACKUP_KEEP=2: the new copy and the newest old one"
    assert copies[0].read_bytes() == b"an old copy" and str(copies[1]) in line
    assert (backup_time(copies[1].name) or utcnow()) - (backup_time(copies[0].name) or utcnow()) > timedelta(days=2)
    assert str(copies[-1]) in line
    with sqlite3.connect(f"file:{copies[-1]}?mode=ro&immutable=1", uri=True) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == bundled_migrations()[-1][0]
    assert (backup_dir / "notes.txt").exists()
    assert warning_lines(agora.log_text()) == []
