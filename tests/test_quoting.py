import pytest

from bot.durations import InvalidDuration, parse_duration
from bot.polls.options import InvalidOptions, PollOption, validate_options
from bot.quoting import EXCERPT_LIMIT, excerpt, quote
from bot.summaries.moments import InvalidMoment, parse_moment
from bot.timeutil import utcnow

MESSAGE_LIMIT = 2000


def test_short_text_is_quoted_whole() -> None:
    assert quote(" 3x ") == "`3x`"


def test_long_text_is_cut_with_an_ellipsis() -> None:
    shown = excerpt("word " * 2000)
    assert len(shown) <= EXCERPT_LIMIT and shown.endswith("…")


def test_quoted_text_cannot_break_out_of_the_inline_code() -> None:
    shown = quote("a`b\nc")
    assert shown.startswith("`") and shown.endswith("`") and shown.count("`") == 2 and "\n" not in shown


def test_empty_text_is_named_not_quoted_as_empty_code() -> None:
    assert quote("   ") == "(nothing)"


@pytest.mark.parametrize("length", [2100, 6000])
def test_errors_quoting_input_fit_a_message(length: int) -> None:
    long = "x" * length
    for parse, error in [(parse_duration, InvalidDuration), (lambda text: parse_moment(text, utcnow()), InvalidMoment)]:
        with pytest.raises(error) as caught:
            parse(long)
        assert len(str(caught.value)) < MESSAGE_LIMIT


def test_a_huge_emoji_chain_is_quoted_short() -> None:
    chain = "\u200d".join(["👍"] * 3000)
    with pytest.raises(InvalidOptions) as caught:
        validate_options([PollOption(chain, "Yes"), PollOption(chain, "No")])
    assert len(str(caught.value)) < MESSAGE_LIMIT
