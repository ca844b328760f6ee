"""What a moments design needs from the events, computed where the events are.

The moments model fits on one row per journey. From the events it needs only
aggregates: which touchpoints have scores, the count and sum of the scores (or
valences) of every journey x touchpoint, how many journeys there are, each
journey's customer, and (when effects are adjusted) the journey features. For
events in memory these come from Arrow and NumPy; for events left on a Spark
session (``--backend spark``) they are Ibis queries run there, and only the
aggregates (about as many rows as journeys x scored touchpoints, not events)
come back. Either way the counts and sums arrive as one journeys x touchpoints
grid (:class:`CellGrid`), which the design reads rows of by journey code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

if TYPE_CHECKING:
    from peakend.load import Dataset
    from peakend.models.moments.design import Cuts


@dataclass(frozen=True)
class CellGrid:
    """The count and sum of the values of every journey x touchpoint, as two matrices.

    Row ``i`` is journey ``journeys[i]``, column ``j`` touchpoint ``touchpoints[j]``;
    a cell without a value has count 0. Held as matrices rather than one table row
    per cell, so that the design takes its journeys' rows by code instead of
    matching millions of journey and touchpoint strings (and building them first).
    """

    journeys: pa.Array
    touchpoints: pa.Array
    count: NDArray[np.int64]
    total: NDArray[np.float64]


@dataclass(frozen=True)
class DesignInputs:
    """The aggregates of the events a :class:`~.design.MomentDesign` is built from.

    Attributes
    ----------
    scored:
        Touchpoints with at least one score.
    cells:
        The count and sum of the values of every journey x touchpoint
        (:class:`CellGrid`). The value is the raw score with cut-points, else the
        valence.
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
    cells: CellGrid
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
    n = len(journeys.dictionary)
    cell = journey_code[valued] * k + touchpoint_code[valued]
    values = events[value_col].to_numpy()[valued]
    # sums in event order, as one bincount over every event
    count = np.bincount(cell, minlength=n * k).reshape(n, k)
    total = np.asarray(np.bincount(cell, weights=values, minlength=n * k), dtype=np.float64)
    total = total.reshape(n, k)
    cells = CellGrid(journeys.dictionary, touchpoints.dictionary, count, total)

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
        cells=_grid(cells),
        n_journeys=int(events.journey_id.nunique().to_pyarrow().as_py()),
        customers=customers,
        features=features,
    )


def _grid(cells: pa.Table) -> CellGrid:
    """The :class:`CellGrid` of aggregates with one row per journey x touchpoint
    (``journey_id``, ``touchpoint``, ``n``, ``total``)."""
    journeys = _encoded(pc.cast(cells["journey_id"], pa.string()))
    touchpoints = _encoded(pc.cast(cells["touchpoint"], pa.string()))
    row = journeys.indices.to_numpy(zero_copy_only=False)
    col = touchpoints.indices.to_numpy(zero_copy_only=False)
    shape = (len(journeys.dictionary), max(len(touchpoints.dictionary), 1))
    count = np.zeros(shape, dtype=np.int64)
    total = np.zeros(shape)
    count[row, col] = pc.cast(cells["n"], pa.int64()).to_numpy()
    total[row, col] = pc.cast(cells["total"], pa.float64()).to_numpy()
    return CellGrid(journeys.dictionary, touchpoints.dictionary, count, total)
