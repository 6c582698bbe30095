"""State changes of the emulated Discord and the gateway events each one dispatches.

Shared by the REST handlers (what the bot does) and the test-side API (what users do).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import payloads
from .errors import (
    EMPTY_MESSAGE,
    THREAD_ARCHIVED,
    UNKNOWN_EMOJI,
    ApiError,
    invalid_form,
)
from .gateway import INTENT_MESSAGE_CONTENT, Gateway, Session
from .state import (
    FLAG_EPHEMERAL,
    FLAG_HAS_THREAD,
    FORUM,
    PUBLIC_THREAD,
    Attachment,
    Channel,
    Message,
    Reaction,
    ThreadMember,
    World,
    now_iso,
)

JSON = dict[str, Any]

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")
_EMBED_LIMITS = {"title": 256, "description": 4096}


@dataclass
class Upload:
    """A file part of a multipart request."""

    filename: str
    data: bytes
    content_type: str = "application/octet-stream"


@dataclass
class NewMessage:
    """Everything needed to create a message (what a REST body or a test action provides)."""

    content: str = ""
    embeds: list[JSON] = field(default_factory=list)
    uploads: list[Upload] = field(default_factory=list)
    attachments_meta: list[JSON] = field(default_factory=list)
    allowed_mentions: JSON | None = None
    nonce: str | int | None = None
    reference: JSON | None = None
    flags: int = 0
    poll: JSON | None = None
    components: list[JSON] = field(default_factory=list)
    type: int = 0
    webhook_id: int | None = None
    interaction_metadata: JSON | None = None

    @classmethod
    def from_body(cls, body: JSON, uploads: list[Upload]) -> NewMessage:
        return cls(
            content=str(body.get("content") or ""),
            embeds=list(body.get("embeds") or []),
            uploads=uploads,
            attachments_meta=list(body.get("attachments") or []),
            allowed_mentions=body.get("allowed_mentions"),
            nonce=body.get("nonce"),
            reference=body.get("message_reference"),
            flags=int(body.get("flags") or 0),
            poll=body.get("poll"),
            components=list(body.get("components") or []),
        )


def validate_embeds(embeds: list[JSON], prefix: str = "embeds") -> None:
    """Discord's embed limits; violations are 400 Invalid Form Body."""
    if len(embeds) > 10:
        raise invalid_form(prefix, "Must be 10 or fewer in length.", "BASE_TYPE_MAX_LENGTH")
    total = 0
    for i, embed in enumerate(embeds):
        for key, limit in _EMBED_LIMITS.items():
            value = str(embed.get(key) or "")
            total += len(value)
            if len(value) > limit:
                raise invalid_form(
                    f"{prefix}.{i}.{key}", f"Must be {limit} or fewer in length.", "BASE_TYPE_MAX_LENGTH"
                )
        total += _validate_embed_fields(embed, f"{prefix}.{i}")
        footer = str((embed.get("footer") or {}).get("text") or "")
        author = str((embed.get("author") or {}).get("name") or "")
        total += len(footer) + len(author)
        if len(footer) > 2048 or len(author) > 256:
            raise invalid_form(f"{prefix}.{i}", "Embed footer or author too long.", "BASE_TYPE_MAX_LENGTH")
    if total > 6000:
        raise invalid_form(prefix, "Embed size exceeds maximum size of 6000", "MAX_EMBED_SIZE_EXCEEDED")


def _validate_embed_fields(embed: JSON, prefix: str) -> int:
    fields = embed.get("fields") or []
    if len(fields) > 25:
        raise invalid_form(f"{prefix}.fields", "Must be 25 or fewer in length.", "BASE_TYPE_MAX_LENGTH")
    total = 0
    for j, f in enumerate(fields):
        name, value = str(f.get("name") or ""), str(f.get("value") or "")
        if not name or not value:
            raise invalid_form(f"{prefix}.fields.{j}", "This field is required", "BASE_TYPE_REQUIRED")
        if len(name) > 256 or len(value) > 1024:
            raise invalid_form(f"{prefix}.fields.{j}", "Field name/value too long.", "BASE_TYPE_MAX_LENGTH")
        total += len(name) + len(value)
    return total


def parse_emoji(text: str, guild_emojis: list[JSON]) -> tuple[str, JSON]:
    """Reaction emoji from a route segment: unicode, or name:id for custom ones. Returns (key, emoji)."""
    text = text.strip("<>")
    if ":" in text:
        name, _, raw_id = text.rpartition(":")
        name = name.removeprefix("a:")
        known = {str(e.get("id")): e for e in guild_emojis}
        if not raw_id.isdigit() or raw_id not in known:
            raise ApiError(400, UNKNOWN_EMOJI, "Unknown Emoji")
        emoji = known[raw_id]
        return raw_id, {"id": raw_id, "name": emoji.get("name", name), "animated": bool(emoji.get("animated"))}
    if not text or re.fullmatch(r"[\w\s:.,!?-]+", text, flags=re.ASCII):
        raise ApiError(400, UNKNOWN_EMOJI, "Unknown Emoji")
    return text, {"id": None, "name": text}


class Engine:
    """Applies changes to the World and dispatches the matching gateway events."""

    def __init__(
        self, world: World, gateway: Gateway, *, bot_id: Callable[[], int], base_url: Callable[[], str]
    ) -> None:
        self.world = world
        self.gateway = gateway
        self._bot_id = bot_id
        self._base_url = base_url
        self.changed = asyncio.Condition()

    @property
    def bot_id(self) -> int:
        return self._bot_id()

    async def notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    # ---- messages ---------------------------------------------------------

    def store_attachment(self, channel_id: int, upload: Upload, description: str | None = None) -> Attachment:
        att_id = self.world.new_id()
        url = f"{self._base_url()}/attachments/{channel_id}/{att_id}/{upload.filename}"
        att = Attachment(att_id, upload.filename, upload.data, url, upload.content_type, description)
        self.world.attachments[att_id] = att
        return att

    def _attachments_for(self, channel_id: int, new: NewMessage) -> list[Attachment]:
        meta = {str(m.get("id")): m for m in new.attachments_meta}
        result = []
        for index, upload in enumerate(new.uploads):
            info = meta.get(str(index), {})
            upload.filename = str(info.get("filename") or upload.filename)
            result.append(self.store_attachment(channel_id, upload, info.get("description")))
        return result

    def _validate(self, new: NewMessage, *, allow_empty: bool) -> None:
        if len(new.content) > 2000:
            raise invalid_form("content", "Must be 2000 or fewer in length.", "BASE_TYPE_MAX_LENGTH")
        validate_embeds(new.embeds)
        if allow_empty:
            return
        if not (new.content or new.embeds or new.uploads or new.poll or new.components):
            raise ApiError(400, EMPTY_MESSAGE, "Cannot send an empty message")

    def _mentions(self, content: str, allowed: JSON | None, channel: Channel) -> tuple[list[int], list[int], bool]:
        guild = self.world.guild_of(channel)
        users = [int(u) for u in _USER_MENTION.findall(content) if int(u) in self.world.users]
        roles = [int(r) for r in _ROLE_MENTION.findall(content) if int(r) in guild.roles]
        everyone = "@everyone" in content or "@here" in content
        if allowed is None:
            return users, roles, everyone
        parse = set(allowed.get("parse") or [])
        allowed_users = {int(u) for u in allowed.get("users") or []}
        allowed_roles = {int(r) for r in allowed.get("roles") or []}
        users = [u for u in users if "users" in parse or u in allowed_users]
        roles = [r for r in roles if "roles" in parse or r in allowed_roles]
        return users, roles, everyone and "everyone" in parse

    def _check_reference(self, channel: Channel, new: NewMessage) -> Message | None:
        if new.reference is None:
            return None
        ref_id = int(new.reference.get("message_id") or 0)
        referenced = self.world.messages.get(ref_id)
        if referenced is None or referenced.deleted or referenced.channel_id != channel.id:
            if new.reference.get("fail_if_not_exists", True):
                raise invalid_form("message_reference", "Unknown message", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE")
            new.reference = None
            return None
        new.reference = {
            "type": 0,
            "message_id": str(ref_id),
            "channel_id": str(channel.id),
            "guild_id": str(channel.guild_id),
        }
        return referenced

    async def _touch_thread_for_send(self, channel: Channel) -> None:
        if not channel.is_thread:
            return
        if channel.archived and channel.locked:
            raise ApiError(400, THREAD_ARCHIVED, "Thread is locked")
        if channel.archived:
            channel.archived = False
            channel.archive_timestamp = now_iso()
            await self.dispatch_channel(channel, "THREAD_UPDATE")

    async def create_message(
        self,
        channel: Channel,
        author_id: int,
        new: NewMessage,
        *,
        message_id: int | None = None,
        allow_empty: bool = False,
    ) -> Message:
        """Validate and store a message, then dispatch MESSAGE_CREATE (not for ephemeral ones)."""
        self._validate(new, allow_empty=allow_empty)
        referenced = self._check_reference(channel, new)
        await self._touch_thread_for_send(channel)
        users, roles, everyone = self._mentions(new.content, new.allowed_mentions, channel)
        if referenced is not None and (new.allowed_mentions or {}).get("replied_user", True):
            if referenced.author_id not in users:
                users.append(referenced.author_id)
        msg = Message(
            id=message_id or self.world.new_id(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author_id=author_id,
            content=new.content,
            embeds=[{"type": "rich", **e} for e in new.embeds],
            type=19 if referenced is not None and new.type == 0 else new.type,
            flags=new.flags,
            nonce=new.nonce,
            reference=new.reference,
            mentions=users,
            mention_roles=roles,
            mention_everyone=everyone,
            webhook_id=new.webhook_id,
            interaction_metadata=new.interaction_metadata,
            components=new.components,
            poll=self._poll(new.poll),
        )
        msg.attachments = self._attachments_for(channel.id, new)
        await self._store_and_announce(channel, msg)
        return msg

    def _poll(self, poll: JSON | None) -> JSON | None:
        if poll is None:
            return None
        answers = [
            {"answer_id": i + 1, "poll_media": a.get("poll_media", {})} for i, a in enumerate(poll.get("answers", []))
        ]
        return {
            "question": poll.get("question", {}),
            "answers": answers,
            "expiry": now_iso(),
            "allow_multiselect": bool(poll.get("allow_multiselect")),
            "layout_type": poll.get("layout_type", 1),
            "results": {"is_finalized": False, "answer_counts": []},
        }

    async def _store_and_announce(self, channel: Channel, msg: Message) -> None:
        listed = not msg.ephemeral
        if channel.is_thread and listed:
            msg.position = channel.total_message_sent
            channel.message_count += 1
            channel.total_message_sent += 1
        self.world.add_message(msg, listed=listed)
        if listed:
            channel.last_message_id = msg.id
            await self.gateway.dispatch("MESSAGE_CREATE", self.message_event(msg), transform=self._content_filter)
        await self.notify()

    def message_event(self, msg: Message) -> JSON:
        return payloads.message(msg, self.world, me_id=self.bot_id, gateway=True)

    def message_json(self, msg: Message) -> JSON:
        return payloads.message(msg, self.world, me_id=self.bot_id)

    def _content_filter(self, session: Session, data: JSON) -> JSON:
        """Without MESSAGE_CONTENT, content-bearing fields are empty unless the bot wrote or is mentioned."""
        if session.intents & INTENT_MESSAGE_CONTENT:
            return data
        author = int(data.get("author", {}).get("id", 0))
        mentioned = any(int(u["id"]) == session.user_id for u in data.get("mentions", []))
        if author == session.user_id or mentioned:
            return data
        return {**data, "content": "", "embeds": [], "attachments": [], "components": []}

    async def edit_message(self, msg: Message, body: JSON, uploads: list[Upload]) -> Message:
        """PATCH semantics: only keys present change; dispatches MESSAGE_UPDATE for visible messages."""
        if "content" in body:
            content = str(body["content"] or "")
            if len(content) > 2000:
                raise invalid_form("content", "Must be 2000 or fewer in length.", "BASE_TYPE_MAX_LENGTH")
            msg.content = content
        if "embeds" in body:
            embeds = list(body["embeds"] or [])
            validate_embeds(embeds)
            msg.embeds = [{"type": "rich", **e} for e in embeds]
        if "components" in body:
            msg.components = list(body["components"] or [])
        if "flags" in body and body["flags"] is not None:
            msg.flags = (msg.flags & FLAG_EPHEMERAL) | int(body["flags"])
        self._edit_attachments(msg, body, uploads)
        msg.edited_timestamp = now_iso()
        await self.announce_update(msg)
        return msg

    def _edit_attachments(self, msg: Message, body: JSON, uploads: list[Upload]) -> None:
        if "attachments" not in body and not uploads:
            return
        meta = list(body.get("attachments") or [])
        if "attachments" in body:
            keep = {str(m.get("id")) for m in meta}
            msg.attachments = [a for a in msg.attachments if str(a.id) in keep]
        new = NewMessage(uploads=uploads, attachments_meta=meta)
        msg.attachments.extend(self._attachments_for(msg.channel_id, new))

    async def announce_update(self, msg: Message) -> None:
        if not msg.ephemeral:
            await self.gateway.dispatch("MESSAGE_UPDATE", self.message_event(msg), transform=self._content_filter)
        await self.notify()

    async def delete_message(self, msg: Message) -> None:
        msg.deleted = True
        channel = self.world.channel(msg.channel_id)
        if channel is not None and channel.is_thread and not msg.ephemeral:
            channel.message_count = max(0, channel.message_count - 1)
        if not msg.ephemeral:
            data = {"id": str(msg.id), "channel_id": str(msg.channel_id), "guild_id": str(msg.guild_id)}
            await self.gateway.dispatch("MESSAGE_DELETE", data)
        await self.notify()

    async def bulk_delete(self, channel: Channel, messages: list[Message]) -> None:
        for msg in messages:
            msg.deleted = True
        if channel.is_thread:
            channel.message_count = max(0, channel.message_count - len(messages))
        data = {"ids": [str(m.id) for m in messages], "channel_id": str(channel.id), "guild_id": str(channel.guild_id)}
        await self.gateway.dispatch("MESSAGE_DELETE_BULK", data)
        await self.notify()

    # ---- reactions ----------------------------------------------------------

    def _reaction_base(self, msg: Message, emoji: JSON) -> JSON:
        return {
            "channel_id": str(msg.channel_id),
            "message_id": str(msg.id),
            "guild_id": str(msg.guild_id),
            "emoji": emoji,
            "burst": False,
            "type": 0,
        }

    async def add_reaction(self, msg: Message, user_id: int, key: str, emoji: JSON) -> bool:
        """Add one user's reaction; returns False (and dispatches nothing) if it was already there."""
        reaction = msg.reactions.setdefault(key, Reaction(emoji=emoji))
        if user_id in reaction.user_ids:
            return False
        reaction.user_ids.append(user_id)
        data = {**self._reaction_base(msg, emoji), "user_id": str(user_id), "burst_colors": []}
        data["message_author_id"] = str(msg.author_id)
        guild = self.world.guilds.get(msg.guild_id or 0)
        if guild is not None and user_id in guild.members:
            data["member"] = payloads.member(guild.members[user_id], self.world)
        await self.gateway.dispatch("MESSAGE_REACTION_ADD", data)
        await self.notify()
        return True

    async def remove_reaction(self, msg: Message, user_id: int, key: str) -> bool:
        reaction = msg.reactions.get(key)
        if reaction is None or user_id not in reaction.user_ids:
            return False
        reaction.user_ids.remove(user_id)
        if not reaction.user_ids:
            del msg.reactions[key]
        data = {**self._reaction_base(msg, reaction.emoji), "user_id": str(user_id)}
        await self.gateway.dispatch("MESSAGE_REACTION_REMOVE", data)
        await self.notify()
        return True

    async def clear_reactions(self, msg: Message) -> None:
        msg.reactions.clear()
        data = {"channel_id": str(msg.channel_id), "message_id": str(msg.id), "guild_id": str(msg.guild_id)}
        await self.gateway.dispatch("MESSAGE_REACTION_REMOVE_ALL", data)
        await self.notify()

    async def clear_emoji(self, msg: Message, key: str) -> None:
        reaction = msg.reactions.pop(key, None)
        if reaction is None:
            return
        data = {
            "channel_id": str(msg.channel_id),
            "message_id": str(msg.id),
            "guild_id": str(msg.guild_id),
            "emoji": reaction.emoji,
        }
        await self.gateway.dispatch("MESSAGE_REACTION_REMOVE_EMOJI", data)
        await self.notify()

    # ---- channels and threads -----------------------------------------------

    def channel_event(self, channel: Channel) -> JSON:
        return payloads.channel(channel, viewer_id=self.bot_id)

    async def dispatch_channel(self, channel: Channel, event: str, **extra: Any) -> None:
        await self.gateway.dispatch(event, {**self.channel_event(channel), **extra})
        await self.notify()

    async def create_thread(
        self,
        parent: Channel,
        *,
        name: str,
        owner_id: int,
        thread_id: int | None = None,
        thread_type: int = PUBLIC_THREAD,
        auto_archive_duration: int = 1440,
        applied_tags: list[int] | None = None,
    ) -> Channel:
        """A new thread under parent; thread_id is the starter message id for threads from a message."""
        if not name or len(name) > 100:
            raise invalid_form("name", "Must be between 1 and 100 in length.", "BASE_TYPE_BAD_LENGTH")
        if auto_archive_duration not in (60, 1440, 4320, 10080):
            raise invalid_form("auto_archive_duration", "Value must be one of {60, 1440, 4320, 10080}.")
        thread = Channel(
            id=thread_id or self.world.new_id(),
            type=thread_type,
            guild_id=parent.guild_id,
            name=name,
            parent_id=parent.id,
            owner_id=owner_id,
            auto_archive_duration=auto_archive_duration,
            applied_tags=list(applied_tags or []),
        )
        thread.thread_members[owner_id] = ThreadMember(owner_id)
        self.world.guild_of(parent).channels[thread.id] = thread
        if parent.type == FORUM:
            parent.last_message_id = thread.id
        starter = self.world.messages.get(thread.id)
        if starter is not None and starter.channel_id == parent.id:
            starter.flags |= FLAG_HAS_THREAD
        await self.dispatch_channel(thread, "THREAD_CREATE", newly_created=True)
        return thread

    async def update_channel(self, channel: Channel, body: JSON) -> Channel:
        """PATCH /channels/{id} subset: name, topic, archive/lock, tags, slowmode."""
        if "name" in body:
            name = str(body["name"] or "")
            if not name or len(name) > 100:
                raise invalid_form("name", "Must be between 1 and 100 in length.", "BASE_TYPE_BAD_LENGTH")
            channel.name = name
        for key in ("topic", "rate_limit_per_user", "locked", "auto_archive_duration", "invitable"):
            if key in body and body[key] is not None:
                setattr(channel, key, body[key])
        if "archived" in body and body["archived"] is not None:
            channel.archived = bool(body["archived"])
            channel.archive_timestamp = now_iso()
        if "applied_tags" in body:
            channel.applied_tags = [int(t) for t in body["applied_tags"] or []]
        if "position" in body and body["position"] is not None:
            channel.position = int(body["position"])
        await self.dispatch_channel(channel, "THREAD_UPDATE" if channel.is_thread else "CHANNEL_UPDATE")
        return channel

    async def delete_channel(self, channel: Channel) -> None:
        guild = self.world.guild_of(channel)
        guild.channels.pop(channel.id, None)
        if channel.is_thread:
            data = {
                "id": str(channel.id),
                "guild_id": str(channel.guild_id),
                "parent_id": str(channel.parent_id),
                "type": channel.type,
            }
            await self.gateway.dispatch("THREAD_DELETE", data)
            await self.notify()
        else:
            await self.dispatch_channel(channel, "CHANNEL_DELETE")

    async def set_thread_member(self, thread: Channel, user_id: int, *, present: bool) -> None:
        """Add or remove a thread member; dispatches THREAD_MEMBERS_UPDATE on change."""
        if present == (user_id in thread.thread_members):
            return
        data: JSON = {"id": str(thread.id), "guild_id": str(thread.guild_id)}
        if present:
            thread.thread_members[user_id] = ThreadMember(user_id)
            data["added_members"] = [payloads.thread_member(thread, user_id)]
        else:
            del thread.thread_members[user_id]
            data["removed_member_ids"] = [str(user_id)]
        data["member_count"] = min(len(thread.thread_members), 50)
        await self.gateway.dispatch("THREAD_MEMBERS_UPDATE", data)
        await self.notify()
