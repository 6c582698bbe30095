"""JSON shapes of Discord API objects, as documented and as discord.py 2.x parses them."""

from __future__ import annotations

from typing import Any

from .state import Attachment, Channel, Guild, Member, Message, Reaction, Role, User, World

JSON = dict[str, Any]


def user(u: User) -> JSON:
    return {
        "id": str(u.id),
        "username": u.username,
        "discriminator": "0",
        "global_name": u.global_name,
        "avatar": None,
        "bot": u.bot,
        "system": False,
        "public_flags": 0,
        "flags": 0,
        "banner": None,
        "accent_color": None,
        "avatar_decoration_data": None,
        "collectibles": None,
        "primary_guild": None,
    }


def current_user(u: User) -> JSON:
    return {**user(u), "verified": True, "mfa_enabled": False, "locale": "en-US", "email": None}


def member(m: Member, world: World, *, with_user: bool = True, permissions: int | None = None) -> JSON:
    data: JSON = {
        "nick": m.nick,
        "avatar": None,
        "banner": None,
        "roles": [str(r) for r in m.role_ids],
        "joined_at": m.joined_at,
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "communication_disabled_until": None,
    }
    if with_user:
        data["user"] = user(world.users[m.id])
    if permissions is not None:
        data["permissions"] = str(permissions)
    return data


def role(r: Role) -> JSON:
    data: JSON = {
        "id": str(r.id),
        "name": r.name,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "icon": None,
        "unicode_emoji": None,
        "position": r.position,
        "permissions": str(r.permissions),
        "managed": r.managed,
        "mentionable": False,
        "flags": 0,
    }
    if r.bot_id is not None:
        data["tags"] = {"bot_id": str(r.bot_id)}
    return data


def _snowflake(value: int | None) -> str | None:
    return None if value is None else str(value)


def thread_member(channel: Channel, user_id: int) -> JSON:
    tm = channel.thread_members[user_id]
    return {"id": str(channel.id), "user_id": str(user_id), "join_timestamp": tm.join_timestamp, "flags": 0}


def channel(c: Channel, *, viewer_id: int | None = None) -> JSON:
    data: JSON = {
        "id": str(c.id),
        "type": c.type,
        "guild_id": str(c.guild_id),
        "name": c.name,
        "parent_id": _snowflake(c.parent_id),
        "nsfw": False,
        "flags": 0,
        "rate_limit_per_user": c.rate_limit_per_user,
        "last_message_id": _snowflake(c.last_message_id),
    }
    if c.is_thread:
        data.update(_thread_fields(c, viewer_id))
        return data
    data["position"] = c.position
    data["permission_overwrites"] = [
        {"id": str(o.id), "type": o.type, "allow": str(o.allow), "deny": str(o.deny)} for o in c.overwrites.values()
    ]
    data["topic"] = c.topic
    data["default_auto_archive_duration"] = 1440
    data["default_thread_rate_limit_per_user"] = 0
    if c.type == 15:
        data["available_tags"] = c.available_tags
        data["default_reaction_emoji"] = None
        data["default_sort_order"] = None
        data["default_forum_layout"] = 0
    return data


def _thread_fields(c: Channel, viewer_id: int | None) -> JSON:
    data: JSON = {
        "owner_id": _snowflake(c.owner_id),
        "message_count": c.message_count,
        "member_count": min(len(c.thread_members), 50),
        "total_message_sent": c.total_message_sent,
        "applied_tags": [str(t) for t in c.applied_tags],
        "thread_metadata": {
            "archived": c.archived,
            "auto_archive_duration": c.auto_archive_duration,
            "archive_timestamp": c.archive_timestamp,
            "locked": c.locked,
            "invitable": c.invitable,
            "create_timestamp": c.create_timestamp,
        },
    }
    if viewer_id is not None and viewer_id in c.thread_members:
        data["member"] = thread_member(c, viewer_id)
    return data


def attachment(a: Attachment) -> JSON:
    data: JSON = {
        "id": str(a.id),
        "filename": a.filename,
        "size": a.size,
        "url": a.url,
        "proxy_url": a.url,
        "content_type": a.content_type,
    }
    if a.description is not None:
        data["description"] = a.description
    return data


def reaction(r: Reaction, me_id: int) -> JSON:
    count = len(r.user_ids)
    return {
        "emoji": r.emoji,
        "count": count,
        "count_details": {"burst": 0, "normal": count},
        "me": me_id in r.user_ids,
        "me_burst": False,
        "burst_me": False,
        "burst_count": 0,
        "burst_colors": [],
    }


def embed(e: JSON) -> JSON:
    """An embed as Discord answers it: with the defaults it fills in for what a client left out."""
    data = {"type": "rich", **e}
    if "fields" in data:
        data["fields"] = [{"inline": False, **f} for f in data["fields"]]
    return data


def message(m: Message, world: World, *, me_id: int, gateway: bool = False, depth: int = 0) -> JSON:
    """A message object; gateway=True adds guild_id and the author's partial member as events carry."""
    data: JSON = {
        "id": str(m.id),
        "channel_id": str(m.channel_id),
        "author": user(world.users[m.author_id]),
        "content": m.content,
        "timestamp": m.timestamp,
        "edited_timestamp": m.edited_timestamp,
        "tts": False,
        "mention_everyone": m.mention_everyone,
        "mentions": [user(world.users[u]) for u in m.mentions if u in world.users],
        "mention_roles": [str(r) for r in m.mention_roles],
        "attachments": [attachment(a) for a in m.attachments],
        "embeds": [embed(e) for e in m.embeds],
        "pinned": False,
        "type": m.type,
        "flags": m.flags,
        "components": m.components,
    }
    if m.reactions:
        data["reactions"] = [reaction(r, me_id) for r in m.reactions.values()]
    if m.nonce is not None:
        data["nonce"] = m.nonce
    if m.webhook_id is not None:
        data["webhook_id"] = str(m.webhook_id)
        data["application_id"] = str(m.webhook_id)
    if m.interaction_metadata is not None:
        data["interaction_metadata"] = m.interaction_metadata
    if m.poll is not None:
        data["poll"] = m.poll
    if m.position is not None:
        data["position"] = m.position
    _add_reference(data, m, world, me_id=me_id, depth=depth)
    _add_thread(data, m, world, me_id)
    if gateway and m.guild_id is not None:
        data["guild_id"] = str(m.guild_id)
        guild_member = world.guilds[m.guild_id].members.get(m.author_id)
        if guild_member is not None and m.webhook_id is None:
            data["member"] = member(guild_member, world, with_user=False)
    return data


def _add_reference(data: JSON, m: Message, world: World, *, me_id: int, depth: int) -> None:
    if m.reference is None:
        return
    data["message_reference"] = m.reference
    ref_id = int(m.reference["message_id"])
    referenced = world.messages.get(ref_id)
    if depth == 0 and m.type == 19:
        alive = referenced is not None and not referenced.deleted
        data["referenced_message"] = message(referenced, world, me_id=me_id, depth=1) if alive else None


def _add_thread(data: JSON, m: Message, world: World, me_id: int) -> None:
    thread = world.channel(m.id)
    if thread is not None and thread.is_thread and thread.parent_id == m.channel_id:
        data["thread"] = channel(thread, viewer_id=me_id)


def guild(g: Guild, world: World, *, include_members: bool, bot_id: int) -> JSON:
    """Full GUILD_CREATE payload."""
    members = list(g.members.values()) if include_members else [g.members[bot_id]]
    return {
        **guild_object(g),
        "joined_at": g.members[bot_id].joined_at,
        "large": False,
        "unavailable": False,
        "member_count": len(g.members),
        "voice_states": [],
        "members": [member(m, world) for m in members],
        "channels": [channel(c) for c in g.channels.values() if not c.is_thread],
        "threads": [channel(c, viewer_id=bot_id) for c in g.channels.values() if c.is_thread and not c.archived],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
    }


def guild_object(g: Guild) -> JSON:
    """The REST guild object (GET /guilds/{id})."""
    return {
        "id": str(g.id),
        "name": g.name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "description": None,
        "owner_id": str(g.owner_id),
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 1,
        "explicit_content_filter": 0,
        "roles": [role(r) for r in g.roles.values()],
        "emojis": g.emojis,
        "stickers": [],
        "features": [],
        "mfa_level": 0,
        "application_id": None,
        "system_channel_id": None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "vanity_url_code": None,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": "en-US",
        "public_updates_channel_id": None,
        "nsfw_level": 0,
        "premium_progress_bar_enabled": False,
        "safety_alerts_channel_id": None,
    }


def application(app_id: int, owner: User, bot: User, flags: int = 0) -> JSON:
    return {
        "id": str(app_id),
        "name": bot.username,
        "description": "Emulated application",
        "icon": None,
        "bot_public": True,
        "bot_require_code_grant": False,
        "owner": user(owner),
        "verify_key": "0" * 64,
        "team": None,
        "type": None,
        "flags": flags,
        "flags_new": str(flags),
        "bot": user(bot),
        "summary": "",
        "redirect_uris": [],
        "interactions_endpoint_url": None,
        "role_connections_verification_url": None,
        "tags": [],
        "approximate_guild_count": 1,
        "approximate_user_install_count": 0,
        "approximate_user_authorization_count": 0,
        "explicit_content_filter": 0,
        "eligible_oauth2_scopes": ["bot", "applications.commands"],
    }
