import sqlite3

import pytest

from bot.storage.database import Database, SchemaTooNew, bundled_migrations


async def test_fresh_database_gets_every_migration(tmp_path):
    db = await Database.open(tmp_path / "data" / "agora.db")
    try:
        assert await db.schema_version() == bundled_migrations()[-1][0]
        assert await db.fetch_value("PRAGMA journal_mode") == "wal"
        assert await db.fetch_value("PRAGMA foreign_keys") == 1
        tables = {row[0] for row in await db.fetch_all("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"articles", "deliveries", "polls", "votes", "vote_events", "responses", "feeds"} <= tables
    finally:
        await db.close()


async def test_upgrade_applies_only_new_migrations_and_keeps_data(tmp_path):
    path = tmp_path / "agora.db"
    first = [(1, "one", "CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT);")]
    db = await Database.open(path, migrations=first)
    async with db.transaction() as connection:
        await connection.execute("INSERT INTO things (name) VALUES ('kept')")
    await db.close()

    second = "ALTER TABLE things ADD COLUMN colour TEXT;\nCREATE INDEX things_name ON things (name);"
    upgraded = first + [(2, "two", second)]
    db = await Database.open(path, migrations=upgraded)
    try:
        assert await db.schema_version() == 2
        assert await db.fetch_value("SELECT name FROM things") == "kept"
        assert await db.fetch_value("SELECT COUNT(*) FROM schema_version") == 2
    finally:
        await db.close()


async def test_failed_migration_leaves_database_unchanged(tmp_path):
    path = tmp_path / "agora.db"
    first = [(1, "one", "CREATE TABLE things (id INTEGER PRIMARY KEY);")]
    await (await Database.open(path, migrations=first)).close()
    broken = first + [(2, "broken", "CREATE TABLE other (id INTEGER);\nTHIS IS NOT SQL;")]
    with pytest.raises(sqlite3.OperationalError):
        await Database.open(path, migrations=broken)
    db = await Database.open(path, migrations=first)
    try:
        assert await db.schema_version() == 1
        assert await db.fetch_value("SELECT COUNT(*) FROM sqlite_master WHERE name = 'other'") == 0
    finally:
        await db.close()


async def test_database_from_newer_version_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "agora.db"
    newer = [(1, "one", "SELECT 1;"), (2, "two", "SELECT 1;")]
    await (await Database.open(path, migrations=newer)).close()
    with sqlite3.connect(path) as plain:  # as a newer Agora might leave it: not in WAL mode
        plain.execute("PRAGMA journal_mode = DELETE")
    before = path.read_bytes()
    with pytest.raises(SchemaTooNew, match="newer Agora"):
        await Database.open(path, migrations=newer[:1])
    assert path.read_bytes() == before


async def test_transaction_rolls_back_on_error(tmp_path):
    db = await Database.open(tmp_path / "agora.db")
    try:
        with pytest.raises(RuntimeError):
            async with db.transaction() as connection:
                await connection.execute("INSERT INTO guild_settings (guild_id) VALUES (1)")
                raise RuntimeError("boom")
        assert await db.fetch_value("SELECT COUNT(*) FROM guild_settings") == 0
    finally:
        await db.close()


def test_bundled_migrations_are_numbered_without_gaps():
    versions = [version for version, _, _ in bundled_migrations()]
    assert versions == list(range(1, len(versions) + 1))


async def test_database_from_the_first_release_upgrades_to_the_current_schema(tmp_path):
    """A database left by version 1 of the schema gains every later migration and keeps its rows."""
    path = tmp_path / "agora.db"
    first_release = bundled_migrations()[:1]
    old = await Database.open(path, migrations=first_release)
    async with old.transaction() as connection:
        await connection.execute("INSERT INTO guild_settings (guild_id, moderator_role_id) VALUES (1, 2)")
    await old.close()

    current = await Database.open(path)
    try:
        assert await current.schema_version() == bundled_migrations()[-1][0] > 1
        assert await current.fetch_value("SELECT moderator_role_id FROM guild_settings WHERE guild_id = 1") == 2
        index = await current.fetch_value("SELECT name FROM sqlite_master WHERE name = 'vote_events_timeline'")
        assert index == "vote_events_timeline"
    finally:
        await current.close()
