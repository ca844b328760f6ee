"""Charts of the live dashboard: response rate, score trend and negative endings.

Each takes the widget rows of :mod:`peakend.dashboard.widgets` (plain dicts) and
returns an Altair chart; the dashboard sends its Vega-Lite spec to the browser,
which draws it with the offline Vega bundle. Every estimate is drawn with its
95 % interval.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt

from peakend.views.style import Chart, configure, data

WIDTH = 520
HEIGHT = 220


def _trend(
    rows: Sequence[Mapping[str, Any]],
    value: str,
    title: str,
    axis: str,
    fmt: str,
    extra: Sequence[alt.Tooltip] = (),
) -> Chart:
    base = alt.Chart(data(rows)).encode(
        x=alt.X("period:T", title="week"),
        color=alt.Color("touchpoint:N", title="touchpoint"),
    )
    band = base.mark_area(opacity=0.15).encode(y=alt.Y("low:Q"), y2="high:Q")
    line = base.mark_line(point=True).encode(
        y=alt.Y(f"{value}:Q", title=axis, axis=alt.Axis(format=fmt)),
        tooltip=[
            "touchpoint:N",
            alt.Tooltip("period:T", title="week"),
            alt.Tooltip(f"{value}:Q", format=fmt),
            alt.Tooltip("low:Q", format=fmt),
            alt.Tooltip("high:Q", format=fmt),
            *extra,
            "answers:Q",
        ],
    )
    return configure(alt.layer(band, line).properties(width=WIDTH, height=HEIGHT), title)


def response_rate_chart(rows: Sequence[Mapping[str, Any]]) -> Chart:
    """Response rate per touchpoint and week, with Wilson 95 % bands."""
    return _trend(rows, "rate", "Response rate per week (95 % interval)", "response rate", ".0%")


def score_trend_chart(rows: Sequence[Mapping[str, Any]]) -> Chart:
    """Mean overall score per touchpoint and week, with 95 % bands."""
    change = [
        alt.Tooltip(f"{name}:Q", title=label, format="+.2f")
        for name, label in (
            ("change", "change from previous week"),
            ("change_low", "change, 95 % low"),
            ("change_high", "change, 95 % high"),
        )
    ]
    title = "Overall score per week (95 % interval)"
    return _trend(rows, "mean", title, "mean score", ".2f", change)


def endings_chart(rows: Sequence[Mapping[str, Any]]) -> Chart:
    """Share of comments ending negatively per touchpoint, with Wilson 95 % intervals."""
    base = alt.Chart(data(rows)).encode(y=alt.Y("touchpoint:N", title=None, sort="-x"))
    bars = base.mark_bar(color="#c0504d", opacity=0.8).encode(
        x=alt.X("negative:Q", title="share ending negatively", axis=alt.Axis(format=".0%")),
        tooltip=[
            "touchpoint:N",
            alt.Tooltip("negative:Q", format=".1%"),
            alt.Tooltip("low:Q", format=".1%"),
            alt.Tooltip("high:Q", format=".1%"),
            "answers:Q",
        ],
    )
    rules = base.mark_rule(color="#333333").encode(x="low:Q", x2="high:Q")
    chart = alt.layer(bars, rules).properties(width=WIDTH, height=max(60, 28 * len(rows)))
    return configure(chart, "Comments ending negatively (95 % interval)")
