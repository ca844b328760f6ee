"""A declared ``timestamp_format`` read by the SQL loaders: which formats, and how.

The pandas loader reads such times with ``pandas.to_datetime(format=...)``, which
matches each value against a regular expression built from the format (CPython's
``_strptime``: each directive a fixed pattern, a run of whitespace any run of it,
case ignored) and builds the time from the groups. :func:`format_pattern` builds
that expression for the directives of day, month, year, hour, minute, second and
AM/PM, as ASCII digits: a time it matches is read by DuckDB's ``strptime`` with
the same format to the same value. Anything it does not match is NULL to the SQL
and is then confirmed unreadable by the pandas reader, which sends the load to the
pandas loader should it read one (a leap second ``:60``, digits of another script).

Formats with other directives (month names, fractions, offsets), and those pandas
reads as ISO 8601 with its own parser (they begin with the year), stay with the
pandas loader. Spark reads the matched times with ``try_to_timestamp`` and the
same fields (:func:`java_pattern`); it refuses a two-digit year and two fields
with nothing between them, which its parser reads otherwise.
"""

from __future__ import annotations

import re

_DIRECTIVES = {
    "d": "(3[01]|[12][0-9]|0[1-9]|[1-9]| [1-9])",
    "m": "(1[0-2]|0[1-9]|[1-9])",
    "Y": "([0-9][0-9][0-9][0-9])",
    "y": "([0-9][0-9])",
    "H": "(2[0-3]|[0-1][0-9]|[0-9])",
    "I": "(1[0-2]|0[1-9]|[1-9])",
    "M": "([0-5][0-9]|[0-9])",
    "S": "(6[0-1]|[0-5][0-9]|[0-9])",
    "p": "(am|pm)",
    "%": "%",
}
"""CPython's ``_strptime`` pattern of each directive read in SQL (``\\d`` as ``[0-9]``)."""
_REGEX_CHARS = re.compile(r"([\\.^$*+?\(\){}\[\]|])")


def format_pattern(fmt: str) -> str | None:
    """The regular expression (for DuckDB's ``regexp_full_match``) of the times the
    pandas reader reads with ``fmt``, or None when the SQL loaders leave ``fmt`` to it."""
    directives = re.findall(r"%(.)", fmt)
    if fmt.startswith("%Y") or any(d not in _DIRECTIVES for d in directives):
        return None
    if ("I" in directives) != ("p" in directives):  # (an hour of 12 needs its AM/PM)
        return None
    pattern = _REGEX_CHARS.sub(r"\\\1", fmt)
    pattern = re.sub(r"\s+", r"\\s+", pattern)
    pattern = re.sub(r"%(.)", lambda m: _DIRECTIVES[m.group(1)].replace("\\", "\\\\"), pattern)
    return "(?i)" + pattern


_JAVA = {"d": "d", "m": "M", "Y": "yyyy", "H": "H", "I": "h", "M": "m", "S": "s", "p": "a"}
"""Spark's pattern letter of each directive (one letter: one digit or two are read)."""


def java_pattern(fmt: str) -> str | None:
    """Spark's ``to_timestamp`` pattern for the times :func:`format_pattern` matches,
    with every run of whitespace one space (the times are read so), or None where
    Spark would read them otherwise: a two-digit year (Spark puts it in 2000-2099,
    Python's ``%y`` 69 and later in the 1900s) and two directives with nothing between
    them (Spark gives the first a fixed width)."""
    if format_pattern(fmt) is None or "%y" in fmt:
        return None
    tokens = re.findall(r"([^%]*)(?:%(.)|$)", re.sub(r"\s+", " ", fmt))
    parts: list[str] = []
    text = ""
    for literal, directive in tokens:
        text += literal + ("%" if directive == "%" else "")
        if directive and directive != "%":
            if parts and not text:
                return None
            if text:
                parts.append("'" + text.replace("'", "''") + "'")
            parts.append(_JAVA[directive])
            text = ""
    if text:
        parts.append("'" + text.replace("'", "''") + "'")
    return "".join(parts)
