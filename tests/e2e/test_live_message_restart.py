"""A poll's message shows the stored figures again after a stop or a crash (real bot, emulated Discord).

Its live figures are redrawn at most once per POLL_EDIT_INTERVAL_SECONDS, so a stop can come while an edit
waits: on SIGTERM the waiting edit is sent within a short grace, and whatever a crash (or the grace) drops is
redrawn once the next start has reconciled the poll.
"""

from __future__ import annotations

import asyncio
import signal

import pytest

from .driver import BotProcess
from .emulator import Emulator
from .emulator.state import Message
from .helpers import REPLY_WAIT, vote

OPTIONS = "👍 Yes | 👎 No"


async def open_poll(emu: Emulator) -> Message:
    seed = emu.community
    assert seed is not None
    call = await emu.invoke_slash(
        seed.moderator, "poll create", channel=seed.news, options={"question": "Keep the bridge?", "options": OPTIONS}
    )
    await call.response(within=REPLY_WAIT)
    bot_id = emu.bot_user.id
    poll = await emu.wait_for_message(seed.news, lambda m: m.author_id == bot_id and bool(m.embeds), within=REPLY_WAIT)
    await emu.wait_for(lambda: len(emu.reactions_on(poll)) == 2 or None, REPLY_WAIT, "the ballot")
    return poll


def footer(poll: Message) -> str:
    return str(poll.embeds[0].get("footer", {}).get("text", ""))


async def shows_voters(emu: Emulator, poll: Message, count: int, within: float) -> None:
    noun = "voter" if count == 1 else "voters"
    await emu.wait_for(lambda: f"· {count} {noun} ·" in footer(poll) or None, within, f"the message showing {count}")


async def recorded(agora: BotProcess, voter_id: int) -> None:
    """Wait until the bot's database holds the voter's vote (the emulator does not see it: poll the file)."""
    for _ in range(int(REPLY_WAIT / 0.05)):
        if agora.vote_history(voter_id):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the vote of {voter_id} was never recorded\n{agora.tail()}")


async def two_votes_the_second_not_drawn(emu: Emulator, agora: BotProcess, poll: Message) -> None:
    """Two votes; the message shows the first, the second is recorded while its edit waits for the interval."""
    seed = emu.community
    assert seed is not None
    first, second = (emu.add_member(seed.guild, name) for name in ("ines", "tomas"))
    await vote(emu, first, poll, "👍")
    await shows_voters(emu, poll, 1, REPLY_WAIT)
    await vote(emu, second, poll, "👎")
    await recorded(agora, second.id)
    assert "· 1 voter ·" in footer(poll)  # its edit is still waiting


@pytest.mark.bot_env(POLL_EDIT_INTERVAL_SECONDS="120")
async def test_a_crash_while_an_edit_waits_is_redrawn_at_the_next_start(emulator: Emulator, agora: BotProcess) -> None:
    poll = await open_poll(emulator)
    await two_votes_the_second_not_drawn(emulator, agora, poll)
    assert agora.process is not None
    agora.process.send_signal(signal.SIGKILL)
    await agora.process.wait()
    await agora.start()
    await shows_voters(emulator, poll, 2, 30)


@pytest.mark.bot_env(POLL_EDIT_INTERVAL_SECONDS="3")
async def test_sigterm_sends_the_edit_still_waiting(emulator: Emulator, agora: BotProcess) -> None:
    poll = await open_poll(emulator)
    await two_votes_the_second_not_drawn(emulator, agora, poll)
    assert await agora.stop() == 0
    assert "· 2 voters ·" in footer(poll)  # sent before the bot disconnected, not by a later start


@pytest.mark.bot_env(POLL_EDIT_INTERVAL_SECONDS="120")
async def test_sigterm_leaves_an_edit_it_cannot_wait_for_to_the_next_start(
    emulator: Emulator, agora: BotProcess
) -> None:
    poll = await open_poll(emulator)
    await two_votes_the_second_not_drawn(emulator, agora, poll)
    await agora.restart()
    await shows_voters(emulator, poll, 2, 30)


async def test_a_message_already_right_is_not_edited_at_the_next_start(emulator: Emulator, agora: BotProcess) -> None:
    poll = await open_poll(emulator)
    seed = emulator.community
    assert seed is not None
    await vote(emulator, emulator.add_member(seed.guild, "ines"), poll, "👍")
    await shows_voters(emulator, poll, 1, REPLY_WAIT)
    edited = poll.edited_timestamp
    await agora.restart()
    await agora.wait_log("reconciled: 1 voters", within=30)
    await agora.restart()  # the second stop waits for any edit the first start scheduled
    assert poll.edited_timestamp == edited
