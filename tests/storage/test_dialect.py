"""SQLite-flavoured statements as PostgreSQL takes them (each is also run on both backends by the store tests)."""

import pytest

from bot.storage.dialect import to_postgres


@pytest.mark.parametrize(
    ("sqlite", "postgres"),
    [
        ("SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = $1 AND b = $2"),
        ("SELECT '?', ':x' FROM t WHERE a = ?", "SELECT '?', ':x' FROM t WHERE a = $1"),
        ("INSERT OR IGNORE INTO t (a) VALUES (?)", "INSERT INTO t (a) VALUES ($1) ON CONFLICT DO NOTHING"),
        ("UPDATE j SET g = MAX(g, ?) WHERE id = 1", "UPDATE j SET g = GREATEST(g, $1) WHERE id = 1"),
        ("SELECT MAX(at) FROM e", "SELECT MAX(at) FROM e"),
        ("SELECT TOTAL(CASE a WHEN 'x' THEN 1 ELSE -1 END) FROM e",
         "SELECT COALESCE(SUM(CASE a WHEN 'x' THEN 1 ELSE -1 END), 0) FROM e"),
        ("SELECT a FROM t WHERE title LIKE ? ESCAPE '\\'", "SELECT a FROM t WHERE title ILIKE $1 ESCAPE '\\'"),
        ("SELECT CAST(x AS INTEGER) FROM t", "SELECT CAST(x AS BIGINT) FROM t"),
    ],
)  # fmt: skip
def test_positional_statements(sqlite, postgres):
    translated = to_postgres(sqlite)
    assert translated.sql == postgres
    assert translated.arguments((1, 2)[: sqlite.count("?") - sqlite.count("'?'")]) is not None


def test_named_parameters_become_numbered_once_per_name_in_order():
    translated = to_postgres("SELECT * FROM t WHERE g = :guild AND (CAST(:guild AS INTEGER) IS NULL OR s = :status)")
    assert translated.sql == "SELECT * FROM t WHERE g = $1 AND (CAST($1 AS BIGINT) IS NULL OR s = $2)"
    assert translated.arguments({"status": "open", "guild": 7, "unused": 0}) == (7, "open")


def test_a_statement_mixing_both_kinds_of_parameter_is_refused():
    with pytest.raises(ValueError, match="mixes"):
        to_postgres("SELECT * FROM t WHERE a = ? AND b = :b")
