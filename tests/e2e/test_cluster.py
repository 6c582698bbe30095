"""Two bot processes (shards 0 and 1 of 2) on one PostgreSQL, four servers, one feed followed on both shards.

Each process serves its own servers (articles, polls, votes, /poll results); the feed is fetched by one process
per cycle (the feed server sees no two fetches at once) and posted once into every channel following it, each
server's posts made by its own process. A process killed in the middle of a feed cycle and of a vote burst comes
back: its servers' votes are reconciled and no article is lost or doubled.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from bot.shards import shard_of
from tests.backends import PostgresServer, selected_backends
from tests.fakes.feed_server import FeedServer, serving_feeds

from .conftest import assert_contract_kept
from .driver import REPO_ROOT, BotProcess
from .emulator import DefaultGuild, Emulator, Reply
from .emulator.state import Channel, Message
from .helpers import (
    OPPOSE,
    REPLY_WAIT,
    SEED_TITLE,
    SUPPORT,
    UNSURE,
    assert_clean,
    find_poll_message,
    post_seed_article,
    results_until,
    vote,
)

pytestmark = pytest.mark.skipif("postgresql" not in selected_backends(), reason="AGORA_TEST_BACKENDS excludes it")

FEED_INTERVAL = 3  # seconds: the loop ticks this often, so cycles follow each other quickly


@pytest.fixture
async def cluster_database(postgres_server: PostgresServer) -> AsyncIterator[str]:
    dsn = await postgres_server.create_database(migrated=False)
    yield dsn
    await postgres_server.drop_database(dsn)


@pytest.fixture
async def news_feed() -> AsyncIterator[FeedServer]:
    async with serving_feeds("Cluster News") as feed:
        yield feed


class Cluster:
    """The two processes, by shard, and the servers each owns."""

    def __init__(self, emu: Emulator, tmp_path: Path, dsn: str) -> None:
        self.emu = emu
        self.dsn = dsn
        self.env = {
            "DATABASE_URL": dsn, "SHARD_COUNT": "2", "DISCORD_GUILD_ID": "",  # commands global: four servers
            "FEED_ALLOW_PRIVATE_ADDRESSES": "true", "FEED_CHECK_INTERVAL_SECONDS": str(FEED_INTERVAL),
            "LOG_LEVEL": "INFO",
        }  # fmt: skip
        self.processes: dict[int, BotProcess] = {}
        for shard in (0, 1):
            workdir = tmp_path / f"shard{shard}"
            workdir.mkdir()
            env = {**self.env, "SHARD_IDS": str(shard), "DATA_DIR": str(workdir / "data")}
            self.processes[shard] = BotProcess(emu, workdir, extra_env=env)
        self.servers: dict[int, list[DefaultGuild]] = {0: [], 1: []}

    def add(self, server: DefaultGuild) -> None:
        self.servers[shard_of(server.guild.id, 2)].append(server)

    @property
    def all_servers(self) -> list[DefaultGuild]:
        return self.servers[0] + self.servers[1]

    async def start(self, shard: int) -> None:
        await self.processes[shard].start(syncs=shard == 0)  # only shard 0's process registers commands

    async def stop_all(self) -> None:
        for process in self.processes.values():
            await process.stop()
            process.assert_token_not_logged()
            assert not process.hung_on_stop, f"a process did not exit after SIGTERM\n{process.tail()}"

    async def kill(self, shard: int) -> None:
        process = self.processes[shard].process
        assert process is not None
        process.kill()  # SIGKILL: no goodbye, no flush, its claims left behind
        await process.wait()


async def feed_command(emu: Emulator, server: DefaultGuild, command: str, **options: object) -> Reply:
    call = await emu.invoke_slash(server.moderator, f"feed {command}", channel=server.general, options=options)
    return await call.response(within=REPLY_WAIT)


def posts_titled(emu: Emulator, channel: Channel, title: str) -> list[Message]:
    bot_id = emu.bot_user.id
    return [m for m in emu.messages_in(channel) if m.author_id == bot_id and title in str(m.embeds)]


async def wait_posted_everywhere(emu: Emulator, cluster: Cluster, title: str, within: float = 45.0) -> None:
    await emu.wait_for(
        lambda: all(posts_titled(emu, server.news, title) for server in cluster.all_servers), within, f"{title!r}"
    )


async def article_poll(emu: Emulator, server: DefaultGuild, title: str) -> Message:
    thread = await emu.wait_for_thread(server.news, lambda t: title.split()[0] in t.name, within=REPLY_WAIT)
    return await find_poll_message(emu, thread)


async def claim_holder(dsn: str) -> str | None:
    connection = await asyncpg.connect(dsn)
    try:
        return await connection.fetchval("SELECT claim_holder FROM feeds")
    finally:
        await connection.close()


async def refused_start(cluster: Cluster, **env: str) -> tuple[int | None, str]:
    environment = {**cluster.processes[0].environment(), **env, "LOG_LEVEL": "WARNING"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=REPO_ROOT, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), 20)
    return process.returncode, stderr.decode()


async def test_two_processes_serve_four_servers_share_a_feed_and_recover_from_sigkill(
    emulator: Emulator, tmp_path: Path, cluster_database: str, news_feed: FeedServer
) -> None:
    community = emulator.community
    assert community is not None
    home = shard_of(community.guild.id, 2)
    cluster = Cluster(emulator, tmp_path, cluster_database)
    cluster.add(community)
    cluster.add(emulator.seed_guild("Second Paper", member_count=8, shard=(home, 2)))
    cluster.add(emulator.seed_guild("Third Paper", member_count=8, shard=(1 - home, 2)))
    cluster.add(emulator.seed_guild("Fourth Paper", member_count=8, shard=(1 - home, 2)))
    assert [len(cluster.servers[shard]) for shard in (0, 1)] == [2, 2]
    try:
        await cluster.start(0)
        await cluster.start(1)

        # A process with another shard count is refused while the cluster runs.
        code, stderr = await refused_start(cluster, SHARD_COUNT="3", SHARD_IDS="2")
        lines = stderr.strip().splitlines()
        assert code != 0 and len(lines) == 1 and "SHARD_COUNT 3" in lines[0] and "shard count 2" in lines[0], stderr

        # An article and its poll in every server, each posted by the server's own process; votes in each.
        polls: dict[int, Message] = {}
        for server in cluster.all_servers:
            posted = await post_seed_article(emulator, community=server)
            polls[server.guild.id] = await find_poll_message(emulator, posted.thread)
            for member, choice in zip(server.members[:3], (SUPPORT, SUPPORT, OPPOSE), strict=True):
                await vote(emulator, member, polls[server.guild.id], choice)
        for server in cluster.all_servers:  # /poll results answered by both processes, each for its servers
            await results_until(emulator, polls[server.guild.id], {SUPPORT: 2, OPPOSE: 1}, community=server)

        # One feed followed by every server: fetched once per cycle, posted once per channel.
        news_feed.add_item("Opening story")
        for server in cluster.all_servers:
            added = await feed_command(emulator, server, "add", url=news_feed.live_url, channel=server.news)
            assert "Cluster News" in added.content, added.content
        await wait_posted_everywhere(emulator, cluster, "Opening story")
        news_feed.live_delay = 2.0  # a fetch now lasts long enough for a second process to try the same feed
        news_feed.live_most_in_flight = 0
        news_feed.add_item("Second story")
        await wait_posted_everywhere(emulator, cluster, "Second story")
        # The poll of an article another process may have fetched is tracked by the server's own process.
        for server in (cluster.servers[0][0], cluster.servers[1][0]):
            poll = await article_poll(emulator, server, "Second story")
            await vote(emulator, server.members[5], poll, UNSURE)
            await results_until(emulator, poll, {UNSURE: 1}, community=server)

        # SIGKILL the process fetching the feed, in the middle of a vote burst in its servers.
        news_feed.live_fetch_started.clear()
        news_feed.add_item("Third story")
        await asyncio.wait_for(news_feed.live_fetch_started.wait(), 30)  # a process is fetching it now
        holder = await claim_holder(cluster_database)
        assert holder in ("shards-0", "shards-1"), holder
        victim = int(holder.removeprefix("shards-"))
        survivor = 1 - victim
        burst = [(server, member) for server in cluster.servers[victim] for member in server.members[3:7]]
        for server, member in burst[: len(burst) // 2]:
            await vote(emulator, member, polls[server.guild.id], UNSURE)
        await cluster.kill(victim)
        for server, member in burst[len(burst) // 2 :]:
            await vote(emulator, member, polls[server.guild.id], UNSURE)
        # The other process keeps serving its own servers meanwhile.
        for server in cluster.servers[survivor]:
            await vote(emulator, server.members[3], polls[server.guild.id], UNSURE)
            await results_until(emulator, polls[server.guild.id], {SUPPORT: 2, OPPOSE: 1, UNSURE: 1}, community=server)

        await cluster.start(victim)  # the same shard: it takes its own feed claim back at once
        for server in cluster.servers[victim]:
            await results_until(emulator, polls[server.guild.id], {SUPPORT: 2, OPPOSE: 1, UNSURE: 4}, community=server)
        await wait_posted_everywhere(emulator, cluster, "Third story")
        # Fetched again by the restarted process itself (its own claim), not after the lease ran out elsewhere.
        await cluster.processes[victim].wait_log("Checked 1 feeds", within=REPLY_WAIT)
        await asyncio.sleep(2 * FEED_INTERVAL)  # two more cycles: nothing may be posted again

        assert news_feed.live_most_in_flight == 1, "two processes fetched the feed at once"
        for server in cluster.all_servers:
            for title in (SEED_TITLE, "Opening story", "Second story", "Third story"):
                assert len(posts_titled(emulator, server.news, title)) == 1, (server.guild.name, title)
        connection = await asyncpg.connect(cluster_database)
        try:
            states = await connection.fetch("SELECT state, COUNT(*) AS n FROM deliveries GROUP BY state")
        finally:
            await connection.close()
        assert {row["state"]: row["n"] for row in states} == {"posted": 16}
        assert_clean(emulator)
    finally:
        await cluster.stop_all()
    assert_contract_kept(emulator)
