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
pandas loader.
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
