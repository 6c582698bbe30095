from pathlib import Path

import pytest

from bot.articles import Article, parse_article_text
from bot.articles.presentation import (
    article_embed,
    marked_article_id,
    opening,
    opening_prompt,
    shorten,
    thread_name,
)
from bot.limits import EMBED_TOTAL, THREAD_NAME

SEED = parse_article_text(
    (Path(__file__).resolve().parents[1] / "fixtures" / "articles" / "seed_article.txt").read_text("utf-8")
)


@pytest.mark.parametrize("limit", [10, 37, 80, 200])
def test_shorten_never_cuts_mid_word(limit):
    text = "Alpha beta gamma delta. Epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma."
    cut = shorten(text, limit)
    assert len(cut) <= limit
    stem = cut.removesuffix("…")
    assert text.startswith(stem)
    assert stem == text or text[len(stem)] in " ." or stem.endswith(".")


def test_shorten_prefers_sentence_end():
    assert shorten("One two three. Four five six seven eight.", 30) == "One two three."


def test_shorten_leaves_short_text_alone():
    assert shorten("short", 10) == "short"


def test_seed_embed_within_limits_and_marked():
    embed = article_embed(SEED, 42, source="Political Lore")
    assert embed.title == SEED.title
    assert len(embed) <= EMBED_TOTAL
    assert len(embed.description) <= 4096
    assert embed.description.startswith("During the last couple of days")
    fields = {field.name: field.value for field in embed.fields}
    assert fields["Date"] == "Thursday, 30 May 2024"
    assert fields["Source"] == "Political Lore"
    assert marked_article_id(embed) == 42


def test_huge_article_embed_stays_within_limits():
    article = Article(title="T" * 600, paragraphs=tuple("word " * 3000 for _ in range(5)), published="d" * 2000)
    embed = article_embed(article, 1, source="s" * 3000)
    assert len(embed) <= EMBED_TOTAL
    assert len(embed.title) <= 256


def test_opening_keeps_whole_paragraphs_when_they_fit():
    article = Article(title="T", paragraphs=("First.", "Second."))
    assert opening(article) == "First.\n\nSecond."


def test_thread_name_respects_discord_limit():
    name = thread_name(Article(title="Word " * 60, paragraphs=()))
    assert len(name) <= THREAD_NAME
    assert not name.removesuffix("…").endswith(" ")


def test_prompt_uses_the_articles_question():
    prompt = opening_prompt(SEED, with_poll=True)
    assert "What do you personally think about this partnership?" in prompt
    assert "poll" in prompt
    assert "poll" not in opening_prompt(SEED, with_poll=False)


def test_prompt_default_without_question():
    prompt = opening_prompt(Article(title="T", paragraphs=("Facts.",)), with_poll=False)
    assert "What do you think about this article?" in prompt
