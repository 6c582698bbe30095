"""`agora check`'s database reading, intent rules, feed findings and verdict (Discord parts: tests/e2e)."""

from __future__ import annotations

import os
import sqlite3
from datetime import timedelta
from pathlib import Path

import discord

from bot.config import Config
from bot.gateway import build_intents
from bot.operations.check import CheckReport, Level, check_database, check_feeds, check_intents
from bot.polls.options import PollOption
from bot.storage import Database
from bot.storage.articles import ArticleStore
from bot.storage.database import bundled_migrations
from bot.storage.feeds import FeedCheck, FeedStore, NewSubscription
from bot.storage.polls import FairnessRow, PollRulesRow, PollStore
from bot.timeutil import utcnow

TOKEN = "MTEx.fake.token-for-tests"
MESSAGE_CONTENT_FLAG = 1 << 18


def texts(report: CheckReport, level: Level) -> list[str]:
    return [f"{f.topic}: {f.text}" for f in report.findings if f.level is level]


async def test_missing_database_is_a_note_and_is_not_created(tmp_path):
    report = CheckReport()
    assert (await check_database(tmp_path / "agora.db", report)).targets() == []
    assert report.ready and "will create it" in texts(report, Level.NOTE)[0]
    assert list(tmp_path.iterdir()) == []


async def test_a_folder_as_database_is_a_problem(tmp_path):
    report = CheckReport()
    await check_database(tmp_path, report)
    assert not report.ready and "is not a file" in texts(report, Level.PROBLEM)[0]


async def test_newer_database_is_a_problem_and_untouched(tmp_path):
    path = tmp_path / "agora.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT, applied_at TEXT)")
        conn.execute("INSERT INTO schema_version VALUES (999, 'future', 'x')")
    conn.close()
    before, mtime = path.read_bytes(), os.stat(path).st_mtime_ns
    report = CheckReport()
    await check_database(path, report)
    assert "newer than this Agora" in texts(report, Level.PROBLEM)[0]
    assert path.read_bytes() == before and os.stat(path).st_mtime_ns == mtime
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agora.db"]


async def test_older_database_is_noted_and_not_migrated(tmp_path):
    path = tmp_path / "agora.db"
    db = await Database.open(path, bundled_migrations()[:2])
    await db.close()
    report = CheckReport()
    await check_database(path, report)
    assert report.ready and "the next start upgrades it to" in texts(report, Level.NOTE)[0]
    with sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True) as conn:
        assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == 2


async def test_not_a_database_is_a_problem(tmp_path):
    path = tmp_path / "agora.db"
    path.write_bytes(b"not sqlite at all" * 200)
    report = CheckReport()
    await check_database(path, report)
    assert not report.ready and "agora.db" in texts(report, Level.PROBLEM)[0]


def test_message_content_needed_but_not_enabled_is_a_problem():
    needed = build_intents(Config.from_env({"DISCORD_TOKEN": TOKEN, "MESSAGE_CONTENT_INTENT": "true"}))
    report = CheckReport()
    check_intents(needed, discord.ApplicationFlags._from_value(0), report)
    assert ["Intents: Message Content: needed (MESSAGE_CONTENT_INTENT=true) but not enabled"] == [
        text.split(" in the developer")[0] for text in texts(report, Level.PROBLEM)
    ]

    enabled = CheckReport()
    check_intents(needed, discord.ApplicationFlags._from_value(MESSAGE_CONTENT_FLAG), enabled)
    assert enabled.ready


def test_message_content_not_needed_by_default_whatever_the_portal_says():
    needed = build_intents(Config.from_env({"DISCORD_TOKEN": TOKEN}))
    report = CheckReport()
    check_intents(needed, discord.ApplicationFlags._from_value(0), report)
    assert report.ready
    lines = texts(report, Level.OK)
    assert "Guilds, Guild Messages, Guild Message Reactions" in lines[0]
    assert any("Message Content: not needed" in line and "not enabled" in line for line in lines)


async def test_paused_and_failing_feeds_are_problems_with_their_reasons(tmp_path):
    db = await Database.open(tmp_path / "agora.db")
    try:
        feeds, now = FeedStore(db), utcnow()

        def new(url: str, channel: int) -> NewSubscription:
            return NewSubscription(url=url, title=None, etag=None, last_modified=None, next_check_at=now,
                                   guild_id=1, channel_id=channel, created_by=None)  # fmt: skip

        ok = await feeds.subscribe(new("https://a.example/feed", 10), [])
        failing = await feeds.subscribe(new("https://b.example/feed", 11), [])
        paused = await feeds.subscribe(new("https://c.example/feed", 12), [])
        later = now + timedelta(hours=1)
        await feeds.record_checks([FeedCheck(ok.feed_id, now, later), FeedCheck(failing.feed_id, now, later,
                                                                                 error="timed out")])  # fmt: skip
        await feeds.set_paused(paused.id, 1, "paused by moderator")
        report = CheckReport()
        check_feeds(await check_database_setup(db), report)
    finally:
        await db.close()
    problems = texts(report, Level.PROBLEM)
    assert problems == [
        "Feed: https://b.example/feed → channel 11 (subscription 2): failing (1 in a row): timed out",
        "Feed: https://c.example/feed → channel 12 (subscription 3): paused: paused by moderator (/feed resume)",
    ]
    assert texts(report, Level.OK) == ["Feed: https://a.example/feed → channel 10 (subscription 1): active"]


async def check_database_setup(db: Database):
    report = CheckReport()
    return await check_database(Path(db.path), report)


def test_verdict_line():
    report = CheckReport()
    report.add(Level.NOTE, "Database", "fine")
    assert report.render().splitlines()[-1] == "Ready: everything Agora needs is in place."
    report.add(Level.PROBLEM, "Channel", "#news: missing Embed Links")
    assert report.render().splitlines()[-1] == "Not ready: 1 problem (the PROBLEM lines above)."
    assert "PROBLEM Channel: #news: missing Embed Links" in report.render()


async def test_the_anonymity_each_target_asks_for_is_read(tmp_path):
    db = await Database.open(tmp_path / "agora.db")
    try:
        now, polls = utcnow(), PollStore(db)
        await FeedStore(db).subscribe(NewSubscription(url="https://a.example/feed", title=None, etag=None,
                                                      last_modified=None, next_check_at=now, guild_id=1,
                                                      channel_id=10, created_by=None), [])  # fmt: skip
        await ArticleStore(db).add_folder_subscription(1, 11, 7, [], poll_rules=PollRulesRow(anonymous=False))
        await polls.set_poll_defaults(1, FairnessRow("", None, None, hide_totals=False, anonymous=True))
        for anonymous in (True, False):
            poll = await polls.create_poll(guild_id=1, channel_id=12, question="Fair?", options=(
                PollOption("👍", "Yes"), PollOption("👎", "No")), multiple=False, created_by=None)  # fmt: skip
            await polls.set_message(poll.id, 500 + poll.id)
            await polls.set_fairness(poll.id, FairnessRow("", None, None, hide_totals=False, anonymous=anonymous))
        stored = await check_database_setup(db)
    finally:
        await db.close()
    assert stored.anonymous_by_default == {1}
    asked = {target.purpose: target.anonymous for target in stored.targets()}
    assert asked == {
        "feed https://a.example/feed (subscription 1)": None,  # its own rule is unset: the server's default
        "the articles folder": False,
        "open poll #1": True,
        "open poll #2": False,
    }
