"""What a moments design needs from the events, computed where the events are.

The moments model fits on one row per journey. From the events it needs only
aggregates: which touchpoints have scores, the count and sum of the scores (or
valences) of every journey x touchpoint, how many journeys there are, each
journey's customer, and (when effects are adjusted) the journey features. For
events in memory these come from Arrow; for events left on a Spark session
(``--backend spark``) they are Ibis queries run there, and only the aggregates
(about as many rows as journeys x scored touchpoints, not events) come back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from peakend.load import Dataset
    from peakend.models.moments.design import Cuts


@dataclass(frozen=True)
class DesignInputs:
    """The aggregates of the events a :class:`~.design.MomentDesign` is built from.

    Attributes
    ----------
    scored:
        Touchpoints with at least one score.
    cells:
        One row per journey x touchpoint with a value: ``journey_id``,
        ``touchpoint``, ``n`` (values) and ``total`` (their sum). The value is the
        raw score with cut-points, else the valence.
    n_journeys:
        Journeys with events.
    customers:
        ``journey_id`` and ``customer_id_min`` (each journey's smallest customer id);
        ``None`` when every customer is the journey itself (no customer column).
    features:
        Computes the journey features (:func:`peakend.engine.journey_features`)
        when called; only adjusted effects need them.
    """

    scored: set[str]
    cells: pa.Table
    n_journeys: int
    customers: pa.Table | None
    features: Callable[[], pa.Table]


def design_inputs(dataset: Dataset, cuts: Cuts | None) -> DesignInputs:
    """The design's aggregates: on the events' Spark session when they are there,
    else from the events in memory."""
    value_col = "score" if cuts is not None else "valence"
    source = dataset.event_source
    if source is not None and getattr(source, "remote", False):
        _, events = source.ibis_table()
        return _from_ibis(events, value_col)
    return _from_arrow(dataset.events, value_col)


def _from_arrow(events: pa.Table, value_col: str) -> DesignInputs:
    """The aggregates from events in memory.

    Each string column is encoded once over all events (its codes then serve every
    count) and rows are picked with masks on the codes: the events' strings are
    never filtered into copies.
    """
    journeys = _encoded(events["journey_id"])
    touchpoints = _encoded(events["touchpoint"])
    journey_code = journeys.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    touchpoint_code = touchpoints.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    has_score = pc.is_valid(events["score"]).to_numpy(zero_copy_only=False)
    used = np.bincount(touchpoint_code[has_score], minlength=len(touchpoints.dictionary))
    valued = pc.is_valid(events[value_col]).to_numpy(zero_copy_only=False)
    k = max(len(touchpoints.dictionary), 1)
    cell = journey_code[valued] * k + touchpoint_code[valued]
    values = events[value_col].to_numpy()[valued]
    # sums in event order, as one bincount over every event
    count = np.bincount(cell, minlength=len(journeys.dictionary) * k)
    total = np.bincount(cell, weights=values, minlength=len(journeys.dictionary) * k)
    present = np.flatnonzero(count)
    cells = pa.table(
        {
            "journey_id": journeys.dictionary.take(pa.array(present // k)),
            "touchpoint": touchpoints.dictionary.take(pa.array(present % k)),
            "n": pa.array(count[present], pa.int64()),
            "total": pa.array(total[present], pa.float64()),
        }
    )

    def features() -> pa.Table:
        from peakend import engine

        con = engine.connect()
        table: pa.Table = engine.journey_features(engine.events_table(con, events)).to_pyarrow()
        return table

    return DesignInputs(
        scored=set(touchpoints.dictionary.filter(pa.array(used > 0)).to_pylist()),
        cells=cells,
        n_journeys=len(journeys.dictionary),
        customers=_customers(events),
        features=features,
    )


def _encoded(column: pa.ChunkedArray) -> pa.DictionaryArray:
    """``column`` (without nulls) dictionary-encoded as one array."""
    encoded: pa.DictionaryArray = pc.dictionary_encode(column.combine_chunks())
    return encoded


def _customers(events: pa.Table) -> pa.Table | None:
    """Each journey's smallest customer id; ``None`` when every customer is its journey."""
    customer, journey = events["customer_id"], events["journey_id"]
    if pc.all(pc.equal(customer, pc.cast(journey, customer.type))).as_py() is not False:
        return None  # no customer column: each journey is its own customer, nothing to group
    return (
        events.select(["journey_id", "customer_id"])
        .group_by("journey_id")
        .aggregate([("customer_id", "min")])
    )


def _from_ibis(events: Any, value_col: str) -> DesignInputs:
    scored = events.filter(events.score.notnull()).select("touchpoint").distinct().to_pyarrow()
    valued = events.filter(events[value_col].notnull())
    cells = (
        valued.group_by(["journey_id", "touchpoint"])
        .aggregate(n=valued.count(), total=valued[value_col].sum())
        .to_pyarrow()
    )
    customers = (
        events.group_by("journey_id")
        .aggregate(customer_id_min=events.customer_id.min())
        .to_pyarrow()
    )

    def features() -> pa.Table:
        from peakend import engine

        table: pa.Table = engine.journey_features(events).to_pyarrow()
        return table

    return DesignInputs(
        scored=set(scored["touchpoint"].to_pylist()),
        cells=cells.cast(
            pa.schema(
                [
                    ("journey_id", pa.string()),
                    ("touchpoint", pa.string()),
                    ("n", pa.int64()),
                    ("total", pa.float64()),
                ]
            )
        ),
        n_journeys=int(events.journey_id.nunique().to_pyarrow().as_py()),
        customers=customers,
        features=features,
    )
