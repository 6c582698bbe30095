"""Which rows belong to this process's servers, as SQL: a process of a sharded cluster serves its shards only."""

from __future__ import annotations

from bot.shards import Shards


def owned_guilds_clause(shards: Shards, column: str = "guild_id") -> str:
    """` AND <the row's server is on one of these shards>`, or nothing for an unsharded process.

    Built from whole numbers only (the shard settings) and a column name of ours, never from user input.
    """
    if not shards.sharded:
        return ""
    return f" AND (({column} >> 22) % {shards.count}) IN ({','.join(str(i) for i in shards.ids)})"
