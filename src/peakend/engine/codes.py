"""Touchpoints as small integer codes while the engine sorts and aggregates.

A journey's order-dependent features (first, last, best, trough and end
touchpoint) carry the touchpoint name through a sort of every event and
through per-journey aggregate states. Carrying a 32-bit code instead and
looking the few distinct names up at the end does the same work on
fixed-width integers: on 10M events it took about a sixth of the CPU time off
the features and a tenth off the touchpoint statistics (DuckDB, see
``bench/README.md``). Results are unchanged: a code stands for exactly one name.
"""

from __future__ import annotations

import ibis

CODE = "_tp"
"""Column holding the touchpoint code in :func:`with_codes` tables."""

MISSING = 0
"""Code of an event without a touchpoint name: never null, so that a code can be
packed with a position into one integer (see :mod:`peakend.engine.journeys`), and
never in the catalogue, so that it decodes to a missing name."""


def touchpoint_codes(events: ibis.Table) -> ibis.Table:
    """``touchpoint, _tp``: one row per distinct touchpoint name, coded 1, 2, … by name."""
    names = events.select("touchpoint").distinct()
    names = names.filter(names.touchpoint.notnull())
    code = ibis.row_number().over(order_by=names.touchpoint) + 1
    return names.mutate(**{CODE: code.cast("int32")})


def with_codes(events: ibis.Table, codes: ibis.Table, columns: list[str]) -> ibis.Table:
    """``columns`` of ``events`` plus the touchpoint code (:data:`MISSING` without a name)."""
    joined = events.left_join(codes, "touchpoint")
    return joined.select(*columns, **{CODE: joined[CODE].fill_null(MISSING)})


def decode(table: ibis.Table, codes: ibis.Table, columns: dict[str, str]) -> ibis.Table:
    """Add a name column for each ``{name_column: code_column}`` and drop the codes.

    Each code column is looked up in ``codes`` with a left join, so a missing
    code gives a missing name; the other columns keep their order.
    """
    out = table
    for name_col, code_col in columns.items():
        lookup = codes.select(**{f"{code_col}_key": codes[CODE], name_col: codes.touchpoint})
        out = out.left_join(lookup, out[code_col] == lookup[f"{code_col}_key"]).drop(
            f"{code_col}_key"
        )
    return out.drop(*columns.values())
