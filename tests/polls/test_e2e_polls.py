"""/poll create, voting and /poll close with the real bot process against the emulated Discord."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import agora, emulator  # noqa: F401  (fixtures)
from tests.e2e.driver import BotProcess
from tests.e2e.emulator import Emulator
from tests.e2e.emulator.state import Message

YES, NO = "\N{THUMBS UP SIGN}", "\N{THUMBS DOWN SIGN}"
WAIT = 20.0


async def create(emu: Emulator, **options: Any):
    seed = emu.community
    call = await emu.invoke_slash(seed.moderator, "poll create", channel=seed.news, options=options)
    return await call.response(within=WAIT)


def description(message: Message) -> str:
    return message.embeds[0]["description"] if message.embeds else ""


async def test_create_vote_and_close_a_poll(emulator: Emulator, agora: BotProcess) -> None:  # noqa: F811
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
    await emulator.wait_for(lambda: "2 votes · 67%" in description(poll) or None, WAIT, "live totals")

    call = await emulator.invoke_slash(seed.moderator, "poll close", channel=seed.general, options={"poll": "1"})
    closed = await call.response(within=WAIT)
    assert closed.ephemeral and "Closed poll #1" in closed.content, closed.content
    results = await emulator.wait_for_message(seed.news, lambda m: "Results" in str(m.embeds))
    assert "Most votes: 👍 **Yes**" in description(results)
    assert "This poll is closed" in description(poll) and "2 votes · 67%" in description(poll)

    await emulator.user_add_reaction(alice, seed.news, poll, NO)  # too late: removed, not counted
    await emulator.wait_for(lambda: alice.id not in emulator.reactions_on(poll).get(NO, []) or None, WAIT, "removal")
    assert agora.row_counts()["votes"] == 3


async def test_invalid_poll_input_gets_a_private_explanation(emulator: Emulator, agora: BotProcess) -> None:  # noqa: F811
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
