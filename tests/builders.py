"""Shared builders: a bot whose REST calls are answered by the fakes, with the test guild in its cache.

Use `fake_bot()` (or the `make_bot` fixture of tests/conftest.py) instead of wiring AgoraBot by hand, so a
new service or setting needs one change here.
"""

from __future__ import annotations

from typing import Any

import discord

from bot.client import AgoraBot
from bot.config import Config
from tests.fakes.discord_http import FakeDiscordHTTP, add_guild

TOKEN = "test.token"


def agora_config(**env: str) -> Config:
    """A configuration as `agora run` reads it from the environment, with a token and `env` on top."""
    return Config.from_env({"DISCORD_TOKEN": TOKEN, **env})


def fake_bot(
    http: FakeDiscordHTTP | None = None, *, guild: dict[str, Any] | None = None, **env: str
) -> tuple[AgoraBot, FakeDiscordHTTP, discord.Guild]:
    """An AgoraBot that never logs in: `http` answers its REST calls, and the test guild (or the one the
    `guild` payload describes) is cached."""
    bot = AgoraBot(agora_config(**env))
    http = http or FakeDiscordHTTP()
    http.install(bot)
    return bot, http, add_guild(bot, guild)
