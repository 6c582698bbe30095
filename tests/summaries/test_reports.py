"""What /poll results, /poll export, /poll list and /article summary send, and to whom."""

import csv
import io
import struct
import zipfile

import discord
import pytest

from bot.client import AgoraBot
from bot.errors import AgoraError
from bot.permissions import NotModerator
from bot.polls.rules import Action, Source, VoteChange
from bot.polls.service import PollService
from bot.references import InvalidReference
from bot.server_settings import ServerSettings
from bot.storage.polls import PollStore
from bot.storage.settings import SettingsStore
from bot.storage.summaries import SummaryStore
from bot.summaries import charts
from bot.summaries.moments import InvalidMoment
from bot.summaries.reports import (
    SummaryNotFound,
    article_choices,
    find_article,
    find_poll,
    poll_choices,
    poll_exports,
    poll_list_report,
    poll_report,
)
from bot.summaries.service import SummaryService
from cogs.articles import ArticleCommands
from cogs.polls import PollCommands
from tests.builders import fake_bot
from tests.fakes.discord_http import GUILD_ID, TEXT_CHANNEL_ID, FakeInteraction
from tests.summaries.factories import OTHER_GUILD

THREAD = 11
VOTERS = (987654321012345678, 987654321012345679, 987654321012345680)


@pytest.fixture
async def poll(seed):
    article = await seed.article()
    delivery = await seed.delivery(article, guild_id=GUILD_ID, channel_id=TEXT_CHANNEL_ID, thread_id=THREAD)
    poll = await seed.poll(guild_id=GUILD_ID, channel_id=THREAD, article_id=article, delivery_id=delivery)
    for voter, option in zip(VOTERS, (0, 0, 1), strict=True):
        await seed.vote(poll, option, voter, minute=1)
    await seed.reply(article, delivery, 4242, 5, thread_id=THREAD)
    return poll


def file_bytes(file: discord.File) -> bytes:
    file.reset()
    return file.fp.read()


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def embed_text(embed: discord.Embed) -> str:
    return str(embed.to_dict())


async def test_poll_report_inside_the_thread_needs_no_id(store, poll):
    report = await poll_report(store, await find_poll(store, GUILD_ID, None, THREAD))
    text = embed_text(report.embed)
    assert "👍 Yes — **2** · 66.7%" in text and "👎 No — **1** · 33.3%" in text
    assert "3 (3 votes)" in text and "👍 Yes leads with 66.7% of 3 voters." in text
    assert not any(str(voter) in text for voter in VOTERS)  # never who voted
    [chart] = report.files
    assert chart.filename == f"poll-{poll.id}.png"
    assert report.embed.image.url == f"attachment://poll-{poll.id}.png"
    assert png_size(file_bytes(chart)) == (charts.WIDTH_PX, charts.HEIGHT_PX)


async def test_a_poll_of_another_server_is_not_found(store, poll):
    with pytest.raises(SummaryNotFound, match=f"No poll matches `{poll.id}`"):
        await find_poll(store, OTHER_GUILD, str(poll.id), THREAD)
    with pytest.raises(SummaryNotFound, match="no poll in this channel"):
        await find_poll(store, GUILD_ID, None, 999)


async def test_exports_are_the_votes_and_the_event_log(store, poll):
    summary = await find_poll(store, GUILD_ID, str(poll.id), THREAD)
    files = await poll_exports(store, summary, limit_bytes=10 * 2**20)
    assert [f.filename for f in files] == [
        f"poll-{poll.id}-votes.csv", f"poll-{poll.id}-events.csv", f"poll-{poll.id}-summary.csv"
    ]  # fmt: skip
    votes = list(csv.DictReader(io.StringIO(file_bytes(files[0]).decode("utf-8-sig"))))
    assert sorted(int(row["voter_id"]) for row in votes) == sorted(VOTERS)
    assert [row["option"] for row in votes].count("Yes") == summary.options[0].votes


async def test_exports_over_the_upload_limit_are_zipped(store, seed):
    poll = await seed.poll(guild_id=GUILD_ID)
    for voter in range(300):
        await seed.vote(poll, voter % 2, voter, minute=voter)
    summary = await find_poll(store, GUILD_ID, str(poll.id), THREAD)
    files = await poll_exports(store, summary, limit_bytes=8000)  # the CSVs are ~15 KB
    assert [f.filename for f in files] == [
        f"poll-{poll.id}-votes.csv.zip", f"poll-{poll.id}-events.csv.zip", f"poll-{poll.id}-summary.csv"
    ]  # fmt: skip
    with zipfile.ZipFile(io.BytesIO(file_bytes(files[0]))) as archive:
        data = archive.read(f"poll-{poll.id}-votes.csv")
    assert data.startswith(b"\xef\xbb\xbfpoll_id,option") and data.count(b"\r\n") == 301


async def test_exports_too_big_even_zipped_point_at_the_cli(store, poll):
    expected = f"over this server's upload limit of 0.0 KiB.*--poll {poll.id} --export votes"
    with pytest.raises(AgoraError, match=expected):
        await poll_exports(store, await find_poll(store, GUILD_ID, str(poll.id), THREAD), limit_bytes=10)


async def test_poll_list_shows_voters_but_not_who(store, poll):
    report = await poll_list_report(store, GUILD_ID, None)
    text = embed_text(report.embed)
    assert f"`#{poll.id}` **More bike lanes?** — open, 3 voters, no deadline" in text
    assert not any(str(voter) in text for voter in VOTERS)
    assert "None yet." in embed_text((await poll_list_report(store, OTHER_GUILD, None)).embed)


async def test_autocomplete_searches_this_servers_questions_and_titles(store, poll):
    assert [(c.name, c.value) for c in await poll_choices(store, GUILD_ID, "bike")] == [
        (f"#{poll.id} More bike lanes?", str(poll.id))
    ]
    assert await poll_choices(store, OTHER_GUILD, "bike") == []
    assert [c.name for c in await article_choices(store, GUILD_ID, "lanes")] == ["#1 Bike lanes"]


class ThreadInteraction(FakeInteraction):
    """The shared fake, used in a channel: the commands read the channel id to find a thread's poll."""

    def __init__(self, *args, channel_id: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.channel_id = channel_id
        self.guild_id = self.guild.id


def summaries_bot(db) -> tuple[AgoraBot, discord.Guild]:
    """A fake bot with the services the summary commands use, on the test's database."""
    bot, _http, guild = fake_bot()
    bot.db, bot.settings = db, ServerSettings(SettingsStore(db))
    bot.polls = PollService(bot, PollStore(db))
    bot.summaries = SummaryService(SummaryStore(db), bot.polls.recorder.flush)
    return bot, guild


@pytest.fixture
async def article_cog(db, poll):
    bot, guild = summaries_bot(db)
    return ArticleCommands(bot), bot, guild


async def test_article_summary_in_its_thread_replies_privately_with_chart(article_cog):
    cog, bot, guild = article_cog
    interaction = ThreadInteraction(bot, guild, moderator=True, channel_id=THREAD)
    await cog.summary.callback(cog, interaction, None)
    assert interaction.deferred_ephemeral is True
    [reply] = interaction.replies
    assert reply["ephemeral"]
    text = embed_text(reply["embed"])
    assert "Bike lanes" in text and "1 replies from 1 participants" in text and "<@4242> — 1" in text
    fields = {field.name: field.value for field in reply["embed"].fields}
    assert (fields["Replies"], fields["Participants"], fields["Thread"]) == ("1", "1", "open")
    assert "👍 Yes leads with 66.7% of 3 voters." in text
    assert not any(str(voter) in text for voter in VOTERS)
    [chart] = reply["files"]
    assert png_size(file_bytes(chart)) == (charts.WIDTH_PX, charts.HEIGHT_PX)


async def test_article_summary_is_for_moderators(article_cog):
    cog, bot, guild = article_cog
    [check] = cog.summary.checks
    with pytest.raises(NotModerator):
        await check(ThreadInteraction(bot, guild, moderator=False, channel_id=THREAD))


async def test_article_summary_outside_a_thread_needs_the_article(article_cog):
    cog, bot, guild = article_cog
    with pytest.raises(SummaryNotFound, match="not an article's thread"):
        await cog.summary.callback(cog, ThreadInteraction(bot, guild, moderator=True, channel_id=TEXT_CHANNEL_ID), None)


async def test_article_of_another_server_is_not_summarised(article_cog, seed):
    cog, bot, guild = article_cog
    elsewhere = await seed.article(title="Elsewhere")
    await seed.delivery(elsewhere, guild_id=OTHER_GUILD, channel_id=20, thread_id=21)
    interaction = ThreadInteraction(bot, guild, moderator=True, channel_id=THREAD)
    with pytest.raises(SummaryNotFound, match="No article posted in this server matches"):
        await cog.summary.callback(cog, interaction, str(elsewhere))


async def test_article_summary_by_its_message_link(article_cog, db):
    cog, bot, guild = article_cog
    async with db.transaction() as connection:
        await connection.execute("UPDATE deliveries SET message_id = 777000111222333")
    interaction = ThreadInteraction(bot, guild, moderator=True, channel_id=TEXT_CHANNEL_ID)
    link = f"https://discord.com/channels/{GUILD_ID}/{TEXT_CHANNEL_ID}/777000111222333"
    await cog.summary.callback(cog, interaction, link)
    assert "Bike lanes" in embed_text(interaction.replies[0]["embed"])


@pytest.fixture
async def poll_cog(db, poll):
    bot, guild = summaries_bot(db)
    return PollCommands(bot), bot, guild


async def test_results_are_private_by_default_and_count_queued_votes(poll_cog, poll):
    cog, bot, guild = poll_cog
    # A vote the recorder has not written yet (it flushes every quarter second).
    bot.polls.recorder.record([VoteChange(poll.id, poll.option_ids[1], 55, Action.ADDED)], Source.LIVE)
    interaction = ThreadInteraction(bot, guild, moderator=True, channel_id=THREAD)
    await cog.results.callback(cog, interaction, None)
    assert interaction.deferred_ephemeral is True
    [reply] = interaction.replies
    assert reply["ephemeral"] and "👎 No — **2** · 50.0%" in embed_text(reply["embed"])
    assert reply["files"][0].filename == f"poll-{poll.id}.png"


async def test_public_results_are_posted_in_the_channel(poll_cog, poll):
    cog, bot, guild = poll_cog
    interaction = ThreadInteraction(bot, guild, moderator=True, channel_id=TEXT_CHANNEL_ID)
    await cog.results.callback(cog, interaction, f"#{poll.id}", True)
    assert interaction.deferred_ephemeral is False and interaction.replies[0]["ephemeral"] is False


async def test_a_wrong_poll_is_answered_before_deferring_even_for_public_results(poll_cog):
    cog, bot, guild = poll_cog
    interaction = ThreadInteraction(bot, guild, moderator=True, channel_id=TEXT_CHANNEL_ID)
    with pytest.raises(SummaryNotFound):
        await cog.results.callback(cog, interaction, "999", True)
    assert interaction.deferred_ephemeral is None  # the error handler can still reply privately


@pytest.mark.parametrize("command", ["results", "export"])
async def test_results_and_export_are_for_moderators(poll_cog, command):
    cog, bot, guild = poll_cog
    [check] = getattr(cog, command).checks
    with pytest.raises(NotModerator):
        await check(ThreadInteraction(bot, guild, moderator=False, channel_id=THREAD))
    assert await check(ThreadInteraction(bot, guild, moderator=True, channel_id=THREAD))


async def test_export_sends_the_csv_files_privately(poll_cog, poll):
    cog, bot, guild = poll_cog
    interaction = ThreadInteraction(bot, guild, moderator=True, channel_id=THREAD)
    await cog.export.callback(cog, interaction, str(poll.id))
    [reply] = interaction.replies
    assert reply["ephemeral"] and "3 current votes from 3 voters" in reply["content"]
    assert [f.filename for f in reply["files"]] == [
        f"poll-{poll.id}-votes.csv", f"poll-{poll.id}-events.csv", f"poll-{poll.id}-summary.csv"
    ]  # fmt: skip


async def test_poll_list_is_open_to_everyone(poll_cog, poll):
    cog, bot, guild = poll_cog
    assert cog.list_polls.checks == []
    interaction = ThreadInteraction(bot, guild, moderator=False, channel_id=TEXT_CHANNEL_ID)
    await cog.list_polls.callback(cog, interaction, "open")
    [reply] = interaction.replies
    assert reply["ephemeral"] and f"`#{poll.id}`" in embed_text(reply["embed"])


async def test_results_at_a_past_moment_show_the_tally_then(poll_cog, poll, seed):
    cog, bot, guild = poll_cog
    await seed.switch(poll, 0, 1, VOTERS[0], minute=10)
    interaction = ThreadInteraction(bot, guild, moderator=True, channel_id=THREAD)
    await cog.results.callback(cog, interaction, None, False, "2026-11-01 12:05")
    [reply] = interaction.replies
    text = embed_text(reply["embed"])
    assert reply["ephemeral"] and "👍 Yes — **2** · 66.7%" in text and "👎 No — **1** · 33.3%" in text
    assert "As of 2026-11-01 12:05:00 UTC: 👍 Yes led with 66.7% of 3 voters." in text
    now = ThreadInteraction(bot, guild, moderator=True, channel_id=THREAD)
    await cog.results.callback(cog, now, None)
    assert "👎 No — **2** · 66.7%" in embed_text(now.replies[0]["embed"])


@pytest.mark.parametrize(
    ("at", "message"),
    [
        ("2026-10-31 23:00", "opened at 2026-11-01 12:00:00 UTC"),
        ("2999-01-01", "is in the future"),
        ("last week", "is not a time"),
    ],
)
async def test_an_impossible_moment_is_refused_privately_before_deferring(poll_cog, at, message):
    cog, bot, guild = poll_cog
    interaction = ThreadInteraction(bot, guild, moderator=True, channel_id=THREAD)
    with pytest.raises(InvalidMoment, match=message):
        await cog.results.callback(cog, interaction, None, True, at)
    assert interaction.deferred_ephemeral is None and interaction.replies == []


def test_the_at_option_says_its_times_are_utc(poll_cog):
    cog, _, _ = poll_cog
    [at] = [parameter for parameter in cog.results.parameters if parameter.name == "at"]
    assert "UTC" in at.description and not at.required


async def test_a_number_too_large_for_any_id_is_not_found(store, poll):
    huge = "9" * 30
    with pytest.raises(InvalidReference, match="No poll matches"):
        await find_poll(store, GUILD_ID, huge, THREAD)
    with pytest.raises(InvalidReference, match="No article matches"):
        await find_article(store, GUILD_ID, f"https://discord.com/channels/{GUILD_ID}/2/{huge}", THREAD)


async def test_article_summary_with_many_long_polls_fits_discords_limits(store, seed):
    from bot.summaries.embeds import article_summary_embed

    article = await seed.article()
    delivery = await seed.delivery(article, guild_id=GUILD_ID, channel_id=TEXT_CHANNEL_ID, thread_id=THREAD)
    options = tuple((f"{i}\N{COMBINING ENCLOSING KEYCAP}", f"{i} " + "*_" * 49) for i in range(10))
    polls = [
        await seed.poll(guild_id=GUILD_ID, channel_id=THREAD, article_id=article, delivery_id=delivery,
                        question="Q" * 256, options=options)
        for _ in range(30)
    ]  # fmt: skip
    await seed.vote(polls[-1], 3, VOTERS[0], minute=1)  # the poll with most voters comes first
    for voter in range(60):
        await seed.reply(article, delivery, voter, voter, thread_id=THREAD)
    embed = article_summary_embed(await find_article(store, GUILD_ID, None, THREAD), "article-1.png")
    assert len(embed) <= 6000 and len(embed.fields) <= 25
    assert all(len(field.value) <= 1024 and len(field.name) <= 256 for field in embed.fields)
    poll_fields = [field.name for field in embed.fields if field.name.startswith("Poll #")]
    assert poll_fields[0].startswith(f"Poll #{polls[-1].id} ")
    assert any(field.name == f"And {30 - len(poll_fields)} more polls" for field in embed.fields)


@pytest.mark.parametrize(
    ("command", "autocomplete"),
    [("results", "any_poll_choices"), ("export", "any_poll_choices"), ("close", "open_poll_choices")],
)
async def test_poll_autocomplete_shows_nothing_to_non_moderators(poll_cog, poll, command, autocomplete):
    cog, bot, guild = poll_cog
    parameter = getattr(cog, command).get_parameter("poll")
    assert parameter is not None and parameter.autocomplete  # the command offers this callback's choices
    await PollStore(bot.db).set_message(poll.id, 880001)  # sent, so the started service counts it
    await bot.polls.start()
    try:
        choices = getattr(cog, autocomplete)
        moderator = ThreadInteraction(bot, guild, moderator=True, channel_id=TEXT_CHANNEL_ID)
        assert [choice.value for choice in await choices(moderator, "bike")] == [str(poll.id)]
        member = ThreadInteraction(bot, guild, moderator=False, channel_id=TEXT_CHANNEL_ID)
        assert await choices(member, "bike") == []
    finally:
        await bot.polls.stop()


HIDDEN_CHANNEL_ID = 3009


def add_hidden_channel(bot: AgoraBot, guild: discord.Guild) -> None:
    """A channel @everyone cannot view (only administrators can)."""
    deny = {"id": str(GUILD_ID), "type": 0, "allow": "0", "deny": str(discord.Permissions(view_channel=True).value)}
    data = {"id": str(HIDDEN_CHANNEL_ID), "name": "staff", "type": 0, "guild_id": str(GUILD_ID), "position": 0,
            "permission_overwrites": [deny], "nsfw": False, "parent_id": None}  # fmt: skip
    guild._add_channel(discord.TextChannel(state=bot._connection, guild=guild, data=data))


async def test_poll_list_shows_only_polls_in_channels_the_member_can_view(poll_cog, poll, seed):
    cog, bot, guild = poll_cog
    add_hidden_channel(bot, guild)
    staff = await seed.poll(guild_id=GUILD_ID, channel_id=HIDDEN_CHANNEL_ID, question="Staff only?")
    public = await seed.poll(guild_id=GUILD_ID, channel_id=TEXT_CHANNEL_ID, question="Everyone?")
    unknown = await seed.poll(guild_id=GUILD_ID, channel_id=123456, question="Gone channel?")
    interaction = ThreadInteraction(bot, guild, moderator=False, channel_id=TEXT_CHANNEL_ID)
    await cog.list_polls.callback(cog, interaction, None)
    text = embed_text(interaction.replies[0]["embed"])
    assert f"`#{public.id}`" in text and f"`#{poll.id}`" in text  # the article poll's thread is in a seen channel
    assert f"`#{staff.id}`" not in text and "Staff only?" not in text
    assert f"`#{unknown.id}`" not in text


async def test_poll_list_of_many_long_questions_fits_the_description(poll_cog, seed):
    cog, bot, guild = poll_cog
    for _ in range(30):
        await seed.poll(guild_id=GUILD_ID, channel_id=TEXT_CHANNEL_ID, question="*_" * 128)
    interaction = ThreadInteraction(bot, guild, moderator=False, channel_id=TEXT_CHANNEL_ID)
    await cog.list_polls.callback(cog, interaction, None)
    embed = interaction.replies[0]["embed"]
    assert len(embed.description) <= 4096 and len(embed) <= 6000
    *lines, last = embed.description.splitlines()
    assert last == "…" and all(line.startswith("`#") and line.endswith("no deadline") for line in lines)


async def test_public_results_failing_after_deferring_say_nothing_private_in_public(poll_cog, poll, monkeypatch):
    cog, bot, guild = poll_cog

    async def broken(*_args):
        raise AgoraError("Private detail about poll internals")

    monkeypatch.setattr("bot.summaries.reports.poll_report", broken)
    interaction = ThreadInteraction(bot, guild, moderator=True, channel_id=THREAD)
    with pytest.raises(AgoraError):
        await cog.results.callback(cog, interaction, None, True)
    assert interaction.deferred_ephemeral is False
    [first] = interaction.replies  # the error handler's private reply comes after this one
    assert first["content"] == "The results could not be shown." and "Private" not in str(first)


@pytest.mark.parametrize("command", ["results", "export"])
async def test_queued_votes_are_written_after_deferring(poll_cog, poll, command):
    cog, bot, guild = poll_cog
    interaction = ThreadInteraction(bot, guild, moderator=True, channel_id=THREAD)
    flushed_after_defer = []
    flush = bot.polls.recorder.flush

    async def noting_flush():
        flushed_after_defer.append(interaction.response.is_done())
        await flush()

    bot.summaries = SummaryService(SummaryStore(bot.db), noting_flush)
    bot.polls.recorder.record([VoteChange(poll.id, poll.option_ids[1], 55, Action.ADDED)], Source.LIVE)
    await getattr(cog, command).callback(cog, interaction, None)
    assert flushed_after_defer == [True]
    [reply] = interaction.replies
    if command == "results":
        assert "👎 No — **2**" in embed_text(reply["embed"])
    else:
        assert "4 current votes" in reply["content"]
