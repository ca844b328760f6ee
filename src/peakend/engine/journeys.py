"""Per-journey features: the shape of each journey as the peak-end rule sees it.

Definitions (every model builds on these, so they are exact):

* order: events sorted by ``(ts, seq)``, events without a time last; ``position``
  is the 0-based place of an event in its journey, counting every event.
* ``mean_valence``: mean valence over scored events (the experienced average).
* ``best_valence`` / ``trough_valence``: highest / lowest valence; the
  ``*_touchpoint`` is the earliest event with that value.
* ``peak_valence``: the most intense moment, the larger of ``|best|`` and
  ``|trough|``. On a tie the negative one wins (negativity bias: a low and a
  high of equal distance from neutral are remembered as the low).
* ``end_valence`` / ``first_valence``: valence of the last / first scored event.
* ``trend``: least-squares slope of valence on ``position`` over scored events;
  missing with fewer than two scored events.
* ``n_negative``: scored events below neutral; ``n_customer_contacts``: events
  initiated by the customer.
* ``duration_s``: seconds from first to last timestamp; missing without times.

Journeys without any score keep their counts and times; their valence features
are missing.
"""

from __future__ import annotations

from collections.abc import Callable

import ibis
import ibis.expr.datatypes as dt
from ibis.expr.types import FloatingValue, IntegerValue, TimestampValue

from peakend.engine.codes import CODE, decode, touchpoint_codes, with_codes


@ibis.udf.scalar.builtin(name="epoch_us")  # type: ignore[untyped-decorator]
def _duckdb_epoch_us(ts: dt.Timestamp(timezone="UTC")) -> dt.int64:  # type: ignore[valid-type, empty-body]
    """Microseconds since the Unix epoch (DuckDB's ``epoch_us``)."""


@ibis.udf.scalar.builtin(name="unix_micros")  # type: ignore[untyped-decorator]
def _spark_epoch_us(ts: dt.Timestamp(timezone="UTC")) -> dt.int64:  # type: ignore[valid-type, empty-body]
    """Microseconds since the Unix epoch (Spark's ``unix_micros``)."""


_FEATURE_COLUMNS = ["journey_id", "customer_id", "ts", "seq", "_by_customer", "valence"]
"""The event columns :func:`journey_features` reads besides the touchpoint."""

_CODE_SPAN = 2**31
"""Touchpoint codes are below this, so ``position * _CODE_SPAN + code`` orders by position."""

_EPOCH_US: dict[str, Callable[[TimestampValue], IntegerValue]] = {
    "duckdb": _duckdb_epoch_us,
    "pyspark": _spark_epoch_us,
}
"""Native epoch-microsecond functions by Ibis backend name."""


def ordered_events(events: ibis.Table) -> ibis.Table:
    """Add ``position``, ``next_touchpoint`` and ``next_ts`` by journey order.

    All three use one window (one sort), shared by the journey features and the
    directly-follows graph.
    """
    window = journey_window(events)
    return events.mutate(
        position=ibis.row_number().over(window),
        next_touchpoint=events.touchpoint.lead().over(window),
        next_ts=events.ts.lead().over(window),
    )


def journey_window(events: ibis.Table) -> ibis.expr.builders.LegacyWindowBuilder:
    """The window of a journey's events in ``(ts, seq)`` order, events without a time last."""
    return ibis.window(
        group_by=events.journey_id,
        order_by=[events.ts.isnull(), events.ts, events.seq],
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
    epoch_us = _EPOCH_US.get(_backend_name(later) or "")
    if epoch_us is None:
        micros = later.delta(earlier, unit="microsecond")
    else:
        micros = epoch_us(later) - epoch_us(earlier)
    return micros.cast("float64") / 1_000_000


def _backend_name(expr: ibis.Expr) -> str | None:
    """Name of the backend ``expr`` is bound to (``"duckdb"``), or ``None`` if unbound."""
    try:
        return str(expr.get_backend().name)
    except Exception:  # noqa: BLE001 - an unbound expression has no backend
        return None


def journey_features(events: ibis.Table) -> ibis.Table:
    """One row per journey with the features described in this module's docstring.

    Parameters
    ----------
    events:
        Canonical events as an Ibis table (see :func:`peakend.engine.events_table`).

    Returns
    -------
    ibis.Table
        ``journey_id, customer_id, n_events, n_scored, first_ts, last_ts,
        duration_s, first_touchpoint, last_touchpoint, mean_valence,
        best_valence, best_touchpoint, trough_valence, trough_touchpoint,
        peak_valence, peak_touchpoint, first_valence, end_valence,
        end_touchpoint, trend, n_negative, n_customer_contacts``.
    """
    codes = touchpoint_codes(events)
    # Who initiated an event matters only as "the customer or not": a boolean is
    # cheaper to carry through the sort than the string.
    by_customer = (events.initiated_by == "customer").fill_null(False)
    coded = with_codes(events.mutate(_by_customer=by_customer), codes, _FEATURE_COLUMNS)
    # The journey's highest and lowest valence next to each event: the best (trough)
    # touchpoint is then the earliest event at that value, a plain min over integers
    # instead of an arg-max over a (valence, position) struct.
    e = coded.mutate(
        position=ibis.row_number().over(journey_window(coded)),
        _high=coded.valence.max().over(group_by=coded.journey_id),
        _low=coded.valence.min().over(group_by=coded.journey_id),
    )
    tp = e[CODE].cast("int64")
    # Position and code in one integer: its max (min) is the code at the latest
    # (earliest) position, a plain max instead of an arg-max (codes are below 2**31).
    at_position = e.position * _CODE_SPAN + tp
    scored = e.valence.notnull()
    pos = e.position.cast("float64")
    agg = e.group_by("journey_id").aggregate(
        customer_id=e.customer_id.max(where=e.position == 0),
        n_events=e.count(),
        n_scored=e.valence.count(),
        first_ts=e.ts.min(),
        last_ts=e.ts.max(),
        _first=tp.max(where=e.position == 0),
        _last=at_position.max() % _CODE_SPAN,
        mean_valence=e.valence.mean(),
        best_valence=e.valence.max(),
        _best=at_position.min(where=e.valence == e._high) % _CODE_SPAN,
        trough_valence=e.valence.min(),
        _trough=at_position.min(where=e.valence == e._low) % _CODE_SPAN,
        first_valence=e.valence.argmin(e.position, where=scored),
        end_valence=e.valence.argmax(e.position, where=scored),
        _end=at_position.max(where=scored) % _CODE_SPAN,
        _cov=pos.cov(e.valence, how="pop", where=scored),
        _var=pos.var(how="pop", where=scored),
        # Conditions of count(where=) never null: Spark counts with SUM(CAST(cond AS
        # BIGINT)), which is NULL, not 0, when the condition is NULL on every row.
        n_negative=e.count(where=(e.valence < 0).fill_null(False)),
        n_customer_contacts=e.count(where=e._by_customer),
    )
    negative_wins = (-agg.trough_valence) >= agg.best_valence
    agg = agg.mutate(_peak=ibis.cases((negative_wins, agg._trough), else_=agg._best))
    named = decode(
        agg,
        codes,
        {
            "first_touchpoint": "_first",
            "last_touchpoint": "_last",
            "best_touchpoint": "_best",
            "trough_touchpoint": "_trough",
            "peak_touchpoint": "_peak",
            "end_touchpoint": "_end",
        },
    )
    trend = ibis.cases((named._var > 0, named._cov / named._var), else_=ibis.null("float64"))
    return named.select(
        "journey_id",
        "customer_id",
        "n_events",
        "n_scored",
        "first_ts",
        "last_ts",
        duration_s=seconds_between(named.last_ts, named.first_ts),
        first_touchpoint=named.first_touchpoint,
        last_touchpoint=named.last_touchpoint,
        mean_valence=named.mean_valence,
        best_valence=named.best_valence,
        best_touchpoint=named.best_touchpoint,
        trough_valence=named.trough_valence,
        trough_touchpoint=named.trough_touchpoint,
        peak_valence=ibis.cases(
            ((-named.trough_valence) >= named.best_valence, named.trough_valence),
            else_=named.best_valence,
        ),
        peak_touchpoint=named.peak_touchpoint,
        first_valence=named.first_valence,
        end_valence=named.end_valence,
        end_touchpoint=named.end_touchpoint,
        trend=trend,
        n_negative=named.n_negative,
        n_customer_contacts=named.n_customer_contacts,
    )
