"""All three engine results from one sort of the events.

:func:`journey_features` and :func:`directly_follows` each sort a log by journey
order when called on their own. :func:`journey_tables` sorts it once: it
materialises the journey order (:func:`peakend.engine.order.journey_order`) as a
temporary table, reads the graph and the features from it, and drops it. On
DuckDB the temporary table spills to the connection's ``temp_directory`` under a
``memory_limit``, so logs larger than memory complete.

The journeys at each touchpoint come from the features: each journey carries a
bit mask of the touchpoints it visited (up to 62 distinct touchpoints), and the
set bits are counted with NumPy, a pass over one integer per journey instead of a
distinct count of journey ids over every event (0.3 s against 1.0 s for the
touchpoint statistics of 10M events). With more touchpoints the distinct count runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import ibis
import numpy as np
import pyarrow as pa

from peakend.engine.codes import CODE, MISSING, touchpoint_codes
from peakend.engine.flows import flows_from_order
from peakend.engine.journeys import MASK_CODES, TOUCHPOINT_MASK, features_from_order
from peakend.engine.order import backend_name, coded_events, journey_order
from peakend.engine.touchpoints import (
    HISTOGRAM,
    check_bands,
    distribution_from_histograms,
    score_distribution,
    touchpoints_from_coded,
)
from peakend.resources import megabytes, size_bytes

FEATURES_SHARE = 2 / 3
"""Share of DuckDB's memory limit it keeps while the features are fetched into Arrow.

The limit bounds DuckDB's buffers, not the Arrow table of the features (2.5 GB for
10.7M journeys) that arrives beside them; DuckDB still holds the journey order at
that moment, so it gives a third of its limit back (spilling more) for the features
to arrive in. Restored afterwards."""


@dataclass(frozen=True)
class JourneyTables:
    """The engine's results as Arrow tables.

    ``features`` is :func:`peakend.engine.journey_features` (one row per journey),
    ``touchpoints`` :func:`peakend.engine.touchpoint_stats`, ``flows``
    :func:`peakend.engine.directly_follows` and ``scores``
    :func:`peakend.engine.score_distribution`, with the same columns and values.
    """

    features: pa.Table
    touchpoints: pa.Table
    flows: pa.Table
    scores: pa.Table


def journey_tables(
    events: ibis.Table,
    outcomes: ibis.Table | None = None,
    *,
    outcome_col: str | None = None,
    low_max: float = -0.5,
    high_min: float = 0.5,
    on_step: Callable[[str], None] | None = None,
) -> JourneyTables:
    """Compute features, touchpoint statistics, the flow graph and the score
    distribution with one sort.

    ``outcomes``, ``outcome_col``, ``low_max`` and ``high_min`` are those of
    :func:`peakend.engine.touchpoint_stats`. Runs at once (the results are Arrow
    tables, not expressions). Features come sorted by ``journey_id``, so that
    every figure built on them is the same from run to run.

    ``on_step`` is called with ``"order"``, ``"flows"``, ``"features"``,
    ``"touchpoints"`` and ``"done"`` as each step starts (for progress bars and timings).
    """
    check_bands(low_max, high_min)  # before the sort, not after it
    step = on_step or (lambda _name: None)
    step("order")
    with touchpoint_codes(events).cache() as codes, journey_order(events, codes).cache() as order:
        catalogue = codes.to_pyarrow()
        use_mask = catalogue.num_rows < MASK_CODES  # codes run 1..n; 0 is no name
        # The graph first: its exact medians need DuckDB's memory most, and the
        # features' Arrow table (about 2 GB at 100M events) does not exist yet.
        step("flows")
        flows = flows_from_order(order, codes).to_pyarrow()
        step("features")
        features = features_from_order(order, codes, touchpoint_mask=use_mask)
        with _smaller_duckdb_limit(order, FEATURES_SHARE):
            features = features.order_by("journey_id").to_pyarrow()
        step("touchpoints")
        # From the events as stored, not the materialised order, whose row order
        # varies from run to run: sums over a touchpoint's events then repeat exactly.
        # On DuckDB the same pass counts the scores (a histogram per touchpoint).
        histogram = backend_name(events) == "duckdb"
        touchpoints = touchpoints_from_coded(
            coded_events(events, codes),
            codes,
            outcomes,
            outcome_col=outcome_col,
            low_max=low_max,
            high_min=high_min,
            count_journeys=not use_mask,
            score_histogram=histogram,
        ).to_pyarrow()
        if histogram:
            scores = distribution_from_histograms(touchpoints)
            touchpoints = touchpoints.drop_columns([HISTOGRAM])
        else:
            scores = score_distribution(events).to_pyarrow()
        if use_mask:
            # Canonical events always have a journey id, so every mask is one journey.
            journeys = _journeys_per_touchpoint(touchpoints, catalogue, features[TOUCHPOINT_MASK])
            features = features.drop_columns([TOUCHPOINT_MASK])
            touchpoints = touchpoints.add_column(2, "journeys", journeys)
    step("done")
    return JourneyTables(features=features, touchpoints=touchpoints, flows=flows, scores=scores)


@contextmanager
def _smaller_duckdb_limit(table: ibis.Table, share: float) -> Iterator[None]:
    """On DuckDB, lower the connection's memory limit to ``share`` of itself meanwhile.

    Other backends, and a limit DuckDB does not report as a size, are left alone.
    """
    backend: Any = table.get_backend()
    if getattr(backend, "name", "") != "duckdb":
        yield
        return
    con = backend.con
    before = str(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])
    size = size_bytes(before)
    if size is None:
        yield
        return
    con.execute(f"SET memory_limit = '{megabytes(size * share)}'")
    try:
        yield
    finally:
        con.execute(f"SET memory_limit = '{before}'")


def _journeys_per_touchpoint(
    touchpoints: pa.Table, catalogue: pa.Table, masks: pa.ChunkedArray
) -> pa.Array:
    """For each row of ``touchpoints``, the journeys whose mask has its code's bit."""
    per_code = _set_bits(masks)
    code_of = dict(
        zip(catalogue["touchpoint"].to_pylist(), catalogue[CODE].to_pylist(), strict=True)
    )
    codes = [
        MISSING if name is None else code_of[name] for name in touchpoints["touchpoint"].to_pylist()
    ]
    return pa.array(per_code[codes], type=pa.int64())


def _set_bits(masks: pa.ChunkedArray, rows_per_pass: int = 1 << 16) -> np.ndarray:
    """How many of ``masks`` have each of the 64 bits set (bit 0 first).

    Read in place, chunk by chunk, and unpacked 65,536 masks (4 MB of bits) at a
    time, so that counting adds almost nothing to the peak memory of a large log.
    """
    counts = np.zeros(64, dtype=np.int64)
    for chunk in masks.chunks:
        values = chunk.to_numpy(zero_copy_only=False).astype("<i8", copy=False)
        for start in range(0, len(values), rows_per_pass):
            packed = values[start : start + rows_per_pass].view(np.uint8)
            bits = np.unpackbits(packed, bitorder="little").reshape(-1, 64)
            counts += bits.sum(axis=0, dtype=np.int64)
    return counts
