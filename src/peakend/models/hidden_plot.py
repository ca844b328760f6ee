"""The hidden-moments timeline: designed touchpoints on a day axis, the contact-rate curve
after an anchor, its baseline, and the hidden moments shaded."""

from __future__ import annotations

import plotly.graph_objects as go
import pyarrow.compute as pc

from peakend.charts import PALETTE, style
from peakend.errors import ConfigError
from peakend.models.hidden.analysis import HiddenMomentsResult


def hidden_timeline(result: HiddenMomentsResult, anchor: str) -> go.Figure:
    """A timeline for one anchor: contacts per 1,000 journeys by offset, baseline, windows.

    Designed touchpoints appear as labelled markers at their median offset after
    the anchor; bars are coloured by whether the offset was flagged.
    """
    if anchor not in result.anchor_journeys:
        raise ConfigError(
            f"anchor {anchor!r} was not tested; tested: {sorted(result.anchor_journeys)}"
        )
    c = result.curves.filter(pc.equal(result.curves["anchor"], anchor)).to_pydict()
    fig = go.Figure()
    colours = [PALETTE["vermillion"] if f else PALETTE["sky_blue"] for f in c["flagged"]]
    fig.add_bar(
        x=c["offset"],
        y=c["rate_per_1000"],
        marker_color=colours,
        name="contacts per 1,000 journeys",
        customdata=list(zip(c["contacts"], c["at_risk"], c["q_value"], strict=True)),
        hovertemplate="offset %{x}: %{y:.1f} per 1,000<br>%{customdata[0]} contacts, "
        "%{customdata[1]} journeys, q=%{customdata[2]:.2g}<extra></extra>",
    )
    fig.add_scatter(
        x=c["offset"],
        y=c["baseline_per_1000"],
        mode="lines",
        line={"color": PALETTE["black"], "dash": "dash"},
        name="baseline",
    )
    for m in result.moments:
        if m.moment.anchor != anchor:
            continue
        name = m.classic.name if m.classic else "hidden moment"
        fig.add_vrect(
            x0=m.moment.first_offset - 0.5,
            x1=m.moment.last_offset + 0.5,
            fillcolor=PALETTE["orange"],
            opacity=0.18,
            line_width=0,
            annotation_text=f"{name}: +{m.moment.excess_per_1000.value:.0f} per 1,000",
            annotation_position="top left",
        )
    _designed(fig, result, anchor)
    n = result.anchor_journeys[anchor]
    return style(
        fig,
        f"Contacts after {anchor} (n={n:,} journeys; shaded: hidden moments)",
        f"{result.unit}s after {anchor}",
        "customer contacts per 1,000 journeys",
    )


def _designed(fig: go.Figure, result: HiddenMomentsResult, anchor: str) -> None:
    """Designed touchpoints as markers below the bars, staggered where they crowd."""
    d = result.designed.filter(pc.equal(result.designed["anchor"], anchor)).to_pydict()
    points = sorted(
        (off, tp)
        for tp, off in zip(d["touchpoint"], d["median_offset"], strict=True)
        if off is not None and 0 <= off < result.horizon and tp != anchor
    )
    if not points:
        return
    rates = [r for r in result.curves.filter(pc.equal(result.curves["anchor"], anchor))[
        "rate_per_1000"].to_pylist() if r is not None]  # fmt: skip
    step = 0.07 * max(rates, default=1.0)
    levels: list[int] = []
    for i, (off, _) in enumerate(points):
        crowded = i > 0 and off - points[i - 1][0] < 1.5
        levels.append(levels[-1] + 1 if crowded else 0)
    fig.add_scatter(
        x=[off for off, _ in points],
        y=[-step * (1 + level) for level in levels],
        mode="markers+text",
        marker={"symbol": "diamond", "size": 11, "color": PALETTE["blue"]},
        text=[tp for _, tp in points],
        textposition="middle right",
        name="designed touchpoints (median offset)",
    )
