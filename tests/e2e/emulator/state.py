"""In-memory model of the emulated Discord: users, guilds, roles, channels, threads, messages, reactions."""

from __future__ import annotations

import datetime as dt
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

DISCORD_EPOCH_MS = 1420070400000

# Channel types (Discord API).
TEXT = 0
CATEGORY = 4
ANNOUNCEMENT_THREAD = 10
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
FORUM = 15
THREAD_TYPES = frozenset({ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD})

# Message flags.
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_HAS_THREAD = 1 << 5


def now_iso() -> str:
    """Current time as the ISO-8601 string Discord uses."""
    return dt.datetime.now(dt.UTC).isoformat()


class SnowflakeGenerator:
    """Monotonic Discord-style snowflakes whose timestamp part is the real clock."""

    def __init__(self) -> None:
        self._last = 0
        self._counter = itertools.count()

    def next(self) -> int:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        candidate = (ms << 22) | (next(self._counter) & 0xFFF)
        self._last = max(self._last + 1, candidate)
        return self._last


@dataclass
class User:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False


@dataclass
class Role:
    id: int
    name: str
    permissions: int
    position: int = 0
    managed: bool = False
    bot_id: int | None = None


@dataclass
class Member:
    user: User
    guild_id: int
    role_ids: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=now_iso)

    @property
    def id(self) -> int:
        return self.user.id


@dataclass
class Overwrite:
    id: int
    type: int  # 0 = role, 1 = member
    allow: int = 0
    deny: int = 0


@dataclass
class ThreadMember:
    user_id: int
    join_timestamp: str = field(default_factory=now_iso)


@dataclass
class Channel:
    id: int
    type: int
    guild_id: int
    name: str
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    overwrites: dict[int, Overwrite] = field(default_factory=dict)
    available_tags: list[dict[str, Any]] = field(default_factory=list)
    last_message_id: int | None = None
    rate_limit_per_user: int = 0
    # Thread-only fields.
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    auto_archive_duration: int = 1440
    archive_timestamp: str = field(default_factory=now_iso)
    create_timestamp: str = field(default_factory=now_iso)
    message_count: int = 0
    total_message_sent: int = 0
    thread_members: dict[int, ThreadMember] = field(default_factory=dict)
    applied_tags: list[int] = field(default_factory=list)
    invitable: bool = True

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES


@dataclass
class Attachment:
    id: int
    filename: str
    data: bytes
    url: str
    content_type: str = "application/octet-stream"
    description: str | None = None

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class Reaction:
    emoji: dict[str, Any]
    user_ids: list[int] = field(default_factory=list)


@dataclass
class Message:
    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    timestamp: str = field(default_factory=now_iso)
    edited_timestamp: str | None = None
    type: int = 0
    flags: int = 0
    nonce: str | int | None = None
    reference: dict[str, Any] | None = None
    mentions: list[int] = field(default_factory=list)
    mention_roles: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    reactions: dict[str, Reaction] = field(default_factory=dict)
    webhook_id: int | None = None
    interaction_metadata: dict[str, Any] | None = None
    components: list[dict[str, Any]] = field(default_factory=list)
    poll: dict[str, Any] | None = None
    position: int | None = None
    deleted: bool = False

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & FLAG_EPHEMERAL)

    @property
    def loading(self) -> bool:
        return bool(self.flags & FLAG_LOADING)


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    emojis: list[dict[str, Any]] = field(default_factory=list)

    @property
    def everyone(self) -> Role:
        return self.roles[self.id]


@dataclass
class World:
    """Everything the emulated Discord knows; mutated by REST handlers and the test-side API."""

    snowflakes: SnowflakeGenerator = field(default_factory=SnowflakeGenerator)
    users: dict[int, User] = field(default_factory=dict)
    guilds: dict[int, Guild] = field(default_factory=dict)
    messages: dict[int, Message] = field(default_factory=dict)
    channel_messages: dict[int, list[int]] = field(default_factory=dict)
    attachments: dict[int, Attachment] = field(default_factory=dict)

    def new_id(self) -> int:
        return self.snowflakes.next()

    def channel(self, channel_id: int) -> Channel | None:
        for guild in self.guilds.values():
            found = guild.channels.get(channel_id)
            if found is not None:
                return found
        return None

    def guild_of(self, channel: Channel) -> Guild:
        return self.guilds[channel.guild_id]

    def parent_of(self, channel: Channel) -> Channel:
        """The channel whose permission overwrites apply (a thread's parent, else itself)."""
        if channel.is_thread and channel.parent_id is not None:
            parent = self.channel(channel.parent_id)
            if parent is not None:
                return parent
        return channel

    def add_message(self, message: Message, *, listed: bool = True) -> None:
        self.messages[message.id] = message
        if listed:
            self.channel_messages.setdefault(message.channel_id, []).append(message.id)

    def listed_messages(self, channel_id: int) -> list[Message]:
        """Visible (non-ephemeral, non-deleted) messages of a channel, oldest first."""
        ids = self.channel_messages.get(channel_id, [])
        return [self.messages[i] for i in ids if not self.messages[i].deleted]
