from bot.articles import Article, article_key


def test_key_prefers_guid_then_link_then_hash():
    assert article_key("T", "B", guid="g-1", link="https://x/1") == "guid:g-1"
    assert article_key("T", "B", link="https://x/1") == "link:https://x/1"
    assert article_key("T", "B").startswith("sha256:")


def test_hash_key_ignores_case_spacing_and_unicode_form():
    assert article_key("Café  News", "Body\n text") == article_key("cafe\u0301 news", "body text")


def test_hash_key_changes_with_content():
    assert article_key("Title", "Body one") != article_key("Title", "Body two")


def test_article_key_property_uses_body():
    article = Article(title="T", paragraphs=("a", "b"))
    assert article.key == article_key("T", "a\n\nb")
