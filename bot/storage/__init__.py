"""The storage layer: the only place in Agora with SQL."""

from bot.storage.database import Database, SchemaTooNew

__all__ = ["Database", "SchemaTooNew"]
