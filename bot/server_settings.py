"""ServerSettings: what a server's admins choose for Agora (who moderates), behind one service."""

from __future__ import annotations

from bot.errors import AgoraError
from bot.storage.settings import SettingsStore


class EveryoneCannotModerate(AgoraError):
    pass


class ServerSettings:
    def __init__(self, store: SettingsStore) -> None:
        self._store = store

    async def moderator_role(self, guild_id: int) -> int | None:
        """The role an admin chose as moderators (besides members with Manage Server); None if none."""
        return await self._store.moderator_role(guild_id)

    async def set_moderator_role(self, guild_id: int, role_id: int | None) -> None:
        """Choose the moderator role (None: only Manage Server); @everyone is refused, nothing changes."""
        if role_id == guild_id:  # Discord gives a server's @everyone role the server's own id
            raise EveryoneCannotModerate(
                "@everyone is every member of the server: as the moderator role it would let anyone post articles, "
                "close polls and export votes. Choose a role only moderators have, or leave the option empty so "
                "only members with Manage Server can use moderator commands. Nothing was changed."
            )
        await self._store.set_moderator_role(guild_id, role_id)
