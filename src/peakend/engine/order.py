"""Journey order: the one sort the journey features and the flow graph stand on.

A journey's features (first, last and end touchpoint, position trend) and the
directly-follows graph (which touchpoint comes next, how long after) both need
each journey's events sorted by ``(ts, seq)``. :func:`journey_order` adds
everything that sort gives, once: the position, the next touchpoint and the gap
to it, and the journey's highest and lowest valence. Each reads it lazily on its
own (:func:`peakend.engine.journey_features`, :func:`peakend.engine.directly_follows`),
or both from one materialised copy (:func:`peakend.engine.journey_tables`), so a
log is sorted once instead of twice.

Touchpoints travel through the sort as 32-bit codes (:mod:`peakend.engine.codes`).
"""

from __future__ import annotations

from collections.abc import Callable

import ibis
import ibis.expr.datatypes as dt
from ibis.expr.types import FloatingValue, IntegerValue, TimestampValue

from peakend.engine.codes import CODE, with_codes


@ibis.udf.scalar.builtin(name="epoch_us")  # type: ignore[untyped-decorator]
def _duckdb_epoch_us(ts: dt.Timestamp(timezone="UTC")) -> dt.int64:  # type: ignore[valid-type, empty-body]
    """Microseconds since the Unix epoch (DuckDB's ``epoch_us``)."""


@ibis.udf.scalar.builtin(name="unix_micros")  # type: ignore[untyped-decorator]
def _spark_epoch_us(ts: dt.Timestamp(timezone="UTC")) -> dt.int64:  # type: ignore[valid-type, empty-body]
    """Microseconds since the Unix epoch (Spark's ``unix_micros``)."""


_EPOCH_US: dict[str, Callable[[TimestampValue], IntegerValue]] = {
    "duckdb": _duckdb_epoch_us,
    "pyspark": _spark_epoch_us,
}
"""Native epoch-microsecond functions by Ibis backend name."""

ORDER_COLUMNS = [
    "journey_id",
    "customer_id",
    "ts",
    "valence",
    "_by_customer",
    CODE,
    "position",
    "_next",
    "_gap_s",
    "_high",
    "_low",
]
"""Columns of :func:`journey_order`: the event columns the results read, then the
touchpoint code, the 0-based position, the next event's touchpoint code (missing on
a journey's last event), the seconds to it, and the journey's highest and lowest
valence next to every event."""


def journey_window(events: ibis.Table) -> ibis.expr.builders.LegacyWindowBuilder:
    """The window of a journey's events in ``(ts, seq)`` order, events without a time last."""
    return ibis.window(
        group_by=events.journey_id,
        order_by=[events.ts.isnull(), events.ts, events.seq],
    )


def ordered_events(events: ibis.Table) -> ibis.Table:
    """Canonical events with ``position``, ``next_touchpoint`` and ``next_ts`` by journey order."""
    window = journey_window(events)
    return events.mutate(
        position=ibis.row_number().over(window),
        next_touchpoint=events.touchpoint.lead().over(window),
        next_ts=events.ts.lead().over(window),
    )


def journey_order(events: ibis.Table, codes: ibis.Table) -> ibis.Table:
    """Every event once, in journey order, with the columns of :data:`ORDER_COLUMNS`.

    ``codes`` is the touchpoint catalogue of :func:`peakend.engine.codes.touchpoint_codes`
    for these events.
    """
    coded = coded_events(events, codes)
    window = journey_window(coded)
    journey = ibis.window(group_by=coded.journey_id)
    ordered = coded.mutate(
        position=ibis.row_number().over(window),
        _next=coded[CODE].lead().over(window),
        _gap_s=seconds_between(coded.ts.lead().over(window), coded.ts),
        _high=coded.valence.max().over(journey),
        _low=coded.valence.min().over(journey),
    )
    return ordered.select(*ORDER_COLUMNS)


def coded_events(events: ibis.Table, codes: ibis.Table) -> ibis.Table:
    """The event columns the results read, in source order, with the touchpoint code.

    Who initiated an event is kept only as ``_by_customer`` ("the customer or not"):
    a boolean is cheaper to carry through a sort than the string.
    """
    by_customer = (events.initiated_by == "customer").fill_null(False)
    return with_codes(
        events.mutate(_by_customer=by_customer),
        codes,
        ["journey_id", "customer_id", "ts", "seq", "score", "valence", "_by_customer"],
    )


def seconds_between(later: TimestampValue, earlier: TimestampValue) -> FloatingValue:
    """Seconds from ``earlier`` to ``later``, with the fraction, as float64.

    Counted in whole microseconds and then divided, which is exact and portable:
    ``epoch_seconds()`` keeps the fraction on DuckDB but truncates it on Spark
    (``unix_timestamp``). On DuckDB and Spark the microseconds are the difference
    of the native epoch counts (``epoch_us``, ``unix_micros``): the same integer
    as ``delta(unit="microsecond")``, but DuckDB computes that ``date_diff`` on
    time-zone-aware timestamps through calendar arithmetic, about ten times
    slower (1.1 s against 0.1 s per 10M pairs), which was a third of the
    directly-follows graph. Other backends use ``delta``.
    """
    epoch_us = _EPOCH_US.get(backend_name(later) or "")
    if epoch_us is None:
        micros = later.delta(earlier, unit="microsecond")
    else:
        micros = epoch_us(later) - epoch_us(earlier)
    return micros.cast("float64") / 1_000_000


def epoch_seconds(ts: TimestampValue) -> FloatingValue:
    """Seconds since the Unix epoch with their fraction, as float64: ``ts.epoch_seconds()``.

    On DuckDB ``epoch_seconds()`` is ``epoch(CAST(ts AS TIMESTAMP))``, whose cast of a
    time with a zone goes through the ICU calendar: 0.75 CPU s per ten million
    events. Ibis runs its DuckDB sessions in UTC, where that is the epoch
    microseconds divided by a million, the same float (checked on three million
    times from 1900 to 2090). Other backends keep ``epoch_seconds()`` (Spark's
    drops the fraction).
    """
    if backend_name(ts) == "duckdb":
        micros: IntegerValue = _EPOCH_US["duckdb"](ts)
        return micros.cast("float64") / 1_000_000  # type: ignore[no-any-return]
    return ts.epoch_seconds().cast("float64")  # type: ignore[no-any-return]


def backend_name(expr: ibis.Expr) -> str | None:
    """Name of the backend ``expr`` is bound to (``"duckdb"``), or ``None`` if unbound."""
    try:
        return str(expr.get_backend().name)
    except Exception:  # noqa: BLE001 - an unbound expression has no backend
        return None
