"""Fixtures for end-to-end tests against the emulated Discord.

- `emulator`: a started Emulator with the default community seeded (`emulator.community`); every REST request
  and answer is checked against Discord's published API contract (emulator/contract.py), and a test that
  broke it fails (asserted by each fixture's teardown, naming the route and the field).
- `client_factory`: plain discord.py clients (in this process) pointed at the emulator.
- `agora`: the real bot, `python -m bot run`, as a subprocess (see tests/e2e/driver.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator
from pathlib import Path
from typing import Any

import pytest

from .driver import BotProcess, InProcessClients
from .emulator import Emulator
from .emulator.contract import USAGE


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    emu = await Emulator.start()
    emu.seed_default_guild()
    try:
        yield emu
    finally:
        await emu.stop()
    assert_contract_kept(emu)  # also for tests that run the bot without the agora fixture


@pytest.fixture
async def client_factory(emulator: Emulator) -> AsyncIterator[InProcessClients]:
    clients = InProcessClients(emulator)
    try:
        yield clients
    finally:
        await clients.close_all()
    assert_contract_kept(emulator)


@pytest.fixture
async def agora(emulator: Emulator, tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[BotProcess]:
    """The bot process, started and synced; stopped (SIGTERM, then SIGKILL) even when the test fails."""
    marker = request.node.get_closest_marker("bot_env")
    bot = BotProcess(emulator, tmp_path, extra_env=dict(marker.kwargs) if marker else None)
    try:
        await bot.start()
        yield bot
    finally:
        await bot.stop()
        failed = getattr(request.node, "rep_call", None)
        if failed is not None and failed.failed:
            bot.print_log()
            print(f"----- emulator -----\n{emulator.diagnostics()}")
        bot.assert_token_not_logged()
        assert not bot.hung_on_stop, "the bot did not exit after SIGTERM (it was killed; see its log)"
        assert emulator.unknown_routes == [], f"the bot called routes the emulator lacks: {emulator.unknown_routes}"
        assert_contract_kept(emulator)


def assert_contract_kept(emulator: Emulator) -> None:
    """Fail the test whose requests Discord would refuse, or whose emulator answered what Discord never sends
    (each violation reported once: the list is emptied)."""
    violations = "\n  ".join(str(v) for v in emulator.contract_violations)
    emulator.contract_violations.clear()
    assert not violations, f"Discord's API contract was broken (tests/e2e/emulator/contract.py):\n  {violations}"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "bot_env(**env): extra environment variables for the bot process")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """Keep each phase's report on the item so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How much of Discord's API the e2e tests exercised, and what checking it against the contract cost."""
    if USAGE.checks:
        terminalreporter.write_line(USAGE.summary())
        if terminalreporter.verbosity > 0:
            for route in sorted(USAGE.routes):
                terminalreporter.write_line(f"  {route}")


@pytest.fixture
def articles_dir(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """An ARTICLES_DIR for the bot: added to the test's bot_env marker, which the `agora` fixture reads."""
    folder = tmp_path / "articles"
    folder.mkdir()
    marker = request.node.get_closest_marker("bot_env")
    env = {**(marker.kwargs if marker else {}), "ARTICLES_DIR": str(folder)}
    request.node.add_marker(pytest.mark.bot_env(**env), append=False)
    return folder


@pytest.fixture
def folder_agora(articles_dir: Path, request: pytest.FixtureRequest) -> BotProcess:
    """The `agora` bot, started only once `articles_dir` has put ARTICLES_DIR into its environment."""
    return request.getfixturevalue("agora")
