"""Poll history: the tally at a past moment, and public results naming no voter (real bot, emulated Discord)."""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timedelta

from .driver import BotProcess
from .emulator import Emulator, Reply
from .helpers import (
    OPPOSE,
    REPLY_WAIT,
    SUPPORT,
    assert_clean,
    create_short_poll,
    reference_options,
    reply_text,
    results_until,
    shows_count,
    unvote,
    vote,
)


def vote_event_times(bot: BotProcess) -> list[str]:
    """The `at` of every logged vote change, in the order they were logged (read-only, beside the running bot)."""
    with sqlite3.connect(f"file:{bot.database_path}?mode=ro", uri=True) as conn:
        return [row[0] for row in conn.execute("SELECT at FROM vote_events ORDER BY id")]


async def results(emu: Emulator, poll, **extra: object) -> Reply:
    seed = emu.community
    assert seed is not None
    options = {**reference_options(emu, "poll results", poll, seed.news), **extra}
    call = await emu.invoke_slash(seed.moderator, "poll results", channel=seed.general, options=options)
    return await call.response(within=REPLY_WAIT)


async def test_results_at_a_past_moment_and_public_results_without_voters(
    emulator: Emulator, agora: BotProcess
) -> None:
    seed = emulator.community
    assert seed is not None
    poll = await create_short_poll(emulator, "Should the library open on Sundays?", "1d")
    first, second, third, fourth, fifth = seed.members[:5]
    for member, emoji in ((first, SUPPORT), (second, SUPPORT), (third, OPPOSE)):
        await vote(emulator, member, poll, emoji)
    await results_until(emulator, poll, {SUPPORT: 2, OPPOSE: 1})  # waits until the bot has logged them
    earlier = vote_event_times(agora)
    assert len(earlier) == 3

    await vote(emulator, third, poll, SUPPORT)  # a switch: the bot moves the vote and takes 👎 off
    await unvote(emulator, first, poll, SUPPORT)  # a withdrawal
    await vote(emulator, fourth, poll, OPPOSE)
    await vote(emulator, fifth, poll, OPPOSE)
    await results_until(emulator, poll, {SUPPORT: 2, OPPOSE: 2})
    await emulator.wait_for(lambda: len(vote_event_times(agora)) >= 3 + 5, REPLY_WAIT, "the later votes logged")
    later = vote_event_times(agora)[3:]
    # A moment between the last earlier change and the first later one (both logged to the millisecond).
    last_before, first_after = datetime.fromisoformat(earlier[-1]), datetime.fromisoformat(min(later))
    assert first_after > last_before, (earlier, later)
    between = last_before + (first_after - last_before) / 2
    between -= timedelta(microseconds=between.microsecond % 1000)
    typed = between.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]  # as a moderator would type it, in UTC

    past = await results(emulator, poll, at=typed)
    text = reply_text(past)
    assert past.ephemeral, "results at a moment are private unless public:true"
    assert shows_count(text, SUPPORT, 2) and shows_count(text, OPPOSE, 1), text
    assert "As of" in text and between.strftime("%Y-%m-%d %H:%M:%S UTC") in text

    future = await results(emulator, poll, at="2999-01-01")
    assert future.ephemeral and "in the future" in reply_text(future)

    public = await results(emulator, poll, public=True)
    text = reply_text(public)
    assert not public.ephemeral
    assert shows_count(text, SUPPORT, 2) and shows_count(text, OPPOSE, 2) and "4 voters" in text, text
    posted = emulator.world.messages[public.message_id]
    everything = public.content + repr(public.embeds)
    assert not re.search(r"<@[!&]?\d+>|@everyone|@here", everything), everything
    assert not any(str(member.id) in everything for member in seed.members)
    assert (posted.mentions, posted.mention_roles, posted.mention_everyone) == ([], [], False)
    assert_clean(emulator)
