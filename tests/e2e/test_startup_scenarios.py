"""Start-up and foundation scenarios: the real bot process (`python -m bot run`) against the emulated Discord.

Refusing to start (a database from a newer Agora, a rejected token), the ARTICLES_DIR folder across restarts,
finishing an article post a SIGKILL interrupted, where commands are registered, and /agora status.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot import __version__
from bot.storage.database import bundled_migrations

from .driver import BotProcess
from .emulator import Emulator
from .emulator.state import Channel, Message
from .helpers import (
    REPLY_WAIT,
    SEED_ARTICLE,
    SEED_QUESTION,
    SEED_TITLE,
    assert_clean,
    drop_file,
    find_poll_message,
    post_seed_article,
    reply_text,
)

OLD_ARTICLE = b"Yesterday's council vote\n\nThe council met and voted.\n\nWas it the right call?\n"
EXIT_WITHIN = 20.0


# ---- helpers ---------------------------------------------------------------------------------------


async def run_until_exit(bot: BotProcess, within: float = EXIT_WITHIN) -> tuple[int, str]:
    """`python -m bot run` with the bot's environment, expected to stop on its own; (exit code, all output)."""
    return await bot.run_command("run", within=within)


def agora_errors(output: str) -> list[str]:
    """The lines `agora run` prints when it refuses to run (bot.cli.fail)."""
    return [line for line in output.splitlines() if line.startswith("agora:")]


def query(bot: BotProcess, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Read the bot's database (read-only), while it runs or after it died."""
    with sqlite3.connect(f"file:{bot.database_path}?mode=ro", uri=True) as conn:
        return conn.execute(sql, params).fetchall()


async def wait_db(bot: BotProcess, sql: str, params: tuple[Any, ...] = (), *, within: float = REPLY_WAIT,
                  what: str) -> list[tuple[Any, ...]]:  # fmt: skip
    """Poll the database until the query returns rows."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        rows = query(bot, sql, params)
        if rows:
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"the database never showed {what} within {within}s\n{bot.tail()}")


async def wait_file_handled(bot: BotProcess, name: str, within: float = REPLY_WAIT) -> None:
    """Until a folder scan has handled the file (posted it, or found the article already posted)."""
    await wait_db(
        bot, "SELECT 1 FROM folder_seen_files WHERE file_key LIKE ?", (f"{name}:%",), within=within,
        what=f"the folder scan handling {name}",
    )  # fmt: skip


async def subscribe_folder(emu: Emulator, channel: Channel, command: str = "subscribe-folder") -> str:
    seed = emu.community
    assert seed is not None
    call = await emu.invoke_slash(
        seed.moderator, f"article {command}", channel=seed.general, options={"channel": channel}
    )
    reply = await call.response(within=REPLY_WAIT)
    assert reply.ephemeral, "the subscription confirmation must be private"
    return reply.content


def article_posts(emu: Emulator, channel: Channel, title: str) -> list[Message]:
    bot_id = emu.bot_user.id
    return [
        m for m in emu.messages_in(channel)
        if m.author_id == bot_id and any(e.get("title") == title for e in m.embeds)
    ]  # fmt: skip


def prompts_in(emu: Emulator, thread: Channel) -> list[Message]:
    bot_id = emu.bot_user.id
    return [m for m in emu.messages_in(thread) if m.author_id == bot_id and SEED_QUESTION in m.content.lower()]


def poll_messages_in(emu: Emulator, thread: Channel) -> list[Message]:
    bot_id = emu.bot_user.id
    return [m for m in emu.messages_in(thread) if m.author_id == bot_id and m.embeds]


# ---- refusing to start -----------------------------------------------------------------------------


async def test_database_from_a_newer_agora_is_refused_and_left_untouched(emulator: Emulator, tmp_path: Path) -> None:
    bot = BotProcess(emulator, tmp_path)
    with sqlite3.connect(bot.database_path) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT)")
        conn.execute("INSERT INTO schema_version VALUES (999, 'from_the_future', '2031-01-01T00:00:00Z')")
    conn.close()
    before = bot.database_path.read_bytes()

    started = time.monotonic()
    code, output = await run_until_exit(bot)

    assert code != 0, output
    assert time.monotonic() - started < 10, "a refused database must stop the bot at once"
    errors = agora_errors(output)
    assert len(errors) == 1, f"expected one error line:\n{output}"
    assert "newer Agora" in errors[0] and "DATABASE_PATH" in errors[0], errors[0]
    assert "Traceback" not in output, output
    assert emulator.token not in output
    assert emulator.gateway.identify_count == 0, "a refused database must not bring the bot online"
    assert bot.database_path.read_bytes() == before, "the newer database was modified"


@pytest.mark.bot_env(DISCORD_TOKEN="MTExMTExMTExMTExMTExMTEx.RESET.this-token-was-reset-in-the-portal-0123456")
async def test_rejected_token_stops_the_bot_with_one_line(
    emulator: Emulator, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    marker = request.node.get_closest_marker("bot_env")
    assert marker is not None
    bot = BotProcess(emulator, tmp_path, extra_env=dict(marker.kwargs))
    rejected = bot.environment()["DISCORD_TOKEN"]
    assert rejected != emulator.token  # the emulator answers 401 to any other token

    code, output = await run_until_exit(bot)

    assert code != 0, output
    errors = agora_errors(output)
    assert len(errors) == 1 and "DISCORD_TOKEN was rejected" in errors[0], output
    assert "Traceback" not in output, output
    assert rejected not in output and emulator.token not in output, "a token was printed"
    assert any(e.status == 401 and e.path.endswith("/users/@me") for e in emulator.rest.errors)
    assert emulator.gateway.identify_count == 0


# ---- ARTICLES_DIR -----------------------------------------------------------------------------------


@pytest.mark.bot_env(ARTICLES_SCAN_SECONDS="1")
async def test_folder_article_is_posted_once_across_restarts_and_copies(
    emulator: Emulator, articles_dir: Path, folder_agora: BotProcess
) -> None:
    seed = emulator.community
    assert seed is not None
    drop_file(articles_dir, "yesterday.txt", OLD_ARTICLE)
    assert "now gets" in await subscribe_folder(emulator, seed.news)

    drop_file(articles_dir, "russia-france.txt", SEED_ARTICLE.read_bytes())
    dropped = time.monotonic()
    await emulator.wait_for(lambda: article_posts(emulator, seed.news, SEED_TITLE), 5, "the dropped article")
    assert time.monotonic() - dropped < 5
    [message] = article_posts(emulator, seed.news, SEED_TITLE)
    thread = await emulator.wait_for_thread(seed.news)
    assert thread.id == message.id and thread.name == SEED_TITLE
    poll = await find_poll_message(emulator, thread)
    await emulator.wait_for(lambda: prompts_in(emulator, thread), REPLY_WAIT, "the opening prompt")
    await wait_file_handled(folder_agora, "russia-france.txt")
    assert [m.id for m in emulator.messages_in(seed.news)] == [message.id], "the file already there was posted"
    in_thread = [m.id for m in emulator.messages_in(thread)]

    await folder_agora.restart()
    drop_file(articles_dir, "copy-of-russia-france.txt", SEED_ARTICLE.read_bytes())
    await wait_file_handled(folder_agora, "copy-of-russia-france.txt")  # a scan after the restart saw every file

    assert [m.id for m in emulator.messages_in(seed.news)] == [message.id], "posted again"
    assert emulator.threads_of(seed.news) == [thread]
    assert [m.id for m in emulator.messages_in(thread)] == in_thread
    assert poll.id in in_thread
    assert query(folder_agora, "SELECT state FROM deliveries") == [("posted",)]
    assert_clean(emulator)


async def test_a_folder_subscription_is_removed_by_unsubscribe_folder(
    emulator: Emulator, articles_dir: Path, folder_agora: BotProcess
) -> None:
    seed = emulator.community
    assert seed is not None
    assert "now gets" in await subscribe_folder(emulator, seed.news)
    assert query(folder_agora, "SELECT channel_id FROM folder_subscriptions") == [(seed.news.id,)]

    assert await subscribe_folder(emulator, seed.news, "unsubscribe-folder") == "Unsubscribed."
    assert query(folder_agora, "SELECT channel_id FROM folder_subscriptions") == []
    again = await subscribe_folder(emulator, seed.news, "unsubscribe-folder")
    assert "was not subscribed" in again
    assert_clean(emulator)


# ---- crash safety -----------------------------------------------------------------------------------


def _is_article_message(emu: Emulator, news: Channel) -> Callable[[Any], bool]:
    return lambda msg: isinstance(msg, Message) and msg.channel_id == news.id and bool(msg.embeds)


def _is_thread(emu: Emulator, news: Channel) -> Callable[[Any], bool]:
    return lambda thread: isinstance(thread, Channel) and thread.parent_id == news.id


def _in_thread(emu: Emulator, news: Channel, *, embeds: bool) -> Callable[[Any], bool]:
    def matches(msg: Any) -> bool:
        where = emu.world.channel(msg.channel_id) if isinstance(msg, Message) else None
        return where is not None and where.parent_id == news.id and bool(msg.embeds) == embeds

    return matches


# name: (engine method, which result of it means the bot has just sent that part of the post)
KILL_POINTS = {
    "article message": ("create_message", _is_article_message),
    "thread": ("create_thread", _is_thread),
    "prompt": ("create_message", lambda emu, news: _in_thread(emu, news, embeds=False)),
}
KILL_PARAMS = [pytest.param("article message"), pytest.param("thread"), pytest.param("prompt")]


@pytest.fixture
def sigkill_after(emulator: Emulator) -> Iterator[Callable[[BotProcess, str, Callable[[Any], bool]], asyncio.Event]]:
    """SIGKILL the bot right after the emulator performed a matching action, before the bot gets the answer."""
    engine = emulator.engine
    patched: list[str] = []

    def arm(bot: BotProcess, method: str, matches: Callable[[Any], bool]) -> asyncio.Event:
        killed = asyncio.Event()
        original: Callable[..., Awaitable[Any]] = getattr(engine, method)

        async def then_kill(*args: Any, **kwargs: Any) -> Any:
            result = await original(*args, **kwargs)
            if not killed.is_set() and matches(result) and bot.process is not None:
                bot.process.kill()
                await bot.process.wait()
                killed.set()
            return result

        setattr(engine, method, then_kill)
        patched.append(method)
        return killed

    yield arm
    for method in patched:
        engine.__dict__.pop(method, None)


@pytest.mark.bot_env(ARTICLES_SCAN_SECONDS="1")
@pytest.mark.parametrize("kill_point", KILL_PARAMS)
async def test_post_killed_midway_is_finished_once_on_restart(
    emulator: Emulator, articles_dir: Path, folder_agora: BotProcess, sigkill_after: Any, kill_point: str
) -> None:
    seed = emulator.community
    assert seed is not None
    await subscribe_folder(emulator, seed.news)
    method, matcher = KILL_POINTS[kill_point]
    killed = sigkill_after(folder_agora, method, matcher(emulator, seed.news))
    drop_file(articles_dir, "russia-france.txt", SEED_ARTICLE.read_bytes())
    await asyncio.wait_for(killed.wait(), REPLY_WAIT)
    assert await folder_agora.stop() == -9
    assert query(folder_agora, "SELECT state FROM deliveries") == [("pending",)]

    await folder_agora.start()
    [(delivery_id, state, error, message_id, thread_id, prompt_id)] = await wait_db(
        folder_agora,
        "SELECT id, state, last_error, message_id, thread_id, prompt_message_id FROM deliveries"
        " WHERE state != 'pending'",
        what="the interrupted delivery finished",
    )
    assert state == "posted", f"the delivery ended {state!r}: {error}"
    await wait_file_handled(folder_agora, "russia-france.txt")

    posts = article_posts(emulator, seed.news, SEED_TITLE)
    assert len(posts) == 1 and len(emulator.messages_in(seed.news)) == 1, "the article was posted twice"
    message = posts[0]
    threads = emulator.threads_of(seed.news)
    assert [t.id for t in threads] == [message.id], "expected one discussion thread on the article"
    thread = threads[0]
    poll = await find_poll_message(emulator, thread)
    assert [m.id for m in poll_messages_in(emulator, thread)] == [poll.id], "more than one poll"
    prompts = prompts_in(emulator, thread)
    assert len(prompts) == 1, f"expected one opening prompt, found {len(prompts)}"
    prompt = prompts[0]
    assert (message_id, thread_id, prompt_id) == (message.id, thread.id, prompt.id)
    assert query(folder_agora, "SELECT message_id FROM polls WHERE delivery_id = ?", (delivery_id,)) == [(poll.id,)]
    assert_clean(emulator)


# ---- command registration ---------------------------------------------------------------------------

TOP_LEVEL = {"agora", "article", "feed", "poll"}


@asynccontextmanager
async def synced_bot(emu: Emulator, workdir: Path, **env: str) -> AsyncIterator[BotProcess]:
    """The bot once it has synced its commands and IDENTIFYed (not waiting for READY: quicker); stopped cleanly."""
    bot = BotProcess(emu, workdir, extra_env=env)
    try:
        await bot.start(wait_ready=False)
        yield bot
    finally:
        code = await bot.stop()
        bot.assert_token_not_logged()
    assert code == 0 and not bot.hung_on_stop, f"unclean stop (exit code {code})\n{bot.tail()}"


async def test_commands_are_registered_to_the_guild_when_it_is_set(emulator: Emulator, tmp_path: Path) -> None:
    seed = emulator.community
    assert seed is not None
    async with synced_bot(emulator, tmp_path) as bot:
        assert bot.environment()["DISCORD_GUILD_ID"] == str(seed.guild.id)
        assert {c["name"] for c in emulator.commands.guild_commands.get(seed.guild.id, [])} == TOP_LEVEL
        assert emulator.commands.global_commands == [], "nothing global when DISCORD_GUILD_ID is set"
    assert_clean(emulator)


async def test_commands_are_registered_globally_without_a_guild(emulator: Emulator, tmp_path: Path) -> None:
    seed = emulator.community
    assert seed is not None
    async with synced_bot(emulator, tmp_path, DISCORD_GUILD_ID="") as bot:
        assert "DISCORD_GUILD_ID" in bot.environment()  # set, but empty: the seeded guild's id is not used
        assert {c["name"] for c in emulator.commands.global_commands} == TOP_LEVEL
        assert not any(emulator.commands.guild_commands.values()), "no guild commands without DISCORD_GUILD_ID"
        call = await emulator.invoke_slash(seed.moderator, "agora status", channel=seed.general)
        reply = await call.response(within=REPLY_WAIT)
        assert reply.ephemeral and reply.embeds, "the global command answers in the server"
    assert_clean(emulator)


# ---- /agora status ----------------------------------------------------------------------------------


def status_fields(text: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


async def test_status_shows_version_latency_database_and_counts(emulator: Emulator, agora: BotProcess) -> None:
    seed = emulator.community
    assert seed is not None
    await post_seed_article(emulator)  # its poll is opened before the prompt it waits for

    call = await emulator.invoke_slash(seed.moderator, "agora status", channel=seed.general)
    reply = await call.response(within=REPLY_WAIT)
    assert reply.ephemeral and reply.embeds and reply.embeds[0]["title"] == "Agora status"
    fields = status_fields(reply_text(reply))

    assert fields["Version"] == __version__
    assert re.fullmatch(r"\d+ ms", fields["Gateway latency"]), fields["Gateway latency"]
    on_disk = sum(p.stat().st_size for p in agora.workdir.glob("agora.db*") if not p.name.endswith("-shm"))
    shown_kib = int(fields["Database"].removesuffix(" KiB"))
    assert shown_kib > 0 and abs(shown_kib * 1024 - on_disk) <= max(on_disk // 4, 8192), (fields, on_disk)
    newest = bundled_migrations()[-1][0]
    assert fields["Schema version"] == str(newest)
    assert query(agora, "SELECT MAX(version) FROM schema_version") == [(newest,)]
    counts = agora.row_counts()
    assert (fields["Articles"], fields["Feeds"], fields["Open polls"]) == ("1", "0", "1")
    assert (counts["articles"], counts["subscriptions"], counts["polls"]) == (1, 0, 1)
    assert_clean(emulator)
