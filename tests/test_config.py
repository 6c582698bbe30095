import os
from pathlib import Path

import pytest

from bot.config import Config, DatabaseUrl
from bot.errors import ConfigError

TOKEN = "MTEx.fake.token-for-tests"


def test_defaults_with_only_a_token():
    config = Config.from_env({"DISCORD_TOKEN": TOKEN})
    assert config.token == TOKEN
    assert config.guild_id is None
    assert config.database_path == Path("data/agora.db")
    assert config.api_base == "" and config.gateway_url == ""
    assert config.feed_check_interval_seconds == 600


def test_reads_every_kind_of_setting(tmp_path):
    config = Config.from_env(
        {
            "DISCORD_TOKEN": TOKEN,
            "DISCORD_GUILD_ID": "1234",
            "DATABASE_PATH": str(tmp_path / "x.db"),
            "ARTICLES_DIR": str(tmp_path),
            "DISCORD_API_BASE": "http://127.0.0.1:9999/api/v10/",
            "DISCORD_GATEWAY_URL": "ws://127.0.0.1:9999/gateway",
            "MESSAGE_CONTENT_INTENT": "yes",
            "LOG_LEVEL": "debug",
        }
    )
    assert config.guild_id == 1234
    assert config.articles_dir == tmp_path
    assert config.api_base == "http://127.0.0.1:9999/api/v10"
    assert config.message_content_intent is True
    assert config.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "DISCORD_TOKEN"),
        ({"DISCORD_TOKEN": "   "}, "DISCORD_TOKEN"),
        ({"DISCORD_TOKEN": "Bot abc"}, "DISCORD_TOKEN"),
        ({"DISCORD_TOKEN": TOKEN, "DISCORD_GUILD_ID": "abc"}, "DISCORD_GUILD_ID"),
        ({"DISCORD_TOKEN": TOKEN, "DISCORD_GUILD_ID": "0"}, "DISCORD_GUILD_ID"),
        ({"DISCORD_TOKEN": TOKEN, "DISCORD_API_BASE": "ftp://x"}, "DISCORD_API_BASE"),
        ({"DISCORD_TOKEN": TOKEN, "DISCORD_GATEWAY_URL": "http://x"}, "DISCORD_GATEWAY_URL"),
        ({"DISCORD_TOKEN": TOKEN, "MESSAGE_CONTENT_INTENT": "maybe"}, "MESSAGE_CONTENT_INTENT"),
        ({"DISCORD_TOKEN": TOKEN, "LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"DISCORD_TOKEN": TOKEN, "ARTICLES_DIR": "/no/such/folder"}, "ARTICLES_DIR"),
        ({"DISCORD_TOKEN": TOKEN, "FEED_CHECK_INTERVAL_SECONDS": "-5"}, "FEED_CHECK_INTERVAL_SECONDS"),
        ({"DISCORD_TOKEN": TOKEN, "ARTICLE_MAX_BYTES": str(64 * 1024 * 1024)}, "ARTICLE_MAX_BYTES"),
    ],
)
def test_invalid_setting_names_the_setting(env, named):
    with pytest.raises(ConfigError) as caught:
        Config.from_env(env)
    assert named in str(caught.value)


def test_token_never_in_repr():
    config = Config.from_env({"DISCORD_TOKEN": TOKEN})
    assert TOKEN not in repr(config) and TOKEN not in str(config)


def test_backups_are_off_by_default_and_keep_seven():
    config = Config.from_env({"DISCORD_TOKEN": TOKEN})
    assert config.backup_dir is None and config.backup_keep == 7


def test_backup_settings_are_read(tmp_path):
    config = Config.from_env({"DISCORD_TOKEN": TOKEN, "BACKUP_DIR": str(tmp_path), "BACKUP_KEEP": "3"})
    assert config.backup_dir == tmp_path and config.backup_keep == 3


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"BACKUP_DIR": "/no/such/folder"}, "BACKUP_DIR is '/no/such/folder', which is not an existing folder"),
        ({"BACKUP_KEEP": "0"}, "BACKUP_KEEP must be at least 1, got 0."),
        ({"BACKUP_KEEP": "seven"}, "BACKUP_KEEP must be a whole number, got 'seven'."),
    ],
)
def test_invalid_backup_setting_is_one_line_naming_it(env, expected):
    with pytest.raises(ConfigError) as caught:
        Config.from_env({"DISCORD_TOKEN": TOKEN, **env})
    message = str(caught.value)
    assert message.startswith(expected) and "\n" not in message


def test_backup_dir_that_cannot_be_written_is_refused(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
        with pytest.raises(ConfigError, match="BACKUP_DIR .* may not write to"):
            Config.from_env({"DISCORD_TOKEN": TOKEN, "BACKUP_DIR": str(folder)})
    finally:
        folder.chmod(0o700)


@pytest.mark.parametrize(
    ("url", "dialect", "path"),
    [
        ("sqlite:///data/other.db", "sqlite", Path("data/other.db")),
        ("sqlite:////srv/agora/agora.db", "sqlite", Path("/srv/agora/agora.db")),
        ("postgresql://agora:pw@127.0.0.1:5432/agora", "postgresql", None),
        ("postgres://agora@localhost/agora", "postgresql", None),
        ("postgresql://agora:pw@/agora?host=/run/postgresql", "postgresql", None),
    ],
)
def test_database_url_chooses_the_backend(url, dialect, path):
    config = Config.from_env({"DISCORD_TOKEN": "t", "DATABASE_URL": url, "DATABASE_PATH": "ignored.db"})
    assert config.database.dialect == dialect
    if path is not None:
        assert config.database.path == path and config.database_path == path
    else:
        assert config.database.dsn == url


def test_database_path_still_names_the_sqlite_file_without_database_url():
    config = Config.from_env({"DISCORD_TOKEN": "t", "DATABASE_PATH": "x/agora.db"})
    assert config.database == DatabaseUrl.sqlite("x/agora.db")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://agora:s3cret@db/agora", "must start with sqlite:/// or postgresql://"),
        ("sqlite://relative.db", "is not an SQLite URL"),
        ("postgresql://agora:s3cret@db:99999/agora", "is malformed (check the port)"),
        ("postgresql://agora:s3cret@db:port/agora", "is malformed (check the port)"),
        ("postgresql://agora:s3cret@db/", "names no database"),
        ("postgresql://agora:s3cret@/agora", "names no host"),
    ],
)
def test_a_bad_database_url_is_one_line_with_the_password_masked(url, expected):
    with pytest.raises(ConfigError) as refused:
        Config.from_env({"DISCORD_TOKEN": "t", "DATABASE_URL": url})
    message = str(refused.value)
    assert expected in message and message.startswith("DATABASE_URL")
    assert "s3cret" not in message and "\n" not in message


def test_the_password_never_shows_in_the_config_or_its_database():
    config = Config.from_env({"DISCORD_TOKEN": "t", "DATABASE_URL": "postgresql://agora:s3cret@db/agora"})
    assert "s3cret" not in repr(config) and "s3cret" not in repr(config.database)
    assert config.database.masked == "postgresql://agora:***@db/agora"
