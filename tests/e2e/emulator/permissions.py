"""Discord permission arithmetic: base permissions from roles, then channel overwrites."""

from __future__ import annotations

import discord

from .state import Channel, Guild, World

ALL = discord.Permissions.all().value
ADMINISTRATOR = discord.Permissions(administrator=True).value


def flags(*names: str) -> int:
    """Permission bits for discord.py permission names, e.g. flags("send_messages", "embed_links")."""
    return discord.Permissions(**dict.fromkeys(names, True)).value


def names_of(value: int) -> list[str]:
    """discord.py names of the bits set in value."""
    return [name for name, enabled in discord.Permissions(value) if enabled]


EVERYONE_DEFAULT = flags(
    "create_instant_invite",
    "add_reactions",
    "view_channel",
    "send_messages",
    "embed_links",
    "attach_files",
    "read_message_history",
    "use_external_emojis",
    "change_nickname",
    "use_application_commands",
    "create_public_threads",
    "create_private_threads",
    "send_messages_in_threads",
    "connect",
    "speak",
)

MODERATOR_DEFAULT = flags("manage_guild", "manage_messages", "manage_threads", "kick_members", "moderate_members")

BOT_DEFAULT = flags(
    "view_channel",
    "send_messages",
    "send_messages_in_threads",
    "embed_links",
    "attach_files",
    "read_message_history",
    "add_reactions",
    "manage_messages",
    "manage_threads",
    "create_public_threads",
    "use_external_emojis",
    "use_application_commands",
)


def base_permissions(guild: Guild, member_id: int) -> int:
    """Guild-level permissions of a member: @everyone plus all roles."""
    if member_id == guild.owner_id:
        return ALL
    member = guild.members.get(member_id)
    value = guild.everyone.permissions
    if member is not None:
        for role_id in member.role_ids:
            role = guild.roles.get(role_id)
            if role is not None:
                value |= role.permissions
    return ALL if value & ADMINISTRATOR else value


def channel_permissions(world: World, channel: Channel, member_id: int) -> int:
    """Permissions of a member in a channel (threads use their parent's overwrites)."""
    guild = world.guild_of(channel)
    value = base_permissions(guild, member_id)
    if value & ADMINISTRATOR:
        return ALL
    target = world.parent_of(channel)
    overwrites = target.overwrites
    everyone = overwrites.get(guild.id)
    if everyone is not None:
        value = (value & ~everyone.deny) | everyone.allow
    member = guild.members.get(member_id)
    role_ids = set(member.role_ids) if member else set()
    allow = deny = 0
    for overwrite in overwrites.values():
        if overwrite.type == 0 and overwrite.id in role_ids:
            allow |= overwrite.allow
            deny |= overwrite.deny
    value = (value & ~deny) | allow
    own = overwrites.get(member_id)
    if own is not None and own.type == 1:
        value = (value & ~own.deny) | own.allow
    return value
