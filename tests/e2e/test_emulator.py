"""The emulator itself, proven with plain discord.py clients (no Agora code involved)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from typing import Any

import discord
import pytest
from discord import app_commands

from .driver import InProcessClients
from .emulator import CommandBlocked, Emulator

THUMBS_UP = "\N{THUMBS UP SIGN}"
THUMBS_DOWN = "\N{THUMBS DOWN SIGN}"


class EventLog:
    """Collects discord.py events of a client so tests can wait for them."""

    def __init__(self, client: discord.Client, *names: str) -> None:
        self.events: dict[str, list[Any]] = {name: [] for name in names}
        self._changed = asyncio.Event()
        for name in names:
            client.add_listener(self._recorder(name), f"on_{name}")

    def _recorder(self, name: str) -> Callable[..., Any]:
        async def record(*args: Any) -> None:
            self.events[name].append(args[0] if len(args) == 1 else args)
            self._changed.set()

        return record

    async def wait(self, name: str, count: int = 1, within: float = 5.0) -> list[Any]:
        async with asyncio.timeout(within):
            while len(self.events[name]) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.events[name]


@pytest.fixture(autouse=True)
def no_unknown_routes(emulator: Emulator):
    yield
    assert emulator.unknown_routes == [], "the client called routes the emulator does not implement"


async def start_bot(clients: InProcessClients, **kwargs: Any) -> discord.Client:
    return await clients.start(clients.bot(**kwargs))


async def test_login_ready_and_guild_cached(emulator: Emulator, client_factory: InProcessClients) -> None:
    client = await start_bot(client_factory)
    seed = emulator.community
    assert seed is not None
    assert client.user is not None and client.user.id == emulator.bot_user.id
    assert client.application_id == emulator.application_id
    guild = client.get_guild(seed.guild.id)
    assert guild is not None and not guild.unavailable
    forum = guild.get_channel(seed.forum.id)
    assert isinstance(forum, discord.ForumChannel)
    assert [t.name for t in forum.available_tags] == ["politics", "science", "culture"]
    assert isinstance(guild.get_channel(seed.category.id), discord.CategoryChannel)
    news = guild.get_channel(seed.news.id)
    assert isinstance(news, discord.TextChannel) and news.category_id == seed.category.id
    assert {r.name for r in guild.roles} == {"@everyone", "Moderator", "Agora"}
    perms = news.permissions_for(guild.me)
    assert perms.send_messages and perms.embed_links and perms.manage_messages and not perms.manage_guild
    assert guild.get_member(seed.moderator.id) is None  # no GUILD_MEMBERS intent: only the bot is sent
    moderator = await guild.fetch_member(seed.moderator.id)
    assert moderator.guild_permissions.manage_guild and moderator.roles[-1].name == "Moderator"
    assert emulator.gateway.compress_modes == [discord.utils._ActiveDecompressionContext.COMPRESSION_TYPE]
    assert emulator.gateway.heartbeat_count >= 1


async def test_send_message_with_embed_history_edit_delete(
    emulator: Emulator, client_factory: InProcessClients
) -> None:
    client = await start_bot(client_factory)
    log = EventLog(client, "message", "message_edit", "raw_message_delete")
    seed = emulator.community
    assert seed is not None
    channel = client.get_channel(seed.news.id)
    assert isinstance(channel, discord.TextChannel)
    embed = discord.Embed(title="Headline", description="Body", url="https://example.org/a")
    embed.add_field(name="Source", value="Example")
    sent = await channel.send("New article", embed=embed, nonce="n-1")
    stored = emulator.messages_in(seed.news)[-1]
    assert stored.id == sent.id and stored.content == "New article"
    assert stored.embeds[0]["title"] == "Headline" and stored.embeds[0]["fields"][0]["value"] == "Example"
    await log.wait("message")

    user_msg = await emulator.user_send_message(seed.members[0], seed.news, "first comment")
    await log.wait("message", 2)
    history = [m async for m in channel.history(limit=10)]
    assert [m.id for m in history] == [user_msg.id, sent.id]
    older = [m async for m in channel.history(limit=10, after=discord.Object(sent.id))]
    assert [m.id for m in older] == [user_msg.id]

    await sent.edit(content="Edited")
    await log.wait("message_edit")
    assert emulator.messages_in(seed.news)[0].content == "Edited"
    await sent.delete()
    await log.wait("raw_message_delete")
    assert [m.id for m in emulator.messages_in(seed.news)] == [user_msg.id]


async def test_missing_permission_is_403_50013(emulator: Emulator, client_factory: InProcessClients) -> None:
    client = await start_bot(client_factory)
    seed = emulator.community
    assert seed is not None
    await emulator.set_overwrite(seed.news, seed.bot, deny=("embed_links",))
    channel = client.get_channel(seed.news.id)
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.Forbidden) as refused:
        await channel.send(embed=discord.Embed(title="x"))
    assert refused.value.code == 50013
    await channel.send("plain text still works")
    with pytest.raises(discord.HTTPException) as empty:
        await channel.send("x" * 2001)
    assert empty.value.code == 50035


async def test_thread_from_message_and_forum_post(emulator: Emulator, client_factory: InProcessClients) -> None:
    client = await start_bot(client_factory)
    log = EventLog(client, "thread_create", "message")
    seed = emulator.community
    assert seed is not None
    channel = client.get_channel(seed.news.id)
    assert isinstance(channel, discord.TextChannel)
    starter = await channel.send("Article")
    thread = await starter.create_thread(name="Discussion: Article", auto_archive_duration=1440)
    assert thread.id == starter.id and thread.parent_id == channel.id
    await log.wait("thread_create")
    assert emulator.threads_of(seed.news)[0].name == "Discussion: Article"
    prompt = await thread.send("What do you think?")
    assert [m.id for m in emulator.messages_in(thread.id)] == [prompt.id]
    await thread.edit(archived=True, locked=True)
    assert emulator.threads_of(seed.news)[0].archived

    forum = client.get_channel(seed.forum.id)
    assert isinstance(forum, discord.ForumChannel)
    tag = forum.available_tags[1]
    chart = discord.File(io.BytesIO(b"\x89PNG fake"), "chart.png")
    post = await forum.create_thread(name="Forum article", content="Body", applied_tags=[tag], file=chart)
    assert post.thread.id == post.message.id
    assert await post.message.attachments[0].read() == b"\x89PNG fake"
    stored = emulator.threads_of(seed.forum)[0]
    assert stored.applied_tags == [tag.id] and emulator.messages_in(stored)[0].content == "Body"
    await log.wait("thread_create", 2)


async def test_reactions_add_remove_and_paginated_users(emulator: Emulator, client_factory: InProcessClients) -> None:
    client = await start_bot(client_factory)
    log = EventLog(client, "raw_reaction_add", "raw_reaction_remove", "raw_reaction_clear_emoji")
    seed = emulator.community
    assert seed is not None
    voters = [emulator.add_member(seed.guild, f"voter{i:03d}") for i in range(140)]
    channel = client.get_channel(seed.news.id)
    assert isinstance(channel, discord.TextChannel)
    poll = await channel.send("Vote!")
    await poll.add_reaction(THUMBS_UP)
    await poll.add_reaction(THUMBS_DOWN)
    for voter in voters:
        await emulator.user_add_reaction(voter, seed.news, poll.id, THUMBS_UP)
    added = await log.wait("raw_reaction_add", 142)
    assert added[-1].member is not None and added[-1].member.id == voters[-1].id
    fetched = await channel.fetch_message(poll.id)
    counts = {str(r.emoji): (r.count, r.me) for r in fetched.reactions}
    assert counts == {THUMBS_UP: (141, True), THUMBS_DOWN: (1, True)}
    first_page = await client.http.get_reaction_users(channel.id, poll.id, THUMBS_UP, 100)
    expected = sorted([emulator.bot_user.id] + [v.id for v in voters])
    assert [int(u["id"]) for u in first_page] == expected[:100]
    second_page = await client.http.get_reaction_users(channel.id, poll.id, THUMBS_UP, 100, after=expected[99])
    assert [int(u["id"]) for u in second_page] == expected[100:]
    users = [u.id async for u in fetched.reactions[0].users(limit=None)]  # discord.py yields each page reversed
    assert sorted(users) == expected

    await fetched.remove_reaction(THUMBS_UP, discord.Object(voters[0].id))
    await emulator.user_remove_reaction(voters[1], seed.news, poll.id, THUMBS_UP)
    removed = await log.wait("raw_reaction_remove", 2)
    assert {e.user_id for e in removed} == {voters[0].id, voters[1].id}
    await fetched.clear_reaction(THUMBS_DOWN)
    await log.wait("raw_reaction_clear_emoji")
    assert list(emulator.reactions_on(poll.id)) == [THUMBS_UP]
    with pytest.raises(discord.HTTPException) as bad:
        await fetched.add_reaction("thumbsup")
    assert bad.value.code == 10014


def article_commands(tree: app_commands.CommandTree, seen: dict[str, Any]) -> None:
    group = app_commands.Group(
        name="article", description="Articles", default_permissions=discord.Permissions(manage_guild=True)
    )

    @group.command(name="post", description="Post an article")
    async def post(interaction: discord.Interaction, channel: discord.TextChannel, file: discord.Attachment) -> None:
        seen["channel"] = channel
        seen["text"] = (await file.read()).decode()
        await interaction.response.send_message(f"Posting to {channel.mention}", ephemeral=True)

    @group.command(name="slow", description="Deferred answer")
    async def slow(interaction: discord.Interaction, count: int) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send(f"done {count}")
        await interaction.followup.send("extra", ephemeral=True, file=discord.File(__file__, filename="x.py"))

    @group.command(name="attach", description="Answer with a file")
    async def attach(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("here", file=discord.File(io.BytesIO(b"a,b\n1,2\n"), "t.csv"))

    @group.command(name="find", description="Autocompleted option")
    async def find(interaction: discord.Interaction, topic: str) -> None:
        await interaction.response.send_message(topic, ephemeral=True)

    @find.autocomplete("topic")
    async def topics(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=t, value=t) for t in ("politics", "science") if t.startswith(current)]

    tree.add_command(group)


async def test_slash_sync_invoke_ephemeral_and_deferred(emulator: Emulator, client_factory: InProcessClients) -> None:
    seed = emulator.community
    assert seed is not None
    client = client_factory.bot()
    seen: dict[str, Any] = {}
    article_commands(client.tree, seen)
    await client_factory.start(client)
    client.tree.copy_global_to(guild=discord.Object(seed.guild.id))
    synced = await client.tree.sync(guild=discord.Object(seed.guild.id))
    assert [c.name for c in synced] == ["article"] and emulator.registered_commands[0]["guild_id"] == str(seed.guild.id)

    upload = emulator.upload_attachment(seed.news, "article.txt", b"Title\n\nBody")
    call = await emulator.invoke_slash(
        seed.moderator, "article post", channel=seed.general, options={"channel": seed.news, "file": upload}
    )
    reply = await call.response()
    assert reply.ephemeral and reply.content == f"Posting to <#{seed.news.id}>"
    assert seen["text"] == "Title\n\nBody" and seen["channel"].id == seed.news.id
    assert emulator.messages_in(seed.general) == []

    slow = await emulator.invoke_slash(seed.moderator, "article slow", channel=seed.general, options={"count": 3})
    first = await slow.response()
    assert first.content == "done 3" and not first.ephemeral
    assert [m.content for m in emulator.messages_in(seed.general)] == ["done 3"]
    extra = (await slow.wait_followups(1))[0]
    assert extra.ephemeral and extra.files[0][0] == "x.py"
    assert [e.kind for e in slow.events] == ["callback", "edit_original", "followup"]

    with pytest.raises(CommandBlocked):
        await emulator.invoke_slash(seed.members[0], "article slow", channel=seed.general, options={"count": 1})
    emulator.set_command_permission(seed.guild, "article", seed.everyone, allowed=True)
    opened = await emulator.invoke_slash(seed.members[0], "article attach", channel=seed.general)
    attached = await opened.response()
    assert attached.files == [("t.csv", b"a,b\n1,2\n")] and not attached.ephemeral

    completing = await emulator.invoke_autocomplete(
        seed.moderator, "article find", channel=seed.general, focused="topic", options={"topic": "sc"}
    )
    assert await completing.choices() == [{"name": "science", "value": "science"}]


async def test_resume_after_forced_reconnect(emulator: Emulator, client_factory: InProcessClients) -> None:
    client = await start_bot(client_factory)
    log = EventLog(client, "message", "resumed")
    seed = emulator.community
    assert seed is not None
    await emulator.force_reconnect()
    await emulator.wait_resumed(1)
    await log.wait("resumed")
    await emulator.user_send_message(seed.members[0], seed.general, "after reconnect")
    messages = await log.wait("message")
    assert messages[0].content == "after reconnect"
    assert emulator.gateway.identify_count == 1


async def test_events_missed_while_paused_are_replayed(emulator: Emulator, client_factory: InProcessClients) -> None:
    client = await start_bot(client_factory)
    log = EventLog(client, "raw_reaction_add", "raw_reaction_remove", "message", "resumed")
    seed = emulator.community
    assert seed is not None
    channel = client.get_channel(seed.news.id)
    assert isinstance(channel, discord.TextChannel)
    poll = await channel.send("Vote")
    await log.wait("message")
    await emulator.pause_gateway()
    for voter in seed.members[:3]:
        await emulator.user_add_reaction(voter, seed.news, poll.id, THUMBS_UP)
    await emulator.user_remove_reaction(seed.members[0], seed.news, poll.id, THUMBS_UP)
    await emulator.user_send_message(seed.members[4], seed.news, "while you were away")
    assert log.events["raw_reaction_add"] == [] and not emulator.gateway.connected
    await emulator.resume_gateway()
    await log.wait("resumed")
    added = await log.wait("raw_reaction_add", 3)
    await log.wait("raw_reaction_remove", 1)
    messages = await log.wait("message", 2)
    assert [e.user_id for e in added] == [m.id for m in seed.members[:3]]
    assert messages[-1].content == "while you were away"
    assert emulator.gateway.identify_count == 1 and emulator.gateway.resume_count == 1


async def test_dropped_session_forces_new_identify(emulator: Emulator, client_factory: InProcessClients) -> None:
    client = await start_bot(client_factory)
    log = EventLog(client, "ready")

    async def no_identify_delay(shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py waits 5 s before every non-initial IDENTIFY (Client.before_identify_hook)."""

    client.before_identify_hook = no_identify_delay  # type: ignore[method-assign]
    await emulator.disconnect_gateway()
    await emulator.wait_identified(2)
    await log.wait("ready")
    seed = emulator.community
    assert seed is not None and client.get_guild(seed.guild.id) is not None


async def test_without_message_content_intent_content_is_empty(
    emulator: Emulator, client_factory: InProcessClients
) -> None:
    client = await start_bot(client_factory, intents=discord.Intents.default())
    log = EventLog(client, "message")
    seed = emulator.community
    assert seed is not None
    await emulator.user_send_message(seed.members[0], seed.general, "secret words")
    await emulator.user_send_message(seed.members[0], seed.general, f"hey <@{emulator.bot_user.id}>")
    messages = await log.wait("message", 2)
    assert [m.content for m in messages] == ["", f"hey <@{emulator.bot_user.id}>"]


async def test_unknown_route_is_404_and_recorded(emulator: Emulator, client_factory: InProcessClients) -> None:
    client = await start_bot(client_factory)
    seed = emulator.community
    assert seed is not None
    with pytest.raises(discord.NotFound):
        await client.http.pins_from(seed.news.id)
    assert len(emulator.unknown_routes) == 1 and "pins" in emulator.unknown_routes[0]
    emulator.unknown_routes.clear()


async def test_member_chunking_with_members_intent(emulator: Emulator, client_factory: InProcessClients) -> None:
    intents = discord.Intents.default()
    intents.members = True
    client = await start_bot(client_factory, intents=intents, chunk_guilds_at_startup=False)
    seed = emulator.community
    assert seed is not None
    guild = client.get_guild(seed.guild.id)
    assert guild is not None and guild.member_count == len(seed.guild.members)
    members = await guild.chunk()
    assert {m.id for m in members} == set(seed.guild.members)
    assert emulator.gateway.received_ops.count(8) == 1
