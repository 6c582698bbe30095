"""Operators' first hour against the emulated Discord: a quiet start, `agora check`, scheduled backups."""

from __future__ import annotations

import re

from bot import __version__

from .driver import BotProcess
from .emulator import Emulator


def warning_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if re.search(r"\b(WARNING|ERROR|CRITICAL)\b", line)]


async def test_a_start_prints_no_warnings_and_one_line_saying_what_it_serves(
    emulator: Emulator, agora: BotProcess
) -> None:
    seed = emulator.community
    assert seed is not None
    log = agora.log_text()
    assert warning_lines(log) == [], "a clean start must print no warning"
    assert "voice will NOT be supported" not in log
    start = [line for line in log.splitlines() if "Connected as" in line]
    assert len(start) == 1, log
    line = start[0]
    assert " INFO " in line and f"Agora {__version__}" in line and str(agora.database_path) in line, line
    assert f"1 server: {seed.guild.name} ({seed.guild.id})" in line and "0 open polls, 0 feeds" in line, line
