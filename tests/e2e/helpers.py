"""Helpers for end-to-end scenarios: the seed article, finding the bot's messages, voting, reading replies.

Test modules import these from here (never from another test module), so a helper has one home.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from .driver import REPO_ROOT, BotProcess
from .emulator import DefaultGuild, Emulator, Reply
from .emulator.state import Channel, Member, Message

SEED_ARTICLE = Path(__file__).resolve().parents[1] / "fixtures" / "articles" / "seed_article.txt"
SEED_TITLE = "Russia joins forces with France in fight against ISIS"
SEED_QUESTION = "what do you personally think about this partnership?"
SEED_OPENING = "During the last couple of days, there have been numerous police raids"
SUPPORT, OPPOSE, UNSURE = "\N{THUMBS UP SIGN}", "\N{THUMBS DOWN SIGN}", "\N{SHRUG}"
REPLY_WAIT = 20.0
OPTIONS = ("👍", "👎", "🤷")  # a /poll create poll's options, in order
OLD = timedelta(days=400)  # an account or membership old enough for any poll rule


# ---- helpers ---------------------------------------------------------------------------------------


@dataclass
class PostedArticle:
    message: Message
    thread: Channel
    prompt: Message
    reply: Reply


def require_command(emu: Emulator, path: str) -> None:
    """Fail at once when the bot has not registered this (sub)command: a command that disappears is a bug."""
    names = path.split()
    options: list[dict[str, Any]] = emu.registered_commands
    for name in names:
        found = next((c for c in options if c["name"] == name), None)
        if found is None:
            raise AssertionError(f"/{path} is not registered by the bot")
        options = found.get("options") or []


def command_options(emu: Emulator, path: str) -> list[dict[str, Any]]:
    names = path.split()
    options: list[dict[str, Any]] = emu.registered_commands
    for name in names:
        options = next(c for c in options if c["name"] == name).get("options") or []
    return options


def reference_options(emu: Emulator, path: str, message: Message, channel: Channel) -> dict[str, Any]:
    """Fill a command's options that point at a poll/article (required ones, or ones named so), by type and name."""
    guild_id = message.guild_id
    link = f"https://discord.com/channels/{guild_id}/{message.channel_id}/{message.id}"
    values: dict[str, Any] = {}
    for opt in command_options(emu, path):
        named = any(w in opt["name"] for w in ("poll", "article", "message"))
        if not (opt.get("required") or named):
            continue
        name, kind = opt["name"], opt["type"]
        if kind == 7:
            values[name] = channel
        elif kind == 4:
            values[name] = message.id
        elif kind == 3:
            values[name] = link if any(w in name for w in ("link", "url", "message")) else str(message.id)
    return values


def reply_text(reply: Reply) -> str:
    """Everything a user reads in a reply: content, embed titles, descriptions and fields."""
    parts = [reply.content]
    for embed in reply.embeds:
        parts += [embed.get("title") or "", embed.get("description") or ""]
        parts += [f"{f.get('name')}: {f.get('value')}" for f in embed.get("fields") or []]
    return "\n".join(parts)


def shows_count(text: str, label: str, count: int) -> bool:
    """True when `label` (an option label or emoji) is followed closely by exactly `count`."""
    return re.search(rf"{re.escape(label)}[^\n\d]{{0,60}}\b{count}\b", text) is not None


async def moderator_post(
    emu: Emulator, community_channel: Channel, target: Channel, data: bytes, community: DefaultGuild | None = None
) -> Reply:
    """`community`: the server the moderator is in (the default one unless named)."""
    seed = community or emu.community
    assert seed is not None
    upload = emu.upload_attachment(community_channel, "article.txt", data)
    call = await emu.invoke_slash(
        seed.moderator, "article post", channel=community_channel, options={"channel": target, "file": upload}
    )
    return await call.response(within=REPLY_WAIT)


async def post_seed_article(
    emu: Emulator, target: Channel | None = None, community: DefaultGuild | None = None
) -> PostedArticle:
    seed = community or emu.community
    assert seed is not None
    target = target or seed.news
    reply = await moderator_post(emu, seed.general, target, SEED_ARTICLE.read_bytes(), seed)
    bot_id = emu.bot_user.id
    message = await emu.wait_for_message(target, lambda m: m.author_id == bot_id and bool(m.embeds))
    thread = await emu.wait_for_thread(target)
    prompt = await emu.wait_for_message(thread, lambda m: m.author_id == bot_id and "?" in m.content)
    return PostedArticle(message, thread, prompt, reply)


async def find_poll_message(emu: Emulator, where: Channel, options: int = 3) -> Message:
    """The bot's message carrying one bot reaction per poll option."""
    bot_id = emu.bot_user.id

    def is_poll(m: Message) -> bool:
        mine = [users for users in emu.reactions_on(m).values() if bot_id in users]
        return m.author_id == bot_id and len(mine) >= options

    return await emu.wait_for_message(where, is_poll, within=REPLY_WAIT)


async def vote(emu: Emulator, member: Member, poll: Message, emoji: str) -> None:
    await emu.user_add_reaction(member, poll.channel_id, poll.id, emoji)


async def unvote(emu: Emulator, member: Member, poll: Message, emoji: str) -> None:
    await emu.user_remove_reaction(member, poll.channel_id, poll.id, emoji)


async def run_twenty_voters(emu: Emulator, poll: Message) -> dict[str, int]:
    """20 members vote; two switch from Support to Oppose; two withdraw. Returns the final counts."""
    seed = emu.community
    assert seed is not None
    voters = seed.members[:20]
    for i, member in enumerate(voters):
        await vote(emu, member, poll, SUPPORT if i < 10 else OPPOSE if i < 16 else UNSURE)
    for member in voters[:2]:  # switch: add the new reaction, then take the old one off
        await vote(emu, member, poll, OPPOSE)
        await unvote(emu, member, poll, SUPPORT)
    for member in voters[16:18]:  # withdraw
        await unvote(emu, member, poll, UNSURE)
    return {SUPPORT: 8, OPPOSE: 8, UNSURE: 2}


async def results_until(
    emu: Emulator,
    poll: Message,
    expected: dict[str, int],
    within: float = REPLY_WAIT,
    community: DefaultGuild | None = None,
) -> str:
    """Ask /poll results until it shows the expected counts (votes are processed asynchronously)."""
    seed = community or emu.community
    assert seed is not None
    deadline = time.monotonic() + within
    text = ""
    while time.monotonic() < deadline:
        options = reference_options(emu, "poll results", poll, seed.news)
        call = await emu.invoke_slash(seed.moderator, "poll results", channel=seed.general, options=options)
        text = reply_text(await call.response(within=REPLY_WAIT))
        if all(shows_count(text, emoji, n) for emoji, n in expected.items()):
            return text
    raise AssertionError(f"/poll results never showed {expected}; last reply:\n{text}")


def assert_clean(emu: Emulator) -> None:
    assert emu.unknown_routes == [], f"the bot called routes the emulator lacks: {emu.unknown_routes}"


def create_poll_options(emu: Emulator, question: str, duration: str) -> dict[str, Any]:
    seed = emu.community
    assert seed is not None
    wanted = {"question": question, "options": f"{SUPPORT} Yes | {OPPOSE} No", "duration": duration}
    values: dict[str, Any] = {}
    for opt in command_options(emu, "poll create"):
        if opt["name"] in wanted:
            values[opt["name"]] = wanted[opt["name"]]
        elif opt["type"] == 7:
            values[opt["name"]] = seed.news
    return values


async def create_short_poll(emu: Emulator, question: str, duration: str) -> Message:
    seed = emu.community
    assert seed is not None
    require_command(emu, "poll create")
    options = create_poll_options(emu, question, duration)
    call = await emu.invoke_slash(seed.moderator, "poll create", channel=seed.news, options=options)
    await call.response(within=REPLY_WAIT)
    return await emu.wait_for_message(seed.news, lambda m: question in str(m.embeds) + m.content, within=REPLY_WAIT)


def final_results(emu: Emulator, channel: Channel, question: str, after: int) -> Callable[[], Message | None]:
    def find() -> Message | None:
        for m in emu.messages_in(channel):
            text = (m.content + str(m.embeds)).lower()
            if m.id > after and question.lower() in text and ("final" in text or "closed" in text):
                return m
        return None

    return find


# ---- polls through the bot's database and CLI ------------------------------------------------------


def stored_votes(bot: BotProcess) -> dict[int, set[str]]:
    with sqlite3.connect(f"file:{bot.database_path}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT v.voter_id, o.emoji FROM votes v JOIN poll_options o ON o.id = v.option_id")
        votes: dict[int, set[str]] = defaultdict(set)
        for voter, emoji in rows:
            votes[voter].add(emoji)
        return dict(votes)


def replayed_log(bot: BotProcess) -> dict[int, set[str]]:
    """The vote log replayed in order: it must give the stored votes."""
    with sqlite3.connect(f"file:{bot.database_path}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT e.voter_id, o.emoji, e.action FROM vote_events e JOIN poll_options o ON o.id = e.option_id"
            " ORDER BY e.id"
        )
        votes: dict[int, set[str]] = defaultdict(set)
        for voter, emoji, action in rows:
            (votes[voter].add if action == "added" else votes[voter].discard)(emoji)
        return {voter: options for voter, options in votes.items() if options}


def summary_json(bot: BotProcess, poll_number: int) -> dict:
    env = {k: v for k, v in bot.environment().items()}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "summary", "--poll", str(poll_number), "--format", "json"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return json.loads(done.stdout)


def poll_number(bot: BotProcess, poll: Message) -> int:
    with sqlite3.connect(f"file:{bot.database_path}?mode=ro", uri=True) as conn:
        return int(conn.execute("SELECT id FROM polls WHERE message_id = ?", (poll.id,)).fetchone()[0])


async def open_fair_poll(emu: Emulator, **fair: object) -> Message:
    seed = emu.community
    assert seed is not None
    options = {"question": "Is the partnership good for the fight against terrorism?",
               "options": "👍 Yes | 👎 No | 🤷 Unsure", **fair}  # fmt: skip
    call = await emu.invoke_slash(seed.moderator, "poll create", channel=seed.news, options=options)
    reply = await call.response(within=REPLY_WAIT)
    assert "is open" in reply_text(reply), reply_text(reply)
    bot_id = emu.bot_user.id
    poll = await emu.wait_for_message(seed.news, lambda m: m.author_id == bot_id and bool(m.embeds), within=REPLY_WAIT)
    await emu.wait_for(lambda: len(emu.reactions_on(poll)) == len(OPTIONS) or None, REPLY_WAIT, "the ballot")
    return poll


def refusals(bot: BotProcess) -> dict[str, int]:
    with sqlite3.connect(f"file:{bot.database_path}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT reason, COUNT(*) FROM vote_refusals GROUP BY reason")
        return dict(rows.fetchall())


def others_on(emu: Emulator, poll: Message) -> set[int]:
    return {u for users in emu.reactions_on(poll).values() for u in users if u != emu.bot_user.id}


def drop_file(folder: Path, name: str, data: bytes) -> Path:
    """What the publication's CMS does: write under a hidden name (the scan skips those), then rename."""
    hidden = folder / f".{name}.part"
    hidden.write_bytes(data)
    return hidden.rename(folder / name)


FEED_ENV = {"FEED_ALLOW_PRIVATE_ADDRESSES": "true", "FEED_CHECK_INTERVAL_SECONDS": "3600"}


async def command(emu: Emulator, path: str, member: Member | None = None, **options: Any) -> str:
    """Run a slash command (as the moderator, in #general) and return its private answer's text."""
    seed = emu.community
    assert seed is not None
    call = await emu.invoke_slash(member or seed.moderator, path, channel=seed.general, options=options)
    reply = await call.response(within=REPLY_WAIT)
    assert reply.ephemeral, reply_text(reply)
    return reply_text(reply)


def footer(poll: Message) -> str:
    return str(poll.embeds[0]["footer"]["text"])


CHECK_WITHIN = 40.0


async def run_check(bot: BotProcess, **env: str) -> tuple[int, str]:
    """`python -m bot check` with the bot's environment against the emulator: (exit code, stdout + stderr)."""
    return await bot.run_command("check", within=CHECK_WITHIN, env=env)


def problems(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("PROBLEM")]
