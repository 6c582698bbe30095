"""PollService against a real SQLite file, with Discord faked at the REST edge (tests/fakes/polls.py)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import discord
import pytest

from bot.articles.article import Article
from bot.polls.options import InvalidOptions, PollOption, article_poll_spec, options_to_json
from bot.polls.rules import Action, VoteChange
from bot.polls.service import PollClosed, PollNotFound
from bot.polls.states import CloseReason
from bot.references import InvalidReference
from bot.storage.articles import ArticleStore
from bot.timeutil import utcnow
from tests.fakes.discord_http import BOT_ID, GUILD_ID, MODERATOR_ID, TEXT_CHANNEL_ID
from tests.fakes.polls import NO_MANAGE_CHANNEL_ID
from tests.polls.helpers import ARTICLE, THUMBS_DOWN, THUMBS_UP, YES_NO, World

PIZZA = discord.PartialEmoji(name="🍕")


async def refreshed(world: World, message_id: int) -> list[dict]:
    """The live-embed edits of the message, once the debounced first one was sent and a few more edit
    intervals passed (so an edit too many would show)."""
    for _ in range(200):
        if world.http.edits_of(message_id):
            await asyncio.sleep(0.05)
            return world.http.edits_of(message_id)
        await asyncio.sleep(0.005)
    raise AssertionError("the live embed was never refreshed")


# --- opening ---------------------------------------------------------------------------------------------


async def test_create_sends_the_poll_embed_and_one_reaction_per_option(world):
    opened = await world.create(options=(PollOption("👍", "Yes"), PollOption("<:party:7001>", "Party")))
    [sent] = world.http.sent("send_message")
    embed = sent["embeds"][0]
    assert embed["title"] == "Agree?"
    assert "👍 **Yes**" in embed["description"] and "<:party:7001> **Party**" in embed["description"]
    assert f"Agora poll #{opened.poll.id}" in embed["footer"]["text"]
    assert [call["emoji"] for call in world.http.sent("add_reaction")] == ["👍", "party:7001"]
    stored = await world.store.poll(opened.poll.id)
    assert stored.message_id == opened.message.id and stored.is_open and opened.warnings == ()


async def test_emoji_discord_refuses_withdraws_the_poll(world):
    world.http.unknown_emoji.add("🫥")
    with pytest.raises(InvalidOptions, match="Discord does not accept 🫥"):
        await world.create(options=(PollOption("👍", "Yes"), PollOption("🫥", "Hidden")))
    assert world.http.sent("delete_message")
    assert await world.db.fetch_value("SELECT COUNT(*) FROM polls") == 0


async def test_channel_without_manage_messages_gets_a_warning(world):
    opened = await world.create(channel_id=NO_MANAGE_CHANNEL_ID)
    [warning] = opened.warnings
    assert "Manage Messages" in warning and "latest reaction counts" in warning


# --- voting ----------------------------------------------------------------------------------------------


async def test_votes_are_recorded_with_a_live_event_log(world):
    poll = (await world.create()).poll
    world.react(poll.message_id, THUMBS_UP, 1)
    world.react(poll.message_id, THUMBS_UP, 2)
    world.react(poll.message_id, THUMBS_UP, 2, added=False)
    assert await world.votes(poll.id) == {(1, "👍")}
    assert await world.events(poll.id) == [
        (1, "👍", "added", "live"),
        (2, "👍", "added", "live"),
        (2, "👍", "removed", "live"),
    ]


async def test_switching_moves_the_vote_and_removes_the_earlier_reaction(world):
    poll = (await world.create()).poll
    world.react(poll.message_id, THUMBS_UP, 1)
    world.react(poll.message_id, THUMBS_DOWN, 1)
    assert await world.votes(poll.id) == {(1, "👎")}
    [removal] = world.http.sent("remove_reaction")
    assert (removal["emoji"], removal["user_id"]) == ("👍", 1)
    # Discord then reports the removal the bot made: it must not take the new vote away.
    world.service.on_reaction(poll.message_id, 1, THUMBS_UP, added=False)
    assert await world.votes(poll.id) == {(1, "👎")}


async def test_without_manage_messages_the_latest_reaction_counts_and_nothing_is_removed(world):
    poll = (await world.create(channel_id=NO_MANAGE_CHANNEL_ID)).poll
    world.react(poll.message_id, THUMBS_UP, 1)
    world.react(poll.message_id, THUMBS_DOWN, 1)
    world.react(poll.message_id, PIZZA, 1)
    assert await world.votes(poll.id) == {(1, "👎")}
    assert world.http.sent("remove_reaction") == []


async def test_multiple_choice_counts_each_option(world):
    poll = (await world.create(multiple=True)).poll
    world.react(poll.message_id, THUMBS_UP, 1)
    world.react(poll.message_id, THUMBS_DOWN, 1)
    assert await world.votes(poll.id) == {(1, "👍"), (1, "👎")}
    assert world.http.sent("remove_reaction") == []


async def test_foreign_emoji_is_removed_and_the_bots_own_reactions_never_count(world):
    poll = (await world.create()).poll
    world.react(poll.message_id, PIZZA, 1)
    world.service.on_reaction(poll.message_id, BOT_ID, THUMBS_UP, added=True)
    assert await world.votes(poll.id) == set()
    assert [(c["emoji"], c["user_id"]) for c in world.http.sent("remove_reaction")] == [("🍕", 1)]


async def test_custom_emoji_votes_match_by_id_even_after_a_rename(world):
    poll = (await world.create(options=(PollOption("<:party:7001>", "Party"), PollOption("👎", "No")))).poll
    world.service.on_reaction(poll.message_id, 1, discord.PartialEmoji(name="renamed", id=7001), added=True)
    assert await world.votes(poll.id) == {(1, "<:party:7001>")}


async def test_a_burst_of_votes_costs_one_embed_edit(world):
    poll = (await world.create()).poll
    for voter in range(1, 1001):
        world.service.on_reaction(poll.message_id, voter, THUMBS_UP if voter % 4 else THUMBS_DOWN, added=True)
    [edit] = await refreshed(world, poll.message_id)
    description = edit["embeds"][0]["description"]
    assert "750 votes · 75.0%" in description and "250 votes · 25.0%" in description
    assert "1000 voters" in edit["embeds"][0]["footer"]["text"]
    assert len(await world.votes(poll.id)) == 1000


async def test_clearing_reactions_withdraws_votes_and_restores_the_ballot(world):
    poll = (await world.create()).poll
    world.react(poll.message_id, THUMBS_UP, 1)
    world.react(poll.message_id, THUMBS_DOWN, 2)
    world.service.on_reactions_cleared(poll.message_id, THUMBS_DOWN)
    assert await world.votes(poll.id) == {(1, "👍")}
    world.service.on_reactions_cleared(poll.message_id)
    assert await world.votes(poll.id) == set()
    restored = [c["emoji"] for c in world.http.sent("add_reaction")][2:]
    assert restored == ["👎", "👍", "👎"]  # the cleared emoji, then the whole ballot


# --- closing ---------------------------------------------------------------------------------------------


async def test_close_shows_final_results_and_posts_them(world):
    poll = (await world.create()).poll
    world.react(poll.message_id, THUMBS_UP, 1)
    world.react(poll.message_id, THUMBS_UP, 2)
    world.react(poll.message_id, THUMBS_DOWN, 3)
    closed = await world.service.close_poll(poll.id, CloseReason.MANUAL)
    assert (closed.status, closed.closed_reason) == ("closed", "manual") and closed.closed_at is not None
    final = world.http.edits_of(poll.message_id)[-1]["embeds"][0]
    assert "closed by a moderator" in final["description"] and "Final results" in final["footer"]["text"]
    assert "2 votes · 66.7%" in final["description"]
    results = world.http.sent("send_message")[-1]
    assert results["channel_id"] == TEXT_CHANNEL_ID
    assert "👍 **Yes** won with 66.7% of 3 voters." in results["embeds"][0]["description"]


async def test_reactions_on_a_closed_poll_do_not_count_and_are_removed(world):
    poll = (await world.create()).poll
    world.react(poll.message_id, THUMBS_UP, 1)
    await world.service.close_poll(poll.id, CloseReason.MANUAL)
    world.react(poll.message_id, THUMBS_DOWN, 2)
    world.react(poll.message_id, THUMBS_UP, 1, added=False)
    assert await world.votes(poll.id) == {(1, "👍")}
    assert [(c["emoji"], c["user_id"]) for c in world.http.sent("remove_reaction")] == [("👎", 2)]


async def test_closing_twice_is_refused(world):
    poll = (await world.create()).poll
    await world.service.close_poll(poll.id, CloseReason.MANUAL)
    with pytest.raises(PollClosed):
        await world.service.close_poll(poll.id, CloseReason.MANUAL)


@pytest.mark.parametrize("failing", ["record_vote_events", "close_poll"])
async def test_a_close_that_fails_leaves_the_poll_open_and_counting(world, monkeypatch, failing):
    poll = (await world.create()).poll
    world.react(poll.message_id, THUMBS_UP, 11)  # queued, not yet written

    async def refused(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(world.store, failing, refused)
    with pytest.raises(OSError):
        await world.service.close_poll(poll.id, CloseReason.MANUAL)
    monkeypatch.undo()
    assert (await world.store.poll(poll.id)).is_open
    world.react(poll.message_id, THUMBS_DOWN, 12)
    assert await world.votes(poll.id) == {(11, "👍"), (12, "👎")}
    await world.service.close_poll(poll.id, CloseReason.MANUAL)  # and it can still be closed
    assert not (await world.store.poll(poll.id)).is_open


async def test_deadline_closes_the_poll(world):
    poll = (await world.create(deadline_at=utcnow() + timedelta(minutes=30))).poll
    assert await world.service.close_due_polls(utcnow()) == 0
    assert await world.service.close_due_polls(utcnow() + timedelta(minutes=31)) == 1
    assert (await world.store.poll(poll.id)).closed_reason == "deadline"


async def test_deadline_that_passed_while_the_bot_was_down_closes_on_restart(world):
    poll = (await world.create(deadline_at=utcnow() + timedelta(milliseconds=1))).poll
    world.react(poll.message_id, THUMBS_UP, 1)
    world = await world.restart()
    try:
        await asyncio.sleep(0.01)
        assert await world.service.close_due_polls() == 1
        closed = await world.store.poll(poll.id)
        assert closed.closed_reason == "deadline"
        assert "1 vote · 100.0%" in world.http.sent("send_message")[-1]["embeds"][0]["description"]
    finally:
        await world.service.stop()
        await world.db.close()


async def test_deleting_the_poll_message_closes_it_without_posting(world):
    poll = (await world.create()).poll
    sent_before = len(world.http.sent("send_message"))
    await world.service.message_deleted(poll.message_id)
    assert (await world.store.poll(poll.id)).closed_reason == "message_deleted"
    assert len(world.http.sent("send_message")) == sent_before


async def test_find_open_poll_by_thread_number_or_link(world):
    poll = (await world.create()).poll
    assert (await world.service.find_open_poll(GUILD_ID, TEXT_CHANNEL_ID, None)).id == poll.id
    assert (await world.service.find_open_poll(GUILD_ID, 1, f"#{poll.id}")).id == poll.id
    link = f"https://discord.com/channels/{GUILD_ID}/{TEXT_CHANNEL_ID}/{poll.message_id}"
    assert (await world.service.find_open_poll(GUILD_ID, 1, link)).id == poll.id
    with pytest.raises(PollNotFound, match="no open poll in this channel"):
        await world.service.find_open_poll(GUILD_ID, 1, None)
    with pytest.raises(PollNotFound):
        await world.service.find_open_poll(GUILD_ID + 1, 1, str(poll.id))


async def test_a_number_too_large_for_any_id_is_not_found(world):
    await world.create()
    with pytest.raises(InvalidReference, match="No poll matches"):
        await world.service.find_open_poll(GUILD_ID, 1, "9" * 30)


# --- reconciliation --------------------------------------------------------------------------------------


async def test_reconciliation_counts_offline_votes_beyond_one_page_and_removes_withdrawn_ones(world):
    poll = (await world.create()).poll
    world.react(poll.message_id, THUMBS_UP, 1)  # live, then withdrawn while the bot is down
    world.react(poll.message_id, THUMBS_DOWN, 2)  # live, stays
    world = await world.restart()
    try:
        world.http.unreact(poll.message_id, "👍", 1)
        for voter in range(10_000, 10_250):  # cast while the bot was down: 2.5 pages of 100
            world.http.react(poll.message_id, "👍", voter)
        await world.service.reconcile_all()
        votes = await world.votes(poll.id)
        assert len(votes) == 251 and (2, "👎") in votes and (1, "👍") not in votes
        events = await world.events(poll.id)
        assert (1, "👍", "removed", "reconciled") in events
        assert sum(1 for e in events if e[2:] == ("added", "reconciled")) == 250
        pages = [c for c in world.http.sent("get_reaction_users") if c["emoji"] == "👍"]
        assert [c["after"] for c in pages] == [None, 10_098, 10_198]  # 99 voters + the bot on the first page
    finally:
        await world.service.stop()
        await world.db.close()


async def test_reconciliation_counts_super_reactions_listed_apart(world):
    poll = (await world.create()).poll
    world.http.super_reactions[poll.message_id] = {"👎": [31]}
    await world.service.reconcile_all()
    assert await world.votes(poll.id) == {(31, "👎")}
    assert [c["emoji"] for c in world.http.sent("get_reaction_users")] == ["👎"]  # 👍 had only the bot


async def test_reactions_of_a_new_session_are_judged_after_what_was_missed(world):
    """A member's 👍 was missed (the bot was away); their 🤷 in the new session comes later and wins."""
    poll = (await world.create(options=(*YES_NO, PollOption("🤷", "Unsure")))).poll
    world.http.react(poll.message_id, "👍", 5)  # while the bot was away
    world.service.hold_reactions()  # the new session's READY
    world.react(poll.message_id, discord.PartialEmoji(name="🤷"), 5)
    await world.service.reconcile_all()
    assert await world.votes(poll.id) == {(5, "🤷")}
    assert ("👍", 5) in [(c["emoji"], c["user_id"]) for c in world.http.sent("remove_reaction")]


async def test_a_withdrawal_held_during_the_listing_is_not_undone_by_an_older_page(world):
    poll = (await world.create()).poll
    world.react(poll.message_id, THUMBS_UP, 5)
    world.service.hold_reactions()
    listing = {option.id: ({5} if option.emoji == "👍" else set()) for option in poll.options}  # read before
    world.react(poll.message_id, THUMBS_UP, 5, added=False)
    live = world.service.live_poll(poll.message_id)
    outcome, held = live.reconcile(listing)
    assert outcome.changes == () and [o.changes for o in held] == [
        (VoteChange(poll.id, poll.options[0].id, 5, Action.REMOVED),)
    ]


async def test_a_message_left_with_older_figures_by_a_stop_is_redrawn_once_reconciled(world):
    poll = (await world.create()).poll
    world.react(poll.message_id, THUMBS_UP, 1)
    world = await world.restart()  # before the debounced edit went out: the message still shows no voter
    try:
        assert world.http.edits_of(poll.message_id) == []
        await world.service.reconcile_all()
        [edit] = await refreshed(world, poll.message_id)
        assert "1 voter" in edit["embeds"][0]["footer"]["text"]
    finally:
        await world.service.stop()
        await world.db.close()


async def test_a_message_showing_the_stored_figures_is_not_edited_after_a_restart(world):
    poll = (await world.create()).poll
    world.react(poll.message_id, THUMBS_UP, 1)
    drawn = len(await refreshed(world, poll.message_id))
    world = await world.restart()
    try:
        await world.service.reconcile_all()
        await asyncio.sleep(0.1)  # many edit intervals: a redraw would have gone out
        assert len(world.http.edits_of(poll.message_id)) == drawn
    finally:
        await world.service.stop()
        await world.db.close()


async def test_stopping_sends_the_edit_still_waiting(world):
    poll = (await world.create()).poll
    world.react(poll.message_id, THUMBS_UP, 1)
    await world.service.finish_edits()  # a SIGTERM, before Discord is disconnected
    [edit] = world.http.edits_of(poll.message_id)
    assert "1 voter" in edit["embeds"][0]["footer"]["text"]


async def test_reconciliation_closes_a_poll_whose_message_was_deleted(world):
    poll = (await world.create()).poll
    world.http.messages.pop(poll.message_id)
    await world.service.reconcile_all()
    closed = await world.store.poll(poll.id)
    assert (closed.status, closed.closed_reason) == ("closed", "message_deleted")


async def test_a_poll_create_interrupted_before_sending_is_discarded_on_restart(world):
    await world.store.create_poll(
        guild_id=GUILD_ID, channel_id=TEXT_CHANNEL_ID, question="Lost?", options=YES_NO, multiple=False,
        created_by=MODERATOR_ID,
    )  # fmt: skip
    world = await world.restart()
    try:
        await world.service.reconcile_all()
        assert await world.db.fetch_value("SELECT COUNT(*) FROM polls") == 0
    finally:
        await world.service.stop()
        await world.db.close()


# --- article polls ---------------------------------------------------------------------------------------


async def _delivery(world: World, poll_spec: str | None = None):
    _, delivery = await ArticleStore(world.db).record_intent(
        ARTICLE, source="test", guild_id=GUILD_ID, channel_id=TEXT_CHANNEL_ID, poll_spec=poll_spec
    )
    return delivery


async def test_article_poll_uses_the_articles_question_and_default_options_once(world):
    delivery = await _delivery(world)
    thread = world.bot.get_partial_messageable(555, guild_id=GUILD_ID)
    await world.service.open_article_poll(delivery, ARTICLE, thread)
    await world.service.open_article_poll(delivery, ARTICLE, thread)  # a resumed post calls again
    [sent] = world.http.sent("send_message")
    assert sent["channel_id"] == 555 and sent["embeds"][0]["title"] == "Will it work?"
    assert [c["emoji"] for c in world.http.sent("add_reaction")] == ["👍", "👎", "🤷"]
    poll = await world.store.poll_for_delivery(delivery.id)
    assert (poll.article_id, poll.channel_id) == (delivery.article_id, 555)


async def test_article_poll_follows_the_subscription_template_and_options(world):
    options = options_to_json([PollOption("✅", "Agree"), PollOption("❌", "Disagree")])
    delivery = await _delivery(world, article_poll_spec("Good news: {title}?", options))
    article = Article(title="Rates fall", paragraphs=("Body.",))
    await world.service.open_article_poll(delivery, article, world.bot.get_partial_messageable(555))
    [sent] = world.http.sent("send_message")
    assert sent["embeds"][0]["title"] == "Good news: Rates fall?"
    assert [c["emoji"] for c in world.http.sent("add_reaction")] == ["✅", "❌"]


async def test_article_poll_falls_back_to_default_options_when_discord_refuses_the_subscriptions(world):
    options = options_to_json([PollOption("★", "Star"), PollOption("❌", "Cross")])
    delivery = await _delivery(world, article_poll_spec("Good news: {title}?", options))
    world.http.unknown_emoji.add("★")
    await world.service.open_article_poll(delivery, ARTICLE, world.bot.get_partial_messageable(555))
    poll = await world.store.poll_for_delivery(delivery.id)
    assert [o.emoji for o in poll.options] == ["👍", "👎", "🤷"]
    assert poll.question == "Will it work?" and world.service.live_poll(poll.message_id) is not None
    assert len(world.http.sent("delete_message")) == 1  # the refused poll message went
    assert await world.db.fetch_value("SELECT COUNT(*) FROM polls") == 1


@pytest.mark.parametrize(
    "spec",
    [
        article_poll_spec("Good news: {title}?", options_to_json([PollOption("★", "Star"), PollOption("❌", "No")])),
        '{"question_template": "Good news: {title}?", "options": [["👍", "Yes"]]}',  # one option is no poll
    ],
    ids=["refused-by-discord", "unusable-options"],
)
async def test_default_options_fallback_keeps_the_subscriptions_question(world, spec):
    world.http.unknown_emoji.add("★")
    delivery = await _delivery(world, spec)
    article = Article(title="Rates fall", paragraphs=("Body.",))
    await world.service.open_article_poll(delivery, article, world.bot.get_partial_messageable(555))
    poll = await world.store.poll_for_delivery(delivery.id)
    assert poll.question == "Good news: Rates fall?"
    assert [o.emoji for o in poll.options] == ["👍", "👎", "🤷"]


async def test_article_poll_sent_before_a_crash_is_adopted_not_sent_again(world):
    delivery = await _delivery(world)
    thread = world.bot.get_partial_messageable(555, guild_id=GUILD_ID)
    await world.service.open_article_poll(delivery, ARTICLE, thread)
    async with world.db.transaction() as connection:
        await connection.execute("UPDATE polls SET message_id = NULL")  # the record was lost
    world.http.reactions.clear()  # ...and the crash came before the reactions were added
    world = await world.restart()
    try:
        await world.service.open_article_poll(delivery, ARTICLE, thread)
        assert len(world.http.sent("send_message")) == 1
        poll = await world.store.poll_for_delivery(delivery.id)
        assert poll.message_id is not None and world.service.live_poll(poll.message_id) is not None
        assert len(world.http.sent("add_reaction")) == 3 + 3
    finally:
        await world.service.stop()
        await world.db.close()


async def test_a_session_resumed_before_its_ready_releases_what_it_held(world):
    poll = (await world.create()).poll
    world.service.hold_reactions()
    world.react(poll.message_id, THUMBS_UP, 8)
    await world.service.reconcile_all(only_held=True)  # on_resumed
    assert not world.service.live_poll(poll.message_id).holding
    assert await world.votes(poll.id) == {(8, "👍")}


async def test_reconciliation_closes_a_poll_whose_channel_was_deleted(world):
    poll = (await world.create()).poll
    world.http.deleted_channels.add(poll.channel_id)
    await world.service.reconcile_all()
    closed = await world.store.poll(poll.id)
    assert (closed.status, closed.closed_reason) == ("closed", "channel_deleted")
