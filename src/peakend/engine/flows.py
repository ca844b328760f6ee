"""The directly-follows graph: which touchpoint follows which, how often, how fast."""

from __future__ import annotations

import ibis

from peakend.engine.codes import CODE, MISSING, decode, touchpoint_codes, with_codes
from peakend.engine.journeys import journey_window, seconds_between


def directly_follows(events: ibis.Table) -> ibis.Table:
    """Count every pair (touchpoint, next touchpoint) within journeys.

    Returns ``source, target, count, journeys, median_s`` where ``median_s`` is
    the median time in seconds from one to the next (missing when the events
    have no timestamps). Order within a journey is ``(ts, seq)``.

    The sort and the pair counts run on touchpoint codes (see
    :mod:`peakend.engine.codes`); the names are looked up for the pairs only.
    """
    codes = touchpoint_codes(events)
    coded = with_codes(events, codes, ["journey_id", "ts", "seq"])
    window = journey_window(coded)
    e = coded.mutate(_next=coded[CODE].lead().over(window), _next_ts=coded.ts.lead().over(window))
    pairs = e.filter(e._next.notnull() & (e._next != MISSING))
    gap = seconds_between(pairs._next_ts, pairs.ts)
    graph = pairs.group_by(_source=pairs[CODE], _target=pairs._next).aggregate(
        count=pairs.count(),
        journeys=pairs.journey_id.nunique(),
        median_s=gap.median(),
    )
    named = decode(graph, codes, {"source": "_source", "target": "_target"})
    return named.select("source", "target", "count", "journeys", "median_s").order_by(
        [ibis.desc("count"), "source", "target"]
    )
