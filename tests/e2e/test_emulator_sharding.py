"""The emulator's sharding: IDENTIFY with [shard_id, shard_count], each server's events to its shard only."""

from __future__ import annotations

import discord
from discord.ext import commands

from .driver import InProcessClients
from .emulator import Emulator


def sharded_client(shard_ids: list[int] | None, shard_count: int | None) -> commands.AutoShardedBot:
    intents = discord.Intents.default()
    return commands.AutoShardedBot(
        command_prefix="!", intents=intents, shard_ids=shard_ids, shard_count=shard_count, guild_ready_timeout=0.2
    )


async def test_each_shard_receives_the_servers_and_events_of_its_own_guilds(
    emulator: Emulator, client_factory: InProcessClients
) -> None:
    zero = emulator.create_guild("Shard zero", shard=(0, 2))
    one = emulator.create_guild("Shard one", shard=(1, 2))
    assert (zero.id >> 22) % 2 == 0 and (one.id >> 22) % 2 == 1
    for guild in (zero, one):
        emulator._join(guild, emulator.bot_user)
    channel_one = emulator.create_channel(one, "general")
    first = await client_factory.start(sharded_client([0], 2))
    second = await client_factory.start(sharded_client([1], 2))
    assert first.get_guild(zero.id) is not None and first.get_guild(one.id) is None
    assert second.get_guild(one.id) is not None and second.get_guild(zero.id) is None

    member = emulator.add_member(one, "reader")
    sent = await emulator.user_send_message(member, channel_one, "hello")
    delivered = {
        session.shard: [event["d"]["id"] for event in session.log if event["t"] == "MESSAGE_CREATE"]
        for session in emulator.gateway.sessions.values()
    }
    assert delivered == {(0, 2): [], (1, 2): [str(sent.id)]}


async def test_gateway_bot_recommends_the_shard_count(emulator: Emulator, client_factory: InProcessClients) -> None:
    emulator.shard_count = 2
    client = await client_factory.start(sharded_client(None, None))
    assert client.shard_count == 2 and sorted(client.shards) == [0, 1]
    assert emulator.community is not None and client.get_guild(emulator.community.guild.id) is not None
