"""How Agora connects to Discord: the gateway intents it asks for, and where its traffic goes."""

from __future__ import annotations

import discord
import yarl

from bot.config import Config


def point_at_discord(config: Config) -> None:
    """Send REST and gateway traffic to a proxy or an emulator instead of Discord, when configured."""
    if config.api_base:
        discord.http.Route.BASE = config.api_base
    if config.gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(config.gateway_url)


def build_intents(config: Config) -> discord.Intents:
    intents = discord.Intents.none()
    intents.guilds = True  # channels, threads and roles for permission checks
    intents.guild_messages = True  # replies in discussion threads, deleted poll messages
    intents.guild_reactions = True  # votes
    intents.message_content = config.message_content_intent  # privileged; only to store reply text
    return intents
