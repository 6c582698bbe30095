"""PollService: opens polls, counts reactions as votes, closes polls; the one entry point cogs and the
client call for polls.

Reactions are judged synchronously against in-memory state (`LivePoll`) and queued for the database by
the `VoteRecorder`; nothing on the reaction path awaits, so a burst costs parsing, not round trips.
Three collaborators do the background work, each built here with what it needs:
the `EmbedRefresher` redraws a changed poll's message within Discord's edit limits, the `ReactionRemover`
takes off reactions that do not count (re-checking each against the voter's latest state before it
runs), and the `Reconciler` brings polls in line with Discord after a new gateway session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import discord

from bot.errors import AgoraError
from bot.permissions import can_remove_reactions
from bot.polls.anonymous import withdrawal
from bot.polls.embeds import marked_poll_id, poll_embed, results_embed, shows_drawn
from bot.polls.fair import FairVotes
from bot.polls.fairness import PLAIN, PollFairness, from_row, rules_in_spec, to_row
from bot.polls.figures import VoteFigures, vote_figures
from bot.polls.ingest import VoteRecorder
from bot.polls.live import LivePoll
from bot.polls.options import (
    DEFAULT_ARTICLE_OPTIONS,
    InvalidOptions,
    PollOption,
    article_poll,
    article_poll_question,
    emoji_key,
    reaction_key,
    reaction_route_emoji,
)
from bot.polls.reconciler import Reconciler
from bot.polls.refresher import SHUTDOWN_EDIT_GRACE_SECONDS, EmbedRefresher
from bot.polls.remover import QueuedRemoval, ReactionRemover
from bot.polls.rules import Outcome, PollRules, Reaction, Source, apply_reaction
from bot.polls.states import CloseReason
from bot.quoting import quote
from bot.references import look_up, parse_reference
from bot.storage.articles import Delivery
from bot.storage.polls import PollStore, StoredPoll
from bot.timeutil import utcnow

if TYPE_CHECKING:
    from bot.articles.article import Article  # the poll reads an article's question and title only

log = logging.getLogger(__name__)

_UNKNOWN_EMOJI = 10014
# Adopting a poll message sent just before a crash: how far back to look in its thread.
_RECOVERY_HISTORY = 20


class PollNotFound(AgoraError):
    pass


class PollClosed(AgoraError):
    pass


class PollNotAnonymous(AgoraError):
    pass


@dataclass(frozen=True)
class OpenedPoll:
    poll: StoredPoll
    message: discord.Message
    warnings: tuple[str, ...] = ()


class PollService:
    def __init__(
        self,
        client: discord.Client,
        store: PollStore,
        *,
        edit_interval: float = 5.0,
        recorder: VoteRecorder | None = None,
    ) -> None:
        self._client = client
        self._store = store
        self.recorder = recorder or VoteRecorder(store)
        self._open: dict[int, LivePoll] = {}  # message id → open poll
        self._closed: dict[int, int] = {}  # message id → channel id of closed polls
        self._stray_routes: dict[str, str] = {}  # emoji key → REST form, for emoji that are not options
        self.remover = ReactionRemover(
            self._send_removal,
            still_wanted=self._removal_still_wanted,
            before_send=self.recorder.write_journal,
            on_forbidden=self._removals_forbidden,
        )
        self._background: set[asyncio.Task[None]] = set()
        self.fair = FairVotes(self.recorder)
        self._refresher = EmbedRefresher(self._edit_live_message, interval=edit_interval)
        self._reconciler = Reconciler(
            client, self._open, self.fair, apply=self._apply, close=self._close_if_open, can_manage=self._can_manage,
            shown=self._redraw_if_stale,
        )  # fmt: skip
        self._bot_user_id = 0
        self._started_at = utcnow()

    # --- lifecycle -----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Load open polls and their votes into memory; from here on reactions are counted."""
        assert self._client.user is not None, "start after login: the bot's own reactions must be known"
        self._bot_user_id = self._client.user.id
        self._started_at = utcnow()
        await self.recorder.recover()
        for poll in await self._store.open_polls():
            live = LivePoll(poll, bot_user_id=self._bot_user_id)
            live.load(await self._store.current_votes(poll.id), await self._store.current_leftovers(poll.id))
            live.poll_fairness = from_row(await self._store.fairness(poll.id))
            self._open[poll.message_id] = live  # type: ignore[index]  # open_polls() has sent ones only
        self._closed = await self._store.closed_poll_messages()
        self.recorder.start()
        log.info("Poll service started with %d open polls", len(self._open))

    async def finish_edits(self) -> None:
        """Shutting down, before Discord is disconnected: send the embed edits already waiting, within their
        rate limit and a short grace; what is left is redrawn at the next start (`_redraw_if_stale`)."""
        await self._refresher.finish(SHUTDOWN_EDIT_GRACE_SECONDS)

    async def stop(self) -> None:
        """Write every queued vote; embed edits still waiting are dropped (the next start redraws them)."""
        self._refresher.stop()
        for task in self._background:
            task.cancel()
        await self.remover.stop()
        await self.recorder.stop()

    async def drain(self) -> None:
        """Wait for queued reaction removals and restorations, then write queued votes."""
        await self.remover.drain()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.recorder.flush()

    @property
    def open_polls(self) -> list[StoredPoll]:
        return [live.poll for live in self._open.values()]

    def live_poll(self, message_id: int) -> LivePoll | None:
        return self._open.get(message_id)

    # --- opening -------------------------------------------------------------------------------------

    async def create_poll(
        self,
        channel: discord.abc.Messageable,
        *,
        guild_id: int,
        question: str,
        options: Sequence[PollOption],
        multiple: bool = False,
        deadline_at: datetime | None = None,
        created_by: int | None = None,
        fairness: PollFairness = PLAIN,
    ) -> OpenedPoll:
        """Record, send and arm a poll in `channel`; raises InvalidOptions if Discord refuses an emoji."""
        channel_id = _channel_id(channel)
        poll = await self._store.create_poll(
            guild_id=guild_id, channel_id=channel_id, question=question, options=options, multiple=multiple,
            deadline_at=deadline_at, created_by=created_by,
        )  # fmt: skip
        try:
            await self._store.set_fairness(poll.id, to_row(fairness))
            message = await self._send(poll, channel, fairness)
        except BaseException:
            await self._store.delete_unsent(poll.id)
            raise
        live = self._open[message.id]
        await self._add_ballot(live, message)
        return OpenedPoll(live.poll, message, self._warnings(live))

    async def open_article_poll(
        self, delivery: Delivery, article: Article, discussion: discord.abc.Messageable
    ) -> None:
        """The publisher's poll opener: once per delivery, also when a crashed post is finished later."""
        existing = await self._store.poll_for_delivery(delivery.id)
        if existing is not None and existing.message_id is not None:
            return
        if existing is not None:
            fairness = from_row(await self._store.fairness(existing.id))
            message = await self._adopt(existing, discussion) or await self._send(existing, discussion, fairness)
            self._open[message.id].poll_fairness = fairness
            await self._add_ballot(self._open[message.id], message)
            return
        fairness = await self._article_poll_fairness(delivery, discussion)
        # The subscription's question stands even when its options cannot be used.
        question = article_poll_question(article.question, article.title, delivery.poll_spec)
        try:
            question, options = article_poll(article.question, article.title, delivery.poll_spec)
            await self._open_article_poll(delivery, discussion, question, options, fairness)
        except InvalidOptions as error:
            # Subscription options Discord refuses must not cost the article its poll (nor make every
            # restart retry them): the article gets the default options instead.
            log.warning("Poll of delivery %s: %s Opening it with the default options.", delivery.id, error)
            await self._open_article_poll(delivery, discussion, question, DEFAULT_ARTICLE_OPTIONS, fairness)

    async def _article_poll_fairness(self, delivery: Delivery, discussion: discord.abc.Messageable) -> PollFairness:
        """The subscription's poll rules the delivery carries, over the server's defaults."""
        fairness = rules_in_spec(delivery.poll_spec).over(await self.poll_defaults(delivery.guild_id))
        if fairness.anonymous and self._can_manage(_channel_id(discussion)) is False:
            # The article is out and readers are waiting for its poll: better an open ballot whose footer does
            # not claim anonymity than reactions left on the message under an "anonymous" label.
            log.warning("Poll of delivery %s: not anonymous, I lack Manage Messages in its channel", delivery.id)
            fairness = replace(fairness, anonymous=False)
        return fairness

    async def _open_article_poll(
        self,
        delivery: Delivery,
        discussion: discord.abc.Messageable,
        question: str,
        options: Sequence[PollOption],
        fairness: PollFairness,
    ) -> None:
        poll = await self._store.create_poll(
            guild_id=delivery.guild_id, channel_id=_channel_id(discussion), question=question, options=options,
            multiple=False, created_by=None, article_id=delivery.article_id, delivery_id=delivery.id,
        )  # fmt: skip
        await self._store.set_fairness(poll.id, to_row(fairness))
        message = await self._send(poll, discussion, fairness)
        await self._add_ballot(self._open[message.id], message)

    async def _send(
        self, poll: StoredPoll, channel: discord.abc.Messageable, fairness: PollFairness = PLAIN
    ) -> discord.Message:
        figures = vote_figures(poll.options, [0] * len(poll.options), 0)
        embed = poll_embed(poll, figures, *self._shown_fairness(poll, fairness))
        message = await channel.send(embed=embed)
        # Counted from the moment it exists: people react as soon as they see it.
        self._arm(poll, message.id).poll_fairness = fairness
        await self._store.set_message(poll.id, message.id)
        return message

    def _arm(self, poll: StoredPoll, message_id: int) -> LivePoll:
        live = LivePoll(replace(poll, message_id=message_id), bot_user_id=self._bot_user_id)
        # Unknown permissions (channel not cached) are assumed granted: a refused removal turns them off.
        live.can_remove_reactions = self._can_manage(poll.channel_id) is not False
        self._open[message_id] = live
        return live

    async def _adopt(self, poll: StoredPoll, channel: discord.abc.Messageable) -> discord.Message | None:
        """Find a poll message sent just before a crash (its id was never stored) by its footer marker."""
        async for message in channel.history(limit=_RECOVERY_HISTORY):
            if message.author.id == self._bot_user_id and any(marked_poll_id(e) == poll.id for e in message.embeds):
                log.info("Poll %s: adopting message %s sent before a restart", poll.id, message.id)
                self._arm(poll, message.id)
                await self._store.set_message(poll.id, message.id)
                return message
        return None

    async def _add_ballot(self, live: LivePoll, message: discord.Message) -> None:
        """The bot's one reaction per option, which voters click; a refused emoji withdraws the poll."""
        present = {reaction_key(reaction.emoji) for reaction in message.reactions if reaction.me}
        for option in live.poll.options:
            if emoji_key(option.emoji) in present:
                continue
            try:
                await message.add_reaction(reaction_route_emoji(option.emoji))
            except discord.HTTPException as error:
                if error.code != _UNKNOWN_EMOJI:
                    raise
                await self._withdraw(live, message)
                raise InvalidOptions(
                    f"Discord does not accept {option.emoji} as a reaction, so it cannot be a poll option. "
                    "Use a standard emoji or one of this server's emoji."
                ) from error

    async def _withdraw(self, live: LivePoll, message: discord.Message) -> None:
        self._open.pop(message.id, None)
        with contextlib.suppress(discord.HTTPException):
            await message.delete()
        await self.recorder.flush()
        await self._store.delete_poll(live.poll.id)

    def _warnings(self, live: LivePoll) -> tuple[str, ...]:
        if live.can_remove_reactions:
            return ()
        also = "" if live.poll.multiple else (
            " Single choice still works: a voter's latest reaction counts, but their earlier reactions stay visible."
        )  # fmt: skip
        return (
            f"I lack **Manage Messages** in <#{live.poll.channel_id}>, so I cannot remove reactions that are not "
            f"options or that come after the poll closes.{also} Grant it to keep the reactions tidy.",
        )

    # --- reactions (hot path: no awaits) -------------------------------------------------------------

    def on_reaction(
        self,
        message_id: int,
        user_id: int,
        emoji: discord.PartialEmoji,
        *,
        added: bool,
        member: discord.Member | None = None,
    ) -> None:
        """A reaction was added to or removed from any message; counts it if the message is an open poll.

        `member`: who reacted, as the event carries it in a server (roles, join time); for who may vote."""
        live = self._open.get(message_id)
        if live is None:
            if added and message_id in self._closed:
                self._refuse_on_closed(message_id, user_id, emoji)
            return
        key = reaction_key(emoji)
        if not added:
            self.remover.forget(live.poll.channel_id, message_id, user_id, key)
        elif key not in live.emojis:
            self._stray_routes[key] = _partial_route_emoji(emoji)  # to remove a stray emoji judged later
        reaction = Reaction(user_id, key, added)
        if live.poll_fairness is not PLAIN:
            fair = self.fair.on_reaction(live, reaction, member)
            if fair is not None:
                self._apply(live, fair, Source.LIVE)
                return
        self._apply(live, live.react(reaction), Source.LIVE)

    def _apply(self, live: LivePoll, outcome: Outcome, source: Source) -> None:
        """Record an outcome's changes and queue its removals (of an option superseded, or a stray emoji)."""
        if outcome.changes or outcome.leftovers:
            self.recorder.record((*outcome.changes, *outcome.leftovers), source)
        if outcome.changes:
            self._refresher.schedule(live)
        poll = live.poll
        for removal in outcome.removals:
            option_emoji = live.emojis.get(removal.emoji_key)
            route = reaction_route_emoji(option_emoji) if option_emoji else self._stray_routes.get(removal.emoji_key)
            if route is None:
                continue
            self.remover.request(
                QueuedRemoval(poll.channel_id, poll.message_id, removal.voter_id, removal.emoji_key, route,  # type: ignore[arg-type]  # open, so sent: message_id is set
                              superseded=option_emoji is not None)
            )  # fmt: skip

    def hold_reactions(self) -> None:
        """A new gateway session began (not a resumed one): hold live reactions until reconciliation."""
        self._reconciler.hold_all()

    def on_reactions_cleared(self, message_id: int, emoji: discord.PartialEmoji | None = None) -> None:
        """Someone cleared all reactions (or all of one emoji): those votes are gone; the ballot is restored."""
        live = self._open.get(message_id)
        if live is None:
            return
        if live.poll_fairness.anonymous:
            return  # an anonymous poll's reactions are not its votes: clearing them withdraws nothing
        option_id = None
        if emoji is not None:
            option_id = live.rules.option_ids.get(reaction_key(emoji))
            if option_id is None:
                return  # only reactions that were not votes were cleared
        if live.holding:  # reactions held so far came before the clear
            self._reconciler.release(live)
            live.hold()
        changes = live.clear(option_id)
        if changes:
            self.recorder.record(changes, Source.LIVE)
            self._refresher.schedule(live)
        cleared = [o.emoji for o in live.poll.options if option_id is None or o.id == option_id]
        task = asyncio.create_task(self._restore_ballot(live.poll.channel_id, message_id, cleared))
        self._background.add(task)
        task.add_done_callback(self._background_done)

    async def _restore_ballot(self, channel_id: int, message_id: int, emojis: list[str]) -> None:
        message = self._client.get_partial_messageable(channel_id).get_partial_message(message_id)
        for emoji in emojis:
            await message.add_reaction(reaction_route_emoji(emoji))

    def _background_done(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("Restoring a poll's reactions failed: %s", task.exception())

    def _refuse_on_closed(self, message_id: int, user_id: int, emoji: discord.PartialEmoji) -> None:
        channel_id = self._closed[message_id]
        key = reaction_key(emoji)
        closed = PollRules(poll_id=0, multiple=False, is_open=False, option_ids={}, bot_user_id=self._bot_user_id)
        # Unlike open polls there is no state to learn a refusal into, so only known permission is used.
        manage = self._can_manage(channel_id)
        outcome = apply_reaction(closed, frozenset(), Reaction(user_id, key, True),
                                 can_remove_reactions=manage is True)  # fmt: skip
        for removal in outcome.removals:
            queued = QueuedRemoval(channel_id, message_id, removal.voter_id, key, _partial_route_emoji(emoji), False)
            self.remover.request(queued)

    # --- reaction removals -----------------------------------------------------------------------------

    async def _send_removal(self, removal: QueuedRemoval) -> None:
        await self._client.http.remove_reaction(
            removal.channel_id, removal.message_id, removal.route_emoji, removal.user_id
        )

    def _removal_still_wanted(self, removal: QueuedRemoval) -> bool:
        """Right before it is sent: does the reaction still not count? Judged by the voter's latest state."""
        live = self._open.get(removal.message_id)
        if live is None:
            # Closed (or gone): its votes are final, so only reactions added after the close are tidied.
            return removal.message_id in self._closed and not removal.superseded
        option_id = live.rules.option_ids.get(removal.emoji_key)
        if option_id is None:
            return True  # not an option: never a vote
        if live.poll_fairness is not PLAIN and self.fair.removal_wanted(live, removal.user_id, removal.emoji_key):
            return True  # refused, or counted in an anonymous poll
        return option_id in live.left(removal.user_id)

    def _removals_forbidden(self, channel_id: int) -> None:
        for live in self._open.values():
            if live.poll.channel_id == channel_id:
                live.can_remove_reactions = False

    # --- live embed ----------------------------------------------------------------------------------

    async def _edit_live_message(self, live: LivePoll) -> None:
        poll = live.poll
        message = self._client.get_partial_messageable(poll.channel_id).get_partial_message(poll.message_id)  # type: ignore[arg-type]  # open, so sent: message_id is set
        await message.edit(embed=poll_embed(poll, live.figures(), *self._shown_fairness(poll, live.poll_fairness)))

    def _redraw_if_stale(self, live: LivePoll, shown: Mapping[str, Any] | None) -> None:
        """After reconciliation: the message read from Discord shows other figures than the stored ones (an edit
        dropped at shutdown or by a crash, or a change the journal or the listing brought), so redraw it, within
        the refresher's rate limit. Costs no request when the message is right."""
        poll = live.poll
        if shown is None or live.poll_fairness.voters.role_ids and self._client.get_guild(poll.guild_id) is None:
            return  # no embed to compare, or the role names it shows cannot be drawn now
        if not shows_drawn(shown, poll_embed(poll, live.figures(), *self._shown_fairness(poll, live.poll_fairness))):
            log.info("Poll %s: its message shows older figures; redrawing it", poll.id)
            self._refresher.schedule(live)

    async def final_figures(self, poll: StoredPoll) -> VoteFigures:
        """The poll's figures as stored: what its message shows once closed."""
        counts = await self._store.vote_counts(poll.id)
        return vote_figures(poll.options, counts.in_order(poll), counts.voters)

    # --- closing -------------------------------------------------------------------------------------

    async def close_poll(self, poll_id: int, reason: CloseReason) -> StoredPoll:
        """Close an open poll: stop counting, write queued votes, show final results, post the results."""
        poll = await self._store.poll(poll_id)
        if poll is None:
            raise PollNotFound(f"There is no poll #{poll_id}.")
        if not poll.is_open:
            raise PollClosed(f"Poll #{poll_id} is already closed.")
        live = self._stop_counting(poll)
        try:
            await self.recorder.flush()
            closed_now = await self._store.close_poll(poll_id, reason, utcnow())
        except BaseException:
            # Still open in the database, so it must go on counting: nothing is lost until it closes.
            self._resume_counting(poll, live)
            raise
        if not closed_now:
            raise PollClosed(f"Poll #{poll_id} is already closed.")
        closed = await self._store.poll(poll_id)
        assert closed is not None
        log.info("Closed poll %s (%s)", poll_id, reason)
        if reason.announced:
            await self._announce_results(closed)
        return closed

    def _stop_counting(self, poll: StoredPoll) -> LivePoll | None:
        if poll.message_id is None:
            return None
        live = self._open.pop(poll.message_id, None)
        if live is not None:
            if live.holding:  # reactions that came before the close still count
                self._reconciler.release(live)
            live.close()
        self._closed[poll.message_id] = poll.channel_id
        self._refresher.forget(poll.id)
        return live

    def _resume_counting(self, poll: StoredPoll, live: LivePoll | None) -> None:
        """Undo `_stop_counting` when closing failed."""
        if poll.message_id is None:
            return
        self._closed.pop(poll.message_id, None)
        if live is not None:
            live.reopen()
            self._open[poll.message_id] = live

    async def _announce_results(self, poll: StoredPoll) -> None:
        figures = await self.final_figures(poll)
        fairness = from_row(await self._store.fairness(poll.id))
        refused = await self._store.refusal_counts(poll.id)
        channel = self._client.get_partial_messageable(poll.channel_id, guild_id=poll.guild_id)
        url = f"https://discord.com/channels/{poll.guild_id}/{poll.channel_id}/{poll.message_id}"
        # Closing is recorded either way; a deleted message or lost permission only costs the display,
        # so each of the two is tried on its own.
        try:
            embed = poll_embed(poll, figures, *self._shown_fairness(poll, fairness))
            await channel.get_partial_message(poll.message_id).edit(embed=embed)  # type: ignore[arg-type]  # open, so sent: message_id is set
        except discord.HTTPException as error:
            log.warning("Poll %s closed, but its embed could not show the results: %s", poll.id, error)
        try:
            await channel.send(embed=results_embed(poll, figures, url, refused=refused))
        except discord.HTTPException as error:
            log.warning("Poll %s closed, but its results could not be posted: %s", poll.id, error)

    async def close_due_polls(self, now: datetime | None = None) -> int:
        """Close every poll whose deadline has come, including deadlines that passed while the bot was down."""
        # Open polls are all in memory, so checking every second costs no query until one is due.
        moment = now or utcnow()
        due = [live.poll for live in self._open.values() if live.poll.deadline_at and live.poll.deadline_at <= moment]
        return sum([await self._close_if_open(poll.id, CloseReason.DEADLINE) for poll in due])

    async def message_deleted(self, message_id: int) -> None:
        live = self._open.get(message_id)
        if live is not None:
            await self._close_if_open(live.poll.id, CloseReason.MESSAGE_DELETED)

    async def channel_deleted(self, channel_id: int) -> None:
        """A thread or channel holding polls went: its polls can never be voted on again."""
        for live in [live for live in self._open.values() if live.poll.channel_id == channel_id]:
            await self._close_if_open(live.poll.id, CloseReason.CHANNEL_DELETED)

    async def _close_if_open(self, poll_id: int, reason: CloseReason) -> bool:
        """Close the poll unless something closed it first (a moderator, its deadline); whether this did."""
        try:
            await self.close_poll(poll_id, reason)
        except PollClosed:
            return False
        return True

    async def find_open_poll(self, guild_id: int, channel_id: int, reference: str | None) -> StoredPoll:
        """The poll a moderator means: a poll number, message id or link; or the one open poll in this channel."""
        if reference is None or not reference.strip():
            found = await self._store.open_polls_in_channel(channel_id)
            if len(found) == 1:
                return found[0]
            if not found:
                raise PollNotFound("There is no open poll in this channel: name the poll to close.")
            raise PollNotFound(f"This channel has {len(found)} open polls: name the one to close.")
        poll = await self._poll_by_reference(reference, guild_id)
        if poll is None or poll.guild_id != guild_id:
            raise PollNotFound(f"No poll matches {quote(reference)} in this server.")
        if not poll.is_open:
            raise PollClosed(f"Poll #{poll.id} is already closed.")
        return poll

    async def _poll_by_reference(self, reference: str, guild_id: int) -> StoredPoll | None:
        parsed = parse_reference(reference, guild_id, what="poll")  # InvalidReference lists the accepted forms
        return await look_up(parsed, self._store.poll_by_message, self._store.poll)

    # --- reconciliation ------------------------------------------------------------------------------

    async def reconcile_all(self, *, only_held: bool = False) -> None:
        """Bring every open poll in line with its reactions on Discord; run on each (non-resumed) ready.

        `only_held`: just the polls still holding reactions (a session resumed before its ready).
        """
        try:
            await self._discard_unsent()
        except Exception:
            log.exception("Forgetting polls whose message was never sent failed")
        await self._reconciler.reconcile_all(only_held=only_held)

    async def _discard_unsent(self) -> None:
        """Forget /poll create polls whose message never went out before a restart.

        Article polls are left to the publisher, which finishes interrupted posts and calls us again.
        """
        for poll in await self._store.unsent_polls():
            if poll.delivery_id is None and poll.created_at < self._started_at:
                await self._store.delete_unsent(poll.id)

    # --- fair polls: member lookups and what the poll message shows ---------------------------------

    async def poll_defaults(self, guild_id: int) -> PollFairness:
        return from_row(await self._store.poll_defaults(guild_id))

    async def set_poll_defaults(self, guild_id: int, fairness: PollFairness) -> None:
        if fairness.plain:
            await self._store.clear_poll_defaults(guild_id)  # no defaults: polls are open to everyone
        else:
            await self._store.set_poll_defaults(guild_id, to_row(fairness))

    async def poll(self, poll_id: int) -> StoredPoll:
        found = await self._store.poll(poll_id)
        if found is None:
            raise PollNotFound(f"There is no poll #{poll_id}.")
        return found

    async def my_vote(self, poll: StoredPoll, voter_id: int) -> frozenset[int] | None:
        """Option ids Agora recorded for the voter (queued votes included); None when it has none."""
        live = self._open.get(poll.message_id) if poll.message_id is not None else None
        if live is not None:
            voted = live.voted(voter_id)
        else:
            await self.recorder.flush()
            voted = frozenset(o for v, o in await self._store.current_votes(poll.id) if v == voter_id)
        return voted or None

    async def is_anonymous(self, poll: StoredPoll) -> bool:
        return from_row(await self._store.fairness(poll.id)).anonymous

    async def withdraw_vote(self, poll: StoredPoll, voter_id: int) -> frozenset[int]:
        """Withdraw the voter's vote in an open anonymous poll, whose reactions are removed once counted (in
        other polls a member removes their reaction); returns the option ids withdrawn."""
        live = self._open.get(poll.message_id) if poll.message_id is not None else None
        if live is None:
            raise PollClosed(f"Poll #{poll.id} is closed: its votes are final.")
        if not live.poll_fairness.anonymous:
            raise PollNotAnonymous(
                f"In poll #{poll.id} your vote is your reaction: remove it from the poll's message to withdraw it."
            )
        still_shown = await self._take_off_reactions_now(live, voter_id, live.voted(voter_id))
        voted = live.voted(voter_id)  # as it is now: a reaction may have been counted while Discord answered
        outcome = withdrawal(live.rules, voted, voter_id, still_shown=still_shown)
        self.fair.withdrawn_live(live, voter_id)
        live.apply(outcome.changes)
        live.apply(outcome.leftovers)
        self._apply(live, outcome, Source.LIVE)
        return voted

    async def _take_off_reactions_now(self, live: LivePoll, voter_id: int, voted: frozenset[int]) -> set[int]:
        """Take the voter's reactions for their options (and any queued for removal) off now, so that none is
        found on the message and counted again after the withdrawal; returns the options whose reaction
        Discord would not take off (they stay marked left until seen gone, bot/polls/anonymous.py rule 6)."""
        poll = live.poll
        message_id: int = poll.message_id  # type: ignore[assignment]  # open, so sent
        queued = self.remover.take_queued(poll.channel_id, message_id, voter_id)
        keys = {option_id: key for key, option_id in live.rules.option_ids.items()}
        wanted = {removal.emoji_key: removal for removal in queued}
        for option_id in voted:
            key = keys[option_id]
            route = reaction_route_emoji(live.emojis[key])
            wanted.setdefault(key, QueuedRemoval(poll.channel_id, message_id, voter_id, key, route, False))
        still_shown: set[int] = set()
        for key, removal in wanted.items():
            try:
                await self._send_removal(removal)
            except discord.NotFound:
                pass  # the message's reaction is gone already
            except discord.HTTPException as error:
                log.info("Poll %s: could not take a withdrawn voter's reaction off now (%s)", poll.id, error)
                if key in live.rules.option_ids:
                    still_shown.add(live.rules.option_ids[key])
                self.remover.request(removal)  # the remover tries again, as for any reaction
        return still_shown

    def _shown_fairness(self, poll: StoredPoll, fairness: PollFairness) -> tuple[PollFairness, list[str]]:
        """poll_embed's fairness arguments: the settings and the names of the roles that may vote."""
        guild = self._client.get_guild(poll.guild_id)
        roles = [guild.get_role(role_id) if guild else None for role_id in sorted(fairness.voters.role_ids)]
        return fairness, [role.name for role in roles if role is not None]

    # --- Discord helpers -----------------------------------------------------------------------------

    def _can_manage(self, channel_id: int) -> bool | None:
        """Whether the bot may remove others' reactions in the channel; None when the cache cannot tell."""
        channel = self._client.get_channel(channel_id)
        guild = getattr(channel, "guild", None)
        if not isinstance(channel, discord.abc.GuildChannel | discord.Thread) or guild is None or guild.me is None:
            return None
        return can_remove_reactions(channel, guild.me)


def _channel_id(channel: discord.abc.Messageable) -> int:
    return channel.id  # type: ignore[attr-defined]  # every channel a poll is sent to has an id


def _partial_route_emoji(emoji: discord.PartialEmoji) -> str:
    return f"{emoji.name}:{emoji.id}" if emoji.id else (emoji.name or "")
