"""Discord faked at the edge: real discord.py objects whose HTTP layer records calls instead of sending.

The bot, its cogs and services run unchanged; only `bot.http`'s methods are replaced. Payloads follow
Discord's API shapes so discord.py parses them as it would real responses.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import discord

GUILD_ID = 1000
BOT_ID = 2000
TEXT_CHANNEL_ID = 3001
FORUM_CHANNEL_ID = 3002
READ_ONLY_CHANNEL_ID = 3003
MODERATOR_ID = 4001
MEMBER_ID = 4002
MODERATOR_ROLE_ID = 5001
BOT_ROLE_ID = 5002
HELPER_ROLE_ID = 5003  # no permissions of its own; an admin may make it the moderator role
_ALL_TEXT = discord.Permissions(
    view_channel=True,
    send_messages=True,
    embed_links=True,
    attach_files=True,
    read_message_history=True,
    create_public_threads=True,
    send_messages_in_threads=True,
    add_reactions=True,
    manage_messages=True,
)


def user_payload(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {"id": str(user_id), "username": name, "discriminator": "0", "global_name": name, "avatar": None, "bot": bot}


def guild_payload() -> dict[str, Any]:
    everyone = {
        "id": str(GUILD_ID),
        "name": "@everyone",
        "permissions": str(
            discord.Permissions(
                view_channel=True, send_messages=True, read_message_history=True, add_reactions=True
            ).value
        ),
        "position": 0,
        "color": 0,
        "hoist": False,
        "managed": False,
        "mentionable": False,
        "flags": 0,
    }
    moderator = {
        **everyone,
        "id": str(MODERATOR_ROLE_ID),
        "name": "Moderator",
        "position": 1,
        "permissions": str(discord.Permissions(manage_guild=True).value),
    }
    helper = {**everyone, "id": str(HELPER_ROLE_ID), "name": "Helper", "position": 1, "permissions": "0"}
    bot_role = {
        **everyone,
        "id": str(BOT_ROLE_ID),
        "name": "Agora",
        "position": 2,
        "managed": True,
        "permissions": str(_ALL_TEXT.value),
    }
    deny_send = [
        {"id": str(BOT_ROLE_ID), "type": 0, "allow": "0", "deny": str(discord.Permissions(send_messages=True).value)}
    ]
    return {
        "id": str(GUILD_ID),
        "name": "News Club",
        "owner_id": str(MODERATOR_ID),
        "features": [],
        "roles": [everyone, moderator, helper, bot_role],
        "emojis": [],
        "stickers": [],
        "member_count": 3,
        "channels": [
            _channel(TEXT_CHANNEL_ID, "news", 0),
            _channel(FORUM_CHANNEL_ID, "news-forum", 15),
            _channel(READ_ONLY_CHANNEL_ID, "announcements", 0, overwrites=deny_send),
        ],
        "members": [
            {
                "user": user_payload(BOT_ID, "Agora", bot=True),
                "roles": [str(BOT_ROLE_ID)],
                "joined_at": None,
                "deaf": False,
                "mute": False,
                "flags": 0,
            },
        ],
        "threads": [],
        "verification_level": 0,
        "premium_tier": 0,
        "preferred_locale": "en-US",
    }


def message_payload(
    message_id: int,
    channel_id: int,
    author: dict[str, Any],
    *,
    content: str = "",
    embeds: list[dict[str, Any]] | None = None,
    kind: int = 0,
    timestamp: str | None = None,
) -> dict[str, Any]:
    """A message in the test guild as Discord sends it (author: a `user_payload`); posted now by default."""
    return {
        "id": str(message_id),
        "channel_id": str(channel_id),
        "guild_id": str(GUILD_ID),
        "author": author,
        "content": content,
        "embeds": embeds or [],
        "attachments": [],
        "mentions": [],
        "mention_roles": [],
        "mention_everyone": False,
        "pinned": False,
        "tts": False,
        "type": kind,
        "flags": 0,
        "timestamp": timestamp or discord.utils.utcnow().isoformat(),
        "edited_timestamp": None,
    }


def _channel(channel_id: int, name: str, kind: int, overwrites: list | None = None) -> dict[str, Any]:
    payload = {
        "id": str(channel_id),
        "name": name,
        "type": kind,
        "guild_id": str(GUILD_ID),
        "position": 0,
        "permission_overwrites": overwrites or [],
        "nsfw": False,
        "parent_id": None,
    }
    if kind == 15:
        payload.update(available_tags=[], default_reaction_emoji=None, flags=0)
    return payload


@dataclass
class FakeDiscordHTTP:
    """Stands in for the REST calls the bot makes; every call is kept in `calls`."""

    ids: itertools.count = field(default_factory=lambda: itertools.count(9_000_000))
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    fail_next: dict[str, BaseException] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    threads: dict[int, dict[str, Any]] = field(default_factory=dict)

    def install(self, client: discord.Client) -> None:
        for name in (
            "send_message",
            "start_thread_with_message",
            "start_thread_in_forum",
            "logs_from",
            "get_message",
            "get_channel",
            "get_from_cdn",
        ):
            setattr(client.http, name, getattr(self, name))

    def _check_failure(self, name: str) -> None:
        if name in self.fail_next:
            raise self.fail_next.pop(name)

    def _message(self, channel_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        message_id = next(self.ids)
        message = message_payload(
            message_id, channel_id, user_payload(BOT_ID, "Agora", bot=True),
            content=payload.get("content") or "", embeds=payload.get("embeds") or [],
        )  # fmt: skip
        self.messages[message_id] = message
        return message

    async def send_message(self, channel_id, *, params):
        self._check_failure("send_message")
        self.calls.append(("send_message", {"channel_id": int(channel_id), **params.payload}))
        return self._message(int(channel_id), params.payload)

    async def start_thread_with_message(self, channel_id, message_id, *, name, auto_archive_duration, **_):
        self._check_failure("start_thread_with_message")
        self.calls.append(
            ("start_thread_with_message", {"channel_id": int(channel_id), "message_id": int(message_id), "name": name})
        )
        if int(message_id) in self.threads:
            raise discord.HTTPException(
                FakeHTTPResponse(400), {"code": 160004, "message": "A thread has already been created for this message"}
            )
        self.threads[int(message_id)] = self._thread(int(message_id), int(channel_id), name)
        return self.threads[int(message_id)]

    async def start_thread_in_forum(self, channel_id, *, params, reason=None):
        self._check_failure("start_thread_in_forum")
        self.calls.append(("start_thread_in_forum", {"channel_id": int(channel_id), **params.payload}))
        starter = self._message(0, params.payload["message"])
        thread_id = int(starter["id"])
        starter["channel_id"] = str(thread_id)
        return {**self._thread(thread_id, int(channel_id), params.payload["name"]), "message": starter}

    def _thread(self, thread_id: int, parent_id: int, name: str) -> dict[str, Any]:
        return thread_payload(thread_id, parent_id, name)

    async def logs_from(self, channel_id, limit, before=None, after=None, around=None):
        found = [m for m in self.messages.values() if int(m["channel_id"]) == int(channel_id)]
        return sorted(found, key=lambda m: int(m["id"]), reverse=True)[:limit]

    async def get_message(self, channel_id, message_id):
        return self.messages[int(message_id)]

    async def get_from_cdn(self, url):
        return self.files[url]

    async def get_channel(self, channel_id):
        if int(channel_id) in self.threads:
            return self.threads[int(channel_id)]
        raise discord.NotFound(FakeHTTPResponse(404), {"message": "Unknown Channel", "code": 10003})

    def sent(self, name: str) -> list[dict[str, Any]]:
        return [payload for call, payload in self.calls if call == name]


class FakeHTTPResponse:
    """What discord.HTTPException and its subclasses read from an HTTP response: build them with this."""

    def __init__(self, status: int, reason: str = "Not Found") -> None:
        self.status = status
        self.reason = reason


def add_guild(client: discord.Client, payload: dict[str, Any] | None = None) -> discord.Guild:
    """Give the client's cache the test guild (or the guild `payload` describes), as GUILD_CREATE would."""
    state = client._connection
    state.user = discord.ClientUser(state=state, data=user_payload(BOT_ID, "Agora", bot=True))
    guild = discord.Guild(data=payload or guild_payload(), state=state)
    state._add_guild(guild)
    return guild


class FakeResponse:
    """interaction.response: records what the command answered."""

    def __init__(self, interaction: FakeInteraction) -> None:
        self._interaction = interaction
        self._done = False

    def is_done(self) -> bool:
        return self._done

    async def defer(self, *, ephemeral: bool = False, thinking: bool = False) -> None:
        self._done = True
        self._interaction.deferred_ephemeral = ephemeral

    async def send_message(self, content: str | None = None, *, ephemeral: bool = False, **kwargs: Any) -> None:
        self._done = True
        self._interaction.replies.append({"content": content, "ephemeral": ephemeral, **kwargs})


class FakeFollowup:
    def __init__(self, interaction: FakeInteraction) -> None:
        self._interaction = interaction

    async def send(self, content: str | None = None, *, ephemeral: bool = False, **kwargs: Any) -> None:
        self._interaction.replies.append({"content": content, "ephemeral": ephemeral, **kwargs})


class FakeInteraction:
    """The parts of discord.Interaction a command uses; the user is a real discord.Member."""

    def __init__(
        self, client: discord.Client, guild: discord.Guild, *, moderator: bool, role_ids: list[int] | None = None
    ) -> None:
        self.client = client
        self.guild = guild
        self.id = 77
        role_ids = [str(role) for role in role_ids or []] + ([str(MODERATOR_ROLE_ID)] if moderator else [])
        data = {
            "user": user_payload(MODERATOR_ID if moderator else MEMBER_ID, "someone"),
            "roles": role_ids,
            "joined_at": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
        }
        self.user = discord.Member(data=data, guild=guild, state=client._connection)
        self.permissions = self.user.guild_permissions
        self.replies: list[dict[str, Any]] = []
        self.deferred_ephemeral: bool | None = None
        self.response = FakeResponse(self)
        self.followup = FakeFollowup(self)


def attachment(client: discord.Client, http: FakeDiscordHTTP, name: str, data: bytes) -> discord.Attachment:
    """A real Attachment whose download returns `data`."""
    url = f"https://cdn.example.invalid/{name}"
    http.files[url] = data
    payload = {"id": str(next(http.ids)), "filename": name, "size": len(data), "url": url, "proxy_url": url}
    return discord.Attachment(data=payload, state=client._connection)


def thread_payload(thread_id: int, parent_id: int, name: str, created: str | None = None) -> dict[str, Any]:
    """A public thread of the test guild as Discord describes it."""
    return {
        "id": str(thread_id),
        "guild_id": str(GUILD_ID),
        "parent_id": str(parent_id),
        "name": name,
        "type": 11,
        "owner_id": str(BOT_ID),
        "message_count": 0,
        "member_count": 1,
        "rate_limit_per_user": 0,
        "flags": 0,
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": 10080,
            "locked": False,
            "archive_timestamp": created or discord.utils.utcnow().isoformat(),
        },
    }
