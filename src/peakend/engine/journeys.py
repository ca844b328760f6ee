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

import ibis
import ibis.expr.datatypes as dt

from peakend.engine.codes import CODE, decode, touchpoint_codes
from peakend.engine.order import journey_order, seconds_between

_CODE_SPAN = 2**31
"""Touchpoint codes are below this, so ``position * _CODE_SPAN + code`` orders by position."""

MASK_CODES = 63
"""Touchpoint codes 0 (no name) to 62 fit in a journey's touchpoint mask (a signed int64)."""

TOUCHPOINT_MASK = "_touchpoint_mask"
"""Column of :func:`features_from_order` with ``touchpoint_mask=True``: bit ``k`` is set
when the journey has an event with touchpoint code ``k``."""


@ibis.udf.agg.builtin(name="bit_or")  # type: ignore[untyped-decorator]
def _bit_or(bits: dt.int64) -> dt.int64:  # type: ignore[valid-type, empty-body]
    """Bitwise or of a group's values (``bit_or`` in DuckDB and Spark SQL)."""


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
    return features_from_order(journey_order(events, codes), codes)


def features_from_order(
    e: ibis.Table, codes: ibis.Table, *, touchpoint_mask: bool = False
) -> ibis.Table:
    """:func:`journey_features` from events in journey order (:func:`journey_order`).

    The best (trough) touchpoint is the earliest event at the journey's highest
    (lowest) valence, a plain min over integers instead of an arg-max over a
    ``(valence, position)`` struct.

    ``touchpoint_mask`` adds the column :data:`TOUCHPOINT_MASK` (for touchpoint codes
    below :data:`MASK_CODES` only): :func:`peakend.engine.journey_tables` counts the
    journeys at each touchpoint from it instead of a distinct count over every event.
    """
    tp = e[CODE].cast("int64")
    # Position and code in one integer: its max (min) is the code at the latest
    # (earliest) position, a plain max instead of an arg-max (codes are below 2**31).
    at_position = e.position * _CODE_SPAN + tp
    scored = e.valence.notnull()
    pos = e.position.cast("float64")
    # 2.0 ** code is exact and portable (Spark's SHIFTLEFT(1, k) is 32-bit for a literal 1).
    mask = {TOUCHPOINT_MASK: _bit_or((2.0 ** e[CODE]).cast("int64"))} if touchpoint_mask else {}
    agg = e.group_by("journey_id").aggregate(
        **mask,
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
        **{c: named[c] for c in mask},
    )
