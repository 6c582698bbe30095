"""Every setting Agora reads, from the environment (and `.env`), typed and validated in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bot.errors import ConfigError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Config:
    token: str
    guild_id: int | None = None
    database_path: Path = Path("data/agora.db")
    articles_dir: Path | None = None
    articles_scan_seconds: float = 30.0
    article_max_bytes: int = 256 * 1024
    api_base: str = ""
    gateway_url: str = ""
    log_level: str = "INFO"
    message_content_intent: bool = False
    store_response_text: bool = False
    feed_check_interval_seconds: float = 600.0
    feed_allow_private_addresses: bool = False
    feed_max_failures: int = 5
    feed_max_bytes: int = 5 * 1024 * 1024
    feed_timeout_seconds: float = 20.0
    feed_concurrency: int = 20
    poll_edit_interval_seconds: float = 5.0
    guild_ready_timeout_seconds: float = 2.0
    backup_dir: Path | None = None
    backup_keep: int = 7

    def __repr__(self) -> str:  # the token must never reach a log line or a traceback
        return f"Config(guild_id={self.guild_id}, database_path={str(self.database_path)!r}, token=<hidden>)"

    __str__ = __repr__

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        reader = _Reader(os.environ if env is None else env)
        return cls(
            token=reader.token(),
            guild_id=reader.integer("DISCORD_GUILD_ID", None, minimum=1),
            database_path=Path(reader.text("DATABASE_PATH", "data/agora.db")),
            articles_dir=reader.directory("ARTICLES_DIR"),
            articles_scan_seconds=reader.number("ARTICLES_SCAN_SECONDS", 30.0, minimum=1),
            article_max_bytes=reader.integer("ARTICLE_MAX_BYTES", 256 * 1024, minimum=1024, maximum=8 * 1024 * 1024),
            api_base=reader.url("DISCORD_API_BASE", ("http", "https")),
            gateway_url=reader.url("DISCORD_GATEWAY_URL", ("ws", "wss")),
            log_level=reader.choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
            message_content_intent=reader.flag("MESSAGE_CONTENT_INTENT", False),
            store_response_text=reader.flag("STORE_RESPONSE_TEXT", False),
            feed_check_interval_seconds=reader.number("FEED_CHECK_INTERVAL_SECONDS", 600.0, minimum=1),
            feed_allow_private_addresses=reader.flag("FEED_ALLOW_PRIVATE_ADDRESSES", False),
            feed_max_failures=reader.integer("FEED_MAX_FAILURES", 5, minimum=1),
            feed_max_bytes=reader.integer("FEED_MAX_BYTES", 5 * 1024 * 1024, minimum=1024),
            feed_timeout_seconds=reader.number("FEED_TIMEOUT_SECONDS", 20.0, minimum=0.1),
            feed_concurrency=reader.integer("FEED_CONCURRENCY", 20, minimum=1),
            poll_edit_interval_seconds=reader.number("POLL_EDIT_INTERVAL_SECONDS", 5.0, minimum=0.1),
            guild_ready_timeout_seconds=reader.number("GUILD_READY_TIMEOUT_SECONDS", 2.0, minimum=0.05),
            backup_dir=reader.writable_directory("BACKUP_DIR"),
            backup_keep=reader.integer("BACKUP_KEEP", 7, minimum=1),  # type: ignore[arg-type]
        )


class _Reader:
    """Reads one setting at a time and raises ConfigError naming the setting and the fix."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def text(self, name: str, default: str) -> str:
        return self._env.get(name, default).strip() or default

    def token(self) -> str:
        token = self._env.get("DISCORD_TOKEN", "").strip()
        if not token:
            raise ConfigError(
                "DISCORD_TOKEN is not set: copy .env.example to .env and paste your bot's token "
                "from the Discord developer portal (Bot → Reset Token)."
            )
        if any(ch.isspace() for ch in token) or token.lower().startswith("bot "):
            raise ConfigError(
                "DISCORD_TOKEN looks malformed (it contains spaces or a 'Bot ' prefix): "
                "paste only the token itself."
            )
        return token

    def integer(self, name: str, default: int | None, *, minimum: int, maximum: int | None = None) -> int | None:
        raw = self._env.get(name, "").strip()
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, got {raw!r}.") from None
        if value < minimum:
            raise ConfigError(f"{name} must be at least {minimum}, got {value}.")
        if maximum is not None and value > maximum:
            raise ConfigError(f"{name} must be at most {maximum}, got {value}.")
        return value

    def number(self, name: str, default: float, *, minimum: float) -> float:
        raw = self._env.get(name, "").strip()
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a number, got {raw!r}.") from None
        if value < minimum:
            raise ConfigError(f"{name} must be at least {minimum:g}, got {value:g}.")
        return value

    def flag(self, name: str, default: bool) -> bool:
        raw = self._env.get(name)
        if raw is None:
            return default
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ConfigError(f"{name} must be true or false, got {raw!r}.")

    def choice(self, name: str, default: str, allowed: tuple[str, ...]) -> str:
        raw = self._env.get(name, "").strip().upper() or default
        if raw not in allowed:
            raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {raw!r}.")
        return raw

    def url(self, name: str, schemes: tuple[str, ...]) -> str:
        raw = self._env.get(name, "").strip()
        if not raw:
            return ""
        parts = urlsplit(raw)
        if parts.scheme not in schemes or not parts.netloc:
            raise ConfigError(
                f"{name} must be a {' or '.join(schemes)} URL such as "
                f"{schemes[0]}://127.0.0.1:8080/..., got {raw!r}; leave it empty to use Discord itself."
            )
        return raw.rstrip("/")

    def directory(self, name: str) -> Path | None:
        raw = self._env.get(name, "").strip()
        if not raw:
            return None
        path = Path(raw)
        if not path.is_dir():
            raise ConfigError(f"{name} is {raw!r}, which is not an existing folder: create it or fix it.")
        return path

    def writable_directory(self, name: str) -> Path | None:
        path = self.directory(name)
        if path is not None and not os.access(path, os.W_OK | os.X_OK):
            raise ConfigError(f"{name} is {str(path)!r}, a folder Agora may not write to: fix its permissions.")
        return path
