"""The journey engine: per-journey features, per-touchpoint statistics and the flow graph.

:func:`journey_tables` computes all three with one sort of the events; the
single functions return lazy expressions for one result each.

Every function takes an Ibis table of canonical events (:data:`peakend.schema.EVENT_SCHEMA`)
and returns an Ibis expression, so the same code runs on DuckDB (the default,
embedded) and on PySpark or any other Ibis backend where a large customer's
events live. Nothing here loops over rows in Python.

Event order within a journey is ``(ts, seq)``: timestamps tie often (two
touchpoints logged in the same second), and ``seq`` — the source order — breaks
those ties so that results never depend on how the database happens to sort.
"""

from peakend.engine.backend import (
    connect,
    dataset_events,
    events_table,
    outcomes_table,
    utc_times,
)
from peakend.engine.flows import directly_follows
from peakend.engine.journeys import journey_features
from peakend.engine.order import ordered_events
from peakend.engine.tables import JourneyTables, journey_tables
from peakend.engine.touchpoints import score_distribution, touchpoint_stats

__all__ = [
    "JourneyTables",
    "connect",
    "dataset_events",
    "directly_follows",
    "events_table",
    "journey_features",
    "journey_tables",
    "ordered_events",
    "outcomes_table",
    "score_distribution",
    "touchpoint_stats",
    "utc_times",
]
