"""Every setting Agora reads, from the environment (and `.env`), typed and validated in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import overload
from urllib.parse import urlsplit, urlunsplit

from bot.errors import ConfigError
from bot.shards import Shards, parse_shards

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class DatabaseUrl:
    """Where the data lives: an SQLite file (the default) or a PostgreSQL database several processes share."""

    dialect: str  # "sqlite" or "postgresql"
    path: Path | None = None  # the SQLite file
    dsn: str = ""  # the PostgreSQL connection string, password included: never log it, log `masked`

    @property
    def masked(self) -> str:
        return str(self.path) if self.path is not None else mask_password(self.dsn)

    def __repr__(self) -> str:
        return f"DatabaseUrl({self.dialect}, {self.masked})"

    __str__ = __repr__

    @classmethod
    def sqlite(cls, path: Path | str) -> DatabaseUrl:
        return cls("sqlite", path=Path(path))

    @classmethod
    def parse(cls, raw: str, setting: str = "DATABASE_URL") -> DatabaseUrl:
        """sqlite:///relative/path, sqlite:////absolute/path or postgresql://user:password@host:port/database."""
        raw = raw.strip()
        scheme = raw.split(":", 1)[0].lower()
        if scheme == "sqlite":
            if not raw.startswith("sqlite:///") or len(raw) == len("sqlite:///"):
                raise ConfigError(
                    f"{setting} {raw!r} is not an SQLite URL: write sqlite:///data/agora.db for a path relative to "
                    "the bot's folder, or sqlite:////srv/agora/agora.db for an absolute one."
                )
            return cls.sqlite(raw[len("sqlite:///") :])
        if scheme in ("postgresql", "postgres"):
            return cls("postgresql", dsn=_checked_postgres_url(raw, setting))
        raise ConfigError(f"{setting} must start with sqlite:/// or postgresql://, got {mask_password(raw)!r}.")


def mask_password(url: str) -> str:
    """The URL with its password (if any) replaced by ***, for every message that shows it."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<malformed URL>"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, parts.fragment))


def _checked_postgres_url(raw: str, setting: str) -> str:
    masked = mask_password(raw)
    example = "postgresql://agora:password@127.0.0.1:5432/agora"
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 — raises ValueError for a port that is not a number in range
    except ValueError:
        raise ConfigError(f"{setting} {masked!r} is malformed (check the port): write it like {example}.") from None
    if not parts.path.strip("/"):
        raise ConfigError(f"{setting} {masked!r} names no database: write it like {example}.")
    if not parts.hostname and "host=" not in parts.query:
        raise ConfigError(f"{setting} {masked!r} names no host: write it like {example}.")
    return raw


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
    database_url: DatabaseUrl | None = None  # None: the SQLite file at database_path
    data_dir: Path = Path("data")  # local files of a process whose database is PostgreSQL (its vote journal)
    shards: Shards = Shards()  # SHARD_COUNT / SHARD_IDS; unsharded by default

    @property
    def database(self) -> DatabaseUrl:
        return self.database_url if self.database_url is not None else DatabaseUrl.sqlite(self.database_path)

    def __repr__(self) -> str:  # the token must never reach a log line or a traceback
        return f"Config(guild_id={self.guild_id}, database={self.database.masked!r}, token=<hidden>)"

    __str__ = __repr__

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        reader = _Reader(os.environ if env is None else env)
        database = reader.database()
        return cls(
            token=reader.token(),
            guild_id=reader.integer("DISCORD_GUILD_ID", None, minimum=1),
            database_path=database.path if database.path is not None else Path("data/agora.db"),
            database_url=database,
            data_dir=Path(reader.text("DATA_DIR", "data")),
            shards=parse_shards(reader.text("SHARD_COUNT", ""), reader.text("SHARD_IDS", "")),
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
            backup_keep=reader.integer("BACKUP_KEEP", 7, minimum=1),
        )


class _Reader:
    """Reads one setting at a time and raises ConfigError naming the setting and the fix."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def text(self, name: str, default: str) -> str:
        return self._env.get(name, default).strip() or default

    def database(self) -> DatabaseUrl:
        """DATABASE_URL when it is set, else the SQLite file DATABASE_PATH (the default)."""
        raw = self._env.get("DATABASE_URL", "").strip()
        if raw:
            return DatabaseUrl.parse(raw)
        return DatabaseUrl.sqlite(self.text("DATABASE_PATH", "data/agora.db"))

    def token(self) -> str:
        token = self._env.get("DISCORD_TOKEN", "").strip()
        if not token:
            raise ConfigError(
                "DISCORD_TOKEN is not set: copy .env.example to .env and paste your bot's token "
                "from the Discord developer portal (Bot → Reset Token)."
            )
        if any(ch.isspace() for ch in token) or token.lower().startswith("bot "):
            raise ConfigError(
                "DISCORD_TOKEN looks malformed (it contains spaces or a 'Bot ' prefix): paste only the token itself."
            )
        return token

    @overload
    def integer(self, name: str, default: int, *, minimum: int, maximum: int | None = None) -> int: ...

    @overload
    def integer(self, name: str, default: None, *, minimum: int, maximum: int | None = None) -> int | None: ...

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
