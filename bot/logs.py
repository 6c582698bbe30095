"""Logging set-up: one format for every module's logger, and the token scrubbed from every line."""

from __future__ import annotations

import logging
import sys


class RedactSecrets(logging.Filter):
    """Replaces secrets in a record's final text, whichever library logged it."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [secret for secret in secrets if secret]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        exc_text = record.exc_text or ""
        for secret in self._secrets:
            message = message.replace(secret, "<redacted>")
            exc_text = exc_text.replace(secret, "<redacted>")
        record.msg, record.args, record.exc_text = message, None, exc_text or None
        return True


class DropVoiceWarnings(logging.Filter):
    """discord.py warns at every start that PyNaCl and davey are missing and "voice will NOT be supported".

    Agora never joins voice, so those two lines only alarm operators; every other discord.py warning stays.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno == logging.WARNING and "voice will NOT be supported" in str(record.msg))


def configure_logging(level: str, secrets: list[str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # discord.py's gateway debug output is mostly heartbeats; keep it at INFO unless asked.
    logging.getLogger("discord").setLevel(max(logging.getLevelName(level), logging.INFO))
    voice_logger = logging.getLogger("discord.client")  # the logger those warnings come from
    if not any(isinstance(existing, DropVoiceWarnings) for existing in voice_logger.filters):
        voice_logger.addFilter(DropVoiceWarnings())
