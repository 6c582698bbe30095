"""ServerSettings: the moderator role a server's admins choose, on a real database."""

from __future__ import annotations

import pytest

from bot.server_settings import EveryoneCannotModerate, ServerSettings
from bot.storage.settings import SettingsStore

GUILD = 1000
ROLE = 2000


@pytest.fixture
def settings(db_on) -> ServerSettings:
    return ServerSettings(SettingsStore(db_on))


async def test_a_chosen_role_is_kept_and_can_be_cleared(settings: ServerSettings) -> None:
    assert await settings.moderator_role(GUILD) is None
    await settings.set_moderator_role(GUILD, ROLE)
    assert await settings.moderator_role(GUILD) == ROLE
    assert await settings.moderator_role(GUILD + 1) is None  # per server
    await settings.set_moderator_role(GUILD, None)
    assert await settings.moderator_role(GUILD) is None


async def test_everyone_is_refused_and_the_role_before_stays(settings: ServerSettings) -> None:
    await settings.set_moderator_role(GUILD, ROLE)
    with pytest.raises(EveryoneCannotModerate, match="Nothing was changed"):
        await settings.set_moderator_role(GUILD, GUILD)  # @everyone's id is the server's
    assert await settings.moderator_role(GUILD) == ROLE
