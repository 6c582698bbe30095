import json

import pytest

from bot.polls.options import (
    DEFAULT_ARTICLE_OPTIONS,
    MAX_QUESTION_LENGTH,
    GuildEmoji,
    InvalidOptions,
    InvalidQuestion,
    PollOption,
    article_poll,
    article_poll_spec,
    article_question,
    custom_emoji_key,
    emoji_key,
    is_unicode_emoji,
    options_from_json,
    options_to_json,
    parse_options,
    validate_options,
    validate_question,
)

PARTY = GuildEmoji(id=112233445566778899, name="party")
DANCE = GuildEmoji(id=998877665544332211, name="Dance", animated=True)


@pytest.mark.parametrize(
    "text",
    [
        "👍", "👎", "🤷", "🤷‍♀️", "❤️", "❤", "1️⃣", "🔟", "#️⃣", "*️⃣", "👍🏽", "👩‍👩‍👧‍👦",
        "🇫🇷", "🇦", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "©️", "™️", "⭐", "✅", "⏰", "🅰️", "🫠", "🫨", "☀️", "‼️",
    ],
)  # fmt: skip
def test_recognises_unicode_emoji(text: str) -> None:
    assert is_unicode_emoji(text)


@pytest.mark.parametrize(
    "text",
    ["", "a", "1", "#", "yes", "👍👎", "👍 ", ":smile:", "─", "⠿", "中", "é", "🄰", "\u200d", "\ufe0f", "1\ufe0f"],
)
def test_rejects_text_that_is_not_one_emoji(text: str) -> None:
    assert not is_unicode_emoji(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Yes | No", [("1️⃣", "Yes"), ("2️⃣", "No")]),
        ("👍 Support | 👎 Oppose | 🤷 Unsure", [("👍", "Support"), ("👎", "Oppose"), ("🤷", "Unsure")]),
        ("👍Support|👎Oppose", [("👍", "Support"), ("👎", "Oppose")]),
        ("  A  |  B  ", [("1️⃣", "A"), ("2️⃣", "B")]),
        ("🇫🇷 France | 🇩🇪 Germany", [("🇫🇷", "France"), ("🇩🇪", "Germany")]),
        ("🇦 Apples | 🇧 Bananas", [("🇦", "Apples"), ("🇧", "Bananas")]),
        ("Plain | 🔥 Hot", [("1️⃣", "Plain"), ("🔥", "Hot")]),
        ("10 years | 20 years", [("1️⃣", "10 years"), ("2️⃣", "20 years")]),
        ("👩‍🚀 Space | 🏳️‍🌈 Pride", [("👩‍🚀", "Space"), ("🏳️‍🌈", "Pride")]),
        (
            "<:party:112233445566778899> Party | <a:Dance:998877665544332211> Dance",
            [("<:party:112233445566778899>", "Party"), ("<a:Dance:998877665544332211>", "Dance")],
        ),
        (
            ":party: Party | :dance: Dance",
            [("<:party:112233445566778899>", "Party"), ("<a:Dance:998877665544332211>", "Dance")],
        ),
        (" | ".join(f"O{i}" for i in range(10)), [(e, f"O{i}") for i, e in enumerate(
            ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣", "6️⃣", "7️⃣", "8️⃣", "9️⃣", "🔟"])]),
    ],
)  # fmt: skip
def test_parses_options(text: str, expected: list[tuple[str, str]]) -> None:
    options = parse_options(text, [PARTY, DANCE])
    assert [(option.emoji, option.label) for option in options] == expected


@pytest.mark.parametrize(
    ("text", "message_part"),
    [
        ("Only one", "at least 2 options"),
        ("", "at least 2 options"),
        (" | ".join(f"O{i}" for i in range(11)), "at most 10 options; you gave 11"),
        ("👍 Yes | 👍 Also yes", "Options 1 and 2 both use 👍"),
        ("❤️ Love | ❤ Also love", "Options 1 and 2 both use"),
        ("2️⃣ Two | Second", "Options 1 and 2 both use 2️⃣"),
        ("<:other:555555555555555555> X | No", "not one of this server's emoji"),
        (":nosuch: X | No", "unknown emoji `:nosuch:`"),
        ("Yes | ", "Option 2 is empty"),
        ("Yes || No", "Option 2 is empty"),
        ("👍 | 👎 No", r"Option 1 \(👍\) has an empty label"),
        ("Yes | " + "x" * 101, "longer than 100 characters"),
    ],
)
def test_rejects_invalid_options_with_a_user_message(text: str, message_part: str) -> None:
    with pytest.raises(InvalidOptions, match=message_part):
        parse_options(text, [PARTY, DANCE])


def test_shortcode_matches_case_insensitively_when_unambiguous() -> None:
    options = parse_options(":PARTY: P | :dance: D", [PARTY, DANCE])
    assert options[0].emoji == str(PARTY)


def test_shortcode_is_refused_when_case_insensitive_match_is_ambiguous() -> None:
    twins = [GuildEmoji(1, "Cat"), GuildEmoji(2, "CAT")]
    with pytest.raises(InvalidOptions, match="unknown emoji"):
        parse_options(":cat: A | B", twins)


def test_custom_emoji_keys_ignore_renames_and_animation_prefix() -> None:
    assert emoji_key("<:old:42>") == emoji_key("<a:new:42>") == custom_emoji_key(42)


def test_unicode_emoji_keys_ignore_variation_selectors() -> None:
    assert emoji_key("❤️") == emoji_key("❤")
    assert emoji_key("1️⃣") == emoji_key("1⃣")
    assert emoji_key("👍") != emoji_key("👎")


def test_validate_options_refuses_text_posing_as_emoji() -> None:
    with pytest.raises(InvalidOptions, match="is not an emoji"):
        validate_options([PollOption("Y", "Yes"), PollOption("N", "No")])


@pytest.mark.parametrize(("question", "error"), [("", "empty"), ("   ", "empty"), ("x" * 257, "at most 256")])
def test_rejects_invalid_questions(question: str, error: str) -> None:
    with pytest.raises(InvalidQuestion, match=error):
        validate_question(question)


def test_question_at_the_embed_limit_is_accepted_and_trimmed() -> None:
    assert validate_question("  " + "x" * 256 + " ") == "x" * 256


def test_article_question_prefers_the_articles_own_question() -> None:
    assert article_question("Will it work?", "Template {title}", "Title") == "Will it work?"


def test_article_question_falls_back_to_the_subscription_template() -> None:
    assert article_question(None, "Is {title} good news?", "The plan") == "Is The plan good news?"


def test_article_question_default_names_the_title() -> None:
    assert article_question("  ", None, "Russia joins France") == (
        'What do you think of the subject of "Russia joins France"?'
    )


def test_article_question_tolerates_braces_in_templates() -> None:
    assert article_question(None, "{title} {x} {}", "T") == "T {x} {}"


def test_article_question_shortens_long_titles_keeping_the_template() -> None:
    question = article_question(None, "Opinion on {title}?", "word " * 100)
    assert len(question) <= MAX_QUESTION_LENGTH
    assert question.startswith("Opinion on word") and question.endswith("…?")


def test_article_question_shortens_a_long_own_question() -> None:
    question = article_question("why " * 100, None, "T")
    assert len(question) == MAX_QUESTION_LENGTH and question.endswith("…")


def test_subscription_options_default_and_round_trip() -> None:
    assert options_from_json(None) == DEFAULT_ARTICLE_OPTIONS
    custom = (PollOption("✅", "Agree"), PollOption("❌", "Disagree"))
    assert options_from_json(options_to_json(custom)) == custom


@pytest.mark.parametrize(
    "stored",
    [json.dumps([["✅", "Agree"]]), json.dumps({"a": 1}), "not json", json.dumps([["✅", "A"], ["✅", "B"]])],
)
def test_invalid_subscription_options_are_refused(stored: str) -> None:
    with pytest.raises(InvalidOptions):
        options_from_json(stored)


def test_article_poll_reads_the_delivery_spec_and_defaults_without_one() -> None:
    assert article_poll("Own?", "T", None) == ("Own?", DEFAULT_ARTICLE_OPTIONS)
    spec = article_poll_spec("About {title}?", options_to_json([PollOption("✅", "Yes"), PollOption("❌", "No")]))
    assert article_poll(None, "Rates", spec) == ("About Rates?", (PollOption("✅", "Yes"), PollOption("❌", "No")))
    assert article_poll_spec("  ", None) is None


@pytest.mark.parametrize("spec", ["not json", json.dumps({"options": [["✅", "Only one"]]})])
def test_article_poll_refuses_invalid_specs(spec: str) -> None:
    with pytest.raises(InvalidOptions):
        article_poll(None, "T", spec)
