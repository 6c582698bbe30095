"""Errors whose message is fit to show a Discord user as it is."""


class AgoraError(Exception):
    """Base for errors raised on bad input or state; `str(error)` is shown to the user."""


class ConfigError(Exception):
    """A setting is missing or invalid; the message names it and says how to fix it."""
