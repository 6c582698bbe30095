"""What the start costs in Discord requests when open polls' messages show older figures (an edit dropped by a
stop or a crash): the redraw check compares the message reconciliation reads anyway, so only stale messages
cost a request, one edit each.

    .venv/bin/python -m bench.start_redraws                  # 200 open polls, a quarter left stale
    .venv/bin/python -m bench.start_redraws --polls 1000 --stale 500

PollService runs against a real SQLite file (under a temporary directory) with Discord answered in memory
(tests/fakes/polls.py). Prints the REST calls of the start's reconciliation by kind, and how many were edits.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections import Counter
from pathlib import Path

import discord

from bot.polls.ingest import VoteRecorder
from bot.polls.options import PollOption
from bot.polls.service import PollService
from bot.storage.backends import AnyDatabase, open_database
from bot.storage.journal import VoteJournal
from bot.storage.polls import PollStore
from tests.builders import fake_bot
from tests.fakes.discord_http import GUILD_ID, MODERATOR_ID, TEXT_CHANNEL_ID
from tests.fakes.polls import PollsFakeHTTP, poll_guild_payload

OPTIONS = (PollOption("👍", "Yes"), PollOption("👎", "No"))


async def start(http: PollsFakeHTTP, path: Path) -> tuple[PollService, AnyDatabase, discord.Guild]:
    """A process: the poll service over the database file, Discord answered by `http` (kept across starts)."""
    bot, _, guild = fake_bot(http, guild=poll_guild_payload(), DATABASE_PATH=str(path))
    db = await open_database(bot.config.database)
    store = PollStore(db)
    service = PollService(bot, store, edit_interval=0.01, recorder=VoteRecorder(store, journal=VoteJournal(path)))
    await service.start()
    return service, db, guild


async def run(polls: int, stale: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "agora.db"
        http = PollsFakeHTTP()
        service, db, guild = await start(http, path)
        channel = guild.get_channel(TEXT_CHANNEL_ID)
        assert isinstance(channel, discord.TextChannel)
        messages = []
        for number in range(polls):
            opened = await service.create_poll(
                channel, guild_id=GUILD_ID, question=f"Poll {number}?", created_by=MODERATOR_ID, options=OPTIONS
            )
            messages.append(opened.message.id)
        await service.drain()
        for message_id in messages[:stale]:
            http.react(message_id, "👍", 42)
            service.on_reaction(message_id, 42, discord.PartialEmoji(name="👍"), added=True)
        await service.stop()  # before the debounced edits went out: these messages show older figures
        await db.close()

        before = len(http.calls)
        service, db, _ = await start(http, path)
        await service.reconcile_all()
        await asyncio.sleep(1.5)  # the refresher's settle, then its edits
        await service.stop()
        await db.close()
        kinds = Counter(kind for kind, _ in http.calls[before:])
        print(f"{polls} open polls, {stale} showing older figures: start requests {dict(sorted(kinds.items()))}")
        print(
            f"edits: {kinds['edit_message']} (expected {stale}); per poll: {sum(kinds.values()) / polls:.2f} requests"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=200)
    parser.add_argument("--stale", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(run(args.polls, args.stale))


if __name__ == "__main__":
    main()
