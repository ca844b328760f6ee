"""Whole microseconds between two times, without DuckDB's calendar arithmetic.

``later.delta(earlier, unit="microsecond")`` is DuckDB's ``date_diff``, which on
time-zone-aware times goes through the ICU calendar. In the hidden moments'
pairs of anchors and contacts it took 4.6 of the query's 7 thread-seconds on 1M
events (``EXPLAIN ANALYZE``); the anchors' open units and the designed
touchpoints' offsets pay it too.
"""

from __future__ import annotations

from ibis.expr.types import FloatingValue, IntegerValue, TimestampValue

from peakend.engine.order import _EPOCH_US, _backend_name, seconds_between


def micros_between(later: TimestampValue, earlier: TimestampValue) -> IntegerValue:
    """Microseconds from ``earlier`` to ``later`` as int64: the integer ``delta`` gives.

    Taken from :func:`peakend.engine.order.seconds_between`, which counts them as
    the difference of the backend's epoch microseconds and divides by a million:
    below 2**53 microseconds (285 years) that float times a million rounds back
    to the same integer.
    """
    micros = (seconds_between(later, earlier) * 1_000_000).round()
    return micros.cast("int64")  # type: ignore[no-any-return]


def epoch_seconds(ts: TimestampValue) -> FloatingValue:
    """Seconds since the Unix epoch with their fraction, as float64: ``ts.epoch_seconds()``.

    On DuckDB ``epoch_seconds()`` is ``epoch(CAST(ts AS TIMESTAMP))``, whose cast of a
    time with a zone goes through the ICU calendar: 0.75 CPU s per ten million
    events. Ibis runs its DuckDB sessions in UTC, where that is the epoch
    microseconds divided by a million, the same float (checked on three million
    times from 1900 to 2090). Other backends keep ``epoch_seconds()`` (Spark's
    drops the fraction).
    """
    if _backend_name(ts) == "duckdb":
        micros: IntegerValue = _EPOCH_US["duckdb"](ts)
        return micros.cast("float64") / 1_000_000  # type: ignore[no-any-return]
    return ts.epoch_seconds().cast("float64")  # type: ignore[no-any-return]
