"""The one place where Agora's SQLite-flavoured SQL becomes PostgreSQL.

Every store writes SQL once, as SQLite understands it (`?` or `:name` parameters, `INSERT OR IGNORE`,
`TOTAL`, two-argument `MAX`, `json_each` over a JSON array parameter). The PostgreSQL backend passes each
statement through `to_postgres` once (the result is cached), so a new query written for SQLite mostly works
on PostgreSQL as it is; what cannot be translated is caught by the tests, which run every store on both.
Migrations are not translated here: each dialect has its own files (bot/storage/migrations/).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

_TOKENS = re.compile(
    r"""
    (?P<string>'(?:[^']|'')*')
  | (?P<quoted>"(?:[^"]|"")*")
  | (?P<cast>::)
  | (?P<named>(?<![:\w]):[A-Za-z_]\w*)
  | (?P<positional>\?)
    """,
    re.VERBOSE,
)
_INSERT_OR_IGNORE = re.compile(r"\bINSERT\s+OR\s+IGNORE\s+INTO\b", re.IGNORECASE)
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)
_LIKE = re.compile(r"(?<!I)\bLIKE\b", re.IGNORECASE)
_CAST_INTEGER = re.compile(r"\bAS\s+INTEGER\s*\)", re.IGNORECASE)
_FUNCTION = re.compile(r"\b(TOTAL|MAX|MIN|json_extract)\s*\(", re.IGNORECASE)
_JSON_TABLE = re.compile(
    r"\bjson_each\((\$\d+)\)\s+(?:AS\s+)?(?!(?:WHERE|JOIN|ON|GROUP|ORDER|LIMIT|UNION)\b)(\w+)", re.IGNORECASE
)
_JSON_VALUES = re.compile(r"\bjson_each\((\$\d+)\)", re.IGNORECASE)
_JSON_INDEX = re.compile(r"^'\$\[(\d+)\]'$")


def containing(text: str) -> str:
    """A LIKE pattern (with ESCAPE '\\') matching `text` anywhere, the user's % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True, slots=True)
class Translated:
    sql: str
    names: tuple[str, ...] | None  # for `:name` parameters: the name behind each $n; None for `?` ones
    inserts_ignoring: bool = False

    def arguments(self, params: Sequence | dict) -> tuple:
        if self.names is None:
            if isinstance(params, dict):
                raise TypeError("named parameters given to a statement with ? placeholders")
            return tuple(params)
        if not isinstance(params, dict):
            raise TypeError("positional parameters given to a statement with :name placeholders")
        return tuple(params[name] for name in self.names)


@lru_cache(maxsize=2048)
def to_postgres(sql: str) -> Translated:
    """The statement as PostgreSQL takes it, and how to order its parameters."""
    sql, names = _number_parameters(sql)
    ignoring = bool(_INSERT_OR_IGNORE.search(sql))
    if ignoring:
        sql = _INSERT_OR_IGNORE.sub("INSERT INTO", sql)
        sql = _before_returning(sql, " ON CONFLICT DO NOTHING")
    sql = _outside_strings(sql, lambda part: _CAST_INTEGER.sub("AS BIGINT)", _LIKE.sub("ILIKE", part)))
    sql = _rewrite_functions(sql)
    # json_each over an array parameter: with an alias, its rows' value (JSON) and key (0-based index);
    # without one, the scalar values as text (cast them for other types, as SQLite's CAST reads the same).
    sql = _JSON_TABLE.sub(
        r"(SELECT json_rows.value, json_rows.ordinality - 1 AS key FROM json_array_elements(CAST(\1 AS json))"
        r" WITH ORDINALITY AS json_rows(value, ordinality)) \2",
        sql,
    )
    sql = _JSON_VALUES.sub(r"json_array_elements_text(CAST(\1 AS json)) AS json_each(value)", sql)
    return Translated(sql, names, ignoring)


def _number_parameters(sql: str) -> tuple[str, tuple[str, ...] | None]:
    """`?` → `$1, $2, …` in order; `:name` → the same `$n` for every use of one name."""
    names: list[str] = []
    positional = 0
    out: list[str] = []
    last = 0
    for match in _TOKENS.finditer(sql):
        kind = match.lastgroup
        if kind in ("string", "quoted", "cast"):
            continue
        out.append(sql[last : match.start()])
        if kind == "positional":
            positional += 1
            out.append(f"${positional}")
        else:
            name = match.group()[1:]
            if name not in names:
                names.append(name)
            out.append(f"${names.index(name) + 1}")
        last = match.end()
    out.append(sql[last:])
    if positional and names:
        raise ValueError("a statement mixes ? and :name parameters")
    return "".join(out), (tuple(names) if names else None)


def _outside_strings(sql: str, change) -> str:
    parts, last = [], 0
    for match in _TOKENS.finditer(sql):
        if match.lastgroup in ("string", "quoted"):
            parts.append(change(sql[last : match.start()]))
            parts.append(match.group())
            last = match.end()
    parts.append(change(sql[last:]))
    return "".join(parts)


def _before_returning(sql: str, clause: str) -> str:
    match = _RETURNING.search(sql)
    if match is None:
        return sql.rstrip().rstrip(";") + clause
    return sql[: match.start()].rstrip() + clause + " " + sql[match.start() :]


def _rewrite_functions(sql: str) -> str:
    """TOTAL(x) → COALESCE(SUM(x), 0); MAX/MIN with two or more arguments → GREATEST/LEAST;
    json_extract(x, '$[n]') → (x ->> n)."""
    position = 0
    while match := _FUNCTION.search(sql, position):
        name = match.group(1).upper()
        open_at = match.end() - 1
        close_at = _closing_parenthesis(sql, open_at)
        inner = _rewrite_functions(sql[open_at + 1 : close_at])
        arguments = _split_arguments(inner)
        if name == "TOTAL":
            replacement = f"COALESCE(SUM({inner}), 0)"
        elif name in ("MAX", "MIN") and len(arguments) > 1:
            replacement = f"{'GREATEST' if name == 'MAX' else 'LEAST'}({inner})"
        elif name == "JSON_EXTRACT" and len(arguments) == 2 and (index := _JSON_INDEX.match(arguments[1].strip())):
            replacement = f"({arguments[0].strip()} ->> {index.group(1)})"
        else:
            replacement = sql[match.start() : open_at + 1] + inner + ")"
        sql = sql[: match.start()] + replacement + sql[close_at + 1 :]
        position = match.start() + len(replacement)
    return sql


def _closing_parenthesis(sql: str, open_at: int) -> int:
    for index, char, depth in _scan(sql, open_at):
        if char == ")" and depth == 0:
            return index
    raise ValueError(f"unbalanced parentheses in SQL: {sql!r}")


def _split_arguments(inner: str) -> list[str]:
    arguments, start = [], 0
    for index, char, depth in _scan(inner):
        if char == "," and depth == 0:
            arguments.append(inner[start:index])
            start = index + 1
    arguments.append(inner[start:])
    return arguments


def _scan(sql: str, start: int = 0) -> Iterator[tuple[int, str, int]]:
    """(index, character, parenthesis depth once it is read) of every character outside '...' literals."""
    depth, index = 0, start
    while index < len(sql):
        char = sql[index]
        if char == "'":
            index = sql.index("'", index + 1)
        else:
            depth += (char == "(") - (char == ")")
            yield index, char, depth
        index += 1
