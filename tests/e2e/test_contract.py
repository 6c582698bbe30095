"""Each contract check can fail: requests Discord would refuse and answers Discord never sends are caught.

Plain discord.py clients drive the emulator; each test breaks the contract once, checks what the client got
back (what Discord would answer) and what was recorded, then clears the record so the fixture's own
assertion (which fails any other test that breaks the contract) passes.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import discord
import pytest
from aiohttp import web
from discord.http import Route

from . import conftest
from .driver import InProcessClients
from .emulator import Emulator, payloads
from .emulator.contract import SPEC_PATH, Violation, spec
from .emulator.spec_exceptions import EXCEPTIONS, StaleSpecException


async def ready_client(clients: InProcessClients) -> discord.Client:
    return await clients.start(clients.bot())


def taken(emulator: Emulator) -> list[Violation]:
    """The violations so far, cleared so that the fixture's teardown assertion passes."""
    found = list(emulator.contract_violations)
    emulator.contract_violations.clear()
    return found


async def test_over_long_embed_title_is_refused_as_invalid_form_body(
    emulator: Emulator, client_factory: InProcessClients
) -> None:
    client = await ready_client(client_factory)
    seed = emulator.community
    assert seed is not None
    channel = client.get_channel(seed.news.id)
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.HTTPException) as refused:
        await channel.send(embed=discord.Embed(title="x" * 257))
    assert refused.value.status == 400 and refused.value.code == 50035
    assert "embeds.0.title" in refused.value.text and "256 or fewer" in refused.value.text
    assert emulator.messages_in(seed.news) == []
    [violation] = emulator.contract_violations
    assert (violation.side, violation.field, violation.code) == ("request", "embeds.0.title", "BASE_TYPE_MAX_LENGTH")
    with pytest.raises(AssertionError, match=r"POST /channels/\{channel_id\}/messages field embeds\.0\.title"):
        conftest.assert_contract_kept(emulator)  # what fails the test that sent it (and empties the record)
    assert emulator.contract_violations == []

    await channel.send(embed=discord.Embed(title="x" * 256))  # the limit itself is fine
    assert emulator.contract_violations == []


async def test_embed_url_that_is_not_a_url_is_refused(emulator: Emulator, client_factory: InProcessClients) -> None:
    client = await ready_client(client_factory)
    seed = emulator.community
    assert seed is not None
    channel = client.get_channel(seed.news.id)
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.HTTPException) as refused:
        await channel.send(embed=discord.Embed(title="Story", url="example.org/story"))
    assert refused.value.code == 50035 and "embeds.0.url" in refused.value.text
    assert [(v.field, v.detail) for v in taken(emulator)] == [("embeds.0.url", "Not a well formed URL.")]


async def test_route_discord_lacks_is_404_and_recorded(emulator: Emulator, client_factory: InProcessClients) -> None:
    client = await ready_client(client_factory)
    seed = emulator.community
    assert seed is not None
    with pytest.raises(discord.NotFound):
        await client.http.request(Route("GET", "/channels/{channel_id}/summaries", channel_id=seed.news.id))
    [violation] = taken(emulator)
    assert violation.side == "request" and violation.detail == "Discord has no such route"
    assert violation.route == f"GET /api/v10/channels/{seed.news.id}/summaries"


async def test_path_and_query_parameters_are_checked(emulator: Emulator, client_factory: InProcessClients) -> None:
    client = await ready_client(client_factory)
    seed = emulator.community
    assert seed is not None
    with pytest.raises(discord.HTTPException) as refused:
        await client.http.request(Route("GET", "/channels/{channel_id}/messages", channel_id="news"))
    assert refused.value.code == 50035 and "channel_id" in refused.value.text
    with pytest.raises(discord.HTTPException) as refused:
        route = Route("GET", "/channels/{channel_id}/messages", channel_id=seed.news.id)
        await client.http.request(route, params={"limit": 500})
    assert refused.value.code == 50035 and "limit" in refused.value.text
    assert [(v.field, v.code) for v in taken(emulator)] == [
        ("channel_id", "NUMBER_TYPE_COERCE"),
        ("limit", "NUMBER_TYPE_MAX"),
    ]


async def test_body_that_is_not_json_is_refused(emulator: Emulator, client_factory: InProcessClients) -> None:
    client = await ready_client(client_factory)
    seed = emulator.community
    assert seed is not None
    route = Route("POST", "/channels/{channel_id}/messages", channel_id=seed.news.id)
    with pytest.raises(discord.HTTPException) as refused:
        await client.http.request(route, data='{"content": "unfinished')
    assert (refused.value.status, refused.value.code) == (400, 50109)
    assert [v.code for v in taken(emulator)] == ["INVALID_JSON"]


async def test_command_description_over_100_characters_is_refused(
    emulator: Emulator, client_factory: InProcessClients
) -> None:
    client = await ready_client(client_factory)
    seed = emulator.community
    assert seed is not None and client.application_id is not None
    command = {"name": "summary", "type": 1, "description": "d" * 101}
    with pytest.raises(discord.HTTPException) as refused:
        await client.http.bulk_upsert_guild_commands(client.application_id, seed.guild.id, [command])
    assert refused.value.code == 50035 and "0.description" in refused.value.text
    assert emulator.registered_commands == []
    [violation] = taken(emulator)
    assert violation.route == "PUT /applications/{application_id}/guilds/{guild_id}/commands"
    assert (violation.field, violation.code) == ("0.description", "BASE_TYPE_MAX_LENGTH")


async def test_malformed_emulator_answer_is_caught(
    emulator: Emulator, client_factory: InProcessClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    current_user = payloads.current_user

    def without_mfa_enabled(user: Any) -> dict[str, Any]:
        data = current_user(user)
        del data["mfa_enabled"]
        return data

    monkeypatch.setattr(payloads, "current_user", without_mfa_enabled)
    await ready_client(client_factory)  # discord.py does not mind; Discord always sends the field
    found = {(v.side, v.route, v.field, v.detail) for v in taken(emulator)}
    assert found == {("response", "GET /users/@me", "mfa_enabled", "This field is required")}


async def test_emulator_route_missing_from_the_document_is_an_error(emulator: Emulator) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response()

    router = web.UrlDispatcher()
    router.add_route("GET", "/api/v10/channels/{channel_id}/messages", handler)
    emulator.contract.require_documented(router)
    router.add_route("POST", "/api/v10/channels/{channel_id}/summaries", handler)
    with pytest.raises(RuntimeError, match=r"POST /api/v10/channels/\{channel_id\}/summaries"):
        emulator.contract.require_documented(router)


@pytest.mark.parametrize("exception", EXCEPTIONS, ids=lambda e: e.name)
def test_each_exception_notices_when_the_document_catches_up(exception: Any) -> None:
    document = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    exception.patch(document)  # the vendored document still has the gap...
    with pytest.raises(StaleSpecException, match=exception.name):
        exception.patch(copy.deepcopy(document))  # ...and a document without it makes the exception fail
    assert exception.reason


def test_the_vendored_document_names_its_source_and_licence() -> None:
    folder = SPEC_PATH.parent
    assert "discord/discord-api-spec @" in (folder / "SOURCE").read_text(encoding="utf-8")
    assert "MIT License" in (folder / "LICENSE").read_text(encoding="utf-8")
    assert spec().match("PUT", ("channels", "1", "messages", "2", "reactions", "👍", "@me")) is not None
