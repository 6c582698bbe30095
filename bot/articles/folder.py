"""ARTICLES_DIR: article files the publication drops into a folder, posted to subscribed channels."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import discord

from bot.articles.parser import ArticleFormatError, decode_article_file, parse_article_text
from bot.errors import MAX_REFUSALS, AgoraError, CannotPost
from bot.polls.fairness import spec_with_rules
from bot.shards import UNSHARDED, Shards
from bot.storage.articles import AlreadyPosted, ArticleStore, FolderSubscription
from bot.storage.polls import NO_POLL_RULES, PollRulesRow

if TYPE_CHECKING:
    from bot.publishing import ArticlePublisher

log = logging.getLogger(__name__)

ARTICLE_SUFFIXES = {".txt", ".md"}


@dataclass(frozen=True)
class ArticleFile:
    path: Path
    key: str  # name + content hash: an edited file with the same name counts as new
    data: bytes


def read_folder(folder: Path) -> list[ArticleFile]:
    """Article files in the folder, oldest first (by modification time, then name). Blocking: run in a thread."""
    files = []
    for path in folder.iterdir():
        if path.suffix.lower() not in ARTICLE_SUFFIXES or not path.is_file() or path.name.startswith("."):
            continue
        data = path.read_bytes()
        key = f"{path.name}:{hashlib.sha256(data).hexdigest()[:32]}"
        files.append((path.stat().st_mtime, path.name, ArticleFile(path, key, data)))
    files.sort(key=lambda entry: (entry[0], entry[1]))
    return [entry[2] for entry in files]


class ArticleFolder:
    def __init__(
        self, folder: Path, publisher: ArticlePublisher, store: ArticleStore, max_bytes: int,
        shards: Shards = UNSHARDED,
    ) -> None:  # fmt: skip
        self.folder = folder
        self._publisher = publisher
        self._store = store
        self._max_bytes = max_bytes
        self._lock = asyncio.Lock()
        self._reported: set[tuple[str, int]] = set()  # (file, channel) failures already logged
        self._shards = shards  # each process posts the files into its own servers' channels

    async def subscribe(
        self,
        channel: discord.TextChannel | discord.ForumChannel,
        moderator_id: int,
        poll_rules: PollRulesRow = NO_POLL_RULES,
    ) -> bool:
        """Subscribe a channel to files dropped from now on; the files already there are not posted."""
        self._publisher.check_can_post(channel)
        present = await asyncio.to_thread(read_folder, self.folder)
        return await self._store.add_folder_subscription(
            channel.guild.id, channel.id, moderator_id, [file.key for file in present], poll_rules
        )

    async def poll_rules(self, channel_id: int) -> PollRulesRow | None:
        """The poll rules of the channel's folder subscription; None when it is not subscribed."""
        return await self._store.folder_poll_rules(channel_id)

    async def set_poll_rules(self, channel_id: int, poll_rules: PollRulesRow) -> bool:
        """Replace the poll rules of the channel's folder subscription; False when it is not subscribed."""
        return await self._store.set_folder_poll_rules(channel_id, poll_rules)

    async def subscriptions(self, guild_id: int) -> list[FolderSubscription]:
        """The server's channels subscribed to the folder, with their own poll rules."""
        return await self._store.guild_folder_subscriptions(guild_id)

    async def unsubscribe(self, channel_id: int) -> bool:
        """Stop posting the folder's files into the channel; False when it was not subscribed."""
        return await self._store.remove_folder_subscription(channel_id)

    async def post_new_files(self, client: discord.Client) -> int:
        """Post every file not yet handled for each subscribed channel; returns how many posts were made."""
        async with self._lock:  # the loop and a manual check must not post the same file at once
            files = await asyncio.to_thread(read_folder, self.folder)
            posted = 0
            for subscription_id, _guild_id, channel_id in await self._store.folder_subscriptions(self._shards):
                channel = client.get_channel(channel_id)
                if not isinstance(channel, discord.TextChannel | discord.ForumChannel):
                    continue
                unseen = await self._store.unseen_file_keys(subscription_id, [file.key for file in files])
                if not unseen:
                    continue
                # Read once per channel, not per file: every file of this scan follows the same rules.
                spec = spec_with_rules(None, await self._store.folder_poll_rules(channel_id) or NO_POLL_RULES)
                for file in (file for file in files if file.key in unseen):
                    posted += await self._post_file(file, channel, subscription_id, spec)
            return posted

    def _retry_later(self, file: ArticleFile, channel_id: int, error: Exception) -> int:
        """Leave the file unseen so the next scan tries again (permissions may be fixed); say so once."""
        if (file.key, channel_id) not in self._reported:
            self._reported.add((file.key, channel_id))
            log.warning("Could not post %s into channel %s (will retry): %s", file.path.name, channel_id, error)
        return 0

    async def _given_up(self, file: ArticleFile, subscription_id: int) -> bool:
        """Count Discord refusing this file's post (stored: it survives restarts); True at MAX_REFUSALS."""
        return await self._store.count_file_refusal(subscription_id, file.key) >= MAX_REFUSALS

    async def _post_file(
        self,
        file: ArticleFile,
        channel: discord.TextChannel | discord.ForumChannel,
        subscription_id: int,
        spec: str | None,
    ) -> int:
        try:
            article = parse_article_text(decode_article_file(file.data, max_bytes=self._max_bytes))
            await self._publisher.publish(
                article, channel, source=article.source_name or file.path.stem, poll_spec=spec
            )
        except AlreadyPosted:
            pass  # the same article under another name, or recorded just before a restart
        except ArticleFormatError as error:
            log.warning("Skipping article file %s: %s", file.path.name, error)
        except CannotPost as error:
            if not (error.refused_content and await self._given_up(file, subscription_id)):
                return self._retry_later(file, channel.id, error)
            log.warning("Giving up on %s in channel %s: Discord refused it %d times (%s)",
                        file.path.name, channel.id, MAX_REFUSALS, error)  # fmt: skip
        except AgoraError as error:
            return self._retry_later(file, channel.id, error)
        else:
            await self._store.mark_file_seen(subscription_id, file.key)
            return 1
        await self._store.mark_file_seen(subscription_id, file.key)
        return 0
