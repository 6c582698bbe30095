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

from bench.databases import BenchDatabase, add_argument, chosen, started
from bot.client import AgoraBot
from bot.config import Config, DatabaseUrl
from bot.polls.eligibility import VoterRules
from bot.polls.fairness import PollFairness
from bot.polls.ingest import VoteRecorder
from bot.polls.options import PollOption
from bot.polls.service import PollService
from bot.storage.backends import open_database
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


async def agora_round(
    votes: int, workdir: Path, database: BenchDatabase, *, journal: bool = True, rule: bool = False
) -> tuple[float, int]:
    url = await database.fresh(workdir)
    journal_path = url.path if url.path is not None else workdir / f"agora-{time.monotonic_ns()}"
    bot = AgoraBot(Config.from_env({"DISCORD_TOKEN": "bench.token", "DATABASE_URL": _url_text(url)}))
    await bot._async_setup_hook()  # what login() prepares, without a gateway
    add_guild(bot)
    bot.db = await open_database(url)
    store = PollStore(bot.db)
    poll = await _open_poll(store)
    edits = 0

    async def edit_message(channel_id: int, message_id: int, *, params: Any) -> dict[str, Any]:
        nonlocal edits
        edits += 1
        return _message_payload(int(channel_id), int(message_id), params.payload)

    bot.http.edit_message = edit_message  # type: ignore[method-assign]
    # As the bot wires it: every judged change also goes to the vote journal beside the database (or, for
    # PostgreSQL, in the data folder).
    recorder = VoteRecorder(store, journal=VoteJournal(journal_path) if journal else None)
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
        await database.discard(url)
    return votes / seconds, edits


def _url_text(url: DatabaseUrl) -> str:
    return f"sqlite:///{url.path}" if url.path is not None else url.dsn


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
    return f"{statistics.median(rates):>7,.0f} votes/s ({min(rates):,.0f}-{max(rates):,.0f})"


VARIANTS = {
    "agora": ("agora, payload → committed row", {}),
    "unjournaled": ("same without the vote journal", {"journal": False}),
    "ruled": ("same with an eligibility rule on", {"rule": True}),
}


async def main(votes: int, rounds: int, databases: list[BenchDatabase]) -> dict[str, Any]:
    ceiling: list[float] = []
    rates: dict[str, dict[str, list[float]]] = {d.label: {variant: [] for variant in VARIANTS} for d in databases}
    edits: dict[str, list[int]] = {d.label: [] for d in databases}
    with tempfile.TemporaryDirectory(prefix="agora-bench-") as workdir:
        async with started(databases):
            for _ in range(rounds):
                ceiling.append(await ceiling_round(votes))
                for database in databases:
                    for variant, (_, options) in VARIANTS.items():
                        rate, edited = await agora_round(votes, Path(workdir), database, **options)
                        rates[database.label][variant].append(rate)
                        if variant == "agora":
                            edits[database.label].append(edited)
    report(votes, rounds, ceiling, rates, edits)
    return {"ceiling": ceiling, "rates": rates, "edits": edits}


def report(
    votes: int,
    rounds: int,
    ceiling: list[float],
    rates: dict[str, dict[str, list[float]]],
    edits: dict[str, list[int]],
) -> None:
    top = statistics.median(ceiling)
    labels = list(rates)
    width = max(34, *(len(label) + 2 for label in labels))
    print(f"{votes:,} votes per round, {rounds} rounds, medians (min-max); share = of the ceiling")
    print(f"  discord.py parse + dispatch (ceiling): {summary(ceiling)}")
    print(f"  {'':<39}" + "".join(f"{label:<{width}}" for label in labels))
    for variant, (name, _) in VARIANTS.items():
        cells = [
            f"{summary(rates[label][variant])} {statistics.median(rates[label][variant]) / top:.0%}" for label in labels
        ]
        print(f"  {name + ':':<39}" + "".join(f"{cell:<{width}}" for cell in cells))
    for label in labels:
        with_rule = statistics.median(rates[label]["ruled"]) / statistics.median(rates[label]["agora"])
        print(
            f"  {label}: agora / ceiling {statistics.median(rates[label]['agora']) / top:.0%} (target ≥ 50%); "
            f"with an eligibility rule {with_rule:.0%} of without (target ≥ 90%); "
            f"live-embed edits per round: {', '.join(map(str, edits[label]))}"
        )
    sqlite = [label for label in labels if label.startswith("SQLite")]
    for label in labels:
        if label.startswith("PostgreSQL") and sqlite:
            share = statistics.median(rates[label]["agora"]) / statistics.median(rates[sqlite[0]]["agora"])
            print(f"  {label} / {sqlite[0]}: {share:.0%} (target ≥ 50%)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--votes", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    add_argument(parser)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.votes, arguments.rounds, chosen(arguments.database)))
