"""All three engine results from one sort of the events.

:func:`journey_features` and :func:`directly_follows` each sort a log by journey
order when called on their own. :func:`journey_tables` sorts it once: it
materialises the journey order (:func:`peakend.engine.order.journey_order`) as a
temporary table, reads the features and the graph from it, and drops it. On
DuckDB the temporary table spills to the connection's ``temp_directory`` under a
``memory_limit``, so logs larger than memory complete.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ibis
import pyarrow as pa

from peakend.engine.codes import touchpoint_codes
from peakend.engine.flows import flows_from_order
from peakend.engine.journeys import features_from_order
from peakend.engine.order import coded_events, journey_order
from peakend.engine.touchpoints import check_bands, touchpoints_from_coded


@dataclass(frozen=True)
class JourneyTables:
    """The engine's results as Arrow tables.

    ``features`` is :func:`peakend.engine.journey_features` (one row per journey),
    ``touchpoints`` :func:`peakend.engine.touchpoint_stats` and ``flows``
    :func:`peakend.engine.directly_follows`, with the same columns and values.
    """

    features: pa.Table
    touchpoints: pa.Table
    flows: pa.Table


def journey_tables(
    events: ibis.Table,
    outcomes: ibis.Table | None = None,
    *,
    outcome_col: str | None = None,
    low_max: float = -0.5,
    high_min: float = 0.5,
    on_step: Callable[[str], None] | None = None,
) -> JourneyTables:
    """Compute features, touchpoint statistics and the flow graph with one sort.

    ``outcomes``, ``outcome_col``, ``low_max`` and ``high_min`` are those of
    :func:`peakend.engine.touchpoint_stats`. Runs at once (the results are Arrow
    tables, not expressions). Features come sorted by ``journey_id``, so that
    every figure built on them is the same from run to run.

    ``on_step`` is called with ``"order"``, ``"features"``, ``"touchpoints"``,
    ``"flows"`` and ``"done"`` as each step starts (for progress bars and timings).
    """
    check_bands(low_max, high_min)  # before the sort, not after it
    step = on_step or (lambda _name: None)
    step("order")
    with touchpoint_codes(events).cache() as codes, journey_order(events, codes).cache() as order:
        step("features")
        features = features_from_order(order, codes).order_by("journey_id").to_pyarrow()
        step("touchpoints")
        # From the events as stored, not the materialised order, whose row order
        # varies from run to run: sums over a touchpoint's events then repeat exactly.
        touchpoints = touchpoints_from_coded(
            coded_events(events, codes),
            codes,
            outcomes,
            outcome_col=outcome_col,
            low_max=low_max,
            high_min=high_min,
        ).to_pyarrow()
        step("flows")
        flows = flows_from_order(order, codes).to_pyarrow()
    step("done")
    return JourneyTables(features=features, touchpoints=touchpoints, flows=flows)
