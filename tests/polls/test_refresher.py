"""The live-embed refresher on its own: what it redraws and how often, with a recording `edit`."""

from __future__ import annotations

import asyncio

from bot.polls.live import LivePoll
from bot.polls.refresher import EmbedRefresher
from bot.polls.rules import Reaction
from bot.storage.polls import StoredOption, StoredPoll
from bot.timeutil import utcnow
from tests.fakes.polls import http_error

INTERVAL = 0.05


def live_poll(poll_id: int) -> LivePoll:
    options = (StoredOption(1, 0, "👍", "Yes"), StoredOption(2, 1, "👎", "No"))
    poll = StoredPoll(
        id=poll_id, guild_id=1, channel_id=2, message_id=100 + poll_id, article_id=None, delivery_id=None,
        question="Agree?", multiple=False, status="open", closed_reason=None, created_by=None,
        created_at=utcnow(), deadline_at=None, closed_at=None, options=options,
    )  # fmt: skip
    return LivePoll(poll, bot_user_id=0)


def reaction(voter: int) -> Reaction:
    return Reaction(voter, "👍", added=True)


class Edits:
    """The `edit` callback: records which poll was redrawn and how many voters it showed."""

    def __init__(self) -> None:
        self.made: list[tuple[int, int]] = []
        self.refuse = False

    async def __call__(self, live: LivePoll) -> None:
        if self.refuse:
            raise http_error(403, 50013, "Missing Permissions")
        self.made.append((live.poll.id, live.voters))


async def settled(refresher: EmbedRefresher) -> None:
    """Wait until no redraw is waiting to be sent."""
    for _ in range(200):
        if not refresher.pending:
            return
        await asyncio.sleep(INTERVAL / 10)
    raise AssertionError("a redraw never went out")


async def test_changes_within_an_interval_cost_one_edit_showing_the_latest_figures():
    edits, live = Edits(), live_poll(1)
    refresher = EmbedRefresher(edits, interval=INTERVAL)
    for voter in range(1, 4):
        live.react(reaction(voter))
        refresher.schedule(live)
    await settled(refresher)
    assert edits.made == [(1, 3)]


async def test_a_change_after_an_edit_is_shown_by_the_next_one():
    edits, live = Edits(), live_poll(1)
    refresher = EmbedRefresher(edits, interval=INTERVAL)
    refresher.schedule(live)
    await settled(refresher)
    live.react(reaction(1))
    refresher.schedule(live)
    await settled(refresher)
    assert edits.made == [(1, 0), (1, 1)]


async def test_polls_are_redrawn_apart():
    edits, first, second = Edits(), live_poll(1), live_poll(2)
    refresher = EmbedRefresher(edits, interval=INTERVAL)
    refresher.schedule(first)
    refresher.schedule(second)
    await settled(refresher)
    assert sorted(edits.made) == [(1, 0), (2, 0)]


async def test_a_forgotten_poll_is_not_redrawn():
    edits, live = Edits(), live_poll(1)
    refresher = EmbedRefresher(edits, interval=INTERVAL)
    refresher.schedule(live)
    refresher.forget(live.poll.id)  # closed: its final figures must not be painted over
    await asyncio.sleep(INTERVAL * 3)
    assert edits.made == [] and not refresher.pending


async def test_a_refused_edit_is_logged_and_the_next_change_is_tried_again(caplog):
    edits, live = Edits(), live_poll(1)
    refresher = EmbedRefresher(edits, interval=INTERVAL)
    edits.refuse = True
    refresher.schedule(live)
    await settled(refresher)
    assert "Could not update poll 1's embed" in caplog.text
    edits.refuse = False
    refresher.schedule(live)
    await settled(refresher)
    assert edits.made == [(1, 0)]


async def test_finishing_sends_the_waiting_edit_at_its_time_with_the_latest_figures():
    edits, live = Edits(), live_poll(1)
    refresher = EmbedRefresher(edits, interval=INTERVAL)
    refresher.schedule(live)
    await settled(refresher)
    live.react(reaction(1))
    refresher.schedule(live)  # waits for the interval since the first edit
    await refresher.finish(grace=INTERVAL * 20)
    assert edits.made == [(1, 0), (1, 1)] and not refresher.pending


async def test_finishing_drops_an_edit_the_grace_cannot_wait_for():
    edits, live = Edits(), live_poll(1)
    refresher = EmbedRefresher(edits, interval=60.0)
    refresher.schedule(live)
    await refresher.finish(grace=INTERVAL)  # the settle alone is longer than the grace
    await asyncio.sleep(INTERVAL * 2)
    assert edits.made == [] and not refresher.pending


async def test_finishing_waits_for_an_edit_on_its_way():
    sent = asyncio.Event()
    started = asyncio.Event()

    async def slow_edit(live: LivePoll) -> None:
        started.set()
        await asyncio.sleep(INTERVAL)
        sent.set()

    refresher = EmbedRefresher(slow_edit, interval=INTERVAL)
    refresher.schedule(live_poll(1))
    await started.wait()  # the edit left: nothing is waiting any more, but it is not sent yet
    await refresher.finish(grace=INTERVAL * 20)
    assert sent.is_set()
