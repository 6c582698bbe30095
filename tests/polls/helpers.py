"""Shared builders of the poll tests: a PollService over a real database with Discord faked at the REST edge
(`World`), and a bare poll for the vote recorder's tests. Test modules import these from here, never from
another test module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import discord

from bot.articles.article import Article
from bot.client import AgoraBot
from bot.config import DatabaseUrl
from bot.polls.ingest import VoteRecorder
from bot.polls.options import PollOption
from bot.polls.rules import Action, VoteChange
from bot.polls.service import PollService
from bot.storage import Database
from bot.storage.backends import open_database
from bot.storage.journal import VoteJournal
from bot.storage.polls import PollStore
from tests.builders import fake_bot
from tests.fakes.discord_http import GUILD_ID, MODERATOR_ID, TEXT_CHANNEL_ID
from tests.fakes.polls import PollsFakeHTTP, poll_guild_payload

YES_NO = (PollOption("👍", "Yes"), PollOption("👎", "No"))
THUMBS_UP = discord.PartialEmoji(name="👍")
THUMBS_DOWN = discord.PartialEmoji(name="👎")
ARTICLE = Article(title="Russia joins France", paragraphs=("Body.",), question="Will it work?")


@dataclass
class World:
    url: DatabaseUrl
    path: Path  # what the vote journal's files are named after
    bot: AgoraBot
    http: PollsFakeHTTP
    guild: discord.Guild
    db: Database
    store: PollStore
    service: PollService

    async def restart(self) -> World:
        """A new process: the service's memory is gone; the database and Discord's state remain."""
        await self.service.stop()
        await self.db.close()
        return await make_world(self.url, self.path, self.http)

    async def votes(self, poll_id: int) -> set[tuple[int, str]]:
        await self.service.drain()
        rows = await self.db.fetch_all(
            "SELECT v.voter_id, o.emoji FROM votes v JOIN poll_options o ON o.id = v.option_id WHERE v.poll_id = ?",
            (poll_id,),
        )
        return {(row[0], row[1]) for row in rows}

    async def events(self, poll_id: int) -> list[tuple[int, str, str, str]]:
        await self.service.drain()
        rows = await self.db.fetch_all(
            "SELECT e.voter_id, o.emoji, e.action, e.source FROM vote_events e"
            " JOIN poll_options o ON o.id = e.option_id WHERE e.poll_id = ? ORDER BY e.id",
            (poll_id,),
        )
        return [tuple(row) for row in rows]

    def react(self, message_id: int, emoji: discord.PartialEmoji, user_id: int, *, added: bool = True) -> None:
        """A person reacts on Discord and the gateway tells the bot."""
        (self.http.react if added else self.http.unreact)(message_id, str(emoji), user_id)
        self.service.on_reaction(message_id, user_id, emoji, added=added)

    async def create(self, channel_id: int = TEXT_CHANNEL_ID, **kwargs):
        kwargs.setdefault("options", YES_NO)
        return await self.service.create_poll(
            self.guild.get_channel(channel_id), guild_id=GUILD_ID, question="Agree?", created_by=MODERATOR_ID,
            **kwargs,
        )  # fmt: skip


async def make_world(url: DatabaseUrl, path: Path, http: PollsFakeHTTP | None = None) -> World:
    bot, http, guild = fake_bot(http or PollsFakeHTTP(), guild=poll_guild_payload(), DATABASE_PATH=str(path))
    db = await open_database(url)
    store = PollStore(db)
    service = PollService(bot, store, edit_interval=0.01, recorder=VoteRecorder(store, journal=VoteJournal(path)))
    await service.start()
    return World(url, path, bot, http, guild, db, store, service)


async def open_poll(store: PollStore) -> tuple[int, int, int]:
    poll = await store.create_poll(
        guild_id=1, channel_id=2, question="Q?", options=[PollOption("👍", "Yes"), PollOption("👎", "No")],
        multiple=False, created_by=None,
    )  # fmt: skip
    return poll.id, poll.options[0].id, poll.options[1].id


def vote(poll_id: int, option_id: int, voter: int, action: Action = Action.ADDED) -> VoteChange:
    return VoteChange(poll_id, option_id, voter, action)
