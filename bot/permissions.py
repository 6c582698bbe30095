"""Who may run moderator commands, and which channel permissions the bot needs to post."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.server_settings import ServerSettings


class NotModerator(app_commands.CheckFailure):
    def __init__(self) -> None:
        super().__init__(
            "This command is for moderators: it needs the Manage Server permission or the server's "
            "moderator role (set with `/agora moderator-role`)."
        )


async def is_moderator(interaction: discord.Interaction, settings: ServerSettings) -> bool:
    """Manage Server (or Administrator), or the moderator role an admin chose for the server."""
    if interaction.guild is None or not isinstance(interaction.user, discord.Member):
        return False
    permissions = interaction.permissions
    if permissions.administrator or permissions.manage_guild:
        return True
    role_id = await settings.moderator_role(interaction.guild.id)
    return role_id is not None and any(role.id == role_id for role in interaction.user.roles)


async def may_moderate(interaction: discord.Interaction) -> bool:
    """`is_moderator` with the bot's settings (autocomplete runs no command checks, so it asks this)."""
    settings: ServerSettings = interaction.client.settings  # type: ignore[attr-defined]  # the client is AgoraBot
    return await is_moderator(interaction, settings)


def moderator_only():
    """App-command check run on every call, whatever the server's command visibility settings say."""

    async def predicate(interaction: discord.Interaction) -> bool:
        if not await may_moderate(interaction):
            raise NotModerator()
        return True

    return app_commands.check(predicate)


def manager_only():
    """App-command check: Manage Server (or Administrator) itself, for choosing who else moderates."""
    return app_commands.checks.has_permissions(manage_guild=True)


def can_see(channel: discord.abc.GuildChannel | discord.Thread, member: discord.Member) -> bool:
    """Whether the member sees the channel: what they may be told about it (a poll's listing, say)."""
    return channel.permissions_for(member).view_channel


def can_remove_reactions(channel: discord.abc.GuildChannel | discord.Thread, member: discord.Member) -> bool:
    """Manage Messages: taking off others' reactions (a moved single-choice vote, a stray emoji)."""
    return channel.permissions_for(member).manage_messages


# What posting an article with its thread, prompt and poll needs, by Discord's permission names.
POSTING_PERMISSIONS = {
    "view_channel": "View Channel",
    "send_messages": "Send Messages",
    "embed_links": "Embed Links",
    "read_message_history": "Read Message History",
    "create_public_threads": "Create Public Threads",
    "send_messages_in_threads": "Send Messages in Threads",
    "add_reactions": "Add Reactions",
}


def missing_posting_permissions(
    channel: discord.abc.GuildChannel, member: discord.Member, *, open_thread: bool = True, open_poll: bool = True
) -> list[str]:
    """Human names of the permissions the bot lacks in `channel` for posting an article there."""
    granted = channel.permissions_for(member)
    needed = dict(POSTING_PERMISSIONS)
    if not open_thread and not isinstance(channel, discord.ForumChannel):
        needed.pop("create_public_threads")
        needed.pop("send_messages_in_threads")
    if not open_poll:
        needed.pop("add_reactions")
    return [label for flag, label in needed.items() if not getattr(granted, flag)]


def missing_poll_permissions(channel: discord.abc.GuildChannel | discord.Thread, member: discord.Member) -> list[str]:
    """Human names of the permissions the bot lacks in `channel` (or thread) for running a poll there."""
    granted = channel.permissions_for(member)
    needed = {
        "view_channel": "View Channel",
        "send_messages_in_threads" if isinstance(channel, discord.Thread) else "send_messages": "Send Messages",
        "embed_links": "Embed Links",
        "add_reactions": "Add Reactions",
        "read_message_history": "Read Message History",
    }
    return [label for flag, label in needed.items() if not getattr(granted, flag)]
