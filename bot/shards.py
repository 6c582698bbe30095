"""Discord's sharding, as Agora's processes divide it: which servers a process owns, and how its shards are named.

Discord sends a server's events to shard `(guild_id >> 22) % shard_count`. A process runs the shards in its
SHARD_IDS and owns exactly their servers (votes, deadlines, reconciliation, live embeds, replies, and the articles
posted into them); fetching feeds is shared through the database instead (claims with leases, bot/leases.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import ConfigError


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard Discord sends a server's events to."""
    return (guild_id >> 22) % shard_count


@dataclass(frozen=True)
class Shards:
    """The shards one process runs: `count` None means unsharded (one process owns every server)."""

    count: int | None = None
    ids: tuple[int, ...] = ()

    @property
    def sharded(self) -> bool:
        return self.count is not None

    def owns(self, guild_id: int) -> bool:
        return self.count is None or shard_of(guild_id, self.count) in self.ids

    @property
    def registers_commands(self) -> bool:
        """Only one process of a cluster registers the slash commands: the one running shard 0."""
        return self.count is None or 0 in self.ids

    @property
    def name(self) -> str:
        """A name for this process's own files and rows ('' unsharded, so an unsharded store keeps its row)."""
        return "" if self.count is None else "shards-" + "-".join(str(i) for i in self.ids)

    @property
    def holder(self) -> str:
        """The name this process's claims on shared work carry (bot/leases.py); unique in a cluster."""
        return self.name or "unsharded"

    def lock_names(self) -> list[str]:
        return ["unsharded"] if self.count is None else [f"shard {i} of {self.count}" for i in self.ids]

    def describe(self) -> str:
        return "unsharded" if self.count is None else f"shards {_ranges(self.ids)} of {self.count}"


UNSHARDED = Shards()


def parse_shards(count_raw: str, ids_raw: str) -> Shards:
    """SHARD_COUNT and SHARD_IDS ('0-3', '0,2', '0-1,5'); SHARD_IDS alone is an error, SHARD_COUNT alone means all."""
    count_raw, ids_raw = count_raw.strip(), ids_raw.strip()
    if not count_raw:
        if ids_raw:
            raise ConfigError("SHARD_IDS is set but SHARD_COUNT is not: set SHARD_COUNT to the cluster's shard count.")
        return Shards()
    try:
        count = int(count_raw)
    except ValueError:
        raise ConfigError(f"SHARD_COUNT must be a whole number, got {count_raw!r}.") from None
    if count < 1:
        raise ConfigError(f"SHARD_COUNT must be at least 1, got {count}.")
    ids = _parse_ids(ids_raw) if ids_raw else tuple(range(count))
    outside = [i for i in ids if i >= count]
    if outside:
        raise ConfigError(
            f"SHARD_IDS {ids_raw!r} names shard {outside[0]}, outside SHARD_COUNT {count}: shards run from 0 to "
            f"{count - 1}."
        )
    return Shards(count, ids)


def _parse_ids(raw: str) -> tuple[int, ...]:
    ids: set[int] = set()
    for part in raw.split(","):
        low, dash, high = part.strip().partition("-")
        try:
            first = int(low)
            last = int(high) if dash else first
        except ValueError:
            raise ConfigError(f"SHARD_IDS must be shard numbers and ranges like 0-3 or 0,2, got {raw!r}.") from None
        if first < 0 or last < first:
            raise ConfigError(f"SHARD_IDS must be shard numbers and ranges like 0-3 or 0,2, got {raw!r}.")
        ids.update(range(first, last + 1))
    return tuple(sorted(ids))


def _ranges(ids: tuple[int, ...]) -> str:
    parts: list[str] = []
    start = previous = None
    for shard in (*ids, None):
        if shard is not None and previous is not None and shard == previous + 1:
            previous = shard
            continue
        if start is not None:
            parts.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = shard
    return ",".join(parts)
