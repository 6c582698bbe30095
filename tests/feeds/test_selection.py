"""The pure rules deciding which new items a subscription posts and why others are skipped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.feeds.parser import FeedItem, item_key
from bot.feeds.selection import (
    InvalidSetting,
    ItemRules,
    SkipReason,
    keyed_items,
    parse_words,
    select,
    validate_identity,
    validate_max_age,
)

NOW = datetime(2024, 6, 5, tzinfo=UTC)


def item(title: str, guid: str | None = None, link: str | None = None, *, days_old: int | None = None,
         categories: tuple[str, ...] = ()) -> FeedItem:  # fmt: skip
    published = NOW - timedelta(days=days_old) if days_old is not None else None
    return FeedItem(
        key=item_key(guid, link, title, ""), guid=guid, link=link, title=title, summary_html="", author=None,
        published=published, image_url=None, categories=categories,
    )  # fmt: skip


def test_auto_identity_is_the_guid_and_tells_colliding_guids_apart_by_link_then_title_and_date() -> None:
    items = [
        item("A", "same", "https://x/a", days_old=2),
        item("B", "same", "https://x/b", days_old=1),
        item("C", "same", None, days_old=1),
        item("D", "unique", "https://x/d"),
    ]
    keys = [key for key, _ in keyed_items(items, "auto")]
    assert keys[0] == "https://x/a" and keys[1] == "https://x/b" and keys[3] == "unique"
    assert keys[2].startswith("title:") and len(set(keys)) == 4


def test_auto_identity_keeps_the_guid_when_the_same_item_is_listed_twice() -> None:
    twice = [item("A", "g", "https://x/a"), item("A", "g", "https://x/a")]
    assert [key for key, _ in keyed_items(twice, "auto")] == ["g", "g"]
    chosen = select(keyed_items(twice, "auto"), ItemRules(), NOW)
    assert len(chosen.post) == 1 and chosen.skipped[0][2].reason == SkipReason.ALREADY_SEEN
    assert "same guid" in chosen.skipped[0][2].detail


@pytest.mark.parametrize(("identity", "expected"), [("guid", "g"), ("link", "https://x/a")])
def test_pinned_identities(identity: str, expected: str) -> None:
    assert keyed_items([item("A", "g", "https://x/a")], identity)[0][0] == expected


def test_title_identity_ignores_case_and_spacing_and_falls_back_when_there_is_no_title() -> None:
    first, second = keyed_items([item("Big  News", "1"), item("big news", "2")], "title")
    assert first[0] == second[0]
    assert keyed_items([item("", "g")], "title")[0][0] == "g"


def test_age_limit_skips_only_dated_items_older_than_it() -> None:
    items = [item("old", "1", days_old=31), item("recent", "2", days_old=29), item("undated", "3")]
    chosen = select(keyed_items(items, "auto"), ItemRules(max_age_days=30), NOW)
    assert [i.title for _, i in chosen.post] == ["recent", "undated"]
    [(_, _, skip)] = chosen.skipped
    assert skip.reason == SkipReason.TOO_OLD and "30 days" in skip.detail
    assert len(select(keyed_items(items, "auto"), ItemRules(max_age_days=0), NOW).post) == 3


def test_words_match_whole_words_in_title_or_categories_and_exclusion_wins() -> None:
    rules = ItemRules(include=("climate",), exclude=("opinion",))
    items = [item("Heat record", "1", categories=("Climate",)), item("Climate: an opinion", "2"),
             item("Climatechange", "3"), item("Other", "4")]  # fmt: skip
    chosen = select(keyed_items(items, "auto"), rules, NOW)
    assert [i.title for _, i in chosen.post] == ["Heat record"]
    assert [skip.detail.split(" (")[0] for _, _, skip in chosen.skipped] == [
        "excluded word “opinion”", "none of the included words", "none of the included words"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "words"),
    [("Climate, energy ,  local  news", ("Climate", "energy", "local news")), ("none", ()), ("a, a", ("a",))],
)
def test_words_are_comma_separated(text: str, words: tuple[str, ...]) -> None:
    assert parse_words(text, "include_words") == words


@pytest.mark.parametrize("text", [", ,", ",".join(str(n) for n in range(21)), "x" * 51])
def test_bad_words_are_refused_naming_the_setting(text: str) -> None:
    with pytest.raises(InvalidSetting, match="exclude_words"):
        parse_words(text, "exclude_words")


def test_age_and_identity_are_validated() -> None:
    assert validate_max_age(0) == 0 and validate_identity("link") == "link"
    with pytest.raises(InvalidSetting, match="max_age_days"):
        validate_max_age(-1)
    with pytest.raises(InvalidSetting, match="identity"):
        validate_identity("hash")
