"""The moment matrix: penalty against reward per touchpoint, sized by volume, coloured by class.

Moments of truth sit to the left (a low score costs a lot), excel moments at
the top (a high score adds a lot), performance moments top-left, standard
moments near the origin. Dashed lines mark the classification threshold; the
error bars are the bootstrap intervals.
"""

from __future__ import annotations

import math
from pathlib import Path

import plotly.graph_objects as go

from peakend.charts import CLASS_COLOURS, PALETTE, save_figure, style
from peakend.models.moments.analysis import CLASSES, MomentsResult, TouchpointMoment

#: Legend label of each moment class.
CLASS_LABELS = {
    "moment_of_truth": "moment of truth",
    "excel": "excel moment",
    "performance": "performance moment",
    "standard": "standard moment",
    "inconclusive": "inconclusive",
    "not_enough_data": "not enough data",
}


def moment_matrix(result: MomentsResult, *, title: str | None = None) -> go.Figure:
    """The moment matrix of ``result`` as a Plotly figure.

    The x axis is the penalty of a low score (negative: to the left hurts), the
    y axis the reward of a high score, both in outcome units (probability for a
    binary outcome). Marker area is proportional to the number of journeys
    that scored the touchpoint. Touchpoints without an estimate are left out.
    """
    fig = go.Figure()
    scored_max = max((_scored(m) for m in result.touchpoints), default=1) or 1
    for cls in CLASSES:
        members = [m for m in result.touchpoints if m.moment_class == cls and _plottable(m)]
        if members:
            fig.add_trace(_trace(cls, members, scored_max))
    unit = "probability" if result.outcome_kind == "binary" else result.outcome
    _threshold_lines(fig, result.threshold)
    _pad_axes(fig, result)
    heading = title or f"Moment matrix: {result.outcome} ({result.n_journeys:,} journeys)"
    return style(
        fig,
        heading,
        f"penalty of a low score ({unit}, 95 % interval)",
        f"reward of a high score ({unit}, 95 % interval)",
    )


def save_moment_matrix(
    result: MomentsResult, stem: Path, formats: tuple[str, ...] = ("html", "png", "svg")
) -> list[Path]:
    """Write the moment matrix as ``stem.html`` (offline) and static PNG/SVG images."""
    return save_figure(moment_matrix(result), stem, formats)


def _scored(moment: TouchpointMoment) -> int:
    return moment.counts["low"] + moment.counts["middle"] + moment.counts["high"]


def _plottable(moment: TouchpointMoment) -> bool:
    return math.isfinite(moment.penalty.value) and math.isfinite(moment.reward.value)


def _trace(cls: str, members: list[TouchpointMoment], scored_max: int) -> go.Scatter:
    x = [m.penalty.value for m in members]
    y = [m.reward.value for m in members]
    return go.Scatter(
        x=x,
        y=y,
        mode="markers+text",
        name=CLASS_LABELS[cls],
        text=[m.touchpoint for m in members],
        # alternate label positions so that neighbouring labels overlap less
        textposition=[("top center", "bottom center")[i % 2] for i in range(len(members))],
        marker={
            "color": CLASS_COLOURS[cls],
            "size": [6 + 26 * math.sqrt(_scored(m) / scored_max) for m in members],
            "line": {"color": PALETTE["black"], "width": 0.5},
            "opacity": 0.85,
        },
        error_x={
            "type": "data",
            "symmetric": False,
            "array": [_gap(m.penalty.high, m.penalty.value) for m in members],
            "arrayminus": [_gap(m.penalty.value, m.penalty.low) for m in members],
            "color": PALETTE["grey"],
            "thickness": 1,
        },
        error_y={
            "type": "data",
            "symmetric": False,
            "array": [_gap(m.reward.high, m.reward.value) for m in members],
            "arrayminus": [_gap(m.reward.value, m.reward.low) for m in members],
            "color": PALETTE["grey"],
            "thickness": 1,
        },
        customdata=[[m.confidence, _scored(m), m.recommendation] for m in members],
        hovertemplate=(
            "<b>%{text}</b><br>penalty %{x:.3f}<br>reward %{y:.3f}<br>"
            "confidence %{customdata[0]:.0%}<br>scored journeys %{customdata[1]:,}<br>"
            "recommendation: %{customdata[2]}<extra></extra>"
        ),
    )


def _gap(a: float, b: float) -> float:
    value = a - b
    return value if math.isfinite(value) else 0.0


def _pad_axes(fig: go.Figure, result: MomentsResult) -> None:
    """Leave room around the points (and the threshold lines) for the labels."""
    shown = [m for m in result.touchpoints if _plottable(m)]
    xs = [m.penalty.low for m in shown] + [m.penalty.high for m in shown] + [-result.threshold, 0.0]
    ys = [m.reward.low for m in shown] + [m.reward.high for m in shown] + [result.threshold, 0.0]
    for axis, values in (("xaxis", xs), ("yaxis", ys)):
        finite = [v for v in values if math.isfinite(v)]
        low, high = min(finite), max(finite)
        pad = 0.15 * (high - low or 1.0)
        fig.update_layout({axis: {"range": [low - pad, high + pad]}})


def _threshold_lines(fig: go.Figure, threshold: float) -> None:
    line = {"color": PALETTE["grey"], "width": 1, "dash": "dash"}
    fig.add_vline(x=-threshold, line=line)
    fig.add_hline(y=threshold, line=line)
    fig.add_vline(x=0, line={"color": PALETTE["light_grey"], "width": 1})
    fig.add_hline(y=0, line={"color": PALETTE["light_grey"], "width": 1})
