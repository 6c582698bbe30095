"""/article commands and the ARTICLES_DIR loop: Discord in, calls on bot/ services, replies out."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot import limits
from bot.articles import decode_article_file, parse_article_text
from bot.articles.parser import check_article_size
from bot.errors import AgoraError
from bot.logs import LoopFaults
from bot.permissions import can_remove_reactions, may_moderate, moderator_only
from bot.polls.fairness import NO_CHOICE, choice_from_row, choice_to_row, unhonoured_anonymity
from bot.quoting import quote
from bot.storage.articles import FolderSubscription
from cogs import _poll_rules

if TYPE_CHECKING:
    from bot.client import AgoraBot

log = logging.getLogger(__name__)

PostableChannel = discord.TextChannel | discord.ForumChannel
FOLDER_NOT_ENABLED = "The articles folder is not enabled: the operator sets ARTICLES_DIR in the bot's .env."
NO_FOLDER_SUBSCRIPTIONS = (
    "No channel of this server is subscribed to the articles folder: subscribe one with `/article subscribe-folder`."
)
SERVER_DEFAULTS = "the server's poll defaults (`/agora poll-defaults`)"


class AttachmentUnavailable(AgoraError):
    pass


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class ArticleCommands(commands.GroupCog, group_name="article", group_description="Post and follow articles"):
    def __init__(self, bot: AgoraBot) -> None:
        self.bot = bot
        self._scan_faults = LoopFaults(log, "Scanning the articles folder")
        super().__init__()

    async def cog_load(self) -> None:
        if self.bot.folder is not None:
            self.scan_folder.change_interval(seconds=self.bot.config.articles_scan_seconds)
            self.scan_folder.start()

    async def cog_unload(self) -> None:
        self.scan_folder.cancel()

    @app_commands.command(name="post", description="Post an article file into a channel, with a thread and a poll")
    @app_commands.describe(channel="Text or forum channel to post into", file="The article as a plain-text file")
    @moderator_only()
    async def post(self, interaction: discord.Interaction, channel: PostableChannel, file: discord.Attachment) -> None:
        max_bytes = self.bot.config.article_max_bytes
        check_article_size(file.size, max_bytes=max_bytes)  # before downloading anything
        data = await read_attachment(file)
        # Parsing a large file takes tens of milliseconds: keep it off the event loop.
        article = await asyncio.to_thread(lambda: parse_article_text(decode_article_file(data, max_bytes=max_bytes)))
        # Check before deferring so a refusal stays a quick private reply.
        self.bot.publisher.check_can_post(channel)
        await interaction.response.defer(ephemeral=True, thinking=True)
        published = await self.bot.publisher.publish(
            article, channel, source=article.source_name or file.filename.rsplit(".", 1)[0]
        )
        where = published.thread.mention if published.thread else published.message.jump_url
        await interaction.followup.send(
            f"Posted **{discord.utils.escape_markdown(article.title)}** in {channel.mention}; discussion: {where}.",
            ephemeral=True,
        )

    @app_commands.command(name="subscribe-folder", description="Post new files from the articles folder here")
    @app_commands.describe(
        channel="Text or forum channel that gets the folder's new articles",
        voters=f"{_poll_rules.VOTERS} in its articles' polls (default: the server's poll defaults)",
        min_account_age=_poll_rules.ACCOUNT_AGE, min_member_age=_poll_rules.MEMBER_AGE,
        hide_totals=_poll_rules.HIDE_TOTALS, anonymous=_poll_rules.ANONYMOUS,
        clear_poll_rules="Already subscribed: remove its own poll rules first, so the server's poll defaults apply",
    )  # fmt: skip
    @moderator_only()
    async def subscribe_folder(
        self,
        interaction: discord.Interaction,
        channel: PostableChannel,
        voters: discord.Role | None = None,
        min_account_age: str | None = None,
        min_member_age: str | None = None,
        hide_totals: bool | None = None,
        anonymous: bool | None = None,
        clear_poll_rules: bool = False,
    ) -> None:
        if self.bot.folder is None:
            await interaction.response.send_message(FOLDER_NOT_ENABLED, ephemeral=True)
            return
        given = _poll_rules.poll_rules_choice(voters, min_account_age, min_member_age, hide_totals, anonymous)
        current = await self.bot.folder.poll_rules(channel.id)
        rules = given.replacing(NO_CHOICE if clear_poll_rules else choice_from_row(current))
        _poll_rules.check_anonymous_allowed(channel, rules.over(await self.bot.polls.poll_defaults(channel.guild.id)))
        if current is None:
            await self.bot.folder.subscribe(channel, interaction.user.id, choice_to_row(rules))
            text = (
                f"{channel.mention} now gets every new file dropped into the articles folder "
                "(files already there are not posted)."
            )
        elif given.empty and not clear_poll_rules:
            text = f"{channel.mention} was already subscribed to the articles folder."
        else:
            await self.bot.folder.set_poll_rules(channel.id, choice_to_row(rules))
            text = f"Updated the poll rules of {channel.mention}'s articles-folder subscription."
        described = _poll_rules.choice_text(rules, channel.guild) or SERVER_DEFAULTS
        await interaction.response.send_message(
            f"{text}\nPoll rules of its articles: {described}.", ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )  # fmt: skip

    @app_commands.command(name="unsubscribe-folder", description="Stop posting the articles folder's files here")
    @moderator_only()
    async def unsubscribe_folder(self, interaction: discord.Interaction, channel: PostableChannel) -> None:
        if self.bot.folder is None:
            await interaction.response.send_message(FOLDER_NOT_ENABLED, ephemeral=True)
            return
        removed = await self.bot.folder.unsubscribe(channel.id)
        text = "Unsubscribed." if removed else f"{channel.mention} was not subscribed to the articles folder."
        await interaction.response.send_message(text, ephemeral=True)

    @app_commands.command(name="folder-list", description="This server's channels subscribed to the articles folder")
    @moderator_only()
    async def folder_list(self, interaction: discord.Interaction) -> None:
        assert interaction.guild is not None
        if self.bot.folder is None:
            await interaction.response.send_message(FOLDER_NOT_ENABLED, ephemeral=True)
            return
        subscriptions = await self.bot.folder.subscriptions(interaction.guild.id)
        anonymous = (await self.bot.polls.poll_defaults(interaction.guild.id)).anonymous
        lines = [folder_subscription_line(s, interaction.guild, anonymous_default=anonymous) for s in subscriptions]
        text = "Channels subscribed to the articles folder:\n" + "\n".join(lines) if lines else NO_FOLDER_SUBSCRIPTIONS
        await interaction.response.send_message(
            limits.clamp_lines(text, limits.MESSAGE), ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )

    # --- /article summary: figures from bot.summaries ------------------------------------------------

    @app_commands.command(name="summary", description="What the community thought: poll result, discussion, chart")
    @app_commands.describe(article="The article (search by title, or its number or message link); empty in its thread")
    @moderator_only()
    async def summary(self, interaction: discord.Interaction, article: str | None = None) -> None:
        assert interaction.guild is not None and interaction.channel_id is not None
        summary = await self.bot.summaries.find_article(interaction.guild.id, article, interaction.channel_id)
        await interaction.response.defer(ephemeral=True, thinking=True)  # the chart takes a moment
        report = await self.bot.summaries.article_report(interaction.guild.id, summary)
        await interaction.followup.send(embed=report.embed, files=report.files, ephemeral=True)

    @summary.autocomplete("article")
    async def _summary_article_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        # Autocomplete runs no command checks: only moderators may see article titles here.
        if interaction.guild is None or not await may_moderate(interaction):
            return []
        return await self.bot.summaries.article_choices(interaction.guild.id, current)

    # --- articles folder ------------------------------------------------------------------------------

    @tasks.loop(seconds=30)
    async def scan_folder(self) -> None:
        if self.bot.folder is None:  # the loop starts only with a folder; kept for the type checker
            return
        try:
            posted = await self.bot.folder.post_new_files(self.bot)
        except Exception as error:  # one bad scan must not end the loop
            self._scan_faults.failed(error)
            return
        self._scan_faults.succeeded()
        if posted:
            log.info("Posted %d article(s) from the articles folder", posted)

    @scan_folder.before_loop
    async def _wait_until_ready(self) -> None:
        await self.bot.wait_until_ready()


def folder_subscription_line(subscription: FolderSubscription, guild: discord.Guild, *, anonymous_default: bool) -> str:
    """`anonymous_default`: whether the server's poll defaults make polls anonymous."""
    rules = _poll_rules.choice_text(choice_from_row(subscription.poll_rules), guild)
    parts = [
        f"<#{subscription.channel_id}>",
        f"poll rules: {discord.utils.escape_markdown(rules) if rules else SERVER_DEFAULTS}",
    ]
    channel = guild.get_channel(subscription.channel_id)
    if channel is None:
        parts.append("⚠️ channel not found")
    elif guild.me is not None:
        can_manage = can_remove_reactions(channel, guild.me)
        if unhonoured := unhonoured_anonymity(
            subscription.poll_rules.anonymous, anonymous_default, can_manage=can_manage
        ):
            parts.append(f"⚠️ {unhonoured}")
    return "• " + " · ".join(parts)


async def read_attachment(file: discord.Attachment) -> bytes:
    """The attached file's bytes; a download Discord refuses (deleted, expired) is a polite error."""
    try:
        return await file.read()
    except discord.HTTPException as error:
        raise AttachmentUnavailable(
            f"I could not download {quote(file.filename)} from Discord (HTTP {error.status}); "
            "attach the file again and retry."
        ) from error


async def setup(bot: AgoraBot) -> None:
    await bot.add_cog(ArticleCommands(bot))
