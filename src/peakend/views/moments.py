"""The moment matrix: penalty against reward per touchpoint, sized by volume, coloured by class.

Moments of truth sit to the left (a low score costs a lot), excel moments at
the top (a high score adds a lot), performance moments top-left, standard
moments near the origin. Dashed lines mark the classification threshold; the
whiskers are the 95 % intervals. A binary outcome is drawn in percentage
points so that a manager reads "a low score costs 12 points of satisfied".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import altair as alt

from peakend.models.moments import CLASSES, MomentsResult, TouchpointMoment
from peakend.views.dodge import Bubble, dodge
from peakend.views.labels import Point, place_labels
from peakend.views.style import (
    CLASS_COLOURS,
    HEIGHT,
    PALETTE,
    WIDTH,
    Chart,
    colour_scale,
    configure,
    data,
)
from peakend.views.words import Language, word


def moment_matrix(
    result: MomentsResult,
    *,
    title: str | None = None,
    lang: Language = "en",
    labels: Mapping[str, str] | None = None,
    unit: str | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> Chart:
    """The moment matrix of ``result`` as a Vega-Lite chart (Altair).

    ``labels`` maps touchpoint names to display names; ``unit`` names the
    outcome's unit on the axes (default: percentage points for a binary outcome,
    the outcome's name otherwise). Touchpoints without an estimate are left out.
    """
    scale = 100.0 if result.outcome_kind == "binary" else 1.0
    shown_unit = unit or (word("probability", lang) if scale == 100 else result.outcome)
    names = dict(labels or {})
    class_labels = {c: word(c, lang) for c in CLASSES}
    shown = sorted((m for m in result.touchpoints if _plottable(m)), key=lambda m: m.reward.value)
    rows = [_row(i, m, scale, names, class_labels) for i, m in enumerate(shown)]
    x_domain, y_domain = _extent(rows, result.threshold * scale)
    numbered = _place_labels(rows, x_domain, y_domain, width, height)
    values = data(rows)
    x_scale = alt.Scale(domain=list(x_domain), nice=False, zero=False)
    y_scale = alt.Scale(domain=list(y_domain), nice=False, zero=False)
    x_title = word("penalty", lang, unit=shown_unit)
    y_title = word("reward", lang, unit=shown_unit)
    x = alt.X("penalty:Q", title=x_title, scale=x_scale)
    y = alt.Y("reward:Q", title=y_title, scale=y_scale)
    colour = alt.Color(
        "class:N", title=word("class", lang), scale=colour_scale(CLASS_COLOURS, class_labels)
    )
    base = alt.Chart(values)
    whisker = base.mark_rule(color=PALETTE["grey"])
    whiskers_x = whisker.encode(x="penalty_low:Q", x2="penalty_high:Q", y="reward:Q")
    whiskers_y = whisker.encode(y="reward_low:Q", y2="reward_high:Q", x="penalty:Q")
    points = base.mark_circle(opacity=0.8, stroke="black", strokeWidth=0.75).encode(
        x=alt.X("shown_penalty:Q", title=x_title, scale=x_scale),
        y=alt.Y("shown_reward:Q", title=y_title, scale=y_scale),
        color=colour,
        size=alt.Size("scored:Q", legend=None, scale=alt.Scale(range=[30, 500])),
        tooltip=[
            alt.Tooltip("label:N", title=word("touchpoint", lang)),
            alt.Tooltip("class:N", title=word("class", lang)),
            alt.Tooltip("penalty:Q", format=".2f"),
            alt.Tooltip("reward:Q", format=".2f"),
            alt.Tooltip("confidence:Q", title=word("confidence", lang), format=".0%"),
            alt.Tooltip("scored:Q", title=word("scored", lang), format=","),
        ],
    )
    text = _labels(base, x_scale, y_scale)
    moved = _moved(base, x, y)
    guides = _guides(result.threshold * scale)
    layers = [*guides, whiskers_x, whiskers_y, points, *moved, text]
    chart = alt.layer(*layers).properties(width=width, height=height)
    heading = title or word("matrix_title", lang, outcome=result.outcome)
    legend = " · ".join(f"{n} {label}" for n, label in numbered)
    return configure(chart, heading, subtitle=legend or None)


#: Font size of the touchpoint names in the matrix.
LABEL_SIZE = 10
#: Area range of the points in square pixels (the size scale starts at zero volume).
POINT_AREA = (30, 500)


def _moved(base: alt.Chart, x: alt.X, y: alt.Y) -> list[Chart]:
    """For bubbles moved apart (:mod:`peakend.views.dodge`): the exact value as a dot and
    a thin line from it to its bubble, so the reader sees where the estimate lies."""
    dodged = base.transform_filter("datum.dodged")
    line = dodged.mark_rule(color="black", strokeWidth=0.75).encode(
        x=x, y=y, x2="shown_penalty:Q", y2="shown_reward:Q"
    )
    dot = dodged.mark_circle(color="black", size=12, opacity=1).encode(x=x, y=y)
    return [line, dot]


def _place_labels(
    rows: list[dict[str, Any]],
    x_domain: tuple[float, float],
    y_domain: tuple[float, float],
    width: int,
    height: int,
) -> list[tuple[str, str]]:
    """Give every row a label position that overlaps nothing (:mod:`peakend.views.labels`).

    Bubbles that would cover each other are first moved apart
    (:mod:`peakend.views.dodge`): adds ``shown_penalty``, ``shown_reward`` (where
    the bubble is drawn, data units) and ``dodged``, then ``label_text``,
    ``label_x``, ``label_y`` and ``label_align`` for a label beside the drawn
    bubble; returns the (number, name) pairs of points labelled by a number.
    """
    per_x = width / (x_domain[1] - x_domain[0])
    per_y = height / (y_domain[1] - y_domain[0])
    most = max((r["scored"] for r in rows), default=1) or 1
    exact = [
        Bubble(
            x=(r["penalty"] - x_domain[0]) * per_x,
            y=(y_domain[1] - r["reward"]) * per_y,
            radius=math.sqrt(_area(r["scored"], most) / math.pi),
        )
        for r in rows
    ]
    shown = dodge(exact, width, height)
    for row, before, after in zip(rows, exact, shown, strict=True):
        row["shown_penalty"] = after.x / per_x + x_domain[0]
        row["shown_reward"] = y_domain[1] - after.y / per_y
        row["dodged"] = math.hypot(after.x - before.x, after.y - before.y) > 0.5
    points = [Point(b.x, b.y, b.radius, r["label"]) for b, r in zip(shown, rows, strict=True)]
    numbered = []
    for row, placed in zip(rows, place_labels(points, width, height, LABEL_SIZE), strict=True):
        row["label_text"] = placed.text
        row["label_x"] = row["shown_penalty"] + placed.dx / per_x
        row["label_y"] = row["shown_reward"] - placed.dy / per_y
        row["label_align"] = placed.align
        if placed.numbered:
            numbered.append((placed.text, row["label"]))
    return sorted(numbered, key=lambda pair: int(pair[0]))


def _area(scored: float, most: float) -> float:
    low, high = POINT_AREA
    return low + (high - low) * scored / most


def _labels(base: alt.Chart, x_scale: alt.Scale, y_scale: alt.Scale) -> Chart:
    """Touchpoint names where :func:`_place_labels` put them, one layer per alignment."""
    common: dict[str, Any] = {
        "x": alt.X("label_x:Q", scale=x_scale),
        "y": alt.Y("label_y:Q", scale=y_scale),
        "text": "label_text:N",
    }
    layers = [
        base.transform_filter(f"datum.label_align == '{align}'")
        .mark_text(fontSize=LABEL_SIZE, align=align, baseline="alphabetic")
        .encode(**common)
        for align in ("left", "right", "center")
    ]
    return alt.layer(*layers)


def _guides(threshold: float) -> list[alt.Chart]:
    grey, light, dashed = PALETTE["grey"], PALETTE["light_grey"], [4, 4]
    return [
        alt.Chart(data([{"x": -threshold}]))
        .mark_rule(color=grey, strokeDash=dashed)
        .encode(x="x:Q"),
        alt.Chart(data([{"y": threshold}]))
        .mark_rule(color=grey, strokeDash=dashed)
        .encode(y="y:Q"),
        alt.Chart(data([{"x": 0.0}])).mark_rule(color=light).encode(x="x:Q"),
        alt.Chart(data([{"y": 0.0}])).mark_rule(color=light).encode(y="y:Q"),
    ]


def _row(
    index: int,
    m: TouchpointMoment,
    scale: float,
    names: Mapping[str, str],
    classes: Mapping[str, str],
) -> dict[str, Any]:
    return {
        "index": index,
        "touchpoint": m.touchpoint,
        "label": names.get(m.touchpoint, m.touchpoint),
        "class": classes[m.moment_class],
        "penalty": m.penalty.value * scale,
        "penalty_low": _finite(m.penalty.low, m.penalty.value) * scale,
        "penalty_high": _finite(m.penalty.high, m.penalty.value) * scale,
        "reward": m.reward.value * scale,
        "reward_low": _finite(m.reward.low, m.reward.value) * scale,
        "reward_high": _finite(m.reward.high, m.reward.value) * scale,
        "confidence": m.confidence,
        "scored": _scored(m),
        "recommendation": m.recommendation,
    }


def _scored(moment: TouchpointMoment) -> int:
    return moment.counts["low"] + moment.counts["middle"] + moment.counts["high"]


def _plottable(moment: TouchpointMoment) -> bool:
    return math.isfinite(moment.penalty.value) and math.isfinite(moment.reward.value)


def _finite(bound: float, fallback: float) -> float:
    return bound if math.isfinite(bound) else fallback


def _extent(
    rows: list[dict[str, Any]], threshold: float
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Axis ranges that hold every interval and the threshold lines, with room for labels."""
    domains = []
    for key, guide in (("penalty", -threshold), ("reward", threshold)):
        values = [r[f"{key}_low"] for r in rows] + [r[f"{key}_high"] for r in rows] + [guide, 0.0]
        low, high = min(values), max(values)
        pad = 0.12 * (high - low or 1.0)
        right = 0.3 * (high - low or 1.0) if key == "penalty" else pad
        domains.append((low - pad, high + right))
    return domains[0], domains[1]
