"""Posting an article into a channel: embed, discussion thread, opening prompt, poll, record.

Every step is recorded as it completes, after a 'pending' delivery was written first, so a
crash at any point is finished on the next start rather than posted again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import discord

from bot.articles.article import Article, stored_article
from bot.articles.presentation import article_embed, marked_article_id, opening_prompt, thread_name
from bot.errors import AgoraError, CannotPost
from bot.permissions import missing_posting_permissions
from bot.shards import UNSHARDED, Shards
from bot.storage.articles import ArticleStore, Delivery, IntentHook

log = logging.getLogger(__name__)

# Called to open the article's poll in its thread (or channel): PollService.open_article_poll, given at construction.
PollOpener = Callable[[Delivery, Article, discord.abc.Messageable], Awaitable[None]]

# How far back to look for our own post when finishing a delivery interrupted by a crash.
_RECOVERY_HISTORY = 50
_THREAD_ALREADY_CREATED = 160004  # Discord's code for a second thread on one message


# Missing access, an unknown channel and rate limits are the channel's or Discord's fault, not the article's.
_NOT_THE_ARTICLES_FAULT = frozenset({401, 403, 404, 429})


def refused_for_the_article(error: discord.HTTPException) -> bool:
    """Discord rejected the post itself (400-class: a bad embed, AutoMod...): retrying the same post is futile,
    so its source gives up after MAX_REFUSALS. Anything else is retried and never skipped, so a broken channel
    does not eat its articles one by one."""
    return 400 <= error.status < 500 and error.status not in _NOT_THE_ARTICLES_FAULT


@dataclass(frozen=True)
class Published:
    article_id: int
    delivery_id: int
    message: discord.Message
    thread: discord.Thread | None


class ArticlePublisher:
    def __init__(
        self, client: discord.Client, store: ArticleStore, poll_opener: PollOpener | None = None,
        shards: Shards = UNSHARDED,
    ) -> None:  # fmt: skip
        self._client = client
        self._store = store
        self._poll_opener = poll_opener
        self._shards = shards  # only this process's servers: another live process may be posting in its own
        self._in_flight: set[int] = set()  # deliveries being posted now, which resuming must not touch

    async def publish(
        self,
        article: Article,
        channel: discord.TextChannel | discord.ForumChannel,
        *,
        source: str,
        open_thread: bool = True,
        open_poll: bool = True,
        poll_spec: str | None = None,
        with_intent: IntentHook | None = None,
    ) -> Published:
        """Post `article` once into `channel`; raises AlreadyPosted or CannotPost with a reason.

        `with_intent` runs in the transaction that records the pending delivery, before anything is sent.
        """
        self.check_can_post(channel, open_thread=open_thread, open_poll=open_poll)
        article_id, delivery = await self._store.record_intent(
            article,
            source=source,
            guild_id=channel.guild.id,
            channel_id=channel.id,
            open_thread=open_thread,
            open_poll=open_poll,
            poll_spec=poll_spec,
            with_intent=with_intent,
        )
        self._in_flight.add(delivery.id)
        try:
            return await self._complete(delivery, article, channel, source)
        except discord.HTTPException as error:
            raise await self._failure(delivery.id, channel, error) from error
        finally:
            self._in_flight.discard(delivery.id)

    async def _failure(
        self, delivery_id: int, channel: discord.abc.GuildChannel, error: discord.HTTPException
    ) -> CannotPost:
        reason = error.text or str(error.status)
        current = await self._store.delivery(delivery_id)
        if current is not None and current.message_id is not None:
            # The article is out: leave the delivery pending so the next start finishes the rest.
            log.warning("Delivery %s posted but not finished: %s", delivery_id, reason)
            return CannotPost(
                f"The article is posted in {channel.mention}, but Discord refused the rest ({reason}); "
                "I will finish it when I restart."
            )
        await self._store.mark_failed(delivery_id, f"{error.status} {reason}")
        return CannotPost(
            f"Discord refused the post in {channel.mention}: {reason}.", refused_content=refused_for_the_article(error)
        )

    def check_can_post(
        self, channel: discord.abc.GuildChannel, *, open_thread: bool = True, open_poll: bool = True
    ) -> None:
        missing = missing_posting_permissions(channel, channel.guild.me, open_thread=open_thread, open_poll=open_poll)
        if missing:
            raise CannotPost(f"I can't post in {channel.mention}: I am missing {', '.join(missing)}.")

    async def _complete(
        self,
        delivery: Delivery,
        article: Article,
        channel: discord.TextChannel | discord.ForumChannel,
        source: str,
        *,
        resuming: bool = False,
    ) -> Published:
        message, thread = await self._post_or_find(delivery, article, channel, source)
        if delivery.open_thread and thread is None and isinstance(channel, discord.TextChannel):
            thread = await self._open_thread(message, article)
            await self._store.set_thread(delivery.id, thread.id)
        discussion = _discussion(channel, thread)
        # The poll is the first reply (in a forum post too, as readers expect); the prompt follows it.
        opener = self._poll_opener if delivery.open_poll else None
        with_poll = opener is not None
        if opener is not None:
            await opener(delivery, article, discussion)
        if delivery.prompt_message_id is None:
            await self._send_prompt(delivery, discussion, opening_prompt(article, with_poll=with_poll), resuming)
        await self._store.mark_posted(delivery.id)
        log.info("Posted article %s into channel %s (delivery %s)", delivery.article_id, channel.id, delivery.id)
        return Published(delivery.article_id, delivery.id, message, thread)

    async def _open_thread(self, message: discord.Message, article: Article) -> discord.Thread:
        try:
            return await message.create_thread(name=thread_name(article), auto_archive_duration=10080)
        except discord.HTTPException as error:
            if error.code != _THREAD_ALREADY_CREATED:
                raise
        # Created before a crash but not recorded: a thread on a message shares the message's id.
        log.info("Adopting thread %s opened before a restart", message.id)
        assert message.guild is not None  # articles are posted in a server's channels
        thread = await message.guild.fetch_channel(message.id)
        assert isinstance(thread, discord.Thread)
        return thread

    async def _send_prompt(
        self, delivery: Delivery, discussion: discord.abc.Messageable, text: str, resuming: bool
    ) -> None:
        prompt = await self._find_own_message(discussion, text) if resuming else None
        if prompt is None:
            prompt = await discussion.send(text)
        await self._store.set_prompt(delivery.id, prompt.id)

    async def _find_own_message(self, where: discord.abc.Messageable, text: str) -> discord.Message | None:
        """The prompt may have been sent just before a crash: look for it before sending it again."""
        me = self._client.user
        async for message in where.history(limit=_RECOVERY_HISTORY):
            if me is not None and message.author.id == me.id and message.content == text:
                return message
        return None

    async def _post_or_find(
        self, delivery: Delivery, article: Article, channel: discord.TextChannel | discord.ForumChannel, source: str
    ) -> tuple[discord.Message, discord.Thread | None]:
        if delivery.message_id is not None:
            return await self._fetch_existing(delivery, channel)
        embed = article_embed(article, delivery.article_id, source=source)
        if isinstance(channel, discord.ForumChannel):
            created = await channel.create_thread(name=thread_name(article), embed=embed)
            await self._store.set_message(delivery.id, created.message.id, created.thread.id)
            return created.message, created.thread
        message = await channel.send(embed=embed)
        await self._store.set_message(delivery.id, message.id)
        return message, None

    async def _fetch_existing(
        self, delivery: Delivery, channel: discord.TextChannel | discord.ForumChannel
    ) -> tuple[discord.Message, discord.Thread | None]:
        assert delivery.message_id is not None
        thread = None
        if delivery.thread_id is not None:
            found = channel.guild.get_thread(delivery.thread_id) or await channel.guild.fetch_channel(
                delivery.thread_id
            )
            assert isinstance(found, discord.Thread)  # the id was recorded when the thread was opened
            thread = found
        # A forum post's message is inside its thread; a text channel's is in the channel, the thread hangs off it.
        holder = channel if isinstance(channel, discord.TextChannel) else _discussion(channel, thread)
        message = await holder.fetch_message(delivery.message_id)
        return message, thread

    async def resume_pending(self) -> int:
        """Finish deliveries a crash interrupted in this process's servers, adopting a post that was sent but
        not recorded. Another process's deliveries are never touched: a server's posts are made by its owner."""
        finished = 0
        for delivery in await self._store.pending_deliveries(self._shards):
            if delivery.id in self._in_flight:
                continue
            try:
                if await self._resume(delivery):
                    finished += 1
            except (discord.HTTPException, AgoraError) as error:
                await self._resume_failed(delivery.id, error)
        return finished

    async def _resume_failed(self, delivery_id: int, error: Exception) -> None:
        current = await self._store.delivery(delivery_id)
        if current is not None and current.message_id is not None:
            # The article is out; failing it would leave it without thread, poll or prompt for good.
            log.warning("Could not finish delivery %s yet, will try again on the next start: %s", delivery_id, error)
            return
        log.warning("Could not finish delivery %s: %s", delivery_id, error)
        await self._store.mark_failed(delivery_id, str(error))

    async def _resume(self, delivery: Delivery) -> bool:
        channel = self._client.get_channel(delivery.channel_id)
        stored = await self._store.article(delivery.article_id)
        if not isinstance(channel, discord.TextChannel | discord.ForumChannel) or stored is None:
            await self._store.mark_failed(delivery.id, "channel or article no longer exists")
            return False
        if delivery.message_id is None:
            delivery = await self._adopt_unrecorded_post(delivery, channel)
        await self._complete(delivery, stored_article(stored), channel, stored.source, resuming=True)
        return True

    async def _adopt_unrecorded_post(
        self, delivery: Delivery, channel: discord.TextChannel | discord.ForumChannel
    ) -> Delivery:
        """A message may have been sent just before the crash: find it by the marker in its embed."""
        found = await self._find_marked_post(delivery.article_id, channel)
        if found is None:
            return delivery
        message_id, thread_id = found
        log.info("Delivery %s: adopting message %s sent before a restart", delivery.id, message_id)
        await self._store.set_message(delivery.id, message_id, thread_id)
        refreshed = await self._store.delivery(delivery.id)
        assert refreshed is not None
        return refreshed

    async def _find_marked_post(
        self, article_id: int, channel: discord.TextChannel | discord.ForumChannel
    ) -> tuple[int, int | None] | None:
        me = channel.guild.me
        if isinstance(channel, discord.ForumChannel):
            for thread in channel.threads:
                if thread.owner_id != me.id:
                    continue
                starter = await thread.fetch_message(thread.id)
                if any(marked_article_id(embed) == article_id for embed in starter.embeds):
                    return starter.id, thread.id
            return None
        async for message in channel.history(limit=_RECOVERY_HISTORY):
            if message.author.id == me.id and any(marked_article_id(e) == article_id for e in message.embeds):
                thread_id = message.thread.id if message.thread else None
                return message.id, thread_id
        return None


def _discussion(
    channel: discord.TextChannel | discord.ForumChannel, thread: discord.Thread | None
) -> discord.TextChannel | discord.Thread:
    """Where an article's replies go: its thread, or the channel when it has none (a forum post always has one)."""
    if thread is not None:
        return thread
    assert isinstance(channel, discord.TextChannel)  # a forum post's message lives in its thread
    return channel
