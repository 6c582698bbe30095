"""Where Discord's published OpenAPI document is known to be behind real Discord: every exception in one place.

Each exception patches the loaded document (never the vendored file) and first checks that the document still
has the gap it describes, so refreshing specs/openapi.json to a version that closed the gap fails loudly and
names the exception to delete. An exception covers what Discord itself accepts or sends; a request of the bot
that Discord would refuse is a bug in the bot, never an exception here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]


class StaleSpecException(RuntimeError):
    """The vendored document no longer has the gap an exception describes: delete the exception."""


@dataclass(frozen=True)
class SpecException:
    name: str
    reason: str
    patch: Callable[[JSON], None]


def _schemas(document: JSON) -> JSON:
    return document["components"]["schemas"]


def _attachment_ids_may_be_integers(document: JSON) -> None:
    properties = _schemas(document)["MessageAttachmentRequest"]["properties"]
    if properties["id"] != {"$ref": "#/components/schemas/SnowflakeType"}:
        raise StaleSpecException("attachment_ids_may_be_integers")
    properties["id"] = {"anyOf": [properties["id"], {"type": "integer", "minimum": 0}]}


def _media_channels(document: JSON) -> None:
    choices = _schemas(document)["ChannelTypes"]["oneOf"]
    if any(choice.get("const") == 16 for choice in choices):
        raise StaleSpecException("media_channels")
    choices.append(
        {
            "title": "GUILD_MEDIA",
            "description": "Channel that can only contain threads, similar to GUILD_FORUM channels",
            "const": 16,
        }
    )


def _field_error_codes_are_strings(document: JSON) -> None:
    items = _schemas(document)["InnerErrors"]["properties"]["_errors"]["items"]
    if items != {"$ref": "#/components/schemas/Error"}:
        raise StaleSpecException("field_error_codes_are_strings")
    field_error = {"type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}
    items.clear()
    items.update({**field_error, "required": ["code", "message"]})


EXCEPTIONS: tuple[SpecException, ...] = (
    SpecException(
        "attachment_ids_may_be_integers",
        "discord.py sends the attachments of a multipart message as {'id': 0, ...}: the index of the file part "
        "as an integer, which Discord accepts; the document allows only snowflake strings.",
        _attachment_ids_may_be_integers,
    ),
    SpecException(
        "media_channels",
        "Channel type 16 (GUILD_MEDIA) is missing from ChannelTypes; Discord has it, and discord.py lists it in "
        "an application command's channel_types for a ForumChannel option (forum and media channels).",
        _media_channels,
    ),
    SpecException(
        "field_error_codes_are_strings",
        'In a 400 Invalid Form Body, Discord names each field error with a string code ("BASE_TYPE_MAX_LENGTH"), '
        "as its documentation shows; the document types every error code as an integer.",
        _field_error_codes_are_strings,
    ),
)


def apply_all(document: JSON) -> JSON:
    for exception in EXCEPTIONS:
        exception.patch(document)
    return document
