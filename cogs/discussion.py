"""Replies in discussion threads: gateway events in, calls on the discussion service, nothing out."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.discussion import DiscussionService, Reply

if TYPE_CHECKING:
    from bot.client import AgoraBot

log = logging.getLogger(__name__)

# Member-written messages; joins, pins, thread renames and the like are not replies.
_REPLY_TYPES = (discord.MessageType.default, discord.MessageType.reply)


class DiscussionListener(commands.Cog):
    def __init__(self, service: DiscussionService) -> None:
        self.service = service

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if not _maybe_discussion(message) or message.type not in _REPLY_TYPES:
            return
        await self.service.record_reply(reply_from_message(message))

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        edited = payload.data.get("edited_timestamp")
        content = payload.data.get("content")
        # Link previews and pins also send updates; only a new edit time means the author edited.
        if not edited or content is None or not _maybe_discussion(payload.message):
            return
        await self.service.record_edit(payload.message_id, datetime.fromisoformat(edited), content)

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        await self.service.record_deletions([payload.message_id])

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        await self.service.record_deletions(payload.message_ids)

    @commands.Cog.listener()
    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        await self.service.thread_deleted(payload.thread_id)


def _maybe_discussion(message: discord.Message) -> bool:
    """Whether the message may be in an article's thread; False costs no database read.

    A thread missing from the cache arrives as a PartialMessageable; any other channel type is
    certainly not a discussion thread.
    """
    return message.guild is not None and isinstance(message.channel, discord.Thread | discord.PartialMessageable)


def reply_from_message(message: discord.Message) -> Reply:
    return Reply(
        message_id=message.id,
        thread_id=message.channel.id,
        author_id=message.author.id,
        by_bot=message.author.bot or message.webhook_id is not None,
        created_at=message.created_at,
        content=message.content,
    )


async def setup(bot: AgoraBot) -> None:
    await bot.add_cog(DiscussionListener(bot.discussion))
