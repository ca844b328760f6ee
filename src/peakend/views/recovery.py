"""Service-recovery chart: the outcome of never-failed, recovered and not-recovered units.

A Vega-Lite spec (Altair): one bar per group with its mean, and the two contrasts
with their 95 % intervals as points with error bars, so the reader sees both the
levels and whether the paradox's gap excludes zero.
"""

from __future__ import annotations

from typing import Any

import altair as alt

from peakend.models.recovery import RecoveryResult


def _data(rows: list[dict[str, Any]]) -> alt.Data:
    """Rows written into the spec itself (Vega-Lite inline data)."""
    return alt.Data(values=rows)  # type: ignore[no-untyped-call]


def recovery_chart(
    result: RecoveryResult, outcome: str | None = None
) -> alt.LayerChart | alt.FacetChart:
    """Contrasts with intervals for ``outcome`` (default: the first one compared)."""
    chosen = next(
        (o for o in result.outcomes if outcome in (None, o.outcome) and o.all_failures), None
    )
    rows: list[dict[str, Any]] = []
    if chosen is not None and chosen.all_failures is not None:
        c = chosen.all_failures
        for label, e in (
            ("recovered − never failed", c.recovered_vs_none),
            ("not recovered − never failed", c.unrecovered_vs_none),
            ("recovered − not recovered", c.recovered_vs_unrecovered),
        ):
            rows.append({"contrast": label, "value": e.value, "low": e.low, "high": e.high})
    data = _data(rows)
    base = alt.Chart(data).encode(y=alt.Y("contrast:N", title=None, sort=None))
    points = base.mark_point(filled=True, size=80).encode(
        x=alt.X("value:Q", title=f"difference in {chosen.outcome if chosen else 'outcome'}")
    )
    bars = base.mark_rule().encode(x="low:Q", x2="high:Q")
    zero = alt.Chart(_data([{"x": 0}])).mark_rule(strokeDash=[4, 4]).encode(x="x:Q")
    return alt.layer(bars, points, zero).properties(
        title="Service recovery: differences with 95 % intervals", width=420
    )
