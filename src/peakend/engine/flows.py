"""The directly-follows graph: which touchpoint follows which, how often, how fast."""

from __future__ import annotations

import ibis

from peakend.engine.codes import CODE, decode, touchpoint_codes
from peakend.engine.order import journey_order


def directly_follows(events: ibis.Table) -> ibis.Table:
    """Count every pair (touchpoint, next touchpoint) within journeys.

    Returns ``source, target, count, journeys, median_s`` where ``median_s`` is
    the median time in seconds from one to the next (missing when the events
    have no timestamps). Order within a journey is ``(ts, seq)``.

    On logs of 100M events and more, prefer :func:`peakend.engine.journey_tables`:
    it materialises the journey order first, which lets DuckDB spill to disk;
    this lazy form runs sort, counts and medians in one pipeline and can run
    out of memory under a tight ``memory_limit``.
    """
    codes = touchpoint_codes(events)
    return flows_from_order(journey_order(events, codes), codes)


def flows_from_order(order: ibis.Table, codes: ibis.Table) -> ibis.Table:
    """:func:`directly_follows` from events in journey order (:func:`journey_order`)."""
    pairs = order.filter(order._next.notnull())
    counts = pairs.group_by([CODE, "_next"]).aggregate(
        count=pairs.count(),
        journeys=pairs.journey_id.nunique(),
        median_s=pairs._gap_s.median(),
    )
    named = decode(counts, codes, {"source": CODE, "target": "_next"})
    return named.select("source", "target", "count", "journeys", "median_s").order_by(
        [ibis.desc("count"), "source", "target"]
    )
