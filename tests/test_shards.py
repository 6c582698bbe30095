from __future__ import annotations

import pytest

from bot.config import Config
from bot.errors import ConfigError
from bot.shards import Shards, parse_shards, shard_of


def test_unsharded_by_default_owns_every_server_and_registers_commands():
    shards = Config.from_env({"DISCORD_TOKEN": "t"}).shards
    assert not shards.sharded and shards.owns(123 << 22) and shards.registers_commands
    assert shards.name == "" and shards.lock_names() == ["unsharded"]


@pytest.mark.parametrize(
    ("count", "ids", "expected"),
    [("4", "0-3", (0, 1, 2, 3)), ("4", "0,2", (0, 2)), ("8", "0-1, 5", (0, 1, 5)), ("3", "", (0, 1, 2))],
)
def test_shard_ids_are_numbers_and_ranges(count, ids, expected):
    assert parse_shards(count, ids) == Shards(int(count), expected)


def test_a_process_owns_the_servers_of_its_shards_only():
    shards = parse_shards("2", "1")
    assert shard_of(1 << 22, 2) == 1 and shards.owns(1 << 22) and not shards.owns(2 << 22)
    assert not shards.registers_commands and parse_shards("2", "0").registers_commands
    assert shards.name == "shards-1" and shards.lock_names() == ["shard 1 of 2"]
    assert parse_shards("8", "0-2,5").describe() == "shards 0-2,5 of 8"


@pytest.mark.parametrize(
    ("count", "ids", "says"),
    [
        ("2", "2", "SHARD_IDS '2' names shard 2, outside SHARD_COUNT 2"),
        ("", "0", "SHARD_IDS is set but SHARD_COUNT is not"),
        ("two", "", "SHARD_COUNT must be a whole number"),
        ("0", "", "SHARD_COUNT must be at least 1"),
        ("4", "3-1", "SHARD_IDS must be shard numbers and ranges"),
        ("4", "a", "SHARD_IDS must be shard numbers and ranges"),
    ],
)
def test_bad_shard_settings_are_one_line_naming_the_setting(count, ids, says):
    with pytest.raises(ConfigError) as refused:
        Config.from_env({"DISCORD_TOKEN": "t", "SHARD_COUNT": count, "SHARD_IDS": ids})
    assert says in str(refused.value) and "\n" not in str(refused.value)


def test_a_sharded_process_is_an_auto_sharded_bot_over_its_shards():
    from discord.ext import commands

    from bot.client import build_bot

    sharded = build_bot(Config.from_env({"DISCORD_TOKEN": "t", "SHARD_COUNT": "4", "SHARD_IDS": "1,3"}))
    assert isinstance(sharded, commands.AutoShardedBot)
    assert sharded.shard_count == 4 and sharded.shard_ids == [1, 3]
    assert not isinstance(build_bot(Config.from_env({"DISCORD_TOKEN": "t"})), commands.AutoShardedBot)
