"""Fair polls around the vote rules: refuses reactions of members who may not vote, and counts anonymous
polls' reactions (bot/polls/anonymous.py). Called by the PollService on its reaction and reconciliation
paths; a poll without fairness settings never gets here.

A refused reaction is not a vote: it goes neither to the vote rules nor to the held reactions, so it
cannot supersede (and so withdraw) the member's earlier vote. It is recorded once per member, option and
reason, and taken off the message when Agora may.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Set
from datetime import datetime

import discord

from bot.polls.anonymous import anonymous_removal, anonymous_vote, reconcile_anonymous
from bot.polls.eligibility import MemberFacts, Refusal, judge
from bot.polls.ingest import VoteRecorder
from bot.polls.live import LivePoll
from bot.polls.rules import NOTHING, Outcome, Reaction, ReactionRemoval, Source
from bot.timeutil import utcnow

_Key = tuple[int, int, str]  # message id, user id, emoji key
FetchMember = Callable[[int], Awaitable[MemberFacts | None]]


class FairVotes:
    def __init__(self, recorder: VoteRecorder, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._recorder = recorder
        self._clock = clock
        self._refused: set[_Key] = set()  # refused reactions not yet seen taken off
        self._reacted_live: dict[int, set[int]] = {}  # poll id → anonymous voters seen live this session

    def on_reaction(self, live: LivePoll, reaction: Reaction, member: discord.Member | None) -> Outcome | None:
        """The outcome of a reaction on a poll with fairness settings, or None: the usual vote rules apply."""
        option_id = live.rules.option_ids.get(reaction.emoji_key)
        voter = reaction.voter_id
        if option_id is None or voter == live.rules.bot_user_id or not live.rules.is_open:
            return None
        anonymous = live.poll_fairness.anonymous
        if not reaction.added:
            self._refused.discard((live.poll.message_id, voter, reaction.emoji_key))
            if not anonymous:
                return None
            # An anonymous poll's reactions go by design: only a withdrawn reaction's mark goes with it.
            outcome = anonymous_removal(live.rules, voter, reaction.emoji_key, left=live.left(voter))
            live.apply(outcome.leftovers)
            return outcome
        rules = live.poll_fairness.voters
        if rules.restricted and option_id not in live.voted(voter) and option_id not in live.left(voter):
            reason = judge(rules, facts_of(member, voter, need_roles=bool(rules.role_ids)), self._clock())
            if reason is not None:
                return self._refuse(live, option_id, reaction, reason, Source.LIVE)
        if not anonymous:
            return None
        self._reacted_live.setdefault(live.poll.id, set()).add(voter)
        outcome = anonymous_vote(
            live.rules,
            live.voted(voter),
            voter,
            reaction.emoji_key,
            can_remove_reactions=live.can_remove_reactions,
            left=live.left(voter),
        )
        live.apply(outcome.changes)
        live.apply(outcome.leftovers)
        return outcome

    def _refuse(self, live: LivePoll, option_id: int, reaction: Reaction, reason: Refusal, source: Source) -> Outcome:
        self._recorder.record_refusal(live.poll.id, option_id, reaction.voter_id, reason.value, source)
        self._refused.add((live.poll.message_id, reaction.voter_id, reaction.emoji_key))  # type: ignore[arg-type]
        if not live.can_remove_reactions:
            return NOTHING
        return Outcome(removals=(ReactionRemoval(reaction.emoji_key, reaction.voter_id),))

    def new_session(self) -> None:
        """A new gateway session: reactions from here on are newer than what its reconciliation finds."""
        self._reacted_live.clear()

    def withdrawn_live(self, live: LivePoll, voter: int) -> None:
        """The voter withdrew by command: a listing of this session read before holds an older reaction."""
        self._reacted_live.setdefault(live.poll.id, set()).add(voter)

    def removal_wanted(self, live: LivePoll, user_id: int, emoji_key: str) -> bool:
        """Whether a queued removal of an option's reaction is still wanted for fairness reasons."""
        return live.poll_fairness.anonymous or (live.poll.message_id, user_id, emoji_key) in self._refused

    async def screen(
        self, live: LivePoll, listing: Mapping[int, Set[int]], fetch_member: FetchMember
    ) -> tuple[dict[int, set[int]], list[Outcome]]:
        """The listing without reactions of members who may not vote (judged by the same rules, with the
        member fetched), and the refusals' outcomes. Reactions already counted or refused are not re-judged."""
        screened = {option_id: set(users) for option_id, users in listing.items()}
        rules = live.poll_fairness.voters
        if not rules.restricted:
            return screened, []
        keys = {option_id: key for key, option_id in live.rules.option_ids.items()}
        message_id: int = live.poll.message_id  # type: ignore[assignment]
        unjudged = sorted(
            (user, option_id)
            for option_id, users in listing.items()
            for user in users
            if user != live.rules.bot_user_id and option_id not in live.voted(user) and option_id not in live.left(user)
        )
        facts: dict[int, MemberFacts | None] = {}
        outcomes = []
        for user, option_id in unjudged:
            screened[option_id].discard(user)
            if (message_id, user, keys[option_id]) in self._refused:
                continue
            if user not in facts:
                facts[user] = await fetch_member(user)
            reason = judge(rules, facts[user], self._clock())
            if reason is None:
                screened[option_id].add(user)
            else:
                reaction = Reaction(user, keys[option_id], True)
                outcomes.append(self._refuse(live, option_id, reaction, reason, Source.RECONCILED))
        return screened, outcomes

    def reconcile_anonymous(self, live: LivePoll, listing: Mapping[int, Set[int]]) -> Outcome:
        """Count reactions left on an anonymous poll while Agora was away, and have them all taken off."""
        stored = {voter: live.voted(voter) for voter in {u for users in listing.values() for u in users}}
        outcome = reconcile_anonymous(
            live.rules,
            stored,
            listing,
            reacted_live=self._reacted_live.get(live.poll.id, set()),
            can_remove_reactions=live.can_remove_reactions,
            left=live.leftovers(),
        )
        live.apply(outcome.changes)
        live.apply(outcome.leftovers)
        return outcome


def facts_of(member: discord.Member | None, user_id: int, *, need_roles: bool) -> MemberFacts | None:
    """What the reaction event says about the member; None outside a server (a DM reaction)."""
    if member is None:
        return None
    # Member.roles sorts the guild's roles: only worth it when a role is required.
    roles = frozenset(role.id for role in member.roles) if need_roles else frozenset()
    return MemberFacts(user_id, roles, member.joined_at)


def facts_from_payload(user_id: int, data: Mapping[str, object]) -> MemberFacts:
    """MemberFacts from a guild member object of the REST API."""
    joined = data.get("joined_at")
    roles = data.get("roles")
    return MemberFacts(
        user_id,
        frozenset(int(role) for role in roles) if isinstance(roles, list) else frozenset(),
        datetime.fromisoformat(joined) if isinstance(joined, str) else None,
    )
