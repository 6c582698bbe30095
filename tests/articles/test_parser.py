from pathlib import Path

import pytest

from bot.articles import ArticleFormatError, decode_article_file, parse_article_text

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "articles"
SEED = (FIXTURES / "seed_article.txt").read_text(encoding="utf-8")


def test_seed_article():
    article = parse_article_text(SEED)
    assert article.title == "Russia joins forces with France in fight against ISIS"
    assert article.published == "Thursday, 30 May 2024"
    assert article.question == (
        "What do you personally think about this partnership? Will it bring in some good results "
        "for the international fight against terrorism?"
    )
    assert article.paragraphs[0].startswith("During the last couple of days")
    assert article.paragraphs[-1].startswith("Based on everything")  # the question stays in the body
    assert "Political Lore" in article.sign_off
    assert all("If you liked" not in paragraph for paragraph in article.paragraphs)
    assert article.source_name == "Political Lore"


def test_windows_line_endings_and_bom_parse_the_same():
    crlf = "\ufeff" + SEED.replace("\n", "\r\n")
    assert parse_article_text(crlf) == parse_article_text(SEED)
    assert parse_article_text(crlf).key == parse_article_text(SEED).key


def test_no_date_line():
    article = parse_article_text("A title\n\nFirst paragraph.\n\nSecond one?")
    assert article.published is None
    assert article.title == "A title"
    assert article.paragraphs == ("First paragraph.", "Second one?")


def test_no_question_gives_none():
    article = parse_article_text("Today: Monday\n\nTitle\n\nJust facts. Nothing to ask.\n\nMore facts.")
    assert article.question is None


def test_unicode_is_kept():
    article = parse_article_text("Today: 1 мая 2024\n\nЗаголовок — «новости» 🗞️\n\nТекст статьи. Что вы думаете?")
    assert article.title == "Заголовок — «новости» 🗞️"
    assert article.published == "1 мая 2024"
    assert article.question == "Что вы думаете?"


def test_very_long_body_is_parsed_whole():
    body = "\n\n".join(f"Paragraph {i} " + "word " * 200 for i in range(200))
    article = parse_article_text(f"Title\n\n{body}")
    assert len(article.paragraphs) == 200


def test_trailing_boilerplate_removed_but_question_kept():
    text = (
        "Title\n\nBody text.\n\nWhat do you think, readers?\n\n"
        "Share this article with your friends.\n\nCopyright 2024 Example News. All rights reserved."
    )
    article = parse_article_text(text)
    assert article.paragraphs == ("Body text.", "What do you think, readers?")
    assert article.sign_off.startswith("Share this article")
    assert article.question == "What do you think, readers?"


def test_hard_wrapped_paragraphs_are_joined():
    article = parse_article_text("Title\n\nline one\nline two\n\nnext para")
    assert article.paragraphs == ("line one line two", "next para")


def test_lines_without_blank_separators_are_paragraphs():
    article = parse_article_text("Title\nFirst.\nSecond.\nThird?")
    assert article.paragraphs == ("First.", "Second.", "Third?")


def test_lead_in_clause_is_cut_from_question():
    article = parse_article_text("Title\n\nBody.\n\nWith all of this in mind, how would you vote? Tell us below.")
    assert article.question == "How would you vote?"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   \n\n  ", "empty"),
        ("Today: Monday\n\n", "no title"),
        ("x" * 300 + "\n\nbody", "not a title"),
    ],
)
def test_not_an_article(text, message):
    with pytest.raises(ArticleFormatError, match=message):
        parse_article_text(text)


def test_decode_refuses_binary_oversized_and_empty():
    with pytest.raises(ArticleFormatError, match="binary"):
        decode_article_file(b"\x89PNG\r\n\x1a\n\x00\x00", max_bytes=1000)
    with pytest.raises(ArticleFormatError, match="at most 10 bytes"):
        decode_article_file(b"a" * 11, max_bytes=10)
    with pytest.raises(ArticleFormatError, match="empty"):
        decode_article_file(b"  \n", max_bytes=10)


def test_decode_accepts_utf8_and_legacy_windows_text():
    assert decode_article_file("Título".encode(), max_bytes=100) == "Título"
    assert decode_article_file("Título".encode("cp1252"), max_bytes=100) == "Título"
