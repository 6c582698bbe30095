"""The run command's start-up errors: one line, non-zero exit, no traceback, no token."""

import subprocess
import sys
from pathlib import Path

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
