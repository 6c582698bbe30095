"""Poll questions and options: parsing `"👍 Yes | 👎 No"`, emoji checks, limits and article defaults."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.errors import AgoraError
from bot.limits import cut
from bot.quoting import excerpt, quote

MIN_OPTIONS = 2
MAX_OPTIONS = 10
MAX_LABEL_LENGTH = 100
# The question is the embed title, whose limit Discord enforces at 256 characters.
MAX_QUESTION_LENGTH = 256

NUMBER_EMOJIS = ("1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣", "6️⃣", "7️⃣", "8️⃣", "9️⃣", "🔟")
DEFAULT_QUESTION_TEMPLATE = 'What do you think of the subject of "{title}"?'


class InvalidOptions(AgoraError):
    """The options a moderator gave cannot make a poll; the message says why."""


class InvalidQuestion(AgoraError):
    """The poll question is empty or too long for the embed."""


@dataclass(frozen=True, slots=True)
class PollOption:
    emoji: str  # a unicode emoji, or "<:name:id>" / "<a:name:id>" for a server's custom emoji
    label: str

    @property
    def key(self) -> str:
        return emoji_key(self.emoji)


@dataclass(frozen=True, slots=True)
class GuildEmoji:
    """A server's custom emoji, as much of it as option parsing needs."""

    id: int
    name: str
    animated: bool = False

    def __str__(self) -> str:
        return f"<{'a' if self.animated else ''}:{self.name}:{self.id}>"


DEFAULT_ARTICLE_OPTIONS = (
    PollOption("👍", "Support"),
    PollOption("👎", "Oppose"),
    PollOption("🤷", "Unsure"),
)

# --- emoji recognition -------------------------------------------------------------------------------
# Python's unicodedata has no Emoji property, so pictographs are recognised by the blocks that hold them.
# The blocks are taken coarsely (a few non-emoji symbols pass); Discord is the final judge when the bot
# adds its reactions, and the cog reports an emoji Discord refuses. What must never pass is plain text.
_PICTOGRAPH_RANGES = (
    (0x00A9, 0x00A9), (0x00AE, 0x00AE), (0x203C, 0x203C), (0x2049, 0x2049), (0x2122, 0x2122),
    (0x2139, 0x2139), (0x2194, 0x2199), (0x21A9, 0x21AA), (0x2300, 0x23FF), (0x24C2, 0x24C2),
    (0x25A0, 0x25FF), (0x2600, 0x27BF), (0x2934, 0x2935), (0x2B05, 0x2B07), (0x2B1B, 0x2B1C),
    (0x2B50, 0x2B50), (0x2B55, 0x2B55), (0x3030, 0x3030), (0x303D, 0x303D), (0x3297, 0x3297),
    (0x3299, 0x3299), (0x1F000, 0x1F0FF),
    # Enclosed alphanumerics: only the squared letters that are emoji (🅰 🅱 🅾 🅿 🆎 🆑…🆚) and the
    # regional indicators; the rest are letters in boxes.
    (0x1F170, 0x1F171), (0x1F17E, 0x1F17F), (0x1F18E, 0x1F18E), (0x1F191, 0x1F19A), (0x1F1E6, 0x1F1FF),
    # Unassigned code points here are accepted on purpose: newer emoji than this Python's Unicode tables.
    (0x1F200, 0x1FAFF),
)  # fmt: skip


def _char_class(ranges: Iterable[tuple[int, int]]) -> str:
    return "[" + "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in ranges) + "]"


_BASE = _char_class(_PICTOGRAPH_RANGES)
_VARIATION = "[\ufe0e\ufe0f]"
_SKIN_TONE = "[\U0001f3fb-\U0001f3ff]"
_KEYCAP = "[0-9#*]\ufe0f?\u20e3"
_FLAG = "[\U0001f1e6-\U0001f1ff]{2}"
_TAG_SEQUENCE = "\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f"
# Flags and keycaps first: a regional indicator alone is also a base (Discord accepts 🇦 as a reaction).
_ELEMENT = f"(?:{_KEYCAP}|{_FLAG}|{_TAG_SEQUENCE}|{_BASE}{_VARIATION}?{_SKIN_TONE}?{_VARIATION}?)"
_UNICODE_EMOJI = re.compile(f"{_ELEMENT}(?:\u200d{_ELEMENT})*")
_CUSTOM_EMOJI = re.compile(r"<(a?):([A-Za-z0-9_]{2,32}):(\d{1,21})>")
_SHORTCODE = re.compile(r":([A-Za-z0-9_\-~]{2,32}):")


def is_unicode_emoji(text: str) -> bool:
    """True if the whole text is one emoji (a ZWJ sequence, flag or keycap counts as one)."""
    return _UNICODE_EMOJI.fullmatch(text) is not None


def emoji_key(emoji: str) -> str:
    """The identity of an emoji for matching reactions to options.

    Custom emoji are matched by id (their names can be renamed); unicode emoji without their variation
    selectors, since a reaction may come back with or without U+FE0F.
    """
    custom = _CUSTOM_EMOJI.fullmatch(emoji)
    if custom:
        return custom_emoji_key(int(custom.group(3)))
    return emoji.replace("\ufe0f", "").replace("\ufe0e", "")


def custom_emoji_key(emoji_id: int) -> str:
    return f"custom:{emoji_id}"


class ReactionEmoji(Protocol):
    """An emoji as a reaction event carries it (discord.PartialEmoji, discord.Emoji)."""

    @property
    def id(self) -> int | None: ...

    @property
    def name(self) -> str | None: ...


def reaction_key(emoji: ReactionEmoji | str) -> str:
    """The `emoji_key` of a reaction's emoji, to match it against a poll's options."""
    if isinstance(emoji, str):
        return emoji_key(emoji)
    if emoji.id:
        return custom_emoji_key(emoji.id)
    return emoji_key(emoji.name or "")


def reaction_route_emoji(emoji: str) -> str:
    """An option's emoji as Discord's reaction routes take it: unicode as is, a custom one as name:id."""
    custom = _CUSTOM_EMOJI.fullmatch(emoji)
    return f"{custom.group(2)}:{custom.group(3)}" if custom else emoji


# --- option strings ----------------------------------------------------------------------------------


def parse_options(text: str, guild_emojis: Iterable[GuildEmoji] = ()) -> tuple[PollOption, ...]:
    """Parse `"A | B"` or `"👍 Yes | <:no:123> No"` into validated options.

    An option without an emoji gets the keycap of its position (1️⃣, 2️⃣…). Custom emoji must be among
    `guild_emojis`, the server's emoji; `:name:` picks one of them by name.
    """
    emojis = tuple(guild_emojis)
    parts = [part.strip() for part in text.split("|")]
    if len(parts) < MIN_OPTIONS:
        raise InvalidOptions(
            f"A poll needs at least {MIN_OPTIONS} options, separated by `|`: for example `Yes | No | Maybe`."
        )
    if len(parts) > MAX_OPTIONS:
        raise InvalidOptions(f"A poll can have at most {MAX_OPTIONS} options; you gave {len(parts)}.")
    options = []
    for position, part in enumerate(parts):
        emoji, label = _split_option(part, position, emojis)
        options.append(PollOption(emoji or NUMBER_EMOJIS[position], label))
    return validate_options(options)


def _split_option(part: str, position: int, guild_emojis: Sequence[GuildEmoji]) -> tuple[str | None, str]:
    """(emoji or None, label) of one option; the emoji, if any, stands first."""
    if not part:
        raise InvalidOptions(f"Option {position + 1} is empty: each option between `|` needs a label.")
    custom = _CUSTOM_EMOJI.match(part)
    if custom:
        emoji_id = int(custom.group(3))
        if not any(emoji.id == emoji_id for emoji in guild_emojis):
            raise InvalidOptions(
                f"Option {position + 1}: the emoji `:{custom.group(2)}:` is not one of this server's emoji, "
                "so the bot cannot react with it."
            )
        return custom.group(0), part[custom.end() :].strip()
    shortcode = _SHORTCODE.match(part)
    if shortcode:
        return str(_guild_emoji_named(shortcode.group(1), position, guild_emojis)), part[shortcode.end() :].strip()
    unicode_emoji = _UNICODE_EMOJI.match(part)
    if unicode_emoji:
        return unicode_emoji.group(0), part[unicode_emoji.end() :].strip()
    return None, part


def _guild_emoji_named(name: str, position: int, guild_emojis: Sequence[GuildEmoji]) -> GuildEmoji:
    exact = [emoji for emoji in guild_emojis if emoji.name == name]
    loose = [emoji for emoji in guild_emojis if emoji.name.lower() == name.lower()]
    # A name differing only in case is taken when it is unambiguous: people rarely remember the case.
    match = exact[:1] or (loose if len(loose) == 1 else [])
    if not match:
        raise InvalidOptions(
            f"Option {position + 1}: unknown emoji `:{name}:`. Pick the emoji with Discord's emoji picker, "
            "or use one of this server's emoji."
        )
    return match[0]


def validate_options(options: Sequence[PollOption]) -> tuple[PollOption, ...]:
    """Check count, labels and emoji uniqueness of options from any source (command or subscription)."""
    if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
        raise InvalidOptions(f"A poll needs {MIN_OPTIONS} to {MAX_OPTIONS} options; it has {len(options)}.")
    seen: dict[str, int] = {}
    for position, option in enumerate(options, start=1):
        if not option.label.strip():
            raise InvalidOptions(f"Option {position} ({excerpt(option.emoji)}) has an empty label.")
        if len(option.label) > MAX_LABEL_LENGTH:
            raise InvalidOptions(f"Option {position}'s label is longer than {MAX_LABEL_LENGTH} characters.")
        if not (_CUSTOM_EMOJI.fullmatch(option.emoji) or is_unicode_emoji(option.emoji)):
            raise InvalidOptions(f"Option {position}: {quote(option.emoji)} is not an emoji.")
        if option.key in seen:
            raise InvalidOptions(
                f"Options {seen[option.key]} and {position} both use {excerpt(option.emoji)}: each option needs its "
                "own emoji, since the emoji is how people vote."
            )
        seen[option.key] = position
    return tuple(options)


def validate_question(question: str) -> str:
    cleaned = question.strip()
    if not cleaned:
        raise InvalidQuestion("The poll question is empty.")
    if len(cleaned) > MAX_QUESTION_LENGTH:
        raise InvalidQuestion(
            f"The question is {len(cleaned)} characters long; a poll question can have at most {MAX_QUESTION_LENGTH}."
        )
    return cleaned


# --- article polls -----------------------------------------------------------------------------------


def article_question(own_question: str | None, template: str | None, title: str) -> str:
    """The question of an article's poll: the article's own question to readers, else the template.

    Articles are not moderator input, so an over-long question is shortened rather than refused.
    """
    if own_question and own_question.strip():
        return cut(own_question.strip(), MAX_QUESTION_LENGTH)
    pattern = (template or "").strip() or DEFAULT_QUESTION_TEMPLATE
    if "{title}" not in pattern:
        return cut(pattern, MAX_QUESTION_LENGTH)
    # str.replace, not str.format: a template with other braces must not raise.
    room = MAX_QUESTION_LENGTH - (len(pattern) - len("{title}") * pattern.count("{title}"))
    short_title = cut(title.strip(), max(room // pattern.count("{title}"), 1))
    return cut(pattern.replace("{title}", short_title), MAX_QUESTION_LENGTH)


def article_poll(own_question: str | None, title: str, spec: str | None) -> tuple[str, tuple[PollOption, ...]]:
    """Question and options of an article's poll, from the delivery's poll spec (see `article_poll_spec`)."""
    pairs = poll_settings(spec).get("options")
    return (
        article_poll_question(own_question, title, spec),
        _options_from_pairs(pairs) if pairs else DEFAULT_ARTICLE_OPTIONS,
    )


def article_poll_question(own_question: str | None, title: str, spec: str | None) -> str:
    """The question alone, also when the spec's options are unusable; unreadable settings mean the default."""
    try:
        template = poll_settings(spec).get("question_template")
    except InvalidOptions:
        template = None
    return article_question(own_question, template if isinstance(template, str) else None, title)


def poll_settings(spec: str | None) -> dict:
    try:
        settings = json.loads(spec) if spec else {}
    except ValueError as error:
        raise InvalidOptions("The article's poll settings are not valid JSON.") from error
    if not isinstance(settings, dict):
        raise InvalidOptions("The article's poll settings are not a JSON object.")
    return settings


def article_poll_spec(question_template: str | None, options_json: str | None) -> str | None:
    """A delivery's poll spec from a subscription's poll settings; None when they are the defaults.

    `options_json` is the subscription's `poll_options` column (a JSON list of [emoji, label]).
    """
    if not (question_template and question_template.strip()) and not options_json:
        return None
    spec: dict[str, object] = {}
    if question_template and question_template.strip():
        spec["question_template"] = question_template.strip()
    if options_json:
        spec["options"] = [[option.emoji, option.label] for option in options_from_json(options_json)]
    return json.dumps(spec, ensure_ascii=False)


def options_from_json(text: str | None) -> tuple[PollOption, ...]:
    """Options stored on a subscription as a JSON list of [emoji, label]; the defaults when unset."""
    if not text:
        return DEFAULT_ARTICLE_OPTIONS
    try:
        pairs = json.loads(text)
    except ValueError as error:
        raise InvalidOptions("The subscription's poll options are not a list of [emoji, label] pairs.") from error
    return _options_from_pairs(pairs)


def _options_from_pairs(pairs: Any) -> tuple[PollOption, ...]:  # decoded JSON: checked by unpacking it
    try:
        options = [PollOption(str(emoji), str(label)) for emoji, label in pairs]
    except (ValueError, TypeError) as error:
        raise InvalidOptions("The poll options are not a list of [emoji, label] pairs.") from error
    return validate_options(options)


def options_to_json(options: Sequence[PollOption]) -> str:
    return json.dumps([[option.emoji, option.label] for option in options], ensure_ascii=False)
