"""What a store may ask of its database: the part both backends (SQLite's `Database`, `PostgresDatabase`) offer.

Stores are written against this protocol, so a type checker holds them to what both backends implement.
Rows are typed `Any`: a column's Python type is the schema's business, read where the row is turned into a
record.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol


class StoreConnection(Protocol):
    """The connection a transaction yields: an aiosqlite connection, or PostgreSQL's look-alike."""

    def execute(self, sql: str, params: Any = ...) -> Any: ...

    async def executemany(self, sql: str, rows: Any) -> Any: ...

    async def execute_fetchall(self, sql: str, params: Any = ...) -> Any: ...


class StoreDatabase(Protocol):
    dialect: str

    def transaction(self) -> AbstractAsyncContextManager[StoreConnection]: ...

    async def fetch_one(self, sql: str, params: Any = ...) -> Any: ...

    async def fetch_all(self, sql: str, params: Any = ...) -> list[Any]: ...

    async def fetch_value(self, sql: str, params: Any = ...) -> Any: ...

    def chunks(self, sql: str, params: Any, size: int) -> AsyncGenerator[list[tuple], None]: ...

    async def schema_version(self) -> int: ...

    async def database_size(self) -> int: ...


# sqlite3.Row or asyncpg.Record: both are read by position and by column name.
Row = Any
