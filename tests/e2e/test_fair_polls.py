"""Fair polls through the real bot: who may vote (a brigade refused, also after a restart), hidden totals,
anonymous polls."""

from __future__ import annotations

from datetime import timedelta

from .driver import BotProcess
from .emulator import Emulator
from .emulator.state import Member
from .helpers import (
    OLD,
    REPLY_WAIT,
    open_fair_poll,
    others_on,
    poll_number,
    reference_options,
    refusals,
    replayed_log,
    reply_text,
    stored_votes,
    summary_json,
)


def brigade(emu: Emulator, voter_role: object, tag: str) -> tuple[list[Member], list[Member]]:
    """Members who may vote (role, old account, long-standing) and a brigade that may not."""
    seed = emu.community
    assert seed is not None
    guild = seed.guild
    fair = [emu.add_member(guild, f"{tag}ok{i}", [voter_role], account_age=OLD, member_age=OLD) for i in range(2)]
    new_accounts = [emu.add_member(guild, f"{tag}new{i}", [voter_role], member_age=timedelta(0)) for i in range(3)]
    fresh = [emu.add_member(guild, f"{tag}fresh{i}", [voter_role], account_age=OLD, member_age=timedelta(hours=1))
             for i in range(3)]  # fmt: skip
    roleless = [emu.add_member(guild, f"{tag}norole{i}", account_age=OLD, member_age=OLD) for i in range(2)]
    return fair, [*new_accounts, *fresh, *roleless]


async def test_a_brigade_is_refused_with_reasons_live_and_after_restart(emulator: Emulator, agora: BotProcess) -> None:
    emu = emulator
    seed = emu.community
    assert seed is not None
    voter_role = emu.create_role(seed.guild, "Subscribers", 0)
    fair, brigaders = brigade(emu, voter_role, "a")
    await agora.restart()  # so the bot knows the new role and members from its GUILD_CREATE
    poll = await open_fair_poll(emu, voters=str(voter_role.id), min_account_age="7d", min_member_age="1d")
    footer = poll.embeds[0]["footer"]["text"]
    assert "Who may vote" in footer and "@Subscribers" in footer and "7d" in footer and "1d" in footer, footer
    # A fair member votes, then the brigade votes the other way, one of them on the fair member's option.
    await emu.user_add_reaction(fair[0], poll.channel_id, poll.id, "👍")
    for index, member in enumerate(brigaders):
        await emu.user_add_reaction(member, poll.channel_id, poll.id, "👎" if index else "👍")
    await emu.wait_for(lambda: others_on(emu, poll) == {fair[0].id} or None, 30, "the brigade's reactions to go")
    await emu.wait_for(lambda: sum(refusals(agora).values()) == 8 or None, 15, "eight refusals")
    assert refusals(agora) == {"account_too_new": 3, "member_too_recent": 3, "missing_role": 2}
    assert stored_votes(agora) == {fair[0].id: {"👍"}}
    assert replayed_log(agora) == stored_votes(agora)

    # While Agora is away, a second brigade and the other fair member vote; on its return they are judged alike.
    await agora.stop()
    fair2, brigaders2 = brigade(emu, voter_role, "b")
    for member in [*brigaders2, fair[1]]:
        await emu.user_add_reaction(member, poll.channel_id, poll.id, "👎")
    await agora.start()
    await emu.wait_for(lambda: others_on(emu, poll) == {fair[0].id, fair[1].id} or None, 60, "offline brigade removed")
    await emu.wait_for(lambda: sum(refusals(agora).values()) == 16 or None, 15, "sixteen refusals")
    assert refusals(agora) == {"account_too_new": 6, "member_too_recent": 6, "missing_role": 4}
    assert stored_votes(agora) == {fair[0].id: {"👍"}, fair[1].id: {"👎"}}
    assert replayed_log(agora) == stored_votes(agora)

    summary = summary_json(agora, poll_number(agora, poll))
    assert summary["refused"] == {"account_too_new": 6, "member_too_recent": 6, "missing_role": 4}
    options = reference_options(emu, "poll results", poll, seed.news)
    call = await emu.invoke_slash(seed.moderator, "poll results", channel=seed.general, options=options)
    text = reply_text(await call.response(within=REPLY_WAIT))
    assert "16 reactions not counted" in text and "too new an account 6" in text, text
    assert not any(str(m.id) in text or m.user.username in text for m in brigaders + brigaders2), text


async def test_hidden_totals_show_only_the_turnout_until_the_close(emulator: Emulator, agora: BotProcess) -> None:
    emu = emulator
    seed = emu.community
    assert seed is not None
    poll = await open_fair_poll(emu, hide_totals=True)
    for member, emoji in zip(seed.members[:3], ("👍", "👍", "👎"), strict=True):
        await emu.user_add_reaction(member, poll.channel_id, poll.id, emoji)
    await emu.wait_for(lambda: "3 voters so far" in (poll.embeds[0].get("description") or "") or None, 30, "turnout")
    assert "%" not in poll.embeds[0]["description"] and "2 votes" not in poll.embeds[0]["description"]
    assert "Totals hidden" in poll.embeds[0]["footer"]["text"]
    options = reference_options(emu, "poll results", poll, seed.news)
    public = await emu.invoke_slash(
        seed.moderator, "poll results", channel=seed.news, options={**options, "public": True}
    )
    assert "hides its totals" in reply_text(await public.response(within=REPLY_WAIT))
    private = await emu.invoke_slash(seed.moderator, "poll results", channel=seed.general, options=options)
    assert "66.7%" in reply_text(await private.response(within=REPLY_WAIT))
    close = await emu.invoke_slash(seed.moderator, "poll close", channel=seed.news,
                                   options=reference_options(emu, "poll close", poll, seed.news))  # fmt: skip
    await close.response(within=REPLY_WAIT)
    closed = "This poll is closed"
    await emu.wait_for(lambda: closed in (poll.embeds[0].get("description") or "") or None, 30, "the close")
    assert "2 votes" in poll.embeds[0]["description"], poll.embeds[0]["description"]


async def test_an_anonymous_poll_removes_reactions_and_names_nobody(emulator: Emulator, agora: BotProcess) -> None:
    emu = emulator
    seed = emu.community
    assert seed is not None
    poll = await open_fair_poll(emu, anonymous=True)
    assert "Anonymous" in poll.embeds[0]["footer"]["text"]
    voters = seed.members[:3]
    for member, emoji in zip(voters, ("👍", "👎", "👍"), strict=True):
        await emu.user_add_reaction(member, poll.channel_id, poll.id, emoji)
    await emu.wait_for(lambda: not others_on(emu, poll) or None, 30, "every reaction removed once counted")
    await emu.user_add_reaction(voters[0], poll.channel_id, poll.id, "🤷")  # changes the vote
    await emu.wait_for(lambda: not others_on(emu, poll) or None, 30, "the new reaction removed")
    want = {voters[0].id: {"🤷"}, voters[1].id: {"👎"}, voters[2].id: {"👍"}}
    await emu.wait_for(lambda: stored_votes(agora) == want or None, 15, "votes kept although reactions are gone")
    assert replayed_log(agora) == want

    await agora.stop()  # a reaction left while away is counted and removed; the missing ones withdraw nothing
    await emu.user_add_reaction(seed.members[3], poll.channel_id, poll.id, "👎")
    await agora.start()
    want[seed.members[3].id] = {"👎"}
    await emu.wait_for(lambda: stored_votes(agora) == want or None, 30, "offline vote counted, none withdrawn")
    await emu.wait_for(lambda: not others_on(emu, poll) or None, 30, "the offline reaction removed")

    mine = await emu.invoke_slash(voters[0], "poll my-vote", channel=seed.news,
                                  options=reference_options(emu, "poll my-vote", poll, seed.news))  # fmt: skip
    assert "Unsure" in reply_text(await mine.response(within=REPLY_WAIT))
    options = reference_options(emu, "poll results", poll, seed.news)
    results = await emu.invoke_slash(seed.moderator, "poll results", channel=seed.general, options=options)
    text = reply_text(await results.response(within=REPLY_WAIT))
    assert not any(str(m.id) in text or m.user.username in text for m in voters), text
