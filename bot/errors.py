"""Errors whose message is fit to show a Discord user as it is."""


class AgoraError(Exception):
    """Base for errors raised on bad input or state; `str(error)` is shown to the user."""


class ConfigError(Exception):
    """A setting is missing or invalid; the message names it and says how to fix it."""


class CannotPost(AgoraError):
    """Posting an article failed; `refused_content` when Discord refused the article itself (see
    bot.publishing.refused_for_the_article), which its source retries at most MAX_REFUSALS times."""

    def __init__(self, message: str, *, refused_content: bool = False) -> None:
        super().__init__(message)
        self.refused_content = refused_content


# Times Discord may refuse one article (a file of the folder, an item of a feed) before its source skips it.
MAX_REFUSALS = 3
