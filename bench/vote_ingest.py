"""Vote ingestion, end to end, against discord.py's own parse-and-dispatch rate for the same payloads.

    .venv/bin/python -m bench.vote_ingest                     # 50,000 votes, 5 rounds
    .venv/bin/python -m bench.vote_ingest --votes 20000 --rounds 3

Both pipelines start from the JSON text of MESSAGE_REACTION_ADD gateway events (with the member object a
guild reaction carries) and go through discord.py's parser and dispatch:

- ceiling: a client whose only raw-reaction listener does nothing: what discord.py itself costs.
- agora:   the real polls cog and PollService, a LivePoll in memory and the VoteRecorder writing a real
           SQLite file (WAL, the bot's pragmas and the full schema); the clock stops when every vote and
           its event row is committed and counted back from the database.

The two alternate round by round so machine noise hits both alike. Reaction removals and embed edits are
Discord calls, not ingestion: the poll is run as if the bot lacked Manage Messages, and embed edits are
answered locally (and counted, to show the debounce). Prints votes/s (median, min-max), agora's share of
the ceiling and how many live-embed edits a round cost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import discord

from bot.client import AgoraBot
from bot.config import Config
from bot.polls.eligibility import VoterRules
from bot.polls.fairness import PollFairness
from bot.polls.ingest import VoteRecorder
from bot.polls.options import PollOption
from bot.polls.service import PollService
from bot.storage import Database
from bot.storage.journal import VoteJournal
from bot.storage.polls import PollStore, StoredPoll
from cogs.polls import PollCommands

GUILD_ID, CHANNEL_ID, BOT_ID = 1_000_000_000_000_001, 1_000_000_000_000_002, 1_000_000_000_000_003
FIRST_VOTER = 2_000_000_000_000_000
OPTIONS = (PollOption("👍", "Support"), PollOption("👎", "Oppose"), PollOption("🤷", "Unsure"))
CHUNK = 500  # events parsed before the loop gets to run the listener tasks, like a busy websocket read


def payloads(message_id: int, votes: int) -> list[str]:
    """One gateway event per voter, as Discord sends it (text), spread over the options."""
    events = []
    for index in range(votes):
        voter = FIRST_VOTER + index
        data = {
            "user_id": str(voter), "channel_id": str(CHANNEL_ID), "message_id": str(message_id),
            "guild_id": str(GUILD_ID), "emoji": {"id": None, "name": OPTIONS[index % len(OPTIONS)].emoji},
            "burst": False, "burst_colors": [], "type": 0, "message_author_id": str(BOT_ID),
            "member": {
                "user": {"id": str(voter), "username": f"reader{index}", "discriminator": "0",
                         "global_name": None, "avatar": None},
                "roles": [], "joined_at": "2026-01-01T00:00:00+00:00", "deaf": False, "mute": False, "flags": 0,
            },
        }  # fmt: skip
        events.append(json.dumps({"op": 0, "s": index + 1, "t": "MESSAGE_REACTION_ADD", "d": data}))
    return events


def add_guild(client: discord.Client) -> None:
    """The guild in the cache, as after GUILD_CREATE, so discord.py builds a Member per event as it would live."""
    state = client._connection
    user = {"id": str(BOT_ID), "username": "Agora", "discriminator": "0", "avatar": None, "bot": True}
    state.user = discord.ClientUser(state=state, data=user)
    guild = {
        "id": str(GUILD_ID), "name": "Bench", "owner_id": str(BOT_ID), "features": [], "emojis": [], "stickers": [],
        "roles": [{"id": str(GUILD_ID), "name": "@everyone", "permissions": "0", "position": 0, "color": 0,
                   "hoist": False, "managed": False, "mentionable": False, "flags": 0}],
        "channels": [{"id": str(CHANNEL_ID), "name": "news", "type": 0, "guild_id": str(GUILD_ID), "position": 0,
                      "permission_overwrites": [], "nsfw": False, "parent_id": None}],
        "members": [{"user": user, "roles": [], "joined_at": None, "deaf": False, "mute": False, "flags": 0}],
        "threads": [], "member_count": 1, "verification_level": 0, "premium_tier": 0, "preferred_locale": "en-US",
    }  # fmt: skip
    state._add_guild(discord.Guild(data=guild, state=state))


async def feed(client: discord.Client, events: list[str], done: Callable[[], Awaitable[None]]) -> float:
    """Seconds from the first JSON text to `done()` returning; parsing as discord.py's websocket does."""
    parse = client._connection.parsers["MESSAGE_REACTION_ADD"]
    from_json = discord.utils._from_json
    started = time.perf_counter()
    for offset in range(0, len(events), CHUNK):
        for text in events[offset : offset + CHUNK]:
            parse(from_json(text)["d"])
        await asyncio.sleep(0)
    await done()
    return time.perf_counter() - started


async def listeners_finished() -> None:
    pending = [task for task in asyncio.all_tasks() if task.get_name().startswith("discord.py:")]
    await asyncio.gather(*pending)


async def ceiling_round(votes: int) -> float:
    client = discord.Client(intents=discord.Intents(guilds=True, guild_reactions=True))
    await client._async_setup_hook()
    add_guild(client)
    seen = 0

    async def on_raw_reaction_add(payload: discord.RawReactionActionEvent) -> None:
        nonlocal seen
        seen += 1

    client.event(on_raw_reaction_add)
    seconds = await feed(client, payloads(123, votes), listeners_finished)
    assert seen == votes
    return votes / seconds


async def agora_round(votes: int, workdir: Path, *, journal: bool = True, rule: bool = False) -> tuple[float, int]:
    path = workdir / f"bench-{time.monotonic_ns()}.db"
    bot = AgoraBot(Config.from_env({"DISCORD_TOKEN": "bench.token", "DATABASE_PATH": str(path)}))
    await bot._async_setup_hook()  # what login() prepares, without a gateway
    add_guild(bot)
    bot.db = await Database.open(path)
    store = PollStore(bot.db)
    poll = await _open_poll(store)
    edits = 0

    async def edit_message(channel_id: int, message_id: int, *, params: Any) -> dict[str, Any]:
        nonlocal edits
        edits += 1
        return _message_payload(int(channel_id), int(message_id), params.payload)

    bot.http.edit_message = edit_message  # type: ignore[method-assign]
    # As the bot wires it: every judged change also goes to the vote journal beside the database.
    recorder = VoteRecorder(store, journal=VoteJournal(path) if journal else None)
    bot.polls = PollService(bot, store, edit_interval=5.0, recorder=recorder)
    await bot.polls.start()
    live = bot.polls.live_poll(poll.message_id)  # type: ignore[arg-type]
    assert live is not None
    live.can_remove_reactions = False
    if rule:  # every voter is judged (and passes: old accounts, long-standing members), as in a restricted poll
        rules = VoterRules(min_account_age=timedelta(days=7), min_member_age=timedelta(days=1))
        live.poll_fairness = PollFairness(rules)
    await bot.add_cog(PollCommands(bot))

    async def committed() -> None:
        await listeners_finished()
        await bot.polls.drain()

    try:
        seconds = await feed(bot, payloads(poll.message_id, votes), committed)  # type: ignore[arg-type]
        stored = await bot.db.fetch_value("SELECT COUNT(*) FROM votes WHERE poll_id = ?", (poll.id,))
        logged = await bot.db.fetch_value("SELECT COUNT(*) FROM vote_events WHERE poll_id = ?", (poll.id,))
        assert stored == logged == votes, (stored, logged, votes)
    finally:
        await bot.remove_cog("PollCommands")
        await bot.polls.stop()
        await bot.db.close()
    return votes / seconds, edits


async def _open_poll(store: PollStore) -> StoredPoll:
    poll = await store.create_poll(
        guild_id=GUILD_ID, channel_id=CHANNEL_ID, question="Bench?", options=OPTIONS, multiple=False, created_by=None
    )
    await store.set_message(poll.id, 3_000_000_000_000_000 + poll.id)
    found = await store.poll(poll.id)
    assert found is not None
    return found


def _message_payload(channel_id: int, message_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    author = {"id": str(BOT_ID), "username": "Agora", "discriminator": "0", "avatar": None, "bot": True}
    return {
        "id": str(message_id), "channel_id": str(channel_id), "guild_id": str(GUILD_ID), "author": author,
        "content": "", "embeds": changes.get("embeds", []), "attachments": [], "mentions": [], "mention_roles": [],
        "mention_everyone": False, "pinned": False, "tts": False, "type": 0, "flags": 0,
        "timestamp": "2026-01-01T00:00:00+00:00", "edited_timestamp": None,
    }  # fmt: skip


def summary(rates: list[float]) -> str:
    return f"{statistics.median(rates):>9,.0f} votes/s  ({min(rates):,.0f}-{max(rates):,.0f})"


async def main(votes: int, rounds: int) -> dict[str, Any]:
    ceiling, agora, unjournaled, ruled, edits = [], [], [], [], []
    with tempfile.TemporaryDirectory(prefix="agora-bench-") as workdir:
        for _ in range(rounds):
            ceiling.append(await ceiling_round(votes))
            rate, edited = await agora_round(votes, Path(workdir))
            agora.append(rate)
            edits.append(edited)
            unjournaled.append((await agora_round(votes, Path(workdir), journal=False))[0])
            ruled.append((await agora_round(votes, Path(workdir), rule=True))[0])
    share = statistics.median(agora) / statistics.median(ceiling)
    print(f"{votes:,} votes per round, {rounds} rounds, medians (min-max)")
    print(f"  discord.py parse + dispatch (ceiling): {summary(ceiling)}")
    print(f"  agora, payload → committed row:        {summary(agora)}")
    print(f"  same without the vote journal:         {summary(unjournaled)}")
    print(
        f"  same with an eligibility rule on:      {summary(ruled)}  "
        f"({statistics.median(ruled) / statistics.median(agora):.0%} of without; target ≥ 90%)"
    )
    print(
        f"  agora / ceiling: {share:.0%} (target ≥ 50%); "
        f"without the journal {statistics.median(unjournaled) / statistics.median(ceiling):.0%}"
    )
    print(f"  live-embed edits per round of {votes:,} votes: {', '.join(map(str, edits))}")
    return {
        "ceiling": ceiling, "agora": agora, "unjournaled": unjournaled, "ruled": ruled, "share": share, "edits": edits,
    }  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--votes", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.votes, arguments.rounds))
