"""Past moments as moderators type them for /poll results at: and agora summary --at."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.errors import AgoraError
from bot.summaries.moments import InvalidMoment, check_moment, parse_moment

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-01 14:30", datetime(2026, 11, 1, 14, 30, tzinfo=UTC)),  # no offset: UTC
        ("2026-11-01T14:30:05.250", datetime(2026, 11, 1, 14, 30, 5, 250000, tzinfo=UTC)),
        ("2026-11-01T14:30Z", datetime(2026, 11, 1, 14, 30, tzinfo=UTC)),
        ("2026-11-01t14:30z", datetime(2026, 11, 1, 14, 30, tzinfo=UTC)),
        ("2026-11-01T16:30+02:00", datetime(2026, 11, 1, 14, 30, tzinfo=UTC)),
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2h", NOW - timedelta(hours=2)),
        (" 1d12h ", NOW - timedelta(days=1, hours=12)),
        ("90 minutes ago", NOW - timedelta(minutes=90)),
    ],
)
def test_parses_iso_times_and_how_long_ago(text, expected):
    moment = parse_moment(text, NOW)
    assert moment == expected and moment.tzinfo is UTC


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01", "1h2h", "0m"])
def test_anything_else_is_refused_with_examples(text):
    with pytest.raises(InvalidMoment, match="2026-11-01 14:30") as raised:
        parse_moment(text, NOW)
    assert isinstance(raised.value, AgoraError)  # shown to the user as it is, privately


def test_a_moment_must_fall_between_opening_and_now():
    opened = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    check_moment(3, opened, opened, NOW)
    check_moment(3, opened, NOW, NOW)
    with pytest.raises(InvalidMoment, match=r"Poll #3 opened at 2026-11-01 12:00:00 UTC, after 2026-11-01 11:59:59"):
        check_moment(3, opened, opened - timedelta(seconds=1), NOW)
    ahead = datetime(2026, 11, 25, 14, 0, tzinfo=timezone(timedelta(hours=1)))  # 13:00 UTC
    with pytest.raises(InvalidMoment, match="2026-11-25 13:00:00 UTC is in the future"):
        check_moment(3, opened, ahead, NOW)


@pytest.mark.parametrize("text", ["999999d", "999999999w", "0001-01-01T00:00+01:00"])
def test_a_moment_out_of_the_calendar_is_refused_politely(text):
    with pytest.raises(InvalidMoment):
        parse_moment(text, NOW)
