"""Articles: the domain model, the article-file parser, identity keys and how they are shown."""

from bot.articles.article import Article, article_key
from bot.articles.parser import ArticleFormatError, decode_article_file, parse_article_text

__all__ = ["Article", "ArticleFormatError", "article_key", "decode_article_file", "parse_article_text"]
