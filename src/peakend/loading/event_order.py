"""Whether events read in their source's order are already in the canonical order.

The canonical order of the events is by journey, then time (events without a time
last), then sequence, then the row of the source (:data:`CANONICAL_ORDER`). Most
logs are written that way (a generated log, an export sorted by journey, the
dataset cache), and then sorting ten million events to read them into memory
(:meth:`peakend.loading.events.EventSource.to_arrow`) is wasted: 3 of its 5.5 CPU
seconds at 10M events. These checks tell, from the events as read, whether the
sort can be skipped; the result is then the same table the sort gives.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

I64 = NDArray[np.int64]

CANONICAL_ORDER = "journey_id, ts NULLS LAST, seq, {row}"
"""``ORDER BY`` terms of the canonical order, ``{row}`` the column numbering the
source's rows (distinct in every row, so the order is total)."""


def in_canonical_order(table: pa.Table, row: str) -> bool:
    """Whether ``table`` (columns ``journey_id``, ``ts``, ``seq`` and ``row``) is
    sorted by :data:`CANONICAL_ORDER`.

    ``row`` must rise from each event to the next; the journey ids must not fall
    (compared byte by byte, as DuckDB compares text); within a journey the times
    must not fall, a missing time coming after every time; at an equal time (or
    two missing ones) the sequence must not fall.
    """
    n = table.num_rows
    if n < 2:
        return True
    rows = _numbers(table[row])
    if not bool(np.all(rows[1:] > rows[:-1])):
        return False
    journeys = table["journey_id"]
    before, after = journeys.slice(0, n - 1), journeys.slice(1)
    if not pc.all(pc.less_equal(before, after)).as_py():
        return False
    same = _numbers(pc.equal(before, after))
    return not bool(np.any(same & _time_falls(table["ts"], _numbers(table["seq"]))))


def _time_falls(ts: pa.ChunkedArray | pa.Array, seq: np.ndarray) -> np.ndarray:
    """For each event but the last: whether the next one comes before it by time
    (missing last), or at the same time by sequence."""
    missing = _numbers(ts.is_null())
    micros = _numbers(pc.fill_null(ts.cast(pa.int64()), 0))
    m0, m1, t0, t1 = missing[:-1], missing[1:], micros[:-1], micros[1:]
    both = ~m0 & ~m1
    falls = (m0 & ~m1) | (both & (t1 < t0))
    tie = (m0 & m1) | (both & (t1 == t0))
    falls |= tie & (seq[1:] < seq[:-1])
    return np.asarray(falls, dtype=bool)


def _numbers(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A column without missing values as one NumPy array."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    return np.asarray(values.to_numpy(zero_copy_only=False))


def in_chunks_of(table: pa.Table, size: int) -> pa.Table:
    """``table`` with every chunk but the last ``size`` rows long.

    The chunks already that long are kept as they are (no copy); from the first
    that is not, the rest is copied once and cut again.
    """
    lengths = [len(chunk) for chunk in table.column(0).chunks] if table.num_columns else []
    aligned = next((i for i, n in enumerate(lengths) if n != size), len(lengths))
    if aligned >= len(lengths) - 1:
        return table
    head = table.slice(0, aligned * size).to_batches()
    tail = table.slice(aligned * size).combine_chunks().to_batches(max_chunksize=size)
    return pa.Table.from_batches([*head, *tail], schema=table.schema)


def journey_order_of(rows: I64, missing: NDArray[np.bool_], ts: I64, seq: I64) -> I64:
    """Indices putting events in journey order: by journey number ``rows``, then
    events without a time (``missing``) last, then time ``ts`` and ``seq``.

    The canonical order of events in memory, for the analyses that take them from
    Arrow columns (the total effects by intervention, the memory section's ordered
    moments).

    Events usually arrive in time within each journey: one stable sort by journey
    then keeps them in order, which is checked; otherwise the four keys are sorted
    (the same order: ties keep their place in both).
    """
    order = np.argsort(rows, kind="stable")
    r, m, t, s = rows[order], missing[order], ts[order], seq[order]
    later = (m[1:] > m[:-1]) | (
        (m[1:] == m[:-1]) & ((t[1:] > t[:-1]) | ((t[1:] == t[:-1]) & (s[1:] >= s[:-1])))
    )
    if bool(np.all(later | (r[1:] != r[:-1]))):
        return np.asarray(order, dtype=np.int64)
    return np.asarray(np.lexsort((seq, ts, missing, rows)), dtype=np.int64)
