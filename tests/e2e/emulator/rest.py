"""Emulated Discord REST API v10 (the routes discord.py 2.x calls for what a bot does)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import payloads
from .engine import NewMessage, Upload, parse_emoji
from .errors import (
    CANNOT_EDIT_OTHERS_MESSAGE,
    MISSING_ACCESS,
    THREAD_ALREADY_CREATED,
    UNKNOWN_CHANNEL,
    UNKNOWN_GUILD,
    UNKNOWN_MEMBER,
    UNKNOWN_MESSAGE,
    UNKNOWN_USER,
    ApiError,
    invalid_form,
    missing_permissions,
    not_found,
)
from .permissions import channel_permissions, flags, names_of
from .state import FORUM, PRIVATE_THREAD, PUBLIC_THREAD, TEXT, Channel, Guild, Message

if TYPE_CHECKING:
    from .server import Emulator

_log = logging.getLogger(__name__)

JSON = dict[str, Any]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
API = "/api/v10"


@dataclass
class RequestRecord:
    method: str
    path: str
    status: int
    body: Any = None
    response: Any = None


def _json(data: Any, status: int = 200) -> web.Response:
    # discord.py's json_or_text() only parses a Content-Type of exactly "application/json" (no charset).
    return web.Response(body=json.dumps(data).encode(), status=status, content_type="application/json")


def _no_content() -> web.Response:
    return web.Response(status=204)


async def read_body(request: web.Request) -> tuple[Any, list[Upload]]:
    """JSON body, or multipart payload_json + files[n] as discord.py sends them; parsed once per request
    (the contract check reads it before the handler does)."""
    if _BODY_KEY not in request:
        request[_BODY_KEY] = await _parse_body(request)
    return request[_BODY_KEY]


_BODY_KEY = web.RequestKey("emulator_parsed_body", tuple[Any, list[Upload]])


async def _parse_body(request: web.Request) -> tuple[Any, list[Upload]]:
    if request.content_type.startswith("multipart/"):
        body: Any = {}
        uploads: list[Upload] = []
        reader = await request.multipart()
        async for part in reader:
            name = getattr(part, "name", None)
            data = await part.read()  # type: ignore[union-attr]
            if name == "payload_json":
                body = json.loads(data.decode())
            elif name and name.startswith("file"):
                content_type = part.headers.get("Content-Type", "application/octet-stream")  # type: ignore[union-attr]
                uploads.append(Upload(getattr(part, "filename", None) or name, bytes(data), content_type))
        return body, uploads
    raw = await request.read()
    return (json.loads(raw) if raw else {}), []


class RestApi:
    """aiohttp routes; every handler raises ApiError for Discord-style failures."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.world = emu.world
        self.engine = emu.engine
        self.requests: list[RequestRecord] = []
        self.unknown_routes: list[str] = []
        self.errors: list[RequestRecord] = []

    # ---- wiring -------------------------------------------------------------

    def install(self, app: web.Application) -> None:
        app.middlewares.append(self._middleware)
        app.middlewares.append(self.emu.rate_limits.middleware)  # inside: a 429 is recorded like any answer
        for method, path, handler in self._routes():
            app.router.add_route(method, API + path, handler)
        app.router.add_route("GET", "/attachments/{channel_id}/{attachment_id}/{filename}", self.download_attachment)
        app.router.add_route("*", "/{tail:.*}", self.unknown_route)

    def _routes(self) -> list[tuple[str, str, Handler]]:
        c, m = "/channels/{channel_id}", "/channels/{channel_id}/messages/{message_id}"
        r = m + "/reactions/{emoji}"
        hook = "/webhooks/{app_id}/{token}"
        return [
            ("GET", "/users/@me", self.get_me),
            ("GET", "/users/{user_id}", self.get_user),
            ("GET", "/gateway", self.get_gateway),
            ("GET", "/gateway/bot", self.get_gateway_bot),
            ("GET", "/oauth2/applications/@me", self.get_application),
            ("GET", "/applications/@me", self.get_application),
            ("GET", "/applications/{app_id}/commands", self.get_commands),
            ("PUT", "/applications/{app_id}/commands", self.put_commands),
            ("GET", "/applications/{app_id}/guilds/{guild_id}/commands", self.get_commands),
            ("PUT", "/applications/{app_id}/guilds/{guild_id}/commands", self.put_commands),
            ("GET", "/guilds/{guild_id}", self.get_guild),
            ("GET", "/guilds/{guild_id}/channels", self.get_guild_channels),
            ("GET", "/guilds/{guild_id}/roles", self.get_roles),
            ("GET", "/guilds/{guild_id}/members", self.list_members),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self.get_member),
            ("GET", "/guilds/{guild_id}/threads/active", self.active_threads),
            ("GET", c, self.get_channel),
            ("PATCH", c, self.patch_channel),
            ("DELETE", c, self.delete_channel),
            ("POST", c + "/typing", self.typing),
            ("GET", c + "/messages", self.list_messages),
            ("POST", c + "/messages", self.post_message),
            ("POST", c + "/messages/bulk-delete", self.bulk_delete),
            ("GET", m, self.get_message),
            ("PATCH", m, self.patch_message),
            ("DELETE", m, self.delete_message),
            ("POST", m + "/threads", self.thread_from_message),
            ("POST", c + "/threads", self.thread_without_message),
            ("GET", c + "/threads/archived/public", self.archived_threads),
            ("GET", c + "/thread-members", self.list_thread_members),
            ("PUT", c + "/thread-members/{user_id}", self.add_thread_member),
            ("DELETE", c + "/thread-members/{user_id}", self.remove_thread_member),
            ("GET", c + "/thread-members/{user_id}", self.get_thread_member),
            ("DELETE", m + "/reactions", self.clear_reactions),
            ("GET", r, self.list_reactions),
            ("DELETE", r, self.clear_emoji),
            ("PUT", r + "/{user_id}", self.add_own_reaction),
            ("DELETE", r + "/{user_id}", self.remove_reaction),
            ("POST", "/interactions/{interaction_id}/{token}/callback", self.interaction_callback),
            ("POST", hook, self.webhook_execute),
            ("GET", hook + "/messages/{message_id}", self.webhook_get),
            ("PATCH", hook + "/messages/{message_id}", self.webhook_edit),
            ("DELETE", hook + "/messages/{message_id}", self.webhook_delete),
        ]

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        needs_auth = request.path.startswith(API) and not request.path.startswith(
            (API + "/webhooks/", API + "/interactions/")
        )
        try:
            if needs_auth and request.headers.get("Authorization") != f"Bot {self.emu.token}":
                raise ApiError(401, 0, "401: Unauthorized")
            response = await handler(request)
        except ApiError as exc:
            response = _json(exc.body(), exc.status)
            self._record(request, response.status, exc.body(), error=True)
            _log.info("emulator %s %s -> %s %s", request.method, request.path, exc.status, exc.message)
            return response
        if request.path.startswith(API):
            self._record(request, response.status, None, error=response.status >= 400)
        return response

    def _record(self, request: web.Request, status: int, response: Any, *, error: bool) -> None:
        entry = RequestRecord(request.method, request.path_qs, status, None, response)
        self.requests.append(entry)
        if error:
            self.errors.append(entry)

    async def unknown_route(self, request: web.Request) -> web.Response:
        raise self._unknown(request)

    def _unknown(self, request: web.Request) -> ApiError:
        """Record a route the emulator does not implement (tests assert there are none) and 404 it."""
        route = f"{request.method} {request.path_qs}"
        self.unknown_routes.append(route)
        _log.warning("emulator: unknown route %s", route)
        return ApiError(404, 0, "404: Not Found")

    # ---- lookups and permission checks --------------------------------------

    def guild(self, request: web.Request) -> Guild:
        guild = self.world.guilds.get(int(request.match_info["guild_id"]))
        if guild is None:
            raise not_found(UNKNOWN_GUILD, "Guild")
        return guild

    def channel(self, request: web.Request) -> Channel:
        raw = request.match_info["channel_id"]
        if not raw.isdigit():
            raise self._unknown(request)
        channel = self.world.channel(int(raw))
        if channel is None:
            raise not_found(UNKNOWN_CHANNEL, "Channel")
        return channel

    def message(self, request: web.Request, channel: Channel) -> Message:
        raw = request.match_info["message_id"]
        if not raw.isdigit():
            raise self._unknown(request)  # e.g. /messages/pins looks like a message id to the router
        msg = self.world.messages.get(int(raw))
        if msg is None or msg.deleted or msg.ephemeral or msg.channel_id != channel.id:
            raise not_found(UNKNOWN_MESSAGE, "Message")
        return msg

    def require(self, channel: Channel, *names: str) -> None:
        """403 Missing Access without VIEW_CHANNEL, 403 Missing Permissions (50013) without the others."""
        have = channel_permissions(self.world, channel, self.emu.bot_user.id)
        if not have & flags("view_channel"):
            raise ApiError(403, MISSING_ACCESS, "Missing Access")
        needed = flags(*names) if names else 0
        if have & needed != needed:
            raise missing_permissions(names_of(needed & ~have))

    def _send_permission(self, channel: Channel) -> str:
        return "send_messages_in_threads" if channel.is_thread else "send_messages"

    # ---- users, gateway, application ----------------------------------------

    async def get_me(self, request: web.Request) -> web.Response:
        return _json(payloads.current_user(self.emu.bot_user))

    async def get_user(self, request: web.Request) -> web.Response:
        raw = request.match_info["user_id"]
        user = self.world.users.get(int(raw)) if raw.isdigit() else None
        if user is None:
            raise not_found(UNKNOWN_USER, "User")
        return _json(payloads.user(user))

    async def get_gateway(self, request: web.Request) -> web.Response:
        return _json({"url": self.emu.gateway_url})

    async def get_gateway_bot(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        return _json({"url": self.emu.gateway_url, "shards": self.emu.shard_count, "session_start_limit": limit})

    async def get_application(self, request: web.Request) -> web.Response:
        app = payloads.application(self.emu.application_id, self.emu.owner_user, self.emu.bot_user,
                                   self.emu.application_flags)  # fmt: skip
        return _json(app)

    def _check_app(self, request: web.Request) -> int | None:
        if request.match_info["app_id"] != str(self.emu.application_id):
            raise ApiError(404, 10002, "Unknown Application")
        raw = request.match_info.get("guild_id")
        if raw is None:
            return None
        self.guild(request)
        return int(raw)

    async def get_commands(self, request: web.Request) -> web.Response:
        guild_id = self._check_app(request)
        return _json(self.emu.commands.scope(guild_id))

    async def put_commands(self, request: web.Request) -> web.Response:
        guild_id = self._check_app(request)
        body, _ = await read_body(request)
        stored = self.emu.commands.overwrite(guild_id, body)
        await self.engine.notify()
        return _json(stored)

    # ---- guilds -------------------------------------------------------------

    async def get_guild(self, request: web.Request) -> web.Response:
        guild = self.guild(request)
        data = payloads.guild_object(guild)
        if request.query.get("with_counts") in ("1", "true"):
            data.update(approximate_member_count=len(guild.members), approximate_presence_count=0)
        return _json(data)

    async def get_guild_channels(self, request: web.Request) -> web.Response:
        guild = self.guild(request)
        return _json([payloads.channel(c) for c in guild.channels.values() if not c.is_thread])

    async def get_roles(self, request: web.Request) -> web.Response:
        return _json([payloads.role(r) for r in self.guild(request).roles.values()])

    async def list_members(self, request: web.Request) -> web.Response:
        guild = self.guild(request)
        limit = min(int(request.query.get("limit", 1)), 1000)
        after = int(request.query.get("after", 0))
        members = sorted((m for m in guild.members.values() if m.id > after), key=lambda m: m.id)[:limit]
        return _json([payloads.member(m, self.world) for m in members])

    async def get_member(self, request: web.Request) -> web.Response:
        guild = self.guild(request)
        raw = request.match_info["user_id"]
        member = guild.members.get(int(raw)) if raw.isdigit() else None
        if member is None:
            raise not_found(UNKNOWN_MEMBER, "Member")
        return _json(payloads.member(member, self.world))

    async def active_threads(self, request: web.Request) -> web.Response:
        guild = self.guild(request)
        me = self.emu.bot_user.id
        threads = [c for c in guild.channels.values() if c.is_thread and not c.archived]
        members = [payloads.thread_member(t, me) for t in threads if me in t.thread_members]
        return _json({"threads": [payloads.channel(t) for t in threads], "members": members})

    # ---- channels -----------------------------------------------------------

    async def get_channel(self, request: web.Request) -> web.Response:
        channel = self.channel(request)
        self.require(channel)
        return _json(payloads.channel(channel, viewer_id=self.emu.bot_user.id))

    async def patch_channel(self, request: web.Request) -> web.Response:
        channel = self.channel(request)
        body, _ = await read_body(request)
        self._check_channel_patch(channel, body)
        await self.engine.update_channel(channel, body)
        return _json(payloads.channel(channel, viewer_id=self.emu.bot_user.id))

    def _check_channel_patch(self, channel: Channel, body: JSON) -> None:
        if not channel.is_thread:
            self.require(channel, "manage_channels")
            return
        own = channel.owner_id == self.emu.bot_user.id
        if "locked" in body or not own:
            self.require(channel, "manage_threads")
        else:
            self.require(channel)

    async def delete_channel(self, request: web.Request) -> web.Response:
        channel = self.channel(request)
        self.require(channel, "manage_threads" if channel.is_thread else "manage_channels")
        data = payloads.channel(channel)
        await self.engine.delete_channel(channel)
        return _json(data)

    async def typing(self, request: web.Request) -> web.Response:
        channel = self.channel(request)
        self.require(channel, self._send_permission(channel))
        return _no_content()

    # ---- messages -----------------------------------------------------------

    async def list_messages(self, request: web.Request) -> web.Response:
        channel = self.channel(request)
        self.require(channel, "read_message_history")
        limit = int(request.query.get("limit", 50))
        if not 1 <= limit <= 100:
            raise invalid_form("limit", "Must be between 1 and 100.")
        msgs = self.world.listed_messages(channel.id)  # oldest first
        before, after = request.query.get("before"), request.query.get("after")
        if before:
            msgs = [m for m in msgs if m.id < int(before)][-limit:]
        elif after:
            msgs = [m for m in msgs if m.id > int(after)][:limit]
        else:
            msgs = msgs[-limit:]
        return _json([self.engine.message_json(m) for m in reversed(msgs)])

    async def get_message(self, request: web.Request) -> web.Response:
        channel = self.channel(request)
        self.require(channel, "read_message_history")
        return _json(self.engine.message_json(self.message(request, channel)))

    async def post_message(self, request: web.Request) -> web.Response:
        channel = self.channel(request)
        if channel.type not in (TEXT, 5) and not channel.is_thread:
            raise ApiError(400, 50008, "Cannot send messages in a non-text channel")
        body, uploads = await read_body(request)
        new = NewMessage.from_body(body, uploads)
        self._require_for_message(channel, new)
        duplicate = self._enforced_nonce_duplicate(channel, body)
        if duplicate is not None:
            return _json(self.engine.message_json(duplicate))
        msg = await self.engine.create_message(channel, self.emu.bot_user.id, new)
        return _json(self.engine.message_json(msg))

    def _require_for_message(self, channel: Channel, new: NewMessage) -> None:
        needed = [self._send_permission(channel)]
        if new.embeds:
            needed.append("embed_links")
        if new.uploads:
            needed.append("attach_files")
        if new.reference is not None:
            needed.append("read_message_history")
        self.require(channel, *needed)

    def _enforced_nonce_duplicate(self, channel: Channel, body: JSON) -> Message | None:
        nonce = body.get("nonce")
        if nonce is None or not body.get("enforce_nonce"):
            return None
        for msg in reversed(self.world.listed_messages(channel.id)):
            if msg.nonce == nonce and msg.author_id == self.emu.bot_user.id:
                return msg
        return None

    async def patch_message(self, request: web.Request) -> web.Response:
        channel = self.channel(request)
        self.require(channel)
        msg = self.message(request, channel)
        body, uploads = await read_body(request)
        if msg.author_id != self.emu.bot_user.id and set(body) - {"flags"}:
            raise ApiError(403, CANNOT_EDIT_OTHERS_MESSAGE, "Cannot edit a message authored by another user")
        if body.get("embeds"):
            self.require(channel, "embed_links")
        await self.engine.edit_message(msg, body, uploads)
        return _json(self.engine.message_json(msg))

    async def delete_message(self, request: web.Request) -> web.Response:
        channel = self.channel(request)
        msg = self.message(request, channel)
        if msg.author_id != self.emu.bot_user.id:
            self.require(channel, "manage_messages")
        await self.engine.delete_message(msg)
        return _no_content()

    async def bulk_delete(self, request: web.Request) -> web.Response:
        channel = self.channel(request)
        self.require(channel, "manage_messages")
        body, _ = await read_body(request)
        ids = [int(i) for i in body.get("messages", [])]
        if not 2 <= len(ids) <= 100:
            raise invalid_form("messages", "Must be between 2 and 100 in length.", "BASE_TYPE_BAD_LENGTH")
        found = [self.world.messages[i] for i in ids if i in self.world.messages]
        await self.engine.bulk_delete(channel, [m for m in found if m.channel_id == channel.id and not m.deleted])
        return _no_content()

    # ---- threads ------------------------------------------------------------

    async def thread_from_message(self, request: web.Request) -> web.Response:
        channel = self.channel(request)
        msg = self.message(request, channel)
        if channel.type != TEXT:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        self.require(channel, "create_public_threads", "read_message_history")
        if self.world.channel(msg.id) is not None:
            raise ApiError(400, THREAD_ALREADY_CREATED, "A thread has already been created for this message")
        body, _ = await read_body(request)
        thread = await self.engine.create_thread(
            channel,
            name=str(body.get("name") or ""),
            owner_id=self.emu.bot_user.id,
            thread_id=msg.id,
            auto_archive_duration=int(body.get("auto_archive_duration") or 1440),
        )
        return _json(payloads.channel(thread, viewer_id=self.emu.bot_user.id), 201)

    async def thread_without_message(self, request: web.Request) -> web.Response:
        channel = self.channel(request)
        body, uploads = await read_body(request)
        if channel.type == FORUM:
            return await self._forum_post(channel, body, uploads)
        kind = int(body.get("type") or PRIVATE_THREAD)
        if kind not in (PUBLIC_THREAD, PRIVATE_THREAD) or channel.type != TEXT:
            raise invalid_form("type", "Invalid thread type for this channel")
        self.require(channel, "create_public_threads" if kind == PUBLIC_THREAD else "create_private_threads")
        thread = await self.engine.create_thread(
            channel,
            name=str(body.get("name") or ""),
            owner_id=self.emu.bot_user.id,
            thread_type=kind,
            auto_archive_duration=int(body.get("auto_archive_duration") or 1440),
        )
        return _json(payloads.channel(thread, viewer_id=self.emu.bot_user.id), 201)

    async def _forum_post(self, forum: Channel, body: JSON, uploads: list[Upload]) -> web.Response:
        """Forum post: a thread plus its starter message; the message id equals the thread id."""
        if "message" not in body or not isinstance(body["message"], dict):
            raise invalid_form("message", "This field is required", "BASE_TYPE_REQUIRED")
        new = NewMessage.from_body(body["message"], uploads)
        self._require_for_message(forum, new)
        tag_ids = {str(t["id"]) for t in forum.available_tags}
        applied = [str(t) for t in body.get("applied_tags") or []]
        if any(t not in tag_ids for t in applied):
            raise invalid_form("applied_tags", "Unknown tag")
        thread = await self.engine.create_thread(
            forum,
            name=str(body.get("name") or ""),
            owner_id=self.emu.bot_user.id,
            auto_archive_duration=int(body.get("auto_archive_duration") or 1440),
            applied_tags=[int(t) for t in applied],
        )
        starter = await self.engine.create_message(thread, self.emu.bot_user.id, new, message_id=thread.id)
        data = payloads.channel(thread, viewer_id=self.emu.bot_user.id)
        data["message"] = self.engine.message_json(starter)
        return _json(data, 201)

    async def archived_threads(self, request: web.Request) -> web.Response:
        channel = self.channel(request)
        self.require(channel, "read_message_history")
        guild = self.world.guild_of(channel)
        threads = [c for c in guild.channels.values() if c.is_thread and c.parent_id == channel.id and c.archived]
        me = self.emu.bot_user.id
        members = [payloads.thread_member(t, me) for t in threads if me in t.thread_members]
        return _json({"threads": [payloads.channel(t) for t in threads], "members": members, "has_more": False})

    def _thread(self, request: web.Request) -> Channel:
        thread = self.channel(request)
        if not thread.is_thread:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        return thread

    def _thread_user(self, request: web.Request) -> int:
        raw = request.match_info["user_id"]
        if raw == "@me":
            return self.emu.bot_user.id
        if not raw.isdigit() or int(raw) not in self.world.users:
            raise not_found(UNKNOWN_USER, "User")
        return int(raw)

    async def list_thread_members(self, request: web.Request) -> web.Response:
        thread = self._thread(request)
        self.require(thread)
        return _json([payloads.thread_member(thread, uid) for uid in thread.thread_members])

    async def get_thread_member(self, request: web.Request) -> web.Response:
        thread = self._thread(request)
        user_id = self._thread_user(request)
        if user_id not in thread.thread_members:
            raise not_found(UNKNOWN_MEMBER, "Member")
        return _json(payloads.thread_member(thread, user_id))

    async def add_thread_member(self, request: web.Request) -> web.Response:
        thread = self._thread(request)
        user_id = self._thread_user(request)
        self.require(thread, "send_messages_in_threads")
        if thread.archived:
            raise ApiError(400, 50083, "Thread is archived")
        await self.engine.set_thread_member(thread, user_id, present=True)
        return _no_content()

    async def remove_thread_member(self, request: web.Request) -> web.Response:
        thread = self._thread(request)
        user_id = self._thread_user(request)
        if user_id != self.emu.bot_user.id:
            self.require(thread, "manage_threads")
        await self.engine.set_thread_member(thread, user_id, present=False)
        return _no_content()

    # ---- reactions ----------------------------------------------------------

    def _reaction_target(self, request: web.Request) -> tuple[Channel, Message, str, JSON]:
        channel = self.channel(request)
        msg = self.message(request, channel)
        key, emoji = parse_emoji(request.match_info["emoji"], self.world.guild_of(channel).emojis)
        return channel, msg, key, emoji

    async def add_own_reaction(self, request: web.Request) -> web.Response:
        if request.match_info["user_id"] != "@me":
            raise ApiError(405, 0, "405: Method Not Allowed")
        channel, msg, key, emoji = self._reaction_target(request)
        needed = ["read_message_history"] + ([] if key in msg.reactions else ["add_reactions"])
        self.require(channel, *needed)
        if key not in msg.reactions and len(msg.reactions) >= 20:
            raise ApiError(400, 30010, "Maximum number of reactions reached (20)")
        await self.engine.add_reaction(msg, self.emu.bot_user.id, key, emoji)
        return _no_content()

    async def remove_reaction(self, request: web.Request) -> web.Response:
        channel, msg, key, _ = self._reaction_target(request)
        raw = request.match_info["user_id"]
        if raw == "@me":
            user_id = self.emu.bot_user.id
            self.require(channel)
        else:
            user_id = int(raw) if raw.isdigit() else 0
            self.require(channel, "manage_messages")
        await self.engine.remove_reaction(msg, user_id, key)
        return _no_content()

    async def list_reactions(self, request: web.Request) -> web.Response:
        channel, msg, key, _ = self._reaction_target(request)
        self.require(channel, "read_message_history")
        limit = int(request.query.get("limit", 25))
        if not 1 <= limit <= 100:
            raise invalid_form("limit", "Must be between 1 and 100.")
        after = int(request.query.get("after", 0))
        reaction = msg.reactions.get(key)
        user_ids = sorted(u for u in (reaction.user_ids if reaction else []) if u > after)[:limit]
        return _json([payloads.user(self.world.users[u]) for u in user_ids])

    async def clear_emoji(self, request: web.Request) -> web.Response:
        channel, msg, key, _ = self._reaction_target(request)
        self.require(channel, "manage_messages")
        await self.engine.clear_emoji(msg, key)
        return _no_content()

    async def clear_reactions(self, request: web.Request) -> web.Response:
        channel = self.channel(request)
        msg = self.message(request, channel)
        self.require(channel, "manage_messages")
        await self.engine.clear_reactions(msg)
        return _no_content()

    # ---- interactions and webhooks ------------------------------------------

    async def interaction_callback(self, request: web.Request) -> web.Response:
        raw_id = request.match_info["interaction_id"]
        record = self.emu.interactions.lookup(int(raw_id) if raw_id.isdigit() else 0, request.match_info["token"])
        body, uploads = await read_body(request)
        result = await self.emu.interactions.callback(record, body, uploads)
        if request.query.get("with_response") in ("1", "true", "True"):
            return _json(result)
        return _no_content()

    def _hook_record(self, request: web.Request) -> Any:
        raw = request.match_info["app_id"]
        return self.emu.interactions.by_webhook(int(raw) if raw.isdigit() else 0, request.match_info["token"])

    async def webhook_execute(self, request: web.Request) -> web.Response:
        record = self._hook_record(request)
        body, uploads = await read_body(request)
        msg = await self.emu.interactions.followup(record, body, uploads)
        if request.query.get("wait") in ("1", "true", "True"):
            return _json(self.engine.message_json(msg))
        return _no_content()

    async def webhook_get(self, request: web.Request) -> web.Response:
        record = self._hook_record(request)
        msg = self.emu.interactions.owned_message(record, request.match_info["message_id"])
        return _json(self.engine.message_json(msg))

    async def webhook_edit(self, request: web.Request) -> web.Response:
        record = self._hook_record(request)
        body, uploads = await read_body(request)
        msg = await self.emu.interactions.edit(record, request.match_info["message_id"], body, uploads)
        return _json(self.engine.message_json(msg))

    async def webhook_delete(self, request: web.Request) -> web.Response:
        record = self._hook_record(request)
        await self.emu.interactions.delete(record, request.match_info["message_id"])
        return _no_content()

    # ---- CDN ----------------------------------------------------------------

    async def download_attachment(self, request: web.Request) -> web.Response:
        raw = request.match_info["attachment_id"]
        att = self.world.attachments.get(int(raw)) if raw.isdigit() else None
        if att is None or att.filename != request.match_info["filename"]:
            raise ApiError(404, 0, "404: Not Found")
        return web.Response(body=att.data, content_type=att.content_type.split(";")[0])
