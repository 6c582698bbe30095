"""Discord faked at the edge for poll tests: the REST calls polls make, with reactions kept per message.

Builds on tests.fakes.discord_http (real discord.py objects, only `bot.http` replaced) and adds reactions,
edits, deletions and the paginated reaction-user listing, which serves pages the way Discord does:
users sorted by id, at most `limit` of them, after the `after` id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import discord

from tests.fakes.discord_http import (
    BOT_ID,
    BOT_ROLE_ID,
    GUILD_ID,
    FakeDiscordHTTP,
    FakeHTTPResponse,
    guild_payload,
    user_payload,
)

NO_MANAGE_CHANNEL_ID = 3004
PARTY_EMOJI_ID = 7001


def http_error(status: int, code: int, message: str) -> discord.HTTPException:
    kind = {403: discord.Forbidden, 404: discord.NotFound}.get(status, discord.HTTPException)
    response = FakeHTTPResponse(status)
    response.reason = message
    return kind(response, {"message": message, "code": code})


@dataclass
class PollsFakeHTTP(FakeDiscordHTTP):
    # message id → API emoji ("👍" or "name:id") → user ids in the order they reacted
    reactions: dict[int, dict[str, list[int]]] = field(default_factory=dict)
    super_reactions: dict[int, dict[str, list[int]]] = field(default_factory=dict)  # listed apart (type=1)
    unknown_emoji: set[str] = field(default_factory=set)
    forbidden_removals: bool = False
    deleted_channels: set[int] = field(default_factory=set)

    def install(self, client: discord.Client) -> None:
        super().install(client)
        for name in ("add_reaction", "remove_reaction", "edit_message", "delete_message", "get_reaction_users"):
            setattr(client.http, name, getattr(self, name))

    # --- what people do -------------------------------------------------------------------------------

    def react(self, message_id: int, emoji: str, user_id: int) -> None:
        users = self.reactions.setdefault(message_id, {}).setdefault(emoji, [])
        if user_id not in users:
            users.append(user_id)

    def unreact(self, message_id: int, emoji: str, user_id: int) -> None:
        users = self.reactions.get(message_id, {}).get(emoji, [])
        if user_id in users:
            users.remove(user_id)

    # --- REST -----------------------------------------------------------------------------------------

    async def add_reaction(self, channel_id, message_id, emoji):
        self.calls.append(("add_reaction", {"channel_id": int(channel_id), "message_id": int(message_id),
                                            "emoji": emoji}))  # fmt: skip
        if emoji in self.unknown_emoji:
            raise http_error(400, 10014, "Unknown Emoji")
        self._require(message_id)
        self.react(int(message_id), emoji, BOT_ID)

    async def remove_reaction(self, channel_id, message_id, emoji, member_id):
        self.calls.append(("remove_reaction", {"channel_id": int(channel_id), "message_id": int(message_id),
                                               "emoji": emoji, "user_id": int(member_id)}))  # fmt: skip
        if self.forbidden_removals:
            raise http_error(403, 50013, "Missing Permissions")
        self.unreact(int(message_id), emoji, int(member_id))

    async def edit_message(self, channel_id, message_id, *, params):
        self.calls.append(("edit_message", {"channel_id": int(channel_id), "message_id": int(message_id),
                                            **params.payload}))  # fmt: skip
        message = self._require(message_id)
        message.update({key: value for key, value in params.payload.items() if key in ("content", "embeds")})
        return message

    async def delete_message(self, channel_id, message_id, *, reason=None):
        self.calls.append(("delete_message", {"channel_id": int(channel_id), "message_id": int(message_id)}))
        self.messages.pop(int(message_id), None)

    async def get_message(self, channel_id, message_id):
        self.calls.append(("get_message", {"channel_id": int(channel_id), "message_id": int(message_id)}))
        if int(channel_id) in self.deleted_channels:
            raise http_error(404, 10003, "Unknown Channel")
        message = self._require(message_id)
        return {**message, "reactions": self._reaction_summary(int(message_id))}

    async def get_reaction_users(self, channel_id, message_id, emoji, limit, after=None, type=None):
        self.calls.append(("get_reaction_users", {"message_id": int(message_id), "emoji": emoji, "limit": limit,
                                                  "after": after}))  # fmt: skip
        self._require(message_id)
        kinds = self.super_reactions if type == 1 else self.reactions
        users = sorted(kinds.get(int(message_id), {}).get(emoji, []))
        page = [user for user in users if after is None or user > int(after)][: min(limit, 100)]
        return [user_payload(user, f"user{user}", bot=user == BOT_ID) for user in page]

    def _require(self, message_id) -> dict[str, Any]:
        message = self.messages.get(int(message_id))
        if message is None:
            raise http_error(404, 10008, "Unknown Message")
        return message

    def _reaction_summary(self, message_id: int) -> list[dict[str, Any]]:
        normal, burst = self.reactions.get(message_id, {}), self.super_reactions.get(message_id, {})
        summary = []
        for emoji in normal.keys() | burst.keys():
            counts = {"normal": len(normal.get(emoji, [])), "burst": len(burst.get(emoji, []))}
            if not any(counts.values()):
                continue
            name, _, emoji_id = emoji.partition(":")
            summary.append({"emoji": {"id": emoji_id or None, "name": name}, "count": sum(counts.values()),
                            "count_details": counts, "me": BOT_ID in normal.get(emoji, [])})  # fmt: skip
        return summary

    def edits_of(self, message_id: int) -> list[dict[str, Any]]:
        return [call for call in self.sent("edit_message") if call["message_id"] == message_id]


def poll_guild_payload() -> dict[str, Any]:
    """The shared test guild plus a custom emoji and a channel where the bot lacks Manage Messages."""
    payload = guild_payload()
    payload["emojis"] = [{"id": str(PARTY_EMOJI_ID), "name": "party", "animated": False, "available": True,
                          "require_colons": True, "managed": False, "roles": []}]  # fmt: skip
    deny = [{"id": str(BOT_ROLE_ID), "type": 0, "allow": "0",
             "deny": str(discord.Permissions(manage_messages=True).value)}]  # fmt: skip
    payload["channels"].append(
        {"id": str(NO_MANAGE_CHANNEL_ID), "name": "no-manage", "type": 0, "guild_id": str(GUILD_ID), "position": 0,
         "permission_overwrites": deny, "nsfw": False, "parent_id": None}
    )  # fmt: skip
    return payload
