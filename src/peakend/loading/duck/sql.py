"""SQL text the DuckDB loader builds its statements from: quoting, literals and
the pandas loader's stripping of text, written as SQL expressions."""

from __future__ import annotations

_WHITESPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
_INTEGER = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER")
_NUMERIC = (*_INTEGER, "UBIGINT", "HUGEINT", "FLOAT", "DOUBLE")


def _q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _in_list(values: list[str]) -> str:
    return "(" + ", ".join(_lit(v) for v in values) + ")" if values else "(NULL)"


_SPACE = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in _WHITESPACE) + "]"


def _strip(expr: str) -> str:
    """``str.strip()`` in SQL: every character Python counts as whitespace, both ends.

    (A regular expression: ``trim`` with a list of characters is ten times slower.
    Values that begin and end with a visible ASCII character, nearly all of them,
    skip the expression: that halves the cost of a column of identifiers.)
    """
    visible = f"ascii({expr}) BETWEEN 33 AND 126 AND ascii(right({expr}, 1)) BETWEEN 33 AND 126"
    stripped = f"regexp_replace({expr}, {_lit(f'^{_SPACE}+|{_SPACE}+$')}, '', 'g')"
    return f"(CASE WHEN {visible} THEN {expr} ELSE {stripped} END)"


def _text(expr: str) -> str:
    """The pandas ``_text`` of a column: text, whitespace stripped, blank as missing."""
    return f"nullif({_strip(f'CAST({expr} AS VARCHAR)')}, '')"


def _text_lower(column: str) -> str:
    return f"lower({_text(_q(column))})"
