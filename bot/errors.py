"""Errors whose message is fit to show a Discord user as it is."""


class AgoraError(Exception):
    """Base for errors raised on bad input or state; `str(error)` is shown to the user."""


class NotModerator(AgoraError):
    def __init__(self) -> None:
        super().__init__(
            "This command is for moderators: you need the Manage Server permission "
            "or the server's moderator role."
        )


class ConfigError(Exception):
    """A setting is missing or invalid; the message names it and says how to fix it."""
