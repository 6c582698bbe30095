"""AgoraBot's own handlers: what a failed event listener leaves in the log."""

from __future__ import annotations

import logging

from bot.client import AgoraBot
from bot.config import Config


def agora() -> AgoraBot:
    return AgoraBot(Config.from_env({"DISCORD_TOKEN": "test.token"}))


async def fail_in_listener(bot: AgoraBot, error: Exception) -> None:
    try:
        raise error
    except Exception:
        await bot.on_error("on_raw_message_edit")  # as discord.py calls it, inside the except block


async def test_a_listener_meeting_a_storage_outage_is_one_line_at_most_once_a_minute(caplog):
    bot = agora()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot.client"):
        for _ in range(5):
            await fail_in_listener(bot, ConnectionRefusedError(111, "Connect call failed"))
    assert [(r.levelname, r.exc_info) for r in caplog.records] == [("WARNING", None)]
    line = caplog.records[0].getMessage()
    assert line.startswith("Discord events are not handled while the database is down (on_raw_message_edit: ")
    assert "PostgreSQL is unreachable (connection refused)" in line


async def test_a_listener_bug_keeps_its_traceback(caplog):
    bot = agora()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot.client"):
        await fail_in_listener(bot, KeyError("a bug"))
    assert len(caplog.records) == 1 and caplog.records[0].exc_info is not None
    assert "Ignoring exception in on_raw_message_edit" in caplog.records[0].getMessage()
