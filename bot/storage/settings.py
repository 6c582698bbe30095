"""SQL for per-server settings and the figures `/agora status` shows."""

from __future__ import annotations

from bot.storage.interface import StoreDatabase


class SettingsStore:
    def __init__(self, db: StoreDatabase) -> None:
        self._db = db

    async def moderator_role(self, guild_id: int) -> int | None:
        value = await self._db.fetch_value(
            "SELECT moderator_role_id FROM guild_settings WHERE guild_id = ?", (guild_id,)
        )
        return int(value) if value is not None else None

    async def set_moderator_role(self, guild_id: int, role_id: int | None) -> None:
        async with self._db.transaction() as connection:
            await connection.execute(
                "INSERT INTO guild_settings (guild_id, moderator_role_id) VALUES (?, ?)"
                " ON CONFLICT (guild_id) DO UPDATE SET moderator_role_id = excluded.moderator_role_id",
                (guild_id, role_id),
            )

    async def status_counts(self) -> dict[str, int]:
        row = await self._db.fetch_one(
            "SELECT (SELECT COUNT(*) FROM articles) AS articles,"
            " (SELECT COUNT(*) FROM subscriptions) AS feeds,"
            " (SELECT COUNT(*) FROM polls WHERE status = 'open') AS open_polls"
        )
        assert row is not None
        return {"articles": row["articles"], "feeds": row["feeds"], "open_polls": row["open_polls"]}
