"""Fair polls in the PollService: article polls follow their subscription's rules over the server's defaults,
and a voter withdraws their vote in an anonymous poll. Real database, Discord faked at the REST edge."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.polls.eligibility import VoterRules
from bot.polls.fairness import FairnessChoice, PollFairness, choice_to_row, from_row, spec_with_rules
from bot.polls.service import PollClosed, PollNotAnonymous
from bot.polls.states import CloseReason
from bot.storage.articles import ArticleStore
from bot.storage.polls import PollRulesRow
from tests.fakes.discord_http import GUILD_ID, TEXT_CHANNEL_ID
from tests.fakes.polls import NO_MANAGE_CHANNEL_ID
from tests.polls.helpers import ARTICLE, THUMBS_DOWN, THUMBS_UP, World

SERVER = PollFairness(VoterRules(frozenset({7}), timedelta(days=7), None), hide_totals=True)
ANONYMOUS = PollFairness(anonymous=True)


async def open_article_poll(world: World, rules: PollRulesRow, channel_id: int = TEXT_CHANNEL_ID) -> PollFairness:
    _, delivery = await ArticleStore(world.db).record_intent(
        ARTICLE, source="test", guild_id=GUILD_ID, channel_id=channel_id, poll_spec=spec_with_rules(None, rules)
    )
    await world.service.open_article_poll(delivery, ARTICLE, world.guild.get_channel(channel_id))
    poll = await world.store.poll_for_delivery(delivery.id)
    assert poll is not None and poll.message_id is not None
    stored = from_row(await world.store.fairness(poll.id))
    live = world.service.live_poll(poll.message_id)
    assert live is not None and live.poll_fairness == stored  # counted by the rules it shows
    return stored


async def test_an_article_poll_takes_its_subscriptions_rules_over_the_servers(world: World) -> None:
    await world.service.set_poll_defaults(GUILD_ID, SERVER)
    subscription = FairnessChoice(role_id=9, min_member_age=timedelta(days=1), hide_totals=False)
    fairness = await open_article_poll(world, choice_to_row(subscription))
    assert fairness.voters == VoterRules(frozenset({9}), timedelta(days=7), timedelta(days=1))
    assert not fairness.hide_totals and not fairness.anonymous
    [sent] = world.http.sent("send_message")
    assert "Who may vote" in sent["embeds"][0]["footer"]["text"]


async def test_without_rules_of_its_own_an_article_poll_takes_the_servers(world: World) -> None:
    await world.service.set_poll_defaults(GUILD_ID, SERVER)
    assert await open_article_poll(world, PollRulesRow()) == SERVER


async def test_anonymity_is_dropped_where_the_bot_cannot_remove_reactions(world: World) -> None:
    fairness = await open_article_poll(world, PollRulesRow(anonymous=True, hide_totals=True), NO_MANAGE_CHANNEL_ID)
    assert fairness == PollFairness(hide_totals=True)


async def test_saving_no_defaults_clears_them(world: World) -> None:
    await world.service.set_poll_defaults(GUILD_ID, SERVER)
    await world.service.set_poll_defaults(GUILD_ID, PollFairness())
    assert await world.store.poll_defaults(GUILD_ID) is None


async def test_withdrawing_an_anonymous_vote_is_an_ordinary_withdrawal_that_survives_a_restart(world: World) -> None:
    poll = (await world.create(fairness=ANONYMOUS)).poll
    world.react(poll.message_id, THUMBS_UP, 1)
    world.react(poll.message_id, THUMBS_DOWN, 2)
    assert await world.service.withdraw_vote(poll, 1) == frozenset({poll.options[0].id})
    assert await world.service.withdraw_vote(poll, 1) == frozenset()  # nothing left to withdraw
    assert await world.votes(poll.id) == {(2, "👎")}
    assert await world.events(poll.id) == [
        (1, "👍", "added", "live"), (2, "👎", "added", "live"), (1, "👍", "removed", "live")
    ]  # fmt: skip
    assert not any(1 in users for users in world.http.reactions[poll.message_id].values())  # taken off first
    world = await world.restart()
    try:
        await world.service.reconcile_all()
        assert await world.service.my_vote(poll, 1) is None
        assert await world.votes(poll.id) == {(2, "👎")}
    finally:
        await world.service.stop()
        await world.db.close()


async def test_a_reaction_still_queued_for_removal_is_taken_off_before_the_withdrawal(world: World) -> None:
    poll = (await world.create(fairness=ANONYMOUS)).poll
    world.react(poll.message_id, THUMBS_UP, 1)  # its removal is queued; nothing has run it yet
    withdrawing = world.service.withdraw_vote(poll, 1)
    assert 1 in world.http.reactions[poll.message_id]["👍"]
    await withdrawing
    assert 1 not in world.http.reactions[poll.message_id]["👍"]  # gone before the withdrawal was recorded
    await world.service.drain()
    removals = [call for call in world.http.sent("remove_reaction") if call["user_id"] == 1]
    assert len(removals) == 1  # sent once, by the withdrawal, not again by the remover


async def test_a_reaction_discord_will_not_let_go_does_not_stop_the_withdrawal(world: World) -> None:
    poll = (await world.create(fairness=ANONYMOUS)).poll
    world.react(poll.message_id, THUMBS_UP, 1)
    world.http.forbidden_removals = True  # Manage Messages was taken away meanwhile
    assert await world.service.withdraw_vote(poll, 1) == frozenset({poll.options[0].id})
    assert await world.votes(poll.id) == set()


async def test_a_withdrawn_vote_whose_reaction_discord_kept_is_not_counted_again_after_a_restart(world: World) -> None:
    poll = (await world.create(fairness=ANONYMOUS)).poll
    world.react(poll.message_id, THUMBS_UP, 1)
    world.http.forbidden_removals = True  # Manage Messages was taken away meanwhile: the reaction stays
    assert await world.service.withdraw_vote(poll, 1) == frozenset({poll.options[0].id})
    await world.service.drain()
    world = await world.restart()
    try:
        await world.service.reconcile_all()
        assert await world.service.my_vote(poll, 1) is None, "the withdrawn vote came back from its old reaction"
        world.http.forbidden_removals = False
        world.react(poll.message_id, THUMBS_UP, 1, added=False)  # finally taken off: the mark goes ...
        world.react(poll.message_id, THUMBS_UP, 1)  # ... and reacting again is a vote
        assert await world.service.my_vote(poll, 1) == frozenset({poll.options[0].id})
    finally:
        await world.service.stop()
        await world.db.close()


async def test_a_withdrawn_vote_whose_reaction_discord_kept_is_not_counted_again_in_a_new_session(world: World) -> None:
    poll = (await world.create(fairness=ANONYMOUS)).poll
    world.react(poll.message_id, THUMBS_UP, 1)
    world.http.forbidden_removals = True
    await world.service.withdraw_vote(poll, 1)
    await world.service.drain()
    world.service.hold_reactions()  # a new gateway session (not resumed), same process
    await world.service.reconcile_all()
    assert await world.service.my_vote(poll, 1) is None, "the withdrawn vote came back from its old reaction"


async def test_a_vote_cast_again_while_away_after_a_withdrawal_counts(world: World) -> None:
    poll = (await world.create(fairness=ANONYMOUS)).poll
    world.react(poll.message_id, THUMBS_UP, 1)
    await world.service.withdraw_vote(poll, 1)  # its reaction was taken off
    await world.service.drain()
    await world.service.stop()
    world.http.react(poll.message_id, "👍", 1)  # reacted again while Agora was away
    world = await world.restart()
    try:
        await world.service.reconcile_all()
        assert await world.service.my_vote(poll, 1) == frozenset({poll.options[0].id})
    finally:
        await world.service.stop()
        await world.db.close()


async def test_withdrawing_is_for_open_anonymous_polls(world: World) -> None:
    plain = (await world.create()).poll
    with pytest.raises(PollNotAnonymous, match="remove it from the poll's message"):
        await world.service.withdraw_vote(plain, 1)
    anonymous = (await world.create(fairness=ANONYMOUS)).poll
    await world.service.close_poll(anonymous.id, CloseReason.MANUAL)
    with pytest.raises(PollClosed, match="closed"):
        await world.service.withdraw_vote(anonymous, 1)


async def test_a_withdrawal_during_a_reconciliation_is_not_undone_by_its_older_listing(world: World) -> None:
    poll = (await world.create(fairness=ANONYMOUS)).poll
    world.react(poll.message_id, THUMBS_UP, 1)  # counted; its removal is queued, not run yet
    world.service.hold_reactions()  # a new gateway session: its reconciliation lists the reactions
    listing = {option.id: ({1} if option.emoji == "👍" else set()) for option in poll.options}  # read before
    assert await world.service.withdraw_vote(poll, 1) == frozenset({poll.options[0].id})
    live = world.service.live_poll(poll.message_id)
    assert live is not None
    outcome = world.service.fair.reconcile_anonymous(live, listing)
    assert outcome.changes == () and live.voted(1) == frozenset()
