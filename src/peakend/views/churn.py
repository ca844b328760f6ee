"""Churn charts: Kaplan-Meier curves with their bands, and avoidable churn per cause.

Vega-Lite specs (Altair) drawn from :class:`~peakend.models.churn.ChurnResult`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import altair as alt

from peakend.models.churn import ChurnResult
from peakend.models.churn.actions import UNRECOVERED
from peakend.models.churn.survival import Curve
from peakend.views.style import PALETTE, SERIES_COLOURS, WIDTH, Chart, configure, data
from peakend.views.words import WORDS, Language, word


def survival_chart(
    curves: Sequence[Curve],
    *,
    time_unit: str = "days",
    lang: Language = "en",
    title: str | None = None,
    width: int = WIDTH,
) -> Chart:
    """One step line per group (e.g. number of negative moments) with its 95 % band."""
    rows = [
        {"group": group_label(c.label, lang), "time": t, "survival": s, "low": lo, "high": hi}
        for c in curves
        for t, s, lo, hi in zip(c.times, c.survival, c.low, c.high, strict=True)
    ]
    groups = list(dict.fromkeys(str(r["group"]) for r in rows))
    colour = alt.Color(
        "group:N",
        title=None,
        sort=groups,
        scale=alt.Scale(domain=groups, range=SERIES_COLOURS[: max(1, len(groups))]),
    )
    unit = word(time_unit, lang) if time_unit in WORDS else time_unit
    base = alt.Chart(data(rows)).encode(x=alt.X("time:Q", title=unit), color=colour)
    band = base.mark_area(opacity=0.15, interpolate="step-after").encode(
        y=alt.Y("low:Q", title=word("still_customer", lang), scale=alt.Scale(domain=[0, 1])),
        y2="high:Q",
    )
    line = base.mark_line(interpolate="step-after").encode(y="survival:Q")
    chart = alt.layer(band, line).properties(width=width - 120, height=260)
    return configure(chart, title or word("survival_title", lang))


def avoidable_chart(
    result: ChurnResult,
    *,
    lang: Language = "en",
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    top: int = 10,
    width: int = WIDTH,
) -> Chart:
    """Avoidable churners per cause (each cause removed alone) with 95 % intervals."""
    names = dict(labels or {})
    names.setdefault(UNRECOVERED, word("unrecovered_failures", lang))
    causes = result.avoidable.by_cause[:top] if result.avoidable else []
    rows = [
        {"cause": names.get(cause, cause), "value": e.value, "low": e.low, "high": e.high}
        for cause, e in causes
    ]
    y = alt.Y("cause:N", title=None, sort=None)
    base = alt.Chart(data(rows))
    bars = base.mark_bar(color=PALETTE["vermillion"]).encode(
        x=alt.X("value:Q", title=word("avoidable_x", lang)), y=y
    )
    whiskers = base.mark_rule(color=PALETTE["black"]).encode(x="low:Q", x2="high:Q", y=y)
    chart = alt.layer(bars, whiskers).properties(width=width - 200, height=max(80, 24 * len(rows)))
    return configure(chart, title or word("avoidable_title", lang))


def group_label(label: str, lang: Language) -> str:
    """A curve's group in words: ``2 negative`` -> "2 negative moments" / "2 negatieve momenten"."""
    counted = re.fullmatch(r"(\d\+?) negative", label)
    if counted:
        return word("n_negative", lang, n=counted.group(1))
    key = label.replace(" ", "_")
    return word(key, lang) if key in ("some_negative", "no_negative") else label
