from datetime import timedelta

import pytest

from bot.durations import InvalidDuration, format_duration, parse_duration
from bot.errors import AgoraError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("12h", timedelta(hours=12)),
        ("3d", timedelta(days=3)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("90s", timedelta(seconds=90)),
        ("2w", timedelta(weeks=2)),
        ("1h 30m", timedelta(hours=1, minutes=30)),
        ("  45M ", timedelta(minutes=45)),
        ("2 hours", timedelta(hours=2)),
        ("1day 2hrs 3mins 4secs", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("30m1h", timedelta(hours=1, minutes=30)),
    ],
)
def test_parses_valid_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "message_part"),
    [
        ("", "Give a duration"),
        ("   ", "Give a duration"),
        ("30", "is not a duration"),
        ("m", "is not a duration"),
        ("30x", "is not a duration"),
        ("-5m", "is not a duration"),
        ("1.5h", "is not a duration"),
        ("1h2h", "repeats a unit"),
        ("5m 10min", "repeats a unit"),
        ("0m", "longer than zero"),
        ("0d0h", "longer than zero"),
        ("1h!", "is not a duration"),
    ],
)
def test_rejects_invalid_durations_with_a_user_message(text: str, message_part: str) -> None:
    with pytest.raises(InvalidDuration, match=message_part):
        parse_duration(text)


def test_maximum_is_inclusive() -> None:
    assert parse_duration("32d", maximum=timedelta(days=32)) == timedelta(days=32)


def test_beyond_maximum_is_refused_naming_the_maximum() -> None:
    with pytest.raises(InvalidDuration, match="at most 32d"):
        parse_duration("32d1s", maximum=timedelta(days=32))


def test_invalid_duration_is_shown_to_users_and_is_a_value_error() -> None:
    assert issubclass(InvalidDuration, AgoraError)
    assert issubclass(InvalidDuration, ValueError)


@pytest.mark.parametrize(
    ("duration", "expected"),
    [
        (timedelta(days=1, hours=12), "1d 12h"),
        (timedelta(seconds=90), "1m 30s"),
        (timedelta(minutes=45), "45m"),
        (timedelta(0), "0s"),
        (timedelta(weeks=2), "14d"),
    ],
)
def test_formats_durations_compactly(duration: timedelta, expected: str) -> None:
    assert format_duration(duration) == expected


@pytest.mark.parametrize("text", ["30m", "1d12h", "90s", "2w", "1d 2h 3m 4s"])
def test_formatted_duration_parses_back(text: str) -> None:
    parsed = parse_duration(text)
    assert parse_duration(format_duration(parsed)) == parsed


def test_a_duration_beyond_what_python_can_hold_is_refused_politely() -> None:
    with pytest.raises(InvalidDuration, match="far too long"):
        parse_duration("999999999w")
