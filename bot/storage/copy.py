"""`agora db copy`: every row of one Agora database into a fresh one, of either backend, checked by counts."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from bot.errors import AgoraError
from bot.storage.backends import AnyDatabase
from bot.storage.postgres import PostgresDatabase

_CHUNK_ROWS = 5000
_SEEDED_BY_MIGRATIONS = {"vote_journal"}  # rows a migration writes; a fresh target has them already


class CopyRefused(AgoraError):
    """The copy cannot be made as asked (a target with data, or schemas of different versions)."""


async def table_order(db: AnyDatabase) -> list[str]:
    """Agora's tables, each after the tables its foreign keys point to."""
    if db.dialect == "sqlite":
        names = [
            row[0]
            for row in await db.fetch_all(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        edges = {
            name: {row[0] for row in await db.fetch_all('SELECT "table" FROM pragma_foreign_key_list(?)', (name,))}
            for name in names
        }
    else:
        names = [
            row[0]
            for row in await db.fetch_all(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
                " AND table_type = 'BASE TABLE' ORDER BY table_name"
            )
        ]
        rows = await db.fetch_all(
            "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c"
            " WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace"
        )
        edges = {name: set() for name in names}
        for child, parent in rows:
            edges[child].add(parent)
    ordered: list[str] = []
    while len(ordered) < len(names):
        ready = [n for n in names if n not in ordered and edges[n] - {n} <= set(ordered)]
        if not ready:
            raise CopyRefused("the tables' foreign keys form a cycle")
        ordered.extend(ready)
    return [name for name in ordered if name != "schema_version"]


async def row_counts(db: AnyDatabase, tables: list[str]) -> dict[str, int]:
    return {table: int(await db.fetch_value(f'SELECT COUNT(*) FROM "{table}"') or 0) for table in tables}  # noqa: S608


async def copy_database(
    source: AnyDatabase, target: AnyDatabase, progress: Callable[[str, int], None] = lambda table, rows: None
) -> dict[str, int]:
    """Copy every row in one target transaction; returns the row counts, checked equal on both sides."""
    if await source.schema_version() != await target.schema_version():
        raise CopyRefused(
            f"the source has schema version {await source.schema_version()} and the target "
            f"{await target.schema_version()}: run `agora db migrate` on the older one first"
        )
    tables = await table_order(source)
    missing = set(tables) - set(await table_order(target))
    if missing:
        raise CopyRefused(f"the target lacks the tables {', '.join(sorted(missing))}")
    counts = await row_counts(target, tables)
    filled = [table for table, count in counts.items() if count and table not in _SEEDED_BY_MIGRATIONS]
    if filled:
        raise CopyRefused(f"the target already holds data (in {', '.join(filled)}): copy into a new, empty database")
    async with target.transaction() as connection:
        for table in reversed(tables):
            await connection.execute(f'DELETE FROM "{table}"')  # noqa: S608 — the seeded rows
        for table in tables:
            copied = await _copy_table(source, connection, target.dialect, table)
            progress(table, copied)
        if target.dialect == "postgresql":
            await _advance_identities(connection, tables)
    expected, found = await row_counts(source, tables), await row_counts(target, tables)
    if expected != found:
        differ = ", ".join(f"{t} {expected[t]} → {found[t]}" for t in tables if expected[t] != found[t])
        raise CopyRefused(f"row counts differ after the copy: {differ}")
    await gather_statistics(target)
    return found


async def gather_statistics(target: AnyDatabase) -> None:
    """VACUUM (ANALYZE) a PostgreSQL target, as autovacuum would do only later: ANALYZE so its first queries are
    planned from the copied rows rather than from an empty database; VACUUM so the vote log's covering indexes
    answer by index-only scans (freshly copied rows are not yet known visible, so every one would be read from
    the table)."""
    if isinstance(target, PostgresDatabase):
        async with target.connection() as connection:
            await connection.execute_native("VACUUM (ANALYZE)")


async def _copy_table(source: AnyDatabase, connection, target_dialect: str, table: str) -> int:
    columns = [str(row[0]) for row in await _columns(source, table)]
    names = ", ".join(f'"{column}"' for column in columns)
    select = f'SELECT {names} FROM "{table}"'  # noqa: S608 — names read from the schema
    copied = 0
    async with contextlib.aclosing(source.chunks(select, (), _CHUNK_ROWS)) as chunks:
        async for chunk in chunks:
            if target_dialect == "postgresql":
                # COPY: the fastest way in, and inside the same transaction as every other table.
                await connection.raw.copy_records_to_table(table, records=chunk, columns=columns)
            else:
                marks = ", ".join("?" * len(columns))
                await connection.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', chunk)  # noqa: S608
            copied += len(chunk)
    return copied


async def _columns(db: AnyDatabase, table: str) -> list:
    if db.dialect == "sqlite":
        return await db.fetch_all("SELECT name FROM pragma_table_info(?) ORDER BY cid", (table,))
    return await db.fetch_all(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND table_name = ? ORDER BY ordinal_position",
        (table,),
    )


async def _advance_identities(connection, tables: list[str]) -> None:
    """Rows came with their ids: the identities must number new rows after them."""
    for table in tables:
        sequence = await connection.raw.fetchval(
            "SELECT pg_get_serial_sequence(table_name, 'id') FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = $1 AND column_name = 'id'",
            table,
        )
        if sequence:
            await connection.raw.execute(
                f'SELECT setval($1, COALESCE((SELECT MAX(id) FROM "{table}"), 0) + 1, false)',  # noqa: S608
                sequence,
            )
