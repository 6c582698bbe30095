"""Fair-poll defaults and a voter's own vote, through the real bot: the server's defaults (/agora poll-defaults),
a feed's and the articles folder's poll rules for their articles' polls, /poll export's refusal counts,
/poll my-vote for a poll in a channel one cannot see, and withdrawing a vote in an anonymous poll."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import pytest

from tests.fakes.feed_server import FeedServer, serving_feeds

from .driver import REPO_ROOT, BotProcess
from .emulator import Emulator
from .emulator.state import Message
from .helpers import (
    FEED_ENV,
    OLD,
    REPLY_WAIT,
    SEED_ARTICLE,
    command,
    drop_file,
    find_poll_message,
    footer,
    open_fair_poll,
    others_on,
    poll_number,
    reference_options,
    refusals,
    replayed_log,
    reply_text,
    stored_votes,
)


async def until(condition: Callable[[], bool], what: str, within: float = 15.0) -> None:
    """Poll the bot's database (emulator waits wake on Discord's state only)."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"the database never showed {what} within {within}s")
        await asyncio.sleep(0.05)


def summary_csv(bot: BotProcess, number: int) -> str:
    """What `agora summary --format csv` prints for the poll."""
    done = subprocess.run(
        [sys.executable, "-m", "bot", "summary", "--poll", str(number), "--format", "csv"],
        cwd=REPO_ROOT, env=bot.environment(), capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return done.stdout


async def open_another_poll(emu: Emulator, **fair: object) -> Message:
    """A poll opened in #articles after others (open_fair_poll finds the first poll there)."""
    seed = emu.community
    assert seed is not None
    bot_id = emu.bot_user.id
    before = {m.id for m in emu.messages_in(seed.news)}
    options = {"question": "A second question?", "options": "👍 Yes | 👎 No | 🤷 Unsure", "channel": seed.news, **fair}
    assert "is open" in await command(emu, "poll create", **options)
    poll = await emu.wait_for_message(seed.news, lambda m: m.author_id == bot_id and m.id not in before)
    await emu.wait_for(lambda: len(emu.reactions_on(poll)) == 3 or None, REPLY_WAIT, "the ballot")
    return poll


@pytest.fixture
async def news_feed() -> AsyncIterator[FeedServer]:
    async with serving_feeds("Fair News") as feed:
        yield feed


async def test_server_poll_defaults_are_shown_set_refused_and_cleared(emulator: Emulator, agora: BotProcess) -> None:
    emu = emulator
    seed = emu.community
    assert seed is not None
    assert "everyone may vote, totals shown, not anonymous" in await command(emu, "agora poll-defaults")
    refused = await command(emu, "agora poll-defaults", voters=seed.everyone)
    assert "@everyone is every member" in refused and "Nothing was changed" in refused
    assert "managed by an integration" in await command(emu, "agora poll-defaults", voters=seed.bot_role)
    assert "at most" in await command(emu, "agora poll-defaults", min_account_age="20000d")

    subscribers = await emu.add_role(seed.guild, "Subscribers")
    saved = await command(emu, "agora poll-defaults", voters=subscribers, min_account_age="7d", hide_totals=True)
    assert "members with @Subscribers, accounts at least 7d old" in saved and "Totals hidden" in saved, saved
    assert "accounts at least 7d old" in await command(emu, "agora poll-defaults")  # shown again, unchanged

    poll = await open_fair_poll(emu)  # no rule of its own: the server's defaults
    assert "@Subscribers" in footer(poll) and "7d" in footer(poll) and "Totals hidden" in footer(poll), footer(poll)
    newcomer = emu.add_member(seed.guild, "newcomer", [subscribers], member_age=OLD)  # an account made today
    await emu.user_add_reaction(newcomer, poll.channel_id, poll.id, "👍")
    await until(lambda: refusals(agora) == {"account_too_new": 1}, "the newcomer refused")
    own = await open_another_poll(emu, min_account_age="0", hide_totals=False)  # a poll's own options come first
    assert "Who may vote: members with @Subscribers" in footer(own) and "7d" not in footer(own), footer(own)
    assert "Totals hidden" not in footer(own)

    emu.set_command_permission(seed.guild, "agora", seed.members[0], allowed=True)  # visible, still refused
    assert "for moderators" in await command(emu, "agora poll-defaults", seed.members[0], clear=True)
    assert "accounts at least 7d old" in await command(emu, "agora poll-defaults")
    cleared = await command(emu, "agora poll-defaults", clear=True)
    assert "everyone may vote, totals shown, not anonymous" in cleared, cleared


@pytest.mark.bot_env(**FEED_ENV)
async def test_a_feeds_poll_rules_govern_its_article_polls(
    emulator: Emulator, agora: BotProcess, news_feed: FeedServer
) -> None:
    emu = emulator
    seed = emu.community
    assert seed is not None
    subscribers = await emu.add_role(seed.guild, "Subscribers")
    await command(emu, "agora poll-defaults", hide_totals=True)
    news_feed.add_item("Russia and France sign a partnership")
    added = await command(emu, "feed add", url=news_feed.live_url, channel=seed.news, voters=subscribers,
                          min_account_age="7d")  # fmt: skip
    assert "Poll rules of its articles: voters: @Subscribers, account at least 7d" in added, added
    thread = await emu.wait_for_thread(seed.news)
    poll = await find_poll_message(emu, thread)
    assert "@Subscribers" in footer(poll) and "7d" in footer(poll) and "Totals hidden" in footer(poll), footer(poll)

    reader = emu.add_member(seed.guild, "reader", [subscribers], account_age=OLD, member_age=OLD)
    roleless = emu.add_member(seed.guild, "roleless", account_age=OLD, member_age=OLD)
    await emu.user_add_reaction(reader, thread.id, poll.id, "👍")
    await emu.user_add_reaction(roleless, thread.id, poll.id, "👍")
    await emu.wait_for(lambda: others_on(emu, poll) == {reader.id} or None, 30, "the roleless reaction removed")
    await until(lambda: stored_votes(agora) == {reader.id: {"👍"}} and refusals(agora) == {"missing_role": 1}, "votes")

    listed = await command(emu, "feed list")
    assert "poll rules: voters: @Subscribers, account at least 7d" in listed, listed
    match = re.search(r"`(\d+)`", listed)
    assert match is not None
    number = match.group(1)
    await emu.set_overwrite(seed.news, seed.bot_role, deny=("manage_messages",))
    refused = await command(emu, "feed edit", subscription=number, anonymous=True)
    assert "Anonymous polls need **Manage Messages**" in refused and "Nothing was changed" in refused, refused
    edited = await command(emu, "feed edit", subscription=number, hide_totals=False, min_account_age="0")
    assert "poll rules: voters: @Subscribers, any account age, totals shown" in edited, edited
    shown = await command(emu, "feed edit", subscription=number)  # no options: the settings, rules included
    assert "poll rules: voters: @Subscribers, any account age, totals shown" in shown, shown
    cleared = await command(emu, "feed edit", subscription=number, clear_poll_rules=True)
    assert "poll rules: the server poll defaults" in cleared, cleared


@pytest.mark.bot_env(ARTICLES_SCAN_SECONDS="1")
async def test_the_folders_poll_rules_make_its_article_polls_anonymous(
    emulator: Emulator,
    articles_dir: Path,
    folder_agora: BotProcess,
) -> None:
    emu = emulator
    seed = emu.community
    assert seed is not None
    refused = await command(emu, "article subscribe-folder", channel=seed.news, voters=seed.everyone)
    assert "@everyone is every member" in refused
    subscribed = await command(emu, "article subscribe-folder", channel=seed.news, anonymous=True)
    assert "now gets every new file" in subscribed and "Poll rules of its articles: anonymous" in subscribed
    again = await command(emu, "article subscribe-folder", channel=seed.news, min_member_age="1d")
    assert "Updated the poll rules" in again and "anonymous, " not in again, again
    assert "membership at least 1d, anonymous" in again, again

    drop_file(articles_dir, "russia-france.txt", SEED_ARTICLE.read_bytes())
    thread = await emu.wait_for_thread(seed.news)
    poll = await find_poll_message(emu, thread)
    assert "Anonymous" in footer(poll) and "members for at least 1d" in footer(poll), footer(poll)
    assert "withdraw:true" in str(poll.embeds[0]["description"])  # the how-to-vote line says how to withdraw
    member = emu.add_member(seed.guild, "longtime", account_age=OLD, member_age=OLD)
    await emu.user_add_reaction(member, thread.id, poll.id, "👎")
    await emu.wait_for(lambda: not others_on(emu, poll) or None, 30, "the reaction removed once counted")
    await until(lambda: stored_votes(folder_agora) == {member.id: {"👎"}}, "the vote kept")


async def test_my_vote_for_a_poll_in_a_hidden_channel_answers_as_for_no_poll(
    emulator: Emulator, agora: BotProcess
) -> None:
    emu = emulator
    seed = emu.community
    assert seed is not None
    staff = await emu.add_channel(seed.guild, "staff-only")
    await emu.set_overwrite(staff, seed.everyone, deny=("view_channel",))
    await emu.set_overwrite(staff, seed.bot_role, allow=("view_channel",))
    options = {"question": "Promote the new editor?", "options": "👍 Yes | 👎 No", "channel": staff}
    opened = await command(emu, "poll create", **options)
    assert "is open" in opened, opened
    hidden = await emu.wait_for_message(staff, lambda m: m.author_id == emu.bot_user.id and bool(m.embeds))
    number = poll_number(agora, hidden)
    reader = seed.members[0]

    secret = await command(emu, "poll my-vote", reader, poll=f"#{number}")
    unknown = await command(emu, "poll my-vote", reader, poll=f"#{number + 100}")
    assert secret.replace(str(number), "N") == unknown.replace(str(number + 100), "N"), (secret, unknown)
    assert "No poll matches" in secret and "Promote" not in secret
    by_link = f"https://discord.com/channels/{seed.guild.id}/{staff.id}/{hidden.id}"
    assert "Promote" not in await command(emu, "poll my-vote", reader, poll=by_link)
    assert "Promote the new editor?" in await command(emu, "poll my-vote", seed.owner, poll=f"#{number}")


async def test_withdrawing_an_anonymous_vote_holds_across_a_restart(emulator: Emulator, agora: BotProcess) -> None:
    emu = emulator
    seed = emu.community
    assert seed is not None
    poll = await open_fair_poll(emu, anonymous=True)
    voter, other = seed.members[:2]
    await emu.user_add_reaction(voter, poll.channel_id, poll.id, "👍")
    await emu.user_add_reaction(other, poll.channel_id, poll.id, "👎")
    await emu.wait_for(lambda: not others_on(emu, poll) or None, 30, "reactions removed once counted")
    options = reference_options(emu, "poll my-vote", poll, seed.news)
    shown = await command(emu, "poll my-vote", voter, **options)
    assert "your vote is **👍 Yes**" in shown and "withdraw:true" in shown, shown

    withdrawn = await command(emu, "poll my-vote", voter, **options, withdraw=True)
    assert "your vote for **👍 Yes** is withdrawn" in withdrawn, withdrawn
    await until(lambda: stored_votes(agora) == {other.id: {"👎"}}, "the withdrawal stored")
    assert replayed_log(agora) == stored_votes(agora)  # an ordinary withdrawal in the vote log

    await agora.stop()  # nothing on the message brings it back, and the log still replays exactly
    await agora.start()
    assert "you have no vote" in await command(emu, "poll my-vote", voter, **options)
    assert stored_votes(agora) == {other.id: {"👎"}} and replayed_log(agora) == stored_votes(agora)
    again = await command(emu, "poll my-vote", voter, **options, withdraw=True)
    assert "you had no vote to withdraw" in again, again

    plain = await open_another_poll(emu)
    plain_options = reference_options(emu, "poll my-vote", plain, seed.news)
    refused = await command(emu, "poll my-vote", voter, **plain_options, withdraw=True)
    assert "remove it from the poll's message" in refused, refused


async def test_poll_export_counts_refused_reactions_as_agora_summary_does(
    emulator: Emulator, agora: BotProcess
) -> None:
    emu = emulator
    seed = emu.community
    assert seed is not None
    poll = await open_fair_poll(emu, min_member_age="1d")
    fresh = emu.add_member(seed.guild, "fresh", account_age=OLD, member_age=timedelta(minutes=5))
    settled = emu.add_member(seed.guild, "settled", account_age=OLD, member_age=OLD)
    await emu.user_add_reaction(fresh, poll.channel_id, poll.id, "👎")
    await emu.user_add_reaction(settled, poll.channel_id, poll.id, "👍")
    await until(lambda: refusals(agora) == {"member_too_recent": 1}, "the refusal")
    await until(lambda: stored_votes(agora) == {settled.id: {"👍"}}, "the vote")

    options = reference_options(emu, "poll export", poll, seed.news)
    call = await emu.invoke_slash(seed.moderator, "poll export", channel=seed.general, options=options)
    reply = await call.response(within=REPLY_WAIT)
    assert "1 reaction not counted: too recent a member 1" in reply_text(reply), reply_text(reply)
    number = poll_number(agora, poll)
    [exported] = [data for name, data in reply.files if name == f"poll-{number}-summary.csv"]
    printed = summary_csv(agora, number)
    assert exported.decode("utf-8-sig") == printed
    rows = list(csv.DictReader(io.StringIO(printed)))
    assert {row["refused"] for row in rows} == {"member_too_recent=1"}
    assert [int(row["votes"]) for row in rows] == [1, 0, 0]


async def test_folder_list_shows_the_servers_subscribed_channels_with_their_poll_rules(
    emulator: Emulator,
    folder_agora: BotProcess,
) -> None:
    emu = emulator
    seed = emu.community
    assert seed is not None
    assert "subscribe one with `/article subscribe-folder`" in await command(emu, "article folder-list")
    await command(emu, "article subscribe-folder", channel=seed.news, min_member_age="1d", anonymous=True)
    await command(emu, "article subscribe-folder", channel=seed.forum)

    listed = await command(emu, "article folder-list")
    assert f"<#{seed.news.id}> · poll rules: membership at least 1d, anonymous" in listed, listed
    assert f"<#{seed.forum.id}> · poll rules: the server's poll defaults" in listed, listed
    assert "should be anonymous" not in listed, listed

    await emu.set_overwrite(seed.news, seed.bot_role, deny=("manage_messages",))
    listed = await command(emu, "article folder-list")
    [news_line] = [line for line in listed.splitlines() if f"<#{seed.news.id}>" in line]
    assert "⚠️ its articles' polls should be anonymous (its own poll rules), but I lack Manage Messages" in news_line

    emu.set_command_permission(seed.guild, "article", seed.members[0], allowed=True)  # visible, still refused
    refused = await command(emu, "article folder-list", seed.members[0])
    assert "for moderators" in refused and f"<#{seed.news.id}>" not in refused, refused


async def test_folder_list_without_an_articles_folder_says_it_is_not_enabled(
    emulator: Emulator, agora: BotProcess
) -> None:
    assert "The articles folder is not enabled" in await command(emulator, "article folder-list")
