"""The emulated Discord: one aiohttp server on 127.0.0.1 with REST, gateway and CDN, plus the test-side API."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

from . import payloads
from .contract import ContractChecker, Violation
from .engine import Engine, NewMessage, Upload, parse_emoji
from .gateway import CLOSE_SESSION_TIMED_OUT, INTENT_GUILD_MEMBERS, Gateway, Session
from .interactions import CommandRegistry, InteractionRecord, InteractionService, ResponseEvent
from .permissions import BOT_DEFAULT, EVERYONE_DEFAULT, MODERATOR_DEFAULT, flags
from .ratelimits import RateLimits
from .rest import RestApi
from .state import (
    CATEGORY,
    DISCORD_EPOCH_MS,
    FORUM,
    TEXT,
    Attachment,
    Channel,
    Guild,
    Member,
    Message,
    Overwrite,
    Role,
    User,
    World,
)

_log = logging.getLogger(__name__)

T = TypeVar("T")
FAKE_TOKEN = "MTAwMDAwMDAwMDAwMDAwMDAw.EMULATED.fake-token-for-tests-0123456789abcdef"


@dataclass
class DefaultGuild:
    """The seeded community: roles, members and channels tests refer to by attribute."""

    guild: Guild
    everyone: Role
    moderator_role: Role
    bot_role: Role
    owner: Member
    moderator: Member
    bot: Member
    members: list[Member]
    category: Channel
    general: Channel
    news: Channel
    forum: Channel


@dataclass
class Reply:
    """A snapshot of one interaction response message as the user would see it."""

    message_id: int
    content: str
    embeds: list[dict[str, Any]]
    files: list[tuple[str, bytes]]
    flags: int
    ephemeral: bool
    loading: bool


@dataclass
class SlashInvocation:
    """What invoke_slash returns: await the bot's answer(s)."""

    emu: Emulator
    record: InteractionRecord
    _replies: list[Reply] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def events(self) -> list[ResponseEvent]:
        return self.record.events

    def _reply(self, message_id: int | None) -> Reply | None:
        msg = self.emu.world.messages.get(message_id or 0)
        if msg is None or msg.deleted:
            return None
        return self.emu.reply_of(msg)

    @property
    def original(self) -> Reply | None:
        return self._reply(self.record.original_id)

    @property
    def followups(self) -> list[Reply]:
        return [r for r in (self._reply(i) for i in self.record.followup_ids) if r is not None]

    @property
    def replies(self) -> list[Reply]:
        original = self.original
        return ([original] if original else []) + self.followups

    async def response(self, within: float = 10.0) -> Reply:
        """The original response once it has content (after a deferral: once it was edited or followed up)."""

        def ready() -> Reply | None:
            original = self.original
            return original if original is not None and not original.loading else None

        return await self.emu.wait_for(ready, within, f"a response to /{self.record.command}")

    async def wait_followups(self, count: int, within: float = 10.0) -> list[Reply]:
        def ready() -> list[Reply] | None:
            found = self.followups
            return found if len(found) >= count else None

        return await self.emu.wait_for(ready, within, f"{count} follow-up(s) to /{self.record.command}")

    async def wait_reply(self, predicate: Callable[[Reply], bool], within: float = 10.0) -> Reply:
        """The first reply (original or follow-up, non-loading) matching predicate."""

        def ready() -> Reply | None:
            return next((r for r in self.replies if not r.loading and predicate(r)), None)

        return await self.emu.wait_for(ready, within, f"a matching reply to /{self.record.command}")

    async def callback_type(self, within: float = 10.0) -> int:
        return await self.emu.wait_for(lambda: self.record.callback_type, within, "an interaction callback")

    async def choices(self, within: float = 10.0) -> list[dict[str, Any]]:
        return await self.emu.wait_for(lambda: self.record.choices, within, "autocomplete choices")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Emulator:
    """Start with `await Emulator.start()`; point discord.py at `api_base` and `gateway_url`."""

    def __init__(
        self, *, token: str = FAKE_TOKEN, heartbeat_interval_ms: int = 41250, rate_limits: bool = True
    ) -> None:
        self.token = token
        self.rate_limits = RateLimits(enabled=rate_limits)
        self.world = World()
        self.owner_user = self._new_user("owner", bot=False)
        self.bot_user = self._new_user("Agora", bot=True)
        self.application_id = self.bot_user.id
        # The application's flags (GET /applications/@me): which privileged intents the portal enables.
        self.application_flags = 0
        self.shard_count = 1  # what GET /gateway/bot recommends
        self.port = 0
        self.gateway = Gateway(
            token=lambda: self.token,
            bot_user_id=lambda: self.bot_user.id,
            ready_events=self._ready_events,
            guild_members=self._guild_members,
            on_change=self._notify,
            heartbeat_interval_ms=heartbeat_interval_ms,
        )
        self.engine = Engine(self.world, self.gateway, bot_id=lambda: self.bot_user.id, base_url=lambda: self.http_base)
        self.commands = CommandRegistry(self.world, self.application_id)
        self.interactions = InteractionService(self.engine, self.commands)
        self.rest = RestApi(self)
        self.contract = ContractChecker()
        self._runner: web.AppRunner | None = None
        self.community: DefaultGuild | None = None

    # ---- lifecycle ----------------------------------------------------------

    @classmethod
    async def start(cls, **kwargs: Any) -> Emulator:
        emu = cls(**kwargs)
        await emu._serve()
        return emu

    async def _serve(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("GET", "/gateway", self.gateway.handle)
        app.middlewares.append(self.contract.middleware)  # outermost: sees each request first, each answer last
        self.rest.install(app)
        self.contract.require_documented(app.router)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        self.port = free_port()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        _log.info("Discord emulator listening on %s", self.http_base)

    async def stop(self) -> None:
        await self.gateway.shutdown()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def http_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        """Value for DISCORD_API_BASE / discord.http.Route.BASE."""
        return f"{self.http_base}/api/v10"

    @property
    def gateway_url(self) -> str:
        """Value for DISCORD_GATEWAY_URL / DiscordWebSocket.DEFAULT_GATEWAY (also READY's resume_gateway_url)."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    # ---- gateway glue -------------------------------------------------------

    async def _ready_events(self, session: Session) -> list[tuple[str, dict[str, Any]]]:
        ready = {
            "v": 10,
            "user": payloads.current_user(self.bot_user),
            "guilds": [{"id": str(g), "unavailable": True} for g in self.world.guilds if session.receives_guild(g)],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "user_settings": {},
            "auth": {},
            "_trace": ["emulator"],
        }
        with_members = bool(session.intents & INTENT_GUILD_MEMBERS)
        guilds = [
            ("GUILD_CREATE", payloads.guild(g, self.world, include_members=with_members, bot_id=self.bot_user.id))
            for g in self.world.guilds.values()
            if session.receives_guild(g.id)
        ]
        if session.shard is not None:
            ready["shard"] = list(session.shard)
        return [("READY", ready), *guilds]

    def _guild_members(self, guild_id: int) -> list[dict[str, Any]]:
        guild = self.world.guilds.get(guild_id)
        return [payloads.member(m, self.world) for m in guild.members.values()] if guild else []

    async def _notify(self) -> None:
        await self.engine.notify()

    # ---- waiting --------------------------------------------------------------

    async def wait_for(self, predicate: Callable[[], T | None], within: float = 10.0, what: str = "condition") -> T:
        """Re-check predicate whenever emulator state changes; return its first truthy result."""
        try:
            async with asyncio.timeout(within):
                async with self.engine.changed:
                    while True:
                        result = predicate()
                        if result:
                            return result
                        await self.engine.changed.wait()
        except TimeoutError:
            raise AssertionError(f"timed out after {within}s waiting for {what}\n{self.diagnostics()}") from None

    def diagnostics(self) -> str:
        """Recent REST errors and unknown routes, to explain a timeout."""
        lines = [f"unknown routes: {self.unknown_routes}"]
        lines += [f"  contract: {v}" for v in self.contract_violations[-15:]]
        lines += [f"  {e.status} {e.method} {e.path} {e.response}" for e in self.rest.errors[-15:]]
        return "\n".join(lines)

    @property
    def unknown_routes(self) -> list[str]:
        return self.rest.unknown_routes

    @property
    def contract_violations(self) -> list[Violation]:
        """Requests Discord would refuse and answers Discord would never send (see contract.py)."""
        return self.contract.violations

    @property
    def registered_commands(self) -> list[dict[str, Any]]:
        return self.commands.all

    async def wait_commands_synced(self, within: float = 30.0) -> list[dict[str, Any]]:
        return await self.wait_for(lambda: self.registered_commands, within, "application commands to be synced")

    async def wait_identified(self, count: int = 1, within: float = 30.0) -> None:
        await self.wait_for(lambda: self.gateway.identify_count >= count, within, f"IDENTIFY #{count}")

    async def wait_resumed(self, count: int = 1, within: float = 30.0) -> None:
        await self.wait_for(lambda: self.gateway.resume_count >= count, within, f"RESUME #{count}")

    # ---- seeding --------------------------------------------------------------

    def _new_user(self, username: str, *, bot: bool = False) -> User:
        user = User(self.world.new_id(), username, global_name=None if bot else username.title(), bot=bot)
        self.world.users[user.id] = user
        return user

    def create_guild(self, name: str = "Agora News", *, shard: tuple[int, int] | None = None) -> Guild:
        """A server; `shard=(id, count)` picks an id whose events Discord sends to that shard."""
        guild_id = self.world.new_id()
        if shard is not None:
            later = (shard[0] - (guild_id >> 22)) % shard[1]  # a snowflake at most count-1 ms later
            guild_id += later << 22
            self.world.snowflakes._last = max(self.world.snowflakes._last, guild_id)
        guild = Guild(id=guild_id, name=name, owner_id=self.owner_user.id)
        guild.roles[guild.id] = Role(guild.id, "@everyone", EVERYONE_DEFAULT, position=0)
        self.world.guilds[guild.id] = guild
        self._join(guild, self.owner_user)
        return guild

    def _join(self, guild: Guild, user: User, role_ids: list[int] | None = None) -> Member:
        member = Member(user=user, guild_id=guild.id, role_ids=list(role_ids or []))
        guild.members[user.id] = member
        return member

    def create_role(self, guild: Guild, name: str, permissions: int, *, bot_id: int | None = None) -> Role:
        role = Role(
            self.world.new_id(), name, permissions, position=len(guild.roles), managed=bot_id is not None, bot_id=bot_id
        )
        guild.roles[role.id] = role
        return role

    async def add_role(self, guild: Guild, name: str, permissions: int = 0) -> Role:
        """A role created while clients are connected: dispatches GUILD_ROLE_CREATE (create_role is silent)."""
        role = self.create_role(guild, name, permissions)
        await self.gateway.dispatch("GUILD_ROLE_CREATE", {"guild_id": str(guild.id), "role": payloads.role(role)})
        await self._notify()
        return role

    async def add_channel(self, guild: Guild, name: str, type: int = TEXT, *, parent: Channel | None = None) -> Channel:
        """A channel created while clients are connected: dispatches CHANNEL_CREATE (create_channel is silent)."""
        channel = self.create_channel(guild, name, type, parent=parent)
        await self.engine.dispatch_channel(channel, "CHANNEL_CREATE")
        return channel

    def create_channel(
        self, guild: Guild, name: str, type: int = TEXT, *, parent: Channel | None = None, tags: list[str] | None = None
    ) -> Channel:
        channel = Channel(
            self.world.new_id(),
            type,
            guild.id,
            name,
            position=len(guild.channels),
            parent_id=parent.id if parent else None,
        )
        if tags:
            channel.available_tags = [
                {"id": str(self.world.new_id()), "name": t, "moderated": False, "emoji_id": None, "emoji_name": None}
                for t in tags
            ]
        guild.channels[channel.id] = channel
        return channel

    def add_member(
        self,
        guild: Guild,
        username: str,
        roles: list[Role] | None = None,
        *,
        account_age: dt.timedelta | None = None,
        member_age: dt.timedelta | None = None,
    ) -> Member:
        """Silent: use before clients connect, or `await join_member(...)` which dispatches GUILD_MEMBER_ADD.

        `account_age`: the account was made that long ago (its id's timestamp says so, as on Discord);
        `member_age`: it joined the server that long ago. Default: both just now."""
        user = self._new_user(username)
        if account_age is not None:
            user = self._aged(user, account_age)
        member = self._join(guild, user, [r.id for r in roles or []])
        if member_age is not None:
            member.joined_at = (dt.datetime.now(dt.UTC) - member_age).isoformat()
        return member

    def _aged(self, user: User, age: dt.timedelta) -> User:
        """The same user with an id made `age` ago (the low bits keep it unique)."""
        del self.world.users[user.id]
        made_ms = int((dt.datetime.now(dt.UTC) - age).timestamp() * 1000) - DISCORD_EPOCH_MS
        aged = User((made_ms << 22) | (user.id & 0x3FFFFF), user.username, user.global_name, user.bot)
        self.world.users[aged.id] = aged
        return aged

    async def join_member(self, guild: Guild, username: str, roles: list[Role] | None = None) -> Member:
        member = self.add_member(guild, username, roles)
        data = {**payloads.member(member, self.world), "guild_id": str(guild.id)}
        await self.gateway.dispatch("GUILD_MEMBER_ADD", data)
        await self._notify()
        return member

    def seed_default_guild(self, member_count: int = 25) -> DefaultGuild:
        """A news community: @everyone, Moderator and bot roles, a moderator, members, text/forum channels."""
        self.community = self.seed_guild(member_count=member_count)
        return self.community

    def seed_guild(
        self, name: str = "Agora News", *, member_count: int = 25, shard: tuple[int, int] | None = None
    ) -> DefaultGuild:
        """A community like the default one (another server of a sharded bot: `shard=(id, count)`)."""
        guild = self.create_guild(name, shard=shard)
        moderator_role = self.create_role(guild, "Moderator", MODERATOR_DEFAULT)
        bot_role = self.create_role(guild, "Agora", BOT_DEFAULT, bot_id=self.bot_user.id)
        bot = self._join(guild, self.bot_user, [bot_role.id])
        moderator = self.add_member(guild, "moderator", [moderator_role])
        members = [self.add_member(guild, f"reader{i:02d}") for i in range(member_count)]
        category = self.create_channel(guild, "News", CATEGORY)
        general = self.create_channel(guild, "general", parent=category)
        news = self.create_channel(guild, "articles", parent=category)
        forum = self.create_channel(
            guild, "discussions", FORUM, parent=category, tags=["politics", "science", "culture"]
        )
        return DefaultGuild(
            guild,
            guild.everyone,
            moderator_role,
            bot_role,
            guild.members[self.owner_user.id],
            moderator,
            bot,
            members,
            category,
            general,
            news,
            forum,
        )

    async def set_overwrite(
        self, channel: Channel, target: Role | Member, *, allow: tuple[str, ...] = (), deny: tuple[str, ...] = ()
    ) -> None:
        """Set a channel permission overwrite (e.g. deny the bot embed_links) and dispatch CHANNEL_UPDATE."""
        kind = 0 if isinstance(target, Role) else 1
        channel.overwrites[target.id] = Overwrite(
            target.id, kind, flags(*allow) if allow else 0, flags(*deny) if deny else 0
        )
        await self.engine.dispatch_channel(channel, "CHANNEL_UPDATE")

    def set_command_permission(self, guild: Guild, command: str, target: Role | Member, *, allowed: bool) -> None:
        """What an admin does in Server Settings → Integrations: allow/deny a top-level command for a role/member."""
        self.commands.overrides.setdefault((guild.id, command), {})[target.id] = allowed

    async def set_member_roles(self, member: Member, roles: list[Role]) -> None:
        member.role_ids = [r.id for r in roles]
        data = {**payloads.member(member, self.world), "guild_id": str(member.guild_id)}
        await self.gateway.dispatch("GUILD_MEMBER_UPDATE", data)
        await self._notify()

    # ---- user actions -----------------------------------------------------------

    def _channel(self, channel: Channel | int) -> Channel:
        found = channel if isinstance(channel, Channel) else self.world.channel(channel)
        if found is None:
            raise LookupError(f"no channel {channel!r}")
        return found

    def _message(self, message: Message | int) -> Message:
        found = message if isinstance(message, Message) else self.world.messages.get(message)
        if found is None or found.deleted:
            raise LookupError(f"no message {message!r}")
        return found

    async def user_send_message(
        self,
        member: Member,
        channel: Channel | int,
        content: str,
        *,
        reply_to: Message | int | None = None,
        files: list[tuple[str, bytes]] | None = None,
    ) -> Message:
        target = self._channel(channel)
        new = NewMessage(content=content, uploads=[Upload(n, d) for n, d in files or []])
        if reply_to is not None:
            new.reference = {"message_id": str(self._message(reply_to).id)}
        return await self.engine.create_message(target, member.id, new)

    async def user_edit_message(self, message: Message | int, content: str) -> Message:
        return await self.engine.edit_message(self._message(message), {"content": content}, [])

    async def user_delete_message(self, message: Message | int) -> None:
        await self.engine.delete_message(self._message(message))

    async def user_add_reaction(
        self, member: Member, channel: Channel | int, message: Message | int, emoji: str
    ) -> bool:
        msg = self._message(message)
        if msg.channel_id != self._channel(channel).id:
            raise LookupError("message is not in that channel")
        key, data = parse_emoji(emoji, self.world.guilds[msg.guild_id or 0].emojis)
        return await self.engine.add_reaction(msg, member.id, key, data)

    async def user_remove_reaction(
        self, member: Member, channel: Channel | int, message: Message | int, emoji: str
    ) -> bool:
        msg = self._message(message)
        key, _ = parse_emoji(emoji, self.world.guilds[msg.guild_id or 0].emojis)
        return await self.engine.remove_reaction(msg, member.id, key)

    async def user_create_thread(self, member: Member, message: Message | int, name: str) -> Channel:
        msg = self._message(message)
        return await self.engine.create_thread(
            self._channel(msg.channel_id), name=name, owner_id=member.id, thread_id=msg.id
        )

    def upload_attachment(
        self, channel: Channel | int, filename: str, data: bytes, content_type: str = "text/plain"
    ) -> Attachment:
        """A file a user attached to a slash command; downloadable from the emulator's CDN URL."""
        return self.engine.store_attachment(self._channel(channel).id, Upload(filename, data, content_type))

    async def invoke_slash(
        self,
        member: Member,
        command: str,
        *,
        channel: Channel | int,
        options: dict[str, Any] | None = None,
        raw_options: list[dict[str, Any]] | None = None,
        locale: str = "en-US",
    ) -> SlashInvocation:
        """Run "/group sub" as member in channel. Option values: str/int/bool/float, Member, Role, Channel,
        Attachment or (filename, bytes). Raises CommandBlocked when Discord itself would refuse."""
        record = self.interactions.build(
            member, self._channel(channel), command, options=options, raw_options=raw_options, locale=locale
        )
        await self.gateway.dispatch("INTERACTION_CREATE", record.payload)
        return SlashInvocation(self, record)

    async def invoke_autocomplete(
        self, member: Member, command: str, *, channel: Channel | int, focused: str, options: dict[str, Any]
    ) -> SlashInvocation:
        record = self.interactions.build(
            member, self._channel(channel), command, options=options, raw_options=None, focused=focused
        )
        await self.gateway.dispatch("INTERACTION_CREATE", record.payload)
        return SlashInvocation(self, record)

    # ---- observation ------------------------------------------------------------

    def messages_in(self, channel: Channel | int) -> list[Message]:
        """Visible messages, oldest first (ephemeral ones are never listed)."""
        return self.world.listed_messages(self._channel(channel).id)

    def threads_of(self, channel: Channel | int) -> list[Channel]:
        parent = self._channel(channel)
        return [c for c in self.world.guild_of(parent).channels.values() if c.is_thread and c.parent_id == parent.id]

    def reactions_on(self, message: Message | int) -> dict[str, list[int]]:
        """emoji key (unicode or custom id) -> user ids, in the order they reacted."""
        msg = self.world.messages[message.id if isinstance(message, Message) else message]
        return {key: list(r.user_ids) for key, r in msg.reactions.items()}

    def reply_of(self, msg: Message) -> Reply:
        files = [(a.filename, a.data) for a in msg.attachments]
        return Reply(msg.id, msg.content, list(msg.embeds), files, msg.flags, msg.ephemeral, msg.loading)

    async def wait_for_message(
        self, channel: Channel | int, predicate: Callable[[Message], bool] = lambda m: True, within: float = 10.0
    ) -> Message:
        target = self._channel(channel)

        def found() -> Message | None:
            return next((m for m in self.messages_in(target) if predicate(m)), None)

        return await self.wait_for(found, within, f"a matching message in #{target.name}")

    async def wait_for_thread(
        self, channel: Channel | int, predicate: Callable[[Channel], bool] = lambda c: True, within: float = 10.0
    ) -> Channel:
        target = self._channel(channel)

        def found() -> Channel | None:
            return next((t for t in self.threads_of(target) if predicate(t)), None)

        return await self.wait_for(found, within, f"a matching thread in #{target.name}")

    # ---- gateway controls ---------------------------------------------------------

    async def force_reconnect(self) -> None:
        """op 7 RECONNECT: the client reconnects and RESUMEs (no events lost)."""
        await self.gateway.send_reconnect()

    async def disconnect_gateway(self, *, resumable: bool = False) -> None:
        """Drop the connection; unless resumable the session is invalidated so the client must IDENTIFY anew."""
        await self.gateway.close_all(code=CLOSE_SESSION_TIMED_OUT if not resumable else 4000, invalidate=not resumable)

    async def invalidate_session(self, *, resumable: bool = False) -> None:
        await self.gateway.send_invalid_session(resumable=resumable)

    async def pause_gateway(self) -> None:
        """Disconnect the bot and hold its reconnection; events meanwhile are replayed on RESUME."""
        await self.gateway.pause()

    async def resume_gateway(self) -> None:
        await self.gateway.resume()
