"""Figures of the remembered experience, one function per figure (Plotly).

* :func:`plot_journey_types` — experienced against remembered valence per journey type;
* :func:`plot_journey` — one journey as a curve, its peak and end marked, with the
  experienced average and the remembered valence as lines;
* :func:`plot_model_comparison` — the out-of-sample score of every memory model.

Every point carries its 95 % interval (error bars) or its sample size (hover).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import plotly.graph_objects as go
import pyarrow.compute as pc
from numpy.typing import NDArray

from peakend.charts import PALETTE, style
from peakend.errors import ConfigError
from peakend.load import Dataset
from peakend.models.memory.analysis import MemoryResult
from peakend.stats.resampling import Interval


def _bars(i: Interval) -> tuple[float, float]:
    if not (math.isfinite(i.low) and math.isfinite(i.high)):
        return 0.0, 0.0
    return i.high - i.value, i.value - i.low


def plot_journey_types(result: MemoryResult) -> go.Figure:
    """Experienced vs remembered valence per journey type, with 95 % intervals."""
    labels = [f"{t.journey_type} (n={t.experienced.n:,})" for t in result.types]
    fig = go.Figure()
    for label, t in zip(labels, result.types, strict=True):
        fig.add_trace(
            go.Scatter(
                x=[t.experienced.value, t.remembered.value],
                y=[label, label],
                mode="lines",
                line={"color": PALETTE["light_grey"], "width": 6},
                showlegend=False,
                hoverinfo="skip",
            )
        )
    for name, colour, key in (
        ("experienced (average)", PALETTE["grey"], "experienced"),
        (f"remembered ({result.comparison.chosen})", PALETTE["blue"], "remembered"),
    ):
        values = [getattr(t, key) for t in result.types]
        plus, minus = zip(*(_bars(v) for v in values), strict=True)
        fig.add_trace(
            go.Scatter(
                x=[v.value for v in values],
                y=labels,
                mode="markers",
                name=name,
                marker={"color": colour, "size": 12},
                error_x={"type": "data", "array": list(plus), "arrayminus": list(minus)},
            )
        )
    fig.add_vline(x=0, line_dash="dot", line_color=PALETTE["grey"])
    fig.update_yaxes(autorange="reversed")
    return style(
        fig,
        f"Experienced and remembered journeys ({result.outcome}, {result.dataset_name})",
        "valence (-1 worst, 0 neutral, +1 best)",
        "journey type",
    )


def plot_journey(
    result: MemoryResult, dataset: Dataset, journey_id: str | None = None
) -> go.Figure:
    """One journey's scored moments in order, with peak and end marked.

    Without ``journey_id`` the journey most spoiled by its end is drawn (or, when
    none is, the one with the largest memory gap).
    """
    row = _journey_row(result, journey_id)
    jid = str(row["journey_id"])
    ev = dataset.events.filter(
        pc.and_(pc.equal(dataset.events["journey_id"], jid), pc.is_valid(dataset.events["valence"]))
    ).sort_by([("ts", "ascending"), ("seq", "ascending")])
    if ev.num_rows == 0:
        raise ConfigError(f"journey {jid!r} has no scored moments in {dataset.spec.name!r}")
    names = ev["touchpoint"].to_pylist()
    x = [f"{i + 1}. {n}" for i, n in enumerate(names)]
    v = np.asarray(ev["valence"].to_numpy(zero_copy_only=False), dtype=np.float64)
    fig = go.Figure(
        go.Scatter(
            x=x,
            y=v,
            mode="lines+markers",
            name="moments",
            line={"color": PALETTE["blue"]},
            marker={"size": 9},
        )
    )
    peak = _peak_index(v)
    end = len(v) - 1
    marks = [("end", end, PALETTE["orange"], "square")]
    if peak == end:
        marks = [("peak and end", end, PALETTE["vermillion"], "diamond")]
    else:
        marks.insert(0, ("peak", peak, PALETTE["vermillion"], "diamond"))
    for label, i, colour, symbol in marks:
        fig.add_trace(
            go.Scatter(
                x=[x[i]],
                y=[v[i]],
                mode="markers+text",
                name=label,
                text=[label],
                textposition="top center",
                marker={"size": 16, "color": colour, "symbol": symbol},
            )
        )
    for label, value, colour in (
        ("experienced", float(row["experienced"]), PALETTE["grey"]),
        ("remembered", float(row["remembered"]), PALETTE["bluish_green"]),
    ):
        fig.add_hline(
            y=value,
            line_dash="dash",
            line_color=colour,
            annotation_text=f"{label} {value:+.2f}",
            annotation_position="top left",
        )
    fig.update_yaxes(range=[-1.15, 1.25])
    verdict = str(row["verdict"] or "no verdict").replace("_", " ")
    return style(
        fig,
        f"Journey {jid}: {verdict} (gap {float(row['gap']):+.2f}, {result.comparison.chosen})",
        "moment, in journey order",
        "valence",
    )


def plot_model_comparison(result: MemoryResult) -> go.Figure:
    """Out-of-sample score of every memory model with its 95 % interval."""
    scores = result.comparison.scores
    plus, minus = zip(*(_bars(s.score) for s in scores), strict=True)
    colours = [
        PALETTE["blue"] if s.name == result.comparison.chosen else PALETTE["grey"] for s in scores
    ]
    fig = go.Figure(
        go.Scatter(
            x=[s.score.value for s in scores],
            y=[s.name for s in scores],
            mode="markers",
            marker={"size": 12, "color": colours},
            error_x={"type": "data", "array": list(plus), "arrayminus": list(minus)},
            showlegend=False,
        )
    )
    fig.update_yaxes(autorange="reversed")
    metric = result.comparison.metric.upper()
    better = "higher" if metric == "AUC" else "lower"
    return style(
        fig,
        f"Memory models, out of sample ({result.comparison.folds}-fold, "
        f"n={result.comparison.n:,}); chosen: {result.comparison.chosen}",
        f"{metric} ({better} is better)",
        "model",
    )


def _journey_row(result: MemoryResult, journey_id: str | None) -> dict[str, Any]:
    table = result.journeys
    if journey_id is not None:
        rows = table.filter(pc.equal(table["journey_id"], str(journey_id)))
        if rows.num_rows == 0:
            raise ConfigError(
                f"journey {journey_id!r} is not among the analysed journeys (it needs a "
                "scored moment and an outcome)"
            )
        return dict(rows.to_pylist()[0])
    spoiled = result.examples("spoiled_by_end", 1)
    if spoiled.num_rows:
        return dict(spoiled.to_pylist()[0])
    gap = np.abs(np.nan_to_num(table["gap"].to_numpy(), nan=0.0))
    return dict(table.slice(int(np.argmax(gap)), 1).to_pylist()[0])


def _peak_index(v: NDArray[np.float64]) -> int:
    """The most intense moment; a tie goes to the negative one, then the earliest."""
    best, worst = int(np.argmax(v)), int(np.argmin(v))
    return worst if -v[worst] >= v[best] else best
