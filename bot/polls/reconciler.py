"""The reconciler: brings open polls in line with the reactions their messages carry on Discord, after a
start or a gateway session that could not be resumed (what wins is decided in bot/polls/reconcile.py).

From a new session's READY every open poll holds its live reactions (`hold_all`): they are newer than
anything Agora missed while it was away. Reconciling a poll reads its reactions page by page, applies what
was missed, then judges the held reactions in order. A poll whose reactions cannot be read releases what
it held, judged as it came, so nothing is lost; a poll whose message or channel is gone is closed. Once a
poll is reconciled, the embed its message showed when read is handed to `shown`, which redraws it if stale
(an edit dropped at shutdown or by a crash, or figures the journal or the listing changed).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import discord

from bot import limits
from bot.polls.eligibility import MemberFacts
from bot.polls.fair import FairVotes, facts_from_payload
from bot.polls.fairness import PLAIN
from bot.polls.live import LivePoll
from bot.polls.options import reaction_key, reaction_route_emoji
from bot.polls.rules import Outcome, Source
from bot.polls.states import CloseReason

log = logging.getLogger(__name__)

_NORMAL, _BURST = 0, 1  # reaction types in the reaction-users listing
# Discord error code → why a poll whose message cannot be read any more is closed.
_GONE_CODES = {10003: CloseReason.CHANNEL_DELETED, 10008: CloseReason.MESSAGE_DELETED}


class Reconciler:
    def __init__(
        self,
        client: discord.Client,
        open_polls: Mapping[int, LivePoll],
        fair: FairVotes,
        *,
        apply: Callable[[LivePoll, Outcome, Source], None],
        close: Callable[[int, CloseReason], Awaitable[object]],
        can_manage: Callable[[int], bool | None],
        shown: Callable[[LivePoll, Mapping[str, Any] | None], None],
    ) -> None:
        """`open_polls`: message id → open poll, kept by the poll service (a poll closed meanwhile leaves it);
        `apply` records an outcome and queues its removals; `close` closes a poll unless it is closed already;
        `can_manage`: whether the bot may remove reactions in a channel (None when the cache cannot tell);
        `shown(live, embed)`: the poll is reconciled and its message showed `embed` (None: no embed)."""
        self._client = client
        self._open = open_polls
        self._fair = fair
        self._apply = apply
        self._close = close
        self._can_manage = can_manage
        self._shown = shown

    def hold_all(self) -> None:
        """A new gateway session began (not a resumed one): hold live reactions until reconciliation."""
        self._fair.new_session()
        for live in self._open.values():
            live.hold()

    def release(self, live: LivePoll) -> None:
        """Judge the poll's held reactions as they came, without a listing."""
        for outcome in live.release():
            self._apply(live, outcome, Source.LIVE)

    async def reconcile_all(self, *, only_held: bool = False) -> None:
        """Reconcile every open poll (`only_held`: just those still holding reactions); one failing poll
        goes on counting live reactions and does not stop the others."""
        for live in [live for live in self._open.values() if live.holding or not only_held]:
            try:
                await self.reconcile(live)
            except Exception:
                log.exception("Reconciling poll %s failed; it keeps counting live reactions", live.poll.id)

    async def reconcile(self, live: LivePoll) -> None:
        poll = live.poll
        manage = self._can_manage(poll.channel_id)
        if manage is not None:
            live.can_remove_reactions = manage
        try:
            message = await self._client.http.get_message(poll.channel_id, poll.message_id)  # type: ignore[arg-type]  # open, so sent: message_id is set
            listing = await self._list_reactions(live, message)
        except discord.NotFound as error:
            self.release(live)
            if error.code not in _GONE_CODES:
                raise
            log.info("Poll %s's message is gone; closing it", poll.id)
            await self._close(poll.id, _GONE_CODES[error.code])
            return
        except BaseException:
            self.release(live)  # what was held is judged as it came, rather than lost
            raise
        if live.poll_fairness is not PLAIN:
            listing, refusals = await self._fair.screen(live, listing, lambda user: self._member_facts(live, user))
            for refused in refusals:
                self._apply(live, refused, Source.RECONCILED)
        if self._open.get(poll.message_id) is not live:  # type: ignore[arg-type]  # open, so sent: message_id is set
            return  # closed while its reactions were listed
        if live.poll_fairness.anonymous:
            self._apply(live, self._fair.reconcile_anonymous(live, listing), Source.RECONCILED)
            self.release(live)  # only removals were held: they withdraw nothing here
            self._shown(live, _first_embed(message))
            return
        outcome, held = live.reconcile(listing)
        if outcome.changes:
            log.info("Poll %s: %d vote changes found by reconciliation", poll.id, len(outcome.changes))
        self._apply(live, outcome, Source.RECONCILED)
        for judged in held:
            self._apply(live, judged, Source.LIVE)
        log.info("Poll %s reconciled: %d voters, %d reactions to take off", poll.id, live.voters, len(outcome.removals))
        self._shown(live, _first_embed(message))

    async def _list_reactions(self, live: LivePoll, data: Mapping[str, Any]) -> dict[int, set[int]]:
        """option id → ids of users who reacted with it (the message `data` says which options have some),
        read page by page from Discord."""
        summary = {reaction_key(discord.PartialEmoji.from_dict(r["emoji"])): r for r in data.get("reactions") or []}
        listing: dict[int, set[int]] = {}
        for key, option_id in live.rules.option_ids.items():
            reaction: Mapping[str, Any] = summary.get(key, {})
            details = reaction.get("count_details") or {}
            others = int(details.get("normal", reaction.get("count", 0))) - (1 if reaction.get("me") else 0)
            # Skipping reactions nobody but the bot used saves a request per option on quiet polls.
            users = await self._reaction_users(live, key, _NORMAL) if others > 0 else set()
            # Super reactions are listed apart; they count like any reaction.
            if details.get("burst"):
                users |= await self._reaction_users(live, key, _BURST)
            listing[option_id] = users
        return listing

    async def _reaction_users(self, live: LivePoll, key: str, kind: int) -> set[int]:
        users: set[int] = set()
        after: int | None = None
        emoji = reaction_route_emoji(live.emojis[key])
        page_size = limits.REACTION_USERS_PAGE
        while True:
            page = await self._client.http.get_reaction_users(
                live.poll.channel_id,
                live.poll.message_id,  # type: ignore[arg-type]  # open, so sent: message_id is set
                emoji,
                page_size,
                after=after,
                type=kind,  # type: ignore[arg-type]  # discord.py hints a Literal of 0 and 1
            )
            users.update(int(user["id"]) for user in page)
            if len(page) < page_size:
                return users
            after = max(int(user["id"]) for user in page)

    async def _member_facts(self, live: LivePoll, user_id: int) -> MemberFacts | None:
        """The member as Discord knows it now, for a reaction the listing found; None when unknown
        (not a member any more, or the lookup failed): such a reaction is refused, never counted."""
        poll = live.poll
        try:
            data = await self._client.http.get_member(poll.guild_id, user_id)
        except discord.HTTPException as error:
            if error.status != 404:
                log.warning("Poll %s: could not look up member %s: %s", poll.id, user_id, error)
            return None
        return facts_from_payload(user_id, data)


def _first_embed(message: Mapping[str, Any]) -> Mapping[str, Any] | None:
    embeds = message.get("embeds") or []
    return embeds[0] if embeds else None
