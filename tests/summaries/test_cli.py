"""`agora summary` prints the figures from a database file, with no token and no bot."""

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.storage.polls import PollStore
from bot.storage.summaries import SummaryStore
from bot.summaries.reports import find_poll, poll_exports
from bot.timeutil import to_db
from tests.summaries.factories import GUILD, Seed, at, open_database

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def database_file(tmp_path):
    path = tmp_path / "agora.db"
    db = await open_database(path)
    seed = Seed(db)
    article = await seed.article()
    delivery = await seed.delivery(article)
    poll = await seed.poll(article_id=article, delivery_id=delivery)
    for voter, option in [(1, 0), (2, 0), (3, 1)]:
        await seed.vote(poll, option, voter, minute=voter)
    await seed.reply(article, delivery, 100, 5)
    await db.close()
    return path, poll.id, article


def test_poll_text(database_file, capsys):
    path, poll_id, _ = database_file
    assert main(["summary", "--poll", str(poll_id), "--db", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"Poll #{poll_id}: More bike lanes?" in out and "66.7%" in out and "Voters:   3" in out


def test_poll_json_and_csv_carry_the_same_figures(database_file, capsys):
    path, poll_id, _ = database_file
    assert main(["summary", "--poll", str(poll_id), "--db", str(path), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert main(["summary", "--poll", str(poll_id), "--db", str(path), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [o["votes"] for o in data["options"]] == [int(r["votes"]) for r in rows] == [2, 1]
    assert data["voters"] == 3


@pytest.fixture
async def exported_with_refusals(tmp_path):
    """A poll with refused reactions, and the figures file /poll export sends for it."""
    path = tmp_path / "agora.db"
    db = await open_database(path)
    seed = Seed(db)
    poll = await seed.poll()
    for voter, option in [(1, 0), (2, 0), (3, 1)]:
        await seed.vote(poll, option, voter, minute=voter)
    yes, no = poll.option_ids
    refused = [(40, yes, "missing_role"), (41, no, "missing_role"), (42, yes, "account_too_new")]
    await PollStore(db).record_vote_events(
        [(poll.id, option, voter, f"refused:{reason}", "live", to_db(at(5))) for voter, option, reason in refused]
    )
    store = SummaryStore(db)
    files = await poll_exports(store, await find_poll(store, GUILD, str(poll.id), 11), limit_bytes=2**20)
    await db.close()
    figures = next(file for file in files if file.filename == f"poll-{poll.id}-summary.csv")
    figures.reset()
    return path, poll.id, figures.fp.read()


def test_poll_export_figures_agree_with_agora_summary_csv(exported_with_refusals, capsys):
    path, poll_id, exported = exported_with_refusals
    assert exported.startswith(b"\xef\xbb\xbf")  # a BOM, as the other exports have, for spreadsheets
    assert main(["summary", "--poll", str(poll_id), "--db", str(path), "--format", "csv"]) == 0
    printed = capsys.readouterr().out
    assert exported.decode("utf-8-sig") == printed
    rows = list(csv.DictReader(io.StringIO(printed)))
    assert [row["refused"] for row in rows] == ["account_too_new=1 missing_role=2"] * 2
    assert [int(row["votes"]) for row in rows] == [2, 1]


def test_article_json(database_file, capsys):
    path, _, article = database_file
    assert main(["summary", "--article", str(article), "--db", str(path), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["discussion"]["replies"] == 1 and data["polls"][0]["voters"] == 3


def test_unknown_poll_fails_with_a_message(database_file, capsys):
    path, _, _ = database_file
    assert main(["summary", "--poll", "999", "--db", str(path)]) == 1
    assert "No poll #999" in capsys.readouterr().err


def test_missing_database_is_not_created(tmp_path, capsys):
    path = tmp_path / "nope.db"
    assert main(["summary", "--poll", "1", "--db", str(path)]) == 1
    assert "No database" in capsys.readouterr().err
    assert not path.exists()


def test_database_is_left_untouched(database_file, capsys):
    """Read-only: the file keeps every byte (SQLite may still add the -shm index any WAL reader uses)."""
    path, poll_id, _ = database_file
    before = path.read_bytes()
    assert main(["summary", "--article", "1", "--db", str(path)]) == 0
    assert path.read_bytes() == before
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0


def test_runs_without_a_token_from_the_environment(database_file):
    path, poll_id, _ = database_file
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), "DATABASE_PATH": str(path)}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "summary", "--poll", str(poll_id), "--format", "json"],
        cwd=path.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["voters"] == 3


def test_export_writes_the_same_csv_as_discord_gets(database_file, capsysbinary):
    path, poll_id, _ = database_file
    assert main(["summary", "--poll", str(poll_id), "--export", "votes", "--db", str(path)]) == 0
    rows = list(csv.reader(io.StringIO(capsysbinary.readouterr().out.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["poll_id", "option", "emoji", "voter_id", "voted_at_utc"]
    assert sorted(row[3] for row in rows[1:]) == ["1", "2", "3"]


def test_export_needs_a_poll(database_file, capsys):
    path, _, article = database_file
    assert main(["summary", "--article", str(article), "--export", "events", "--db", str(path)]) == 1
    assert "--export needs --poll" in capsys.readouterr().err


def test_poll_at_a_past_moment_in_every_format(database_file, capsys):
    path, poll_id, _ = database_file
    command = ["summary", "--poll", str(poll_id), "--db", str(path), "--at", "2026-11-01T12:02"]
    assert main([*command, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["as_of"], data["voters"]) == ("2026-11-01T12:02:00+00:00", 2)
    assert [(o["votes"], o["percent"]) for o in data["options"]] == [(2, 100.0), (0, 0.0)]
    assert main([*command, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["votes"], r["voters"], r["as_of"]) for r in rows] == [("2", "2", data["as_of"])] + [
        ("0", "2", data["as_of"])
    ]
    assert main(command) == 0
    out = capsys.readouterr().out
    assert "As of:    2026-11-01 12:02:00 UTC" in out and "Yes led with 100.0% of 2 voters" in out


def test_poll_at_a_moment_given_as_how_long_ago(database_file, capsys):
    path, poll_id, _ = database_file
    assert main(["summary", "--poll", str(poll_id), "--db", str(path), "--at", "1h", "--format", "json"]) == 0
    assert [o["votes"] for o in json.loads(capsys.readouterr().out)["options"]] == [2, 1]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--at", "2999-01-01"], "is in the future"),
        (["--at", "2026-10-31"], "opened at 2026-11-01 12:00:00 UTC"),
        (["--at", "soon"], "soon is not a time"),
    ],
)
def test_poll_at_an_impossible_moment_fails_with_a_message(database_file, capsys, extra, message):
    path, poll_id, _ = database_file
    assert main(["summary", "--poll", str(poll_id), "--db", str(path), *extra]) == 1
    assert message in capsys.readouterr().err


def test_at_needs_a_poll_and_no_export(database_file, capsys):
    path, poll_id, article = database_file
    assert main(["summary", "--article", str(article), "--at", "1h", "--db", str(path)]) == 1
    assert main(["summary", "--poll", str(poll_id), "--export", "votes", "--at", "1h", "--db", str(path)]) == 1
    assert capsys.readouterr().err.count("--at needs --poll") == 2


def test_reading_a_stopped_bots_database_leaves_no_trace(database_file, capsys):
    """No -wal or -shm appears beside it, and its bytes and modification time stay as they were."""
    path, poll_id, _ = database_file
    before, mtime = path.read_bytes(), os.stat(path).st_mtime_ns
    assert main(["summary", "--poll", str(poll_id), "--db", str(path)]) == 0
    assert main(["summary", "--article", "1", "--db", str(path), "--format", "json"]) == 0
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    assert path.read_bytes() == before and os.stat(path).st_mtime_ns == mtime


@pytest.mark.parametrize("reference", ["-1", "1.5", "١", "１", "1abc", str(2**63)])
@pytest.mark.parametrize("option", ["--poll", "--article"])
def test_only_plain_numbers_name_a_poll_or_article(database_file, capsys, option, reference):
    path, _, _ = database_file
    with pytest.raises(SystemExit) as exited:
        main(["summary", option, reference, "--db", str(path)])
    assert exited.value.code == 2
    assert "is not a number like 12 or #12" in capsys.readouterr().err


def test_a_poll_number_may_be_written_with_a_hash(database_file, capsys):
    path, poll_id, _ = database_file
    assert main(["summary", "--poll", f"#{poll_id}", "--db", str(path)]) == 0
