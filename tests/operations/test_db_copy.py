"""`agora db migrate` and `agora db copy`: an SQLite community moved to PostgreSQL reads the same."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from bot.cli import main
from bot.config import DatabaseUrl
from bot.storage.backends import open_database
from tests.summaries.factories import OTHER_GUILD, Seed


async def populate(url: DatabaseUrl) -> tuple[list[int], list[int]]:
    """Two articles with threads and replies, three polls (one multiple-choice, one closed) with a vote log."""
    db = await open_database(url)
    try:
        seed = Seed(db)
        articles, polls = [], []
        for n, guild in enumerate((1, OTHER_GUILD)):
            article = await seed.article(title=f"Story {n}", link=f"https://news.example/{n}")
            delivery = await seed.delivery(article, guild_id=guild, channel_id=10 + n, thread_id=20 + n)
            poll = await seed.poll(article_id=article, delivery_id=delivery, guild_id=guild, channel_id=20 + n)
            for voter in range(1, 30):
                await seed.vote(poll, voter % 2, voter=voter * 1_000_000_000_000 + n, minute=voter)
            await seed.switch(poll, 1, 0, voter=3_000_000_000_000 + n, minute=40)
            for minute in range(5):
                await seed.reply(article, delivery, author=100 + minute % 3, minute=minute * 700, thread_id=20 + n)
            articles.append(article)
            polls.append(poll.id)
        options = (("🍎", "Apples"), ("🍐", "Pears"), ("🍋", "Lemons"))
        multiple = await seed.poll(question="Fruit?", options=options, multiple=True)
        for voter in range(1, 12):
            for option in range(voter % 3 + 1):
                await seed.vote(multiple, option, voter=voter, minute=voter + option)
        await seed.unvote(multiple, 0, voter=4, minute=50)
        polls.append(multiple.id)
        return articles, polls
    finally:
        await db.close()


def summary(capsys, where: list[str], *what: str) -> str:
    assert main(["summary", *what, *where]) == 0
    return capsys.readouterr().out


async def test_a_populated_sqlite_database_copied_to_postgresql_gives_identical_summaries(
    tmp_path, postgres_server, capsys
):
    source = DatabaseUrl.sqlite(tmp_path / "old.db")
    articles, polls = await populate(source)
    target = await postgres_server.create_database(migrated=False)
    await asyncio.to_thread(main, ["db", "migrate", "--database", target])
    assert "schema version" in capsys.readouterr().out

    assert await asyncio.to_thread(main, ["db", "copy", "--from", f"sqlite:///{source.path}", "--to", target]) == 0
    report = capsys.readouterr().out
    assert "row counts checked equal" in report and "vote_events 86" in report and "responses 10" in report
    assert "Vacuumed and analyzed (VACUUM ANALYZE)" in report
    statistics = await asyncpg.connect(target)
    try:  # by the copy (not autovacuum): the planner knows the rows, and index-only scans need no table reads
        unvacuumed = await statistics.fetch(
            "SELECT relname FROM pg_stat_user_tables WHERE (last_analyze IS NULL OR last_vacuum IS NULL)"
            " AND n_live_tup > 0"
        )
        assert await statistics.fetchval("SELECT reltuples FROM pg_class WHERE relname = 'vote_events'") == 86
        visible, pages = await statistics.fetchrow(
            "SELECT relallvisible, relpages FROM pg_class WHERE relname = 'vote_events'"
        )
    finally:
        await statistics.close()
    assert not unvacuumed and visible == pages > 0

    for what in [*(["--poll", str(p)] for p in polls), *(["--article", str(a)] for a in articles)]:
        for form in ("text", "json", "csv"):
            old = await asyncio.to_thread(summary, capsys, ["--db", str(source.path)], *what, "--format", form)
            new = await asyncio.to_thread(summary, capsys, ["--database", target], *what, "--format", form)
            assert new == old and old.strip()
    for export in ("votes", "events"):
        old = await asyncio.to_thread(summary, capsys, ["--db", str(source.path)], "--poll", "3", "--export", export)
        new = await asyncio.to_thread(summary, capsys, ["--database", target], "--poll", "3", "--export", export)
        assert new == old

    copied = await open_database(DatabaseUrl("postgresql", dsn=target))
    try:  # new rows are numbered after the copied ones
        seed = Seed(copied)
        assert await seed.article(title="After the move") == max(articles) + 1
    finally:
        await copied.close()
    await postgres_server.drop_database(target)


async def test_copy_into_a_database_that_holds_data_is_refused_and_changes_nothing(tmp_path, postgres_server, capsys):
    source = DatabaseUrl.sqlite(tmp_path / "old.db")
    await populate(source)
    target = await postgres_server.create_database()
    assert await asyncio.to_thread(main, ["db", "copy", "--from", f"sqlite:///{source.path}", "--to", target]) == 0
    capsys.readouterr()
    again = await asyncio.to_thread(main, ["db", "copy", "--from", f"sqlite:///{source.path}", "--to", target])
    error = capsys.readouterr().err
    assert again == 1 and "already holds data" in error and error.count("\n") == 1
    await postgres_server.drop_database(target)


@pytest.mark.parametrize("bad", ["mysql://x@y/z", "sqlite://nope"])
def test_copy_with_a_malformed_url_is_one_line(bad, tmp_path, capsys):
    assert main(["db", "copy", "--from", bad, "--to", f"sqlite:///{tmp_path}/new.db"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("agora: --from") and error.count("\n") == 1
