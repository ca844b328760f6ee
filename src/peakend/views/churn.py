"""Churn charts: Kaplan-Meier curves with their bands, and avoidable churn per cause.

Vega-Lite specs (Altair) drawn from :class:`~peakend.models.churn.ChurnResult`.
"""

from __future__ import annotations

from typing import Any

import altair as alt

from peakend.models.churn import ChurnResult
from peakend.models.churn.survival import Curve


def _data(rows: list[dict[str, Any]]) -> alt.Data:
    """Rows written into the spec itself (Vega-Lite inline data)."""
    return alt.Data(values=rows)  # type: ignore[no-untyped-call]


def survival_chart(
    curves: list[Curve], title: str, time_unit: str
) -> alt.LayerChart | alt.FacetChart:
    """One step line per group with its 95 % band."""
    rows: list[dict[str, Any]] = [
        {"group": c.label, "time": t, "survival": s, "low": lo, "high": hi}
        for c in curves
        for t, s, lo, hi in zip(c.times, c.survival, c.low, c.high, strict=True)
    ]
    base = alt.Chart(_data(rows)).encode(
        x=alt.X("time:Q", title=time_unit), color=alt.Color("group:N", title=None)
    )
    band = base.mark_area(opacity=0.15, interpolate="step-after").encode(
        y=alt.Y("low:Q", title="still a customer", scale=alt.Scale(domain=[0, 1])), y2="high:Q"
    )
    line = base.mark_line(interpolate="step-after").encode(y="survival:Q")
    return alt.layer(band, line).properties(title=title, width=420)


def avoidable_chart(result: ChurnResult, top: int = 10) -> alt.LayerChart | alt.FacetChart:
    """Avoidable churners per cause (each cause removed alone) with 95 % intervals."""
    causes = result.avoidable.by_cause[:top] if result.avoidable else []
    rows = [{"cause": cause, "value": e.value, "low": e.low, "high": e.high} for cause, e in causes]
    base = alt.Chart(_data(rows)).encode(y=alt.Y("cause:N", title=None, sort=None))
    bars = base.mark_bar().encode(x=alt.X("value:Q", title="avoidable churners"))
    rules = base.mark_rule().encode(x="low:Q", x2="high:Q")
    return alt.layer(bars, rules).properties(title="Avoidable churn per cause", width=420)
