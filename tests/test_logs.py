import logging
import sqlite3

from bot.logs import LoopFaults, RedactSecrets

TOKEN = "MTEx.secret-token.value"


def record(message, *args, exc_info=None):
    return logging.LogRecord("discord.http", logging.ERROR, __file__, 1, message, args, exc_info)


def test_token_in_message_and_args_is_redacted():
    entry = record("Authorization: Bot %s failed", TOKEN)
    RedactSecrets([TOKEN]).filter(entry)
    assert TOKEN not in entry.getMessage()
    assert "<redacted>" in entry.getMessage()


def test_token_in_traceback_is_redacted():
    try:
        raise RuntimeError(f"bad token {TOKEN}")
    except RuntimeError as error:
        entry = record("boom", exc_info=(type(error), error, error.__traceback__))
    RedactSecrets([TOKEN]).filter(entry)
    text = logging.Formatter().format(entry)
    assert TOKEN not in text
    assert "bad token <redacted>" in text


def test_other_text_untouched():
    entry = record("nothing secret here: %d", 5)
    RedactSecrets([TOKEN, ""]).filter(entry)
    assert entry.getMessage() == "nothing secret here: 5"


def test_only_the_voice_warnings_are_dropped():
    from bot.logs import DropVoiceWarnings

    voice = logging.LogRecord("discord.client", logging.WARNING, __file__, 1,
                              "PyNaCl is not installed, voice will NOT be supported", (), None)  # fmt: skip
    other = logging.LogRecord("discord.client", logging.WARNING, __file__, 1, "Shard ID None heartbeat blocked", (),
                              None)  # fmt: skip
    assert DropVoiceWarnings().filter(voice) is False
    assert DropVoiceWarnings().filter(other) is True


def test_a_loop_says_a_storage_outage_once_without_a_traceback_and_its_end_once(caplog):
    faults = LoopFaults(logging.getLogger("agora.test"), "Checking feeds")
    with caplog.at_level(logging.INFO, logger="agora.test"):
        for _ in range(3):
            faults.failed(ConnectionRefusedError(111, "Connect call failed"))
        faults.succeeded()
        faults.succeeded()
        faults.failed(sqlite3.OperationalError("database or disk is full"))
    assert [(r.levelname, r.getMessage(), r.exc_info) for r in caplog.records] == [
        ("WARNING", "Checking feeds waits: PostgreSQL is unreachable (connection refused); it resumes when the "
         "database is back", None),
        ("INFO", "Checking feeds resumed: the database is back", None),
        ("WARNING", "Checking feeds waits: the disk is full; it resumes when the database is back", None),
    ]  # fmt: skip


def test_a_loop_keeps_the_traceback_of_a_bug_every_time(caplog):
    faults = LoopFaults(logging.getLogger("agora.test"), "Checking feeds")
    with caplog.at_level(logging.INFO, logger="agora.test"):
        for _ in range(2):
            try:
                raise KeyError("a bug")
            except KeyError as error:
                faults.failed(error)
    assert [r.getMessage() for r in caplog.records] == ["Checking feeds failed"] * 2
    assert all(r.exc_info for r in caplog.records)
