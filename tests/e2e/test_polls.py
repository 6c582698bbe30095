"""/poll create, voting and /poll close with the real bot process against the emulated Discord."""

from __future__ import annotations

import sqlite3
from typing import Any

from .driver import BotProcess
from .emulator import Emulator
from .emulator.state import Message

YES, NO = "\N{THUMBS UP SIGN}", "\N{THUMBS DOWN SIGN}"
WAIT = 20.0


async def create(emu: Emulator, **options: Any):
    seed = emu.community
    call = await emu.invoke_slash(seed.moderator, "poll create", channel=seed.news, options=options)
    return await call.response(within=WAIT)


def description(message: Message) -> str:
    return message.embeds[0]["description"] if message.embeds else ""


def totals(message: Message) -> dict[str, str]:
    """Option label → its totals line ("2 votes · 66.7%") as the poll embed shows it now."""
    lines = description(message).split("\n")
    return {
        line.split("**")[1]: lines[index + 1].split("` ", 1)[-1]
        for index, line in enumerate(lines[:-1])
        if line.count("**") == 2 and lines[index + 1].startswith("`")
    }


async def test_create_vote_and_close_a_poll(emulator: Emulator, agora: BotProcess) -> None:
    seed = emulator.community
    reply = await create(emulator, question="Lunch on Friday?", options=f"{YES} Yes | {NO} No", multiple=False)
    assert reply.ephemeral and "is open" in reply.content, reply.content
    bot_id = emulator.bot_user.id
    poll = await emulator.wait_for_message(seed.news, lambda m: m.author_id == bot_id and bool(m.embeds))
    await emulator.wait_for(lambda: len(emulator.reactions_on(poll)) == 2 or None, WAIT, "the ballot reactions")

    alice, bob, carol = seed.members[:3]
    await emulator.user_add_reaction(alice, seed.news, poll, YES)
    await emulator.user_add_reaction(bob, seed.news, poll, YES)
    await emulator.user_add_reaction(carol, seed.news, poll, YES)
    await emulator.user_add_reaction(carol, seed.news, poll, NO)  # switches: the bot removes her 👍
    await emulator.user_add_reaction(bob, seed.news, poll, "🍕")  # not an option: removed
    await emulator.wait_for(
        lambda: (carol.id not in emulator.reactions_on(poll)[YES] and "🍕" not in emulator.reactions_on(poll)) or None,
        WAIT,
        "the bot tidying reactions",
    )
    expected = {"Yes": "2 votes · 66.7%", "No": "1 vote · 33.3%"}
    await emulator.wait_for(lambda: totals(poll) == expected or None, WAIT, "live totals")

    call = await emulator.invoke_slash(seed.moderator, "poll close", channel=seed.general, options={"poll": "1"})
    closed = await call.response(within=WAIT)
    assert closed.ephemeral and "Closed poll #1" in closed.content, closed.content
    results = await emulator.wait_for_message(seed.news, lambda m: "Results" in str(m.embeds))
    assert "👍 **Yes** won with 66.7% of 3 voters." in description(results)
    assert "This poll is closed" in description(poll) and totals(poll) == expected

    await emulator.user_add_reaction(alice, seed.news, poll, NO)  # too late: removed, not counted
    await emulator.wait_for(lambda: alice.id not in emulator.reactions_on(poll).get(NO, []) or None, WAIT, "removal")
    assert agora.row_counts()["votes"] == 3


async def test_invalid_poll_input_gets_a_private_explanation(emulator: Emulator, agora: BotProcess) -> None:
    cases = {
        "needs at least 2": dict(question="Q?", options="Only one"),
        "at most 10 options": dict(question="Q?", options=" | ".join(str(i) for i in range(11))),
        "both use": dict(question="Q?", options=f"{YES} A | {YES} B"),
        "unknown emoji": dict(question="Q?", options=":nosuch: A | B"),
        "empty": dict(question="Q?", options="A |  | C"),
        "at most 256": dict(question="x" * 300, options="A | B"),
        "not a duration": dict(question="Q?", options="A | B", duration="soon"),
        "at most 32d": dict(question="Q?", options="A | B", duration="33d"),
    }
    before = agora.row_counts()
    for expected, options in cases.items():
        reply = await create(emulator, **options)
        assert reply.ephemeral and expected in reply.content, f"{expected!r} not in {reply.content!r}"
    assert agora.row_counts() == before
    assert emulator.messages_in(emulator.community.news) == []


def events_by_source(bot: BotProcess) -> dict[str, int]:
    with sqlite3.connect(f"file:{bot.database_path}?mode=ro", uri=True) as conn:
        return dict(conn.execute("SELECT source, COUNT(*) FROM vote_events GROUP BY source").fetchall())


async def open_yes_no_poll(emu: Emulator) -> Message:
    await create(emu, question="Keep the Friday lunch?", options=f"{YES} Yes | {NO} No")
    bot_id = emu.bot_user.id
    poll = await emu.wait_for_message(emu.community.news, lambda m: m.author_id == bot_id and bool(m.embeds))
    await emu.wait_for(lambda: len(emu.reactions_on(poll)) == 2 or None, WAIT, "the ballot reactions")
    return poll


async def test_votes_changed_while_the_bot_was_down_are_reconciled(emulator: Emulator, agora: BotProcess) -> None:
    seed = emulator.community
    poll = await open_yes_no_poll(emulator)
    alice, bob, carol = seed.members[:3]
    await emulator.user_add_reaction(alice, seed.news, poll, YES)
    await emulator.user_add_reaction(bob, seed.news, poll, YES)
    before = {"Yes": "2 votes · 100.0%", "No": "0 votes · 0.0%"}
    await emulator.wait_for(lambda: totals(poll) == before or None, WAIT, "live totals")

    await agora.stop()
    await emulator.user_remove_reaction(alice, seed.news, poll, YES)  # withdrawn offline
    await emulator.user_add_reaction(bob, seed.news, poll, NO)  # switched offline
    await emulator.user_remove_reaction(bob, seed.news, poll, YES)
    await emulator.user_add_reaction(carol, seed.news, poll, NO)  # new offline
    await agora.start()

    after = {"Yes": "0 votes · 0.0%", "No": "2 votes · 100.0%"}
    await emulator.wait_for(lambda: totals(poll) == after or None, WAIT, "reconciled totals")
    assert "2 voters" in poll.embeds[0]["footer"]["text"]
    # Votes reach the database within a recorder flush of the embed edit.
    await emulator.wait_for(lambda: events_by_source(agora) == {"live": 2, "reconciled": 4} or None, WAIT, "log")


async def test_votes_missed_in_a_session_that_could_not_be_resumed_are_reconciled(
    emulator: Emulator,
    agora: BotProcess,
) -> None:
    seed = emulator.community
    poll = await open_yes_no_poll(emulator)
    alice, bob = seed.members[:2]
    await emulator.user_add_reaction(alice, seed.news, poll, YES)
    await emulator.wait_for(lambda: totals(poll)["Yes"] == "1 vote · 100.0%" or None, WAIT, "live totals")

    await emulator.pause_gateway()
    await emulator.user_remove_reaction(alice, seed.news, poll, YES)
    await emulator.user_add_reaction(bob, seed.news, poll, NO)
    await emulator.disconnect_gateway(resumable=False)  # the missed events die with the session
    await emulator.resume_gateway()
    await emulator.wait_identified(2, within=WAIT)

    after = {"Yes": "0 votes · 0.0%", "No": "1 vote · 100.0%"}
    await emulator.wait_for(lambda: totals(poll) == after or None, WAIT, "reconciled totals")
    await emulator.wait_for(lambda: events_by_source(agora) == {"live": 1, "reconciled": 2} or None, WAIT, "log")
