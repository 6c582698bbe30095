"""The run command's start-up errors: one line, non-zero exit, no traceback, no token."""

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.backends import password_protected_role, selected_backends

ROOT = Path(__file__).resolve().parents[1]


def run_agora(tmp_path, env):
    return subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_missing_token_is_one_line_and_nonzero(tmp_path):
    result = run_agora(tmp_path, {"PYTHONPATH": str(ROOT)})
    assert result.returncode == 1
    assert "DISCORD_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_invalid_setting_does_not_print_token(tmp_path):
    token = "MTEx.very-secret.token"
    result = run_agora(tmp_path, {"PYTHONPATH": str(ROOT), "DISCORD_TOKEN": token, "DISCORD_GUILD_ID": "nope"})
    assert result.returncode == 1
    assert "DISCORD_GUILD_ID" in result.stderr
    assert token not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_env_file_is_read(tmp_path):
    (tmp_path / ".env").write_text("DISCORD_TOKEN=abc.def\nLOG_LEVEL=shouty\n")
    result = run_agora(tmp_path, {"PYTHONPATH": str(ROOT)})
    assert result.returncode == 1
    assert "LOG_LEVEL" in result.stderr


def test_postgresql_on_a_closed_port_is_one_line_with_the_password_masked(tmp_path):
    with socket.socket() as probe:  # bound, never listening: connections to it are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        url = f"postgresql://agora:s3cret@127.0.0.1:{port}/agora"
        result = run_agora(tmp_path, {"PYTHONPATH": str(ROOT), "DISCORD_TOKEN": "abc.def", "DATABASE_URL": url})
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"agora: DATABASE_URL postgresql://agora:***@127.0.0.1:{port}/agora cannot be used: PostgreSQL is "
        "unreachable (connection refused)."
    )


@pytest.mark.skipif("postgresql" not in selected_backends(), reason="AGORA_TEST_BACKENDS excludes it")
async def test_a_wrong_postgresql_password_is_one_line_without_the_password(tmp_path, postgres_server):
    dsn = await password_protected_role(postgres_server, "agora_login", "right-password")
    url = dsn.replace("right-password", "wr0ng-password")
    result = run_agora(tmp_path, {"PYTHONPATH": str(ROOT), "DISCORD_TOKEN": "abc.def", "DATABASE_URL": url})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"agora: DATABASE_URL {url.replace('wr0ng-password', '***')} cannot be used: PostgreSQL refused the "
        "login: wrong user or password in DATABASE_URL."
    ]


def closed_port() -> int:
    with socket.socket() as probe:  # bound, never listening: connections to it are refused
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_discord_out_of_reach_is_said_as_such_and_blames_no_database_setting(tmp_path):
    port = closed_port()
    env = {"PYTHONPATH": str(ROOT), "DISCORD_TOKEN": "abc.def", "LOG_LEVEL": "WARNING"}
    result = run_agora(tmp_path, {**env, "DISCORD_API_BASE": f"http://127.0.0.1:{port}/api/v10"})
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert len(lines) == 1 and lines[0].startswith("agora: could not reach Discord: "), result.stderr
    assert f"127.0.0.1:{port}" in lines[0] and "DISCORD_API_BASE" in lines[0] and "DATABASE" not in lines[0]


@pytest.mark.skipif("postgresql" not in selected_backends(), reason="AGORA_TEST_BACKENDS excludes it")
async def test_discord_out_of_reach_on_postgresql_blames_no_database_setting(tmp_path, postgres_server):
    dsn = await postgres_server.create_database(migrated=False)
    port = closed_port()
    env = {"PYTHONPATH": str(ROOT), "DISCORD_TOKEN": "abc.def", "LOG_LEVEL": "WARNING", "DATABASE_URL": dsn}
    result = run_agora(tmp_path, {**env, "DISCORD_API_BASE": f"http://127.0.0.1:{port}/api/v10"})
    await postgres_server.drop_database(dsn)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert len(lines) == 1 and lines[0].startswith("agora: could not reach Discord: "), result.stderr
    assert "DATABASE" not in lines[0]
