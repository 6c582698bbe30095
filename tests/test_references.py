import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import AgoraError
from bot.references import MAX_ID, InvalidReference, Reference, look_up, parse_number, parse_reference

GUILD = 111111111111111111
OTHER_GUILD = 222222222222222222
CHANNEL = 333333333333333333
MESSAGE = 444444444444444444


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", Reference(12, from_link=False)),
        ("#12", Reference(12, from_link=False)),
        ("  #12 ", Reference(12, from_link=False)),
        ("012", Reference(12, from_link=False)),
        (str(MESSAGE), Reference(MESSAGE, from_link=False)),
        (str(MAX_ID), Reference(MAX_ID, from_link=False)),
        (f"https://discord.com/channels/{GUILD}/{CHANNEL}/{MESSAGE}", Reference(MESSAGE, from_link=True)),
        (f"https://ptb.discord.com/channels/{GUILD}/{CHANNEL}/{MESSAGE}", Reference(MESSAGE, from_link=True)),
        (f"https://canary.discord.com/channels/{GUILD}/{CHANNEL}/{MESSAGE}", Reference(MESSAGE, from_link=True)),
        (f"https://discordapp.com/channels/{GUILD}/{CHANNEL}/{MESSAGE}", Reference(MESSAGE, from_link=True)),
        (f"HTTPS://Discord.com/channels/{GUILD}/{CHANNEL}/{MESSAGE}", Reference(MESSAGE, from_link=True)),
    ],
)
def test_accepted_forms(text: str, expected: Reference) -> None:
    assert parse_reference(text, GUILD, what="poll") == expected


@pytest.mark.parametrize(
    "text",
    [
        "-1",
        "1.5",
        "١٢",  # Arabic-Indic digits
        "۱۲",  # Extended Arabic-Indic digits
        "１２",  # fullwidth digits
        "१२",  # Devanagari digits
        "12abc",
        "poll 12",
        "12 13",
        "+12",
        "# 12",
        "##12",
        "#",
        "1e3",
        "0x0c",
        f"https://discord.com/channels/{GUILD}/{CHANNEL}/{MESSAGE}/extra",
        f"https://discord.com/channels/{GUILD}/{CHANNEL}/{MESSAGE}?x=1",
        f"https://discord.com/channels/{GUILD}/{CHANNEL}/{MESSAGE} please",
        f"http://discord.com/channels/{GUILD}/{CHANNEL}/{MESSAGE}",
        f"discord.com/channels/{GUILD}/{CHANNEL}/{MESSAGE}",
        f"https://evil.example/channels/{GUILD}/{CHANNEL}/{MESSAGE}",
        f"https://discord.com.evil.example/channels/{GUILD}/{CHANNEL}/{MESSAGE}",
        f"https://disċord.com/channels/{GUILD}/{CHANNEL}/{MESSAGE}",
        f"https://discord.com/channels/{GUILD}/{CHANNEL}",  # a channel, not a poll's message
        f"https://discord.com/channels/{GUILD}/{CHANNEL}/١٢",
    ],
)
def test_anything_else_is_refused_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(InvalidReference) as caught:
        parse_reference(text, GUILD, what="poll")
    message = str(caught.value)
    assert "`12` or `#12`" in message and "message id" in message and "link" in message


def test_a_link_into_another_server_is_refused() -> None:
    with pytest.raises(InvalidReference, match="another server"):
        parse_reference(f"https://discord.com/channels/{OTHER_GUILD}/{CHANNEL}/12", GUILD, what="poll")


def test_a_thread_link_names_an_article() -> None:
    link = f"https://discord.com/channels/{GUILD}/{CHANNEL}"
    assert parse_reference(link, GUILD, what="article", thread_links=True) == Reference(CHANNEL, from_link=True)


def test_numbers_past_any_id_match_nothing() -> None:
    with pytest.raises(InvalidReference, match="No poll matches"):
        parse_reference(str(MAX_ID + 1), GUILD, what="poll")
    with pytest.raises(InvalidReference, match="No poll matches"):
        parse_reference(f"https://discord.com/channels/{GUILD}/{CHANNEL}/{MAX_ID + 1}", GUILD, what="poll")


def test_an_invalid_reference_is_an_error_shown_to_the_user() -> None:
    assert issubclass(InvalidReference, AgoraError)


def test_the_refusal_quotes_a_short_excerpt_of_long_input() -> None:
    with pytest.raises(InvalidReference) as caught:
        parse_reference("x" * 6000, GUILD, what="poll")
    assert len(str(caught.value)) < 400


@pytest.mark.parametrize(("text", "expected"), [("7", 7), ("#7", 7), (" 7 ", 7), ("-7", None), ("٧", None),
                                                 (str(2**63), None), ("", None), ("7.0", None)])  # fmt: skip
def test_parse_number(text: str, expected: int | None) -> None:
    assert parse_number(text) == expected


# --- properties over arbitrary Unicode ---------------------------------------------------------------


@given(st.text())
def test_any_text_is_a_reference_only_in_an_accepted_form(text: str) -> None:
    try:
        reference = parse_reference(text, GUILD, what="poll")
    except InvalidReference as error:
        assert len(str(error)) <= 2000
        return
    cleaned = text.strip()
    assert cleaned.isascii()
    assert 0 <= reference.number <= MAX_ID
    if reference.from_link:
        assert cleaned.lower().startswith("https://") and cleaned.endswith(f"/{reference.number}")
        assert f"/channels/{GUILD}/" in cleaned
    else:
        assert cleaned.lstrip("#").isdigit() and int(cleaned.lstrip("#")) == reference.number


@given(st.integers(min_value=0, max_value=MAX_ID), st.sampled_from(["", "#"]), st.text(" \t\n", max_size=3))
def test_every_number_in_range_reads_back(number: int, prefix: str, space: str) -> None:
    assert parse_reference(f"{space}{prefix}{number}{space}", GUILD, what="poll") == Reference(number, False)


@given(st.integers(min_value=0, max_value=MAX_ID), st.text(min_size=1))
def test_anything_after_a_valid_link_is_refused(message: int, tail: str) -> None:
    link = f"https://discord.com/channels/{GUILD}/{CHANNEL}/{message}{tail}"
    stripped = link.strip()
    if stripped[len("https://discord.com/channels/") :].replace("/", "").isdigit() and stripped.isascii():
        return  # the tail was more digits or spaces: still a well-formed link
    with pytest.raises(InvalidReference):
        parse_reference(link, GUILD, what="poll")


class _Named:
    """Two lookups over a few named things, recording which were asked."""

    def __init__(self, messages: dict[int, str], numbers: dict[int, str]) -> None:
        self.messages, self.numbers, self.asked = messages, numbers, []

    async def by_message(self, message_id: int) -> str | None:
        self.asked.append(("message", message_id))
        return self.messages.get(message_id)

    async def by_number(self, number: int) -> str | None:
        self.asked.append(("number", number))
        return self.numbers.get(number)


@pytest.mark.parametrize(
    ("reference", "found", "asked"),
    [
        (Reference(MESSAGE, from_link=False), "by message", [("message", MESSAGE)]),
        (Reference(12, from_link=False), "by number", [("message", 12), ("number", 12)]),
        (Reference(13, from_link=False), None, [("message", 13), ("number", 13)]),
        (Reference(MESSAGE, from_link=True), "by message", [("message", MESSAGE)]),
        (Reference(12, from_link=True), None, [("message", 12)]),  # a link never names a number
    ],
)
async def test_look_up_tries_the_message_id_first_and_a_number_only_when_typed(
    reference: Reference, found: str | None, asked: list[tuple[str, int]]
) -> None:
    named = _Named({MESSAGE: "by message"}, {12: "by number", MESSAGE: "number shadowed"})
    assert await look_up(reference, named.by_message, named.by_number) == found
    assert named.asked == asked
