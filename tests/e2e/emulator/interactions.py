"""Application commands registry, INTERACTION_CREATE building and interaction responses."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from . import payloads
from .engine import Engine, NewMessage, Upload
from .errors import ALREADY_ACKNOWLEDGED, UNKNOWN_MESSAGE, UNKNOWN_WEBHOOK, ApiError, invalid_form
from .permissions import ADMINISTRATOR, base_permissions, channel_permissions
from .state import FLAG_EPHEMERAL, FLAG_LOADING, Attachment, Channel, Member, Message, Role, User, World, now_iso

JSON = dict[str, Any]

APPLICATION_COMMAND = 2
AUTOCOMPLETE = 4

_NAME = re.compile(r"^[-_\w]{1,32}$")
_SUB_COMMAND, _SUB_GROUP = 1, 2
_STRING, _INTEGER, _BOOLEAN, _USER, _CHANNEL, _ROLE, _MENTIONABLE, _NUMBER, _ATTACHMENT = 3, 4, 5, 6, 7, 8, 9, 10, 11
ATTACHMENT_SIZE_LIMIT = 25 * 1024 * 1024


class CommandBlocked(Exception):
    """Discord itself would not let this member run the command (default_member_permissions)."""


@dataclass
class ResponseEvent:
    """One thing the bot did in answer to an interaction (for assertions and debugging)."""

    kind: str  # callback | edit_original | delete_original | followup | edit_followup | delete_followup
    callback_type: int | None
    flags: int
    content: str | None
    embeds: list[JSON]
    filenames: list[str]
    at: str = field(default_factory=now_iso)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & FLAG_EPHEMERAL)


@dataclass
class InteractionRecord:
    id: int
    token: str
    type: int
    command: str
    user_id: int
    channel_id: int
    guild_id: int
    payload: JSON
    callback_type: int | None = None
    callback_data: JSON | None = None
    original_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    choices: list[JSON] | None = None
    modal: JSON | None = None
    events: list[ResponseEvent] = field(default_factory=list)


@dataclass
class _Resolved:
    users: dict[str, JSON] = field(default_factory=dict)
    members: dict[str, JSON] = field(default_factory=dict)
    roles: dict[str, JSON] = field(default_factory=dict)
    channels: dict[str, JSON] = field(default_factory=dict)
    attachments: dict[str, JSON] = field(default_factory=dict)

    def to_json(self) -> JSON:
        return {k: v for k, v in vars(self).items() if v}


def _string_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


class CommandRegistry:
    """Bulk-overwritten application commands, global and per guild."""

    def __init__(self, world: World, app_id: int) -> None:
        self.world = world
        self.app_id = app_id
        self.global_commands: list[JSON] = []
        self.guild_commands: dict[int, list[JSON]] = {}
        self.sync_count = 0
        # Server Settings → Integrations: (guild id, command name) → {role or user id: allowed}.
        self.overrides: dict[tuple[int, str], dict[int, bool]] = {}

    def overwrite(self, guild_id: int | None, body: Any) -> list[JSON]:
        if not isinstance(body, list):
            raise invalid_form("_", "Expected a list of commands.", "LIST_TYPE_CONVERT")
        if len(body) > 100:
            raise invalid_form("_", "Must be 100 or fewer in length.", "BASE_TYPE_MAX_LENGTH")
        existing = {(c["name"], c.get("type", 1)): c for c in self.scope(guild_id)}
        stored = [self._store(i, cmd, existing, guild_id) for i, cmd in enumerate(body)]
        if guild_id is None:
            self.global_commands = stored
        else:
            self.guild_commands[guild_id] = stored
        self.sync_count += 1
        return stored

    def scope(self, guild_id: int | None) -> list[JSON]:
        return self.global_commands if guild_id is None else self.guild_commands.get(guild_id, [])

    def _store(self, index: int, cmd: JSON, existing: dict[tuple[str, int], JSON], guild_id: int | None) -> JSON:
        kind = int(cmd.get("type", 1))
        _validate_command(cmd, f"{index}", chat_input=kind == 1)
        previous = existing.get((cmd["name"], kind))
        data = {
            "description": "",
            "contexts": None,
            **cmd,
            "id": previous["id"] if previous else str(self.world.new_id()),
            "application_id": str(self.app_id),
            "version": str(self.world.new_id()),
            "type": kind,
            # Discord answers permissions as a string and fills in the defaults of fields sent as null.
            "default_member_permissions": _string_or_none(cmd.get("default_member_permissions")),
            "integration_types": cmd.get("integration_types") or [0],
            "nsfw": bool(cmd.get("nsfw")),
        }
        if guild_id is not None:
            data["guild_id"] = str(guild_id)
        return data

    def find(self, guild_id: int, name: str) -> JSON | None:
        for cmd in self.scope(guild_id) + self.global_commands:
            if cmd["name"] == name and cmd.get("type", 1) == 1:
                return cmd
        return None

    @property
    def all(self) -> list[JSON]:
        return self.global_commands + [c for cmds in self.guild_commands.values() for c in cmds]


def _validate_command(cmd: JSON, path: str, *, chat_input: bool) -> None:
    name = str(cmd.get("name") or "")
    if not _NAME.match(name) or (chat_input and name != name.lower()):
        raise invalid_form(f"{path}.name", "Command name is invalid", "APPLICATION_COMMAND_INVALID_NAME")
    description = str(cmd.get("description") or "")
    if chat_input and not 1 <= len(description) <= 100:
        raise invalid_form(f"{path}.description", "Must be between 1 and 100 in length.", "BASE_TYPE_BAD_LENGTH")
    options = cmd.get("options") or []
    if len(options) > 25:
        raise invalid_form(f"{path}.options", "Must be 25 or fewer in length.", "BASE_TYPE_MAX_LENGTH")
    names = [o.get("name") for o in options]
    if len(set(names)) != len(names):
        raise invalid_form(
            f"{path}.options", "Option names must be unique", "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS"
        )
    seen_optional = False
    for i, opt in enumerate(options):
        if opt.get("type") in (_SUB_COMMAND, _SUB_GROUP):
            _validate_command(opt, f"{path}.options.{i}", chat_input=True)
            continue
        _validate_command({**opt, "options": []}, f"{path}.options.{i}", chat_input=True)
        if len(opt.get("choices") or []) > 25:
            raise invalid_form(f"{path}.options.{i}.choices", "Must be 25 or fewer in length.", "BASE_TYPE_MAX_LENGTH")
        if opt.get("required"):
            if seen_optional:
                raise invalid_form(f"{path}.options.{i}", "Required options must be placed before non-required options")
        else:
            seen_optional = True


class InteractionService:
    """Builds INTERACTION_CREATE payloads and applies the bot's responses to them."""

    def __init__(self, engine: Engine, registry: CommandRegistry) -> None:
        self.engine = engine
        self.world = engine.world
        self.registry = registry
        self.records: dict[int, InteractionRecord] = {}
        self.by_token: dict[str, InteractionRecord] = {}

    # ---- building -----------------------------------------------------------

    def build(
        self,
        member: Member,
        channel: Channel,
        command: str,
        *,
        options: dict[str, Any] | None,
        raw_options: list[JSON] | None,
        focused: str | None = None,
        locale: str = "en-US",
    ) -> InteractionRecord:
        path = command.split()
        guild = self.world.guild_of(channel)
        cmd = self.registry.find(guild.id, path[0])
        if cmd is None:
            raise LookupError(f"/{path[0]} is not registered (registered: {[c['name'] for c in self.registry.all]})")
        self._check_allowed(cmd, member, channel)
        resolved = _Resolved()
        if raw_options is not None:
            opts = raw_options
        else:
            opts = self._options_for_path(cmd, path[1:], options or {}, resolved, channel, focused)
        data: JSON = {"id": cmd["id"], "name": cmd["name"], "type": 1, "options": opts}
        if resolved.to_json():
            data["resolved"] = resolved.to_json()
        if "guild_id" in cmd:
            data["guild_id"] = cmd["guild_id"]
        kind = AUTOCOMPLETE if focused is not None else APPLICATION_COMMAND
        return self._record(kind, command, member, channel, data, locale)

    def _check_allowed(self, cmd: JSON, member: Member, channel: Channel) -> None:
        guild = self.world.guild_of(channel)
        perms = base_permissions(guild, member.id)
        if perms & ADMINISTRATOR:
            return
        override = self._override(guild.id, cmd["name"], member)
        if override is not None:
            if not override:
                raise CommandBlocked(f"{member.user.username} is denied /{cmd['name']} by a server override")
            return
        required = cmd.get("default_member_permissions")
        if required is None:
            return
        if int(required) == 0 or (perms & int(required)) != int(required):
            raise CommandBlocked(
                f"{member.user.username} lacks default_member_permissions={required} for /{cmd['name']}"
            )

    def _override(self, guild_id: int, name: str, member: Member) -> bool | None:
        """Integrations overrides: the member's own, else any of their roles', else @everyone's."""
        rules = self.registry.overrides.get((guild_id, name), {})
        if member.id in rules:
            return rules[member.id]
        from_roles = [rules[r] for r in member.role_ids if r in rules]
        if from_roles:
            return any(from_roles)
        return rules.get(guild_id)

    def _options_for_path(
        self,
        cmd: JSON,
        sub_path: list[str],
        given: dict[str, Any],
        resolved: _Resolved,
        channel: Channel,
        focused: str | None,
    ) -> list[JSON]:
        schema: list[JSON] = cmd.get("options") or []
        if not sub_path:
            return self._leaf_options(schema, given, resolved, channel, focused, cmd["name"])
        head = next((o for o in schema if o["name"] == sub_path[0] and o["type"] in (_SUB_COMMAND, _SUB_GROUP)), None)
        if head is None:
            raise LookupError(f"/{cmd['name']} has no subcommand {sub_path[0]!r}")
        inner = self._options_for_path(head, sub_path[1:], given, resolved, channel, focused)
        return [{"name": head["name"], "type": head["type"], "options": inner}]

    def _leaf_options(
        self,
        schema: list[JSON],
        given: dict[str, Any],
        resolved: _Resolved,
        channel: Channel,
        focused: str | None,
        name: str,
    ) -> list[JSON]:
        by_name = {o["name"]: o for o in schema}
        unknown = set(given) - set(by_name)
        if unknown:
            raise LookupError(f"/{name} has no option(s) {sorted(unknown)}; it has {sorted(by_name)}")
        missing = [o["name"] for o in schema if o.get("required") and o["name"] not in given and focused is None]
        if missing:
            raise LookupError(f"/{name} requires option(s) {missing}")
        result = []
        for opt_name, value in given.items():
            opt = by_name[opt_name]
            if opt_name == focused:
                result.append({"name": opt_name, "type": opt["type"], "value": str(value), "focused": True})
                continue
            result.append({"name": opt_name, "type": opt["type"], "value": self._value(opt, value, resolved, channel)})
        return result

    def _value(self, opt: JSON, value: Any, resolved: _Resolved, channel: Channel) -> Any:
        kind = opt["type"]
        if kind == _STRING:
            return str(value)
        if kind == _INTEGER:
            return int(value)
        if kind == _BOOLEAN:
            return bool(value)
        if kind == _NUMBER:
            return float(value)
        if kind == _CHANNEL:
            return self._resolve_channel(value, resolved, channel)
        if kind in (_USER, _MENTIONABLE) and not isinstance(value, Role):
            return self._resolve_user(value, resolved, channel)
        if kind in (_ROLE, _MENTIONABLE):
            return self._resolve_role(value, resolved, channel)
        if kind == _ATTACHMENT:
            return self._resolve_attachment(value, resolved, channel)
        raise LookupError(f"option type {kind} not supported by the emulator")

    def _resolve_channel(self, value: Any, resolved: _Resolved, here: Channel) -> str:
        target = value if isinstance(value, Channel) else self.world.channel(int(value))
        if target is None:
            raise LookupError(f"no channel {value!r}")
        data = {"id": str(target.id), "name": target.name, "type": target.type}
        data["permissions"] = str(channel_permissions(self.world, target, self.engine.bot_id))
        if target.is_thread:
            full = payloads.channel(target)
            data.update(parent_id=full["parent_id"], thread_metadata=full["thread_metadata"])
            data.update(
                owner_id=full["owner_id"], member_count=full["member_count"], message_count=full["message_count"]
            )
        resolved.channels[str(target.id)] = data
        return str(target.id)

    def _resolve_user(self, value: Any, resolved: _Resolved, here: Channel) -> str:
        user_id = value.id if isinstance(value, Member | User) else int(value)
        resolved.users[str(user_id)] = payloads.user(self.world.users[user_id])
        member = self.world.guild_of(here).members.get(user_id)
        if member is not None:
            perms = channel_permissions(self.world, here, user_id)
            resolved.members[str(user_id)] = payloads.member(member, self.world, with_user=False, permissions=perms)
        return str(user_id)

    def _resolve_role(self, value: Any, resolved: _Resolved, here: Channel) -> str:
        role = value if isinstance(value, Role) else self.world.guild_of(here).roles[int(value)]
        resolved.roles[str(role.id)] = payloads.role(role)
        return str(role.id)

    def _resolve_attachment(self, value: Any, resolved: _Resolved, here: Channel) -> str:
        if isinstance(value, Attachment):
            att = value
        else:
            filename, data = value
            att = self.engine.store_attachment(here.id, Upload(filename, data, _guess_type(filename)))
        resolved.attachments[str(att.id)] = payloads.attachment(att)
        return str(att.id)

    def _record(
        self, kind: int, command: str, member: Member, channel: Channel, data: JSON, locale: str
    ) -> InteractionRecord:
        guild = self.world.guild_of(channel)
        interaction_id = self.world.new_id()
        token = "emu-" + secrets.token_urlsafe(48)
        member_perms = channel_permissions(self.world, channel, member.id)
        payload: JSON = {
            "id": str(interaction_id),
            "application_id": str(self.registry.app_id),
            "type": kind,
            "data": data,
            "guild_id": str(guild.id),
            "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
            "channel_id": str(channel.id),
            "channel": {**payloads.channel(channel), "permissions": str(member_perms)},
            "member": payloads.member(member, self.world, permissions=member_perms),
            "token": token,
            "version": 1,
            "app_permissions": str(channel_permissions(self.world, channel, self.engine.bot_id)),
            "locale": locale,
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild.id)},
            "context": 0,
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        record = InteractionRecord(interaction_id, token, kind, command, member.id, channel.id, guild.id, payload)
        self.records[interaction_id] = record
        self.by_token[token] = record
        return record

    # ---- responses ---------------------------------------------------------

    def lookup(self, interaction_id: int, token: str) -> InteractionRecord:
        record = self.records.get(interaction_id)
        if record is None or record.token != token:
            raise ApiError(404, 10062, "Unknown interaction")
        return record

    def by_webhook(self, app_id: int, token: str) -> InteractionRecord:
        record = self.by_token.get(token)
        if record is None or app_id != self.registry.app_id:
            raise ApiError(404, UNKNOWN_WEBHOOK, "Unknown Webhook")
        return record

    async def callback(self, record: InteractionRecord, body: JSON, uploads: list[Upload]) -> JSON:
        if record.callback_type is not None:
            raise ApiError(400, ALREADY_ACKNOWLEDGED, "Interaction has already been acknowledged.")
        kind = int(body.get("type") or 0)
        data: JSON = body.get("data") or {}
        allowed = {8} if record.type == AUTOCOMPLETE else {4, 5, 9}
        if kind not in allowed:
            raise invalid_form(
                "type", f"Callback type {kind} is not valid for this interaction", "INTERACTION_TYPE_INVALID"
            )
        message = await self._apply_callback(record, kind, data, uploads)
        record.callback_type = kind
        record.callback_data = data
        flags = message.flags if message else int(data.get("flags") or 0)
        self._log(record, "callback", kind, flags, data, uploads)
        await self.engine.notify()
        return self._callback_json(record, kind, message)

    async def _apply_callback(
        self, record: InteractionRecord, kind: int, data: JSON, uploads: list[Upload]
    ) -> Message | None:
        if kind == 4:
            return await self._create_reply(record, NewMessage.from_body(data, uploads), loading=False)
        if kind == 5:
            flags = FLAG_LOADING | (int(data.get("flags") or 0) & FLAG_EPHEMERAL)
            return await self._create_reply(record, NewMessage(flags=flags), loading=True)
        if kind == 8:
            choices = list(data.get("choices") or [])
            if len(choices) > 25:
                raise invalid_form("data.choices", "Must be 25 or fewer in length.", "BASE_TYPE_MAX_LENGTH")
            record.choices = choices
        if kind == 9:
            record.modal = data
        return None

    async def _create_reply(self, record: InteractionRecord, new: NewMessage, *, loading: bool) -> Message:
        channel = self.world.channel(record.channel_id)
        if channel is None:
            raise ApiError(404, 10003, "Unknown Channel")
        user = self.world.users[record.user_id]
        new.type = 20
        new.webhook_id = self.registry.app_id
        new.flags &= FLAG_EPHEMERAL | FLAG_LOADING | (1 << 2) | (1 << 12)
        new.interaction_metadata = {
            "id": str(record.id),
            "type": APPLICATION_COMMAND,
            "user": payloads.user(user),
            "authorizing_integration_owners": {"0": str(record.guild_id)},
            "name": record.command,
            "command_type": 1,
        }
        message = await self.engine.create_message(channel, self.engine.bot_id, new, allow_empty=loading)
        if record.original_id is None:
            record.original_id = message.id
        return message

    def _callback_json(self, record: InteractionRecord, kind: int, message: Message | None) -> JSON:
        interaction: JSON = {"id": str(record.id), "type": record.type}
        result: JSON = {"interaction": interaction}
        if message is not None:
            interaction["response_message_id"] = str(message.id)
            interaction["response_message_loading"] = message.loading
            interaction["response_message_ephemeral"] = message.ephemeral
        if kind == 4 and message is not None:
            # The documented resources are the message sent (4), the message updated (7) and an activity (12);
            # a deferral creates none that the document describes.
            result["resource"] = {"type": kind, "message": self.engine.message_json(message)}
        return result

    def original(self, record: InteractionRecord) -> Message:
        message = self.world.messages.get(record.original_id or 0)
        if message is None or message.deleted:
            raise ApiError(404, UNKNOWN_MESSAGE, "Unknown Message")
        return message

    def owned_message(self, record: InteractionRecord, message_id: str) -> Message:
        if message_id == "@original":
            return self.original(record)
        mid = int(message_id) if message_id.isdigit() else 0
        message = self.world.messages.get(mid)
        if message is None or message.deleted or (mid != record.original_id and mid not in record.followup_ids):
            raise ApiError(404, UNKNOWN_MESSAGE, "Unknown Message")
        return message

    async def edit(self, record: InteractionRecord, message_id: str, body: JSON, uploads: list[Upload]) -> Message:
        message = self.owned_message(record, message_id)
        message.flags &= ~FLAG_LOADING
        await self.engine.edit_message(message, body, uploads)
        kind = "edit_original" if message.id == record.original_id else "edit_followup"
        self._log(record, kind, None, message.flags, body, uploads)
        await self.engine.notify()
        return message

    async def delete(self, record: InteractionRecord, message_id: str) -> None:
        message = self.owned_message(record, message_id)
        await self.engine.delete_message(message)
        kind = "delete_original" if message.id == record.original_id else "delete_followup"
        record.events.append(ResponseEvent(kind, None, message.flags, None, [], []))
        await self.engine.notify()

    async def followup(self, record: InteractionRecord, body: JSON, uploads: list[Upload]) -> Message:
        if record.callback_type is None:
            raise ApiError(404, UNKNOWN_WEBHOOK, "Unknown Webhook")
        original = self.world.messages.get(record.original_id or 0)
        if original is not None and original.loading and not original.deleted:
            # Discord turns the first follow-up after a deferral into the deferred (original) message.
            message = await self.edit(record, "@original", {k: v for k, v in body.items() if k != "flags"}, uploads)
            return message
        message = await self._create_reply(record, NewMessage.from_body(body, uploads), loading=False)
        record.followup_ids.append(message.id)
        self._log(record, "followup", None, message.flags, body, uploads)
        await self.engine.notify()
        return message

    def _log(
        self, record: InteractionRecord, kind: str, callback: int | None, flags: int, data: JSON, uploads: list[Upload]
    ) -> None:
        content = data.get("content") if "content" in data else None
        event = ResponseEvent(
            kind, callback, flags, content, list(data.get("embeds") or []), [u.filename for u in uploads]
        )
        record.events.append(event)


def _guess_type(filename: str) -> str:
    lowered = filename.lower()
    for suffix, kind in (
        (".txt", "text/plain; charset=utf-8"),
        (".md", "text/markdown; charset=utf-8"),
        (".csv", "text/csv; charset=utf-8"),
        (".json", "application/json"),
        (".png", "image/png"),
        (".html", "text/html; charset=utf-8"),
    ):
        if lowered.endswith(suffix):
            return kind
    return "application/octet-stream"
