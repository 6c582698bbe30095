"""Logging set-up: one format for every module's logger, and the token scrubbed from every line."""

from __future__ import annotations

import logging
import sys

from bot.storage.faults import storage_fault


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


class LoopFaults:
    """What a background loop (feed checks, the articles folder, poll deadlines) logs when a round fails.

    A storage outage is said once, in one line without a traceback, and its end once; the loop keeps
    running and its next rounds find the work still to do. Any other failure is a bug and keeps its traceback.
    """

    def __init__(self, logger: logging.Logger, what: str) -> None:
        self._log = logger
        self._what = what
        self._down = False

    def failed(self, error: BaseException) -> None:
        fault = storage_fault(error)
        if fault is None:
            self._log.error("%s failed", self._what, exc_info=error)
        elif not self._down:
            self._down = True
            self._log.warning("%s waits: %s; it resumes when the database is back", self._what, fault)

    def succeeded(self) -> None:
        if self._down:
            self._down = False
            self._log.info("%s resumed: the database is back", self._what)
