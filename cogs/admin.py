"""/agora commands: the bot's status, who counts as a moderator, and the server's poll defaults."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.permissions import manager_only, moderator_only
from bot.polls.fairness import PLAIN
from cogs import _poll_rules

if TYPE_CHECKING:
    from bot.client import AgoraBot


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class AgoraCommands(commands.GroupCog, group_name="agora", group_description="Agora's status and settings"):
    def __init__(self, bot: AgoraBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="status", description="Version, gateway latency, database and what Agora tracks")
    @moderator_only()
    async def status(self, interaction: discord.Interaction) -> None:
        status = await self.bot.status_service.status()
        embed = discord.Embed(title="Agora status", colour=discord.Colour.green())
        embed.add_field(name="Version", value=self.bot.version)
        latency = self.bot.latency
        embed.add_field(name="Gateway latency", value="—" if latency != latency else f"{latency * 1000:.0f} ms")
        embed.add_field(name="Database", value=f"{status.database_bytes / 1024:.0f} KiB")
        embed.add_field(name="Schema version", value=str(status.schema_version))
        embed.add_field(name="Articles", value=str(status.articles))
        embed.add_field(name="Feeds", value=str(status.feeds))
        embed.add_field(name="Open polls", value=str(status.open_polls))
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @app_commands.command(name="moderator-role", description="Choose the role allowed to use moderator commands")
    @app_commands.describe(role="The moderator role; leave empty to allow only members with Manage Server")
    @manager_only()
    async def moderator_role(self, interaction: discord.Interaction, role: discord.Role | None = None) -> None:
        assert interaction.guild is not None
        await self.bot.settings.set_moderator_role(interaction.guild.id, role.id if role else None)
        text = (
            f"Members with {role.mention} can now use Agora's moderator commands."
            if role
            else "Only members with Manage Server can use Agora's moderator commands now."
        )
        await interaction.response.send_message(text, ephemeral=True)

    @app_commands.command(
        name="poll-defaults", description="Who may vote in new polls, hidden totals, anonymity (no options: show)"
    )
    @app_commands.describe(
        voters=_poll_rules.VOTERS, min_account_age=_poll_rules.ACCOUNT_AGE, min_member_age=_poll_rules.MEMBER_AGE,
        hide_totals=_poll_rules.HIDE_TOTALS, anonymous=_poll_rules.ANONYMOUS,
        clear="Remove every server default first (then only the options given here are set)",
    )  # fmt: skip
    @moderator_only()
    async def poll_defaults(
        self,
        interaction: discord.Interaction,
        voters: discord.Role | None = None,
        min_account_age: str | None = None,
        min_member_age: str | None = None,
        hide_totals: bool | None = None,
        anonymous: bool | None = None,
        clear: bool = False,
    ) -> None:
        assert interaction.guild is not None
        guild = interaction.guild
        given = _poll_rules.poll_rules_choice(voters, min_account_age, min_member_age, hide_totals, anonymous)
        current = await self.bot.polls.poll_defaults(guild.id)
        if given.empty and not clear:
            text = f"The server's poll defaults: {_poll_rules.fairness_text(current, guild)}.\n{_PRECEDENCE}"
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=_NO_PINGS)
            return
        chosen = given.over(PLAIN if clear else current)
        await self.bot.polls.set_poll_defaults(guild.id, chosen)
        text = (
            f"The server's poll defaults are now: {_poll_rules.fairness_text(chosen, guild)}. They apply to polls "
            f"opened from now on.\n{_PRECEDENCE}"
        )
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=_NO_PINGS)


_PRECEDENCE = (
    "A poll's own options come first, then the rules of the feed or folder subscription that opened it, then "
    "these defaults. An anonymous poll is refused where I lack Manage Messages."
)
_NO_PINGS = discord.AllowedMentions.none()


async def setup(bot: AgoraBot) -> None:
    await bot.add_cog(AgoraCommands(bot))
