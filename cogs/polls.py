"""/poll commands, reaction and deletion listeners, reconciliation on ready and the deadline loop.

Thin by design: every decision is in bot.polls; this module turns Discord events and commands into
calls on `bot.polls` (the PollService) and its answers into replies.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.durations import format_duration, parse_duration
from bot.errors import AgoraError
from bot.logs import LoopFaults
from bot.permissions import can_see, may_moderate, missing_poll_permissions, moderator_only
from bot.polls.options import parse_options, validate_question
from bot.polls.states import CloseReason
from bot.storage.polls import StoredPoll
from bot.storage.summaries import PollListRow
from bot.summaries.moments import parse_moment
from bot.summaries.reports import no_poll_matches
from bot.summaries.text import refused_text
from bot.timeutil import utcnow
from cogs._emoji import guild_emojis
from cogs._poll_rules import check_anonymous_allowed, poll_rules_choice

if TYPE_CHECKING:
    from bot.client import AgoraBot

log = logging.getLogger(__name__)

MAX_DURATION = timedelta(days=32)
# Deadlines are checked in memory, so a one-second tick is cheap and closes polls on time.
DEADLINE_CHECK_SECONDS = 1
PollChannel = discord.TextChannel | discord.Thread


class CannotPollHere(AgoraError):
    pass


@app_commands.guild_only()
class PollCommands(commands.GroupCog, group_name="poll", group_description="Reaction polls"):
    def __init__(self, bot: AgoraBot) -> None:
        self.bot = bot
        self._deadline_faults = LoopFaults(log, "Closing polls past their deadline")
        super().__init__()

    async def cog_load(self) -> None:
        self.close_due_polls.start()

    async def cog_unload(self) -> None:
        self.close_due_polls.cancel()

    # --- commands: opening and closing ---------------------------------------------------------------

    @app_commands.command(name="create", description="Open a reaction poll on any topic")
    @app_commands.describe(
        question="What to ask (up to 256 characters)",
        options='2 to 10 options separated by |, each optionally starting with an emoji: "👍 Yes | 👎 No"',
        channel="Where to post it (default: here)",
        duration="Close automatically after e.g. 30m, 12h, 3d (at most 32d); default: until closed",
        multiple="Let people choose several options (default: one choice each)",
        voters="Only members with this role may vote (default: the server's poll defaults, else everyone)",
        min_account_age="Only accounts at least this old may vote, e.g. 7d; 0: none (default: the server's)",
        min_member_age="Only members who joined at least this long ago may vote, e.g. 1d; 0: none",
        hide_totals="Show only how many voted until the poll closes (default: the server's poll defaults)",
        anonymous="Remove each reaction once counted; nothing public names a voter (needs Manage Messages)",
    )
    @moderator_only()
    async def create(
        self,
        interaction: discord.Interaction,
        question: str,
        options: str,
        channel: PollChannel | None = None,
        duration: str | None = None,
        multiple: bool = False,
        voters: discord.Role | None = None,
        min_account_age: str | None = None,
        min_member_age: str | None = None,
        hide_totals: bool | None = None,
        anonymous: bool | None = None,
    ) -> None:
        assert interaction.guild is not None
        target = channel or interaction.channel
        if not isinstance(target, PollChannel):
            raise CannotPollHere("Polls can be posted in text channels and threads: pick one with `channel`.")
        # Everything a moderator can get wrong is checked before deferring, so the reply is quick and private.
        question = validate_question(question)
        parsed = parse_options(options, guild_emojis(interaction.guild))
        lifetime = parse_duration(duration, maximum=MAX_DURATION) if duration else None
        check_can_poll(target)
        given = poll_rules_choice(voters, min_account_age, min_member_age, hide_totals, anonymous)
        fairness = given.over(await self.bot.polls.poll_defaults(interaction.guild.id))
        check_anonymous_allowed(target, fairness)
        await interaction.response.defer(ephemeral=True, thinking=True)
        opened = await self.bot.polls.create_poll(
            target, guild_id=interaction.guild.id, question=question, options=parsed, multiple=multiple,
            deadline_at=utcnow() + lifetime if lifetime else None, created_by=interaction.user.id, fairness=fairness,
        )  # fmt: skip
        closes = f", closing in {format_duration(lifetime)}" if lifetime else ""
        text = f"Poll #{opened.poll.id} is open in {target.mention}{closes}: {opened.message.jump_url}"
        await interaction.followup.send("\n".join([text, *opened.warnings]), ephemeral=True)

    @app_commands.command(name="close", description="Close a poll now and post its results")
    @app_commands.describe(poll="The poll (number or message link); default: the open poll of this thread")
    @moderator_only()
    async def close(self, interaction: discord.Interaction, poll: str | None = None) -> None:
        assert interaction.guild is not None and interaction.channel_id is not None
        target = await self.bot.polls.find_open_poll(interaction.guild.id, interaction.channel_id, poll)
        await interaction.response.defer(ephemeral=True, thinking=True)
        closed = await self.bot.polls.close_poll(target.id, CloseReason.MANUAL)
        await interaction.followup.send(
            f"Closed poll #{closed.id}; the results are posted in <#{closed.channel_id}>.", ephemeral=True
        )

    @close.autocomplete("poll")
    async def open_poll_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        # Autocomplete runs no command checks: only moderators may see poll questions here.
        if not await may_moderate(interaction):
            return []
        wanted = current.casefold().lstrip("#")
        choices = []
        for poll in self.bot.polls.open_polls:
            name = f"#{poll.id} · {poll.question}"
            if poll.guild_id == interaction.guild_id and wanted in name.casefold():
                choices.append(app_commands.Choice(name=name[:100], value=str(poll.id)))
        return choices[-25:]  # Discord shows at most 25; the newest polls are the likeliest

    # --- commands: results, export, list (summaries: figures from bot.summaries) --------------------

    @app_commands.command(name="results", description="A poll's results with a chart (moderators)")
    @app_commands.describe(
        poll="The poll (search by question, or its number or message link); default: the poll of this thread",
        public="Post the results in this channel for everyone (default: only you see them)",
        at="The tally at a past moment, in UTC: 2026-11-01 14:30, or how long ago: 2h (default: now)",
    )
    @moderator_only()
    async def results(
        self, interaction: discord.Interaction, poll: str | None = None, public: bool = False, at: str | None = None
    ) -> None:
        assert interaction.guild is not None and interaction.channel_id is not None
        moment = parse_moment(at, utcnow()) if at is not None else None
        # Found before deferring: a mistake is answered privately even when public results were asked for.
        summary = await self.bot.summaries.find_poll(interaction.guild.id, poll, interaction.channel_id, moment)
        if public and summary.hide_totals and summary.status == "open":
            raise AgoraError(
                f"Poll #{summary.poll_id} hides its totals until it closes, so they cannot be posted publicly "
                "yet. Leave out `public` to see them privately."
            )
        await interaction.response.defer(ephemeral=not public, thinking=True)
        try:
            report = await self.bot.summaries.poll_report(summary)
        except Exception:
            if public:
                # The first followup takes the place of the public "thinking" message, whatever its own
                # ephemeral flag says: it must say nothing private. The reason follows privately.
                with contextlib.suppress(discord.HTTPException):
                    await interaction.followup.send("The results could not be shown.", ephemeral=False)
            raise
        await interaction.followup.send(embed=report.embed, files=report.files, ephemeral=not public)

    @app_commands.command(name="export", description="A poll's votes and vote log as CSV files (moderators)")
    @app_commands.describe(poll="The poll (search by question, or its number or message link); default: this thread's")
    @moderator_only()
    async def export(self, interaction: discord.Interaction, poll: str | None = None) -> None:
        assert interaction.guild is not None and interaction.channel_id is not None
        found = await self.bot.summaries.find_poll(interaction.guild.id, poll, interaction.channel_id)
        # Deferred first: writing a long queue of votes may take a while.
        await interaction.response.defer(ephemeral=True, thinking=True)
        summary, files = await self.bot.summaries.poll_exports(found, interaction.guild.filesize_limit)
        text = (
            f"Poll #{summary.poll_id}: {summary.total_votes} current votes from {summary.voters} voters, "
            "the log of every vote change, and the figures per option with the reactions not counted. "
            "UTF-8 CSV; times in UTC."
        )
        if summary.refused:
            text += f"\n{refused_text(summary)}."
        await interaction.followup.send(text, files=files, ephemeral=True)

    @results.autocomplete("poll")
    @export.autocomplete("poll")
    async def any_poll_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        # Autocomplete runs no command checks: only moderators may see poll questions here.
        if interaction.guild is None or not await may_moderate(interaction):
            return []
        return await self.bot.summaries.poll_choices(interaction.guild.id, current.lstrip("#"))

    @app_commands.command(name="my-vote", description="Your vote in a poll as Agora recorded it, privately")
    @app_commands.describe(
        poll="The poll (its number or message link); default: the poll of this thread",
        withdraw="Withdraw your vote (anonymous polls; elsewhere, remove your reaction)",
    )
    async def my_vote(self, interaction: discord.Interaction, poll: str | None = None, withdraw: bool = False) -> None:
        assert interaction.guild is not None and interaction.channel_id is not None
        summary = await self.bot.summaries.find_poll(interaction.guild.id, poll, interaction.channel_id)
        if poll is not None and not await self._sees_channel(interaction, summary.channel_id):
            # Answered as if the poll did not exist: the reply must tell nothing about channels one cannot see.
            raise no_poll_matches(poll)
        stored = await self.bot.polls.poll(summary.poll_id)
        if withdraw:
            # Taking the reactions off first may wait out Discord's rate limit: past the 3 s to answer.
            await interaction.response.defer(ephemeral=True, thinking=True)
            withdrawn = await self.bot.polls.withdraw_vote(stored, interaction.user.id)
            names = _option_names(stored, withdrawn)
            what = f"your vote for {names} is withdrawn" if names else "you had no vote to withdraw"
        else:
            voted = await self.bot.polls.my_vote(stored, interaction.user.id)
            names = _option_names(stored, voted or frozenset())
            what = f"your vote is {names}" if names else "you have no vote"
            if names and stored.is_open and await self.bot.polls.is_anonymous(stored):
                what += f". To withdraw it: `/poll my-vote poll:#{stored.id} withdraw:true`"
        text = f"Poll #{summary.poll_id} ({summary.question}): {what}."
        none = discord.AllowedMentions.none()
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=none)
        else:
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=none)

    async def _sees_channel(self, interaction: discord.Interaction, channel_id: int) -> bool:
        """Whether the member may view the poll's channel (a thread's parent decides); False when unknown."""
        guild, member = interaction.guild, interaction.user
        assert guild is not None
        if not isinstance(member, discord.Member):
            return False
        channel = guild.get_channel_or_thread(channel_id)
        if channel is None:  # an archived thread is not in the cache
            with contextlib.suppress(discord.HTTPException):
                channel = await guild.fetch_channel(channel_id)
        if isinstance(channel, discord.Thread):
            channel = channel.parent or guild.get_channel(channel.parent_id)
        return channel is not None and can_see(channel, member)

    @app_commands.command(name="list", description="This server's polls: number, question, status, voters, deadline")
    @app_commands.describe(status="Only open or only closed polls (default: all)")
    async def list_polls(
        self, interaction: discord.Interaction, status: Literal["open", "closed"] | None = None
    ) -> None:
        assert interaction.guild is not None and isinstance(interaction.user, discord.Member)
        member, guild = interaction.user, interaction.guild

        def can_view(entry: PollListRow) -> bool:
            channel = channel_of(guild, entry)
            return channel is not None and can_see(channel, member)

        report = await self.bot.summaries.poll_list_report(interaction.guild.id, status, visible=can_view)
        await interaction.response.send_message(embed=report.embed, ephemeral=True)

    # --- votes ---------------------------------------------------------------------------------------
    # Raw events, not on_reaction_add: they arrive for messages outside the cache and after restarts.

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        polls = self.bot.polls
        polls.on_reaction(payload.message_id, payload.user_id, payload.emoji, added=True, member=payload.member)

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        self.bot.polls.on_reaction(payload.message_id, payload.user_id, payload.emoji, added=False)

    @commands.Cog.listener()
    async def on_raw_reaction_clear(self, payload: discord.RawReactionClearEvent) -> None:
        self.bot.polls.on_reactions_cleared(payload.message_id)

    @commands.Cog.listener()
    async def on_raw_reaction_clear_emoji(self, payload: discord.RawReactionClearEmojiEvent) -> None:
        self.bot.polls.on_reactions_cleared(payload.message_id, payload.emoji)

    # --- poll messages and threads going away --------------------------------------------------------

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        await self.bot.polls.message_deleted(payload.message_id)

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        for message_id in payload.message_ids:
            await self.bot.polls.message_deleted(message_id)

    @commands.Cog.listener()
    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        await self.bot.polls.channel_deleted(payload.thread_id)

    @commands.Cog.listener()
    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        await self.bot.polls.channel_deleted(channel.id)

    # --- reconciliation and deadlines ----------------------------------------------------------------

    @commands.Cog.listener()
    async def on_connect(self) -> None:
        # discord.py dispatches this on READY, before any event of the new session: from here until its
        # reconciliation a poll's reactions are newer than whatever was missed, so they wait for it.
        self.bot.polls.hold_reactions()

    @commands.Cog.listener()
    async def on_resumed(self) -> None:
        # A session that dropped before its ready and was resumed: its held reactions must not wait forever.
        await self.bot.polls.reconcile_all(only_held=True)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        # on_ready fires on a start and whenever a session could not be resumed (on_resumed otherwise):
        # exactly the times reaction events may have been missed.
        await self.bot.polls.reconcile_all()

    @tasks.loop(seconds=DEADLINE_CHECK_SECONDS)
    async def close_due_polls(self) -> None:
        try:
            closed = await self.bot.polls.close_due_polls()
        except Exception as error:  # one failed round must not end the loop
            self._deadline_faults.failed(error)
            return
        self._deadline_faults.succeeded()
        if closed:
            log.info("Closed %d poll(s) at their deadline", closed)

    @close_due_polls.before_loop
    async def _wait_until_ready(self) -> None:
        await self.bot.wait_until_ready()


def _option_names(poll: StoredPoll, option_ids: frozenset[int]) -> str:
    return " and ".join(f"**{o.emoji} {o.label}**" for o in poll.options if o.id in option_ids)


def channel_of(guild: discord.Guild, entry: PollListRow) -> discord.abc.GuildChannel | None:
    """The channel whose permissions decide who sees a poll: its own, or its thread's parent; None if unknown."""
    channel = guild.get_channel_or_thread(entry.channel_id)
    if isinstance(channel, discord.Thread):
        return channel.parent
    if channel is None and entry.article_channel_id is not None:  # an article thread not in the cache
        return guild.get_channel(entry.article_channel_id)
    return channel


def check_can_poll(channel: PollChannel) -> None:
    missing = missing_poll_permissions(channel, channel.guild.me)
    if missing:
        raise CannotPollHere(f"I can't run a poll in {channel.mention}: I am missing {', '.join(missing)}.")


async def setup(bot: AgoraBot) -> None:
    await bot.add_cog(PollCommands(bot))
