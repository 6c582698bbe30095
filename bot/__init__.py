"""Agora: a Discord bot that posts news articles, opens discussions and runs reaction polls."""

__version__ = "0.1.0"
