"""The server's custom emoji as the polls domain sees them; shared by the cogs that accept poll options.

Not an extension: modules whose name starts with an underscore are not loaded as cogs.
"""

from __future__ import annotations

import discord

from bot.polls.options import GuildEmoji


def guild_emojis(guild: discord.Guild) -> list[GuildEmoji]:
    """The server's custom emoji the bot can react with."""
    return [GuildEmoji(emoji.id, emoji.name, emoji.animated) for emoji in guild.emojis if emoji.available]
