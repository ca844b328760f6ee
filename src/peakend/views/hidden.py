"""The hidden-moments timeline: customer contacts per day after a company touchpoint.

Bars are contacts per 1,000 journeys at each offset after the anchor (flagged
offsets in a warm colour), the dashed line is the curve's baseline, shaded
bands are the hidden moments and diamonds below the axis are the designed
touchpoints at their median offset.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import altair as alt
import pyarrow.compute as pc

from peakend.errors import ConfigError
from peakend.models.hidden.analysis import HiddenMomentsResult
from peakend.views.style import HEIGHT, PALETTE, WIDTH, Chart, configure, data
from peakend.views.words import Language, word


def hidden_timeline(
    result: HiddenMomentsResult,
    anchor: str,
    *,
    lang: Language = "en",
    labels: Mapping[str, str] | None = None,
    classics: Mapping[str, str] | None = None,
    title: str | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> Chart:
    """A timeline for one anchor: contacts per 1,000 journeys by offset, baseline, windows.

    ``labels`` maps touchpoints and ``classics`` experience-classic names to the
    names shown.
    """
    if anchor not in result.anchor_journeys:
        raise ConfigError(
            f"anchor {anchor!r} was not tested; tested: {sorted(result.anchor_journeys)}"
        )
    names = dict(labels or {})
    shown_anchor = names.get(anchor, anchor)
    c = result.curves.filter(pc.equal(result.curves["anchor"], anchor)).to_pylist()
    flagged, usual = word("flagged", lang), word("not_flagged", lang)
    rows = [
        {
            "offset": r["offset"],
            "rate": r["rate_per_1000"],
            "baseline": r["baseline_per_1000"],
            "kind": flagged if r["flagged"] else usual,
            "contacts": r["contacts"],
            "at_risk": r["at_risk"],
        }
        for r in c
    ]
    key = "unit_hour_after" if result.unit == "hour" else "unit_day_after"
    x = alt.X("offset:Q", title=word(key, lang, anchor=shown_anchor))
    base = alt.Chart(data(rows))
    bars = base.mark_bar(width={"band": 0.8}).encode(
        x=x,
        y=alt.Y("rate:Q", title=word("contacts_per_1000", lang)),
        color=alt.Color(
            "kind:N",
            title=None,
            scale=alt.Scale(
                domain=[flagged, usual], range=[PALETTE["vermillion"], PALETTE["sky_blue"]]
            ),
        ),
        tooltip=["offset:Q", alt.Tooltip("rate:Q", format=".1f"), "contacts:Q", "at_risk:Q"],
    )
    baseline = base.mark_line(color=PALETTE["black"], strokeDash=[5, 4]).encode(
        x="offset:Q", y="baseline:Q"
    )
    layers: list[Any] = [*_windows(result, anchor, lang, classics or {}), bars, baseline]
    layers += _designed(result, anchor, names, rows)
    chart = alt.layer(*layers).properties(width=width, height=height)
    n = result.anchor_journeys[anchor]
    heading = title or word("timeline_title", lang, anchor=shown_anchor)
    return configure(chart, f"{heading} (n = {n:,})")


def _windows(
    result: HiddenMomentsResult, anchor: str, lang: Language, classics: Mapping[str, str]
) -> list[alt.Chart]:
    rows = [
        {
            "x0": m.moment.first_offset - 0.5,
            "x1": m.moment.last_offset + 0.5,
            "text": f"{_window_name(m.classic, classics, lang)}: "
            f"+{m.moment.excess_per_1000.value:.0f}",
        }
        for m in result.moments
        if m.moment.anchor == anchor
    ]
    if not rows:
        return []
    base = alt.Chart(data(rows))
    band = base.mark_rect(color=PALETTE["orange"], opacity=0.18).encode(x="x0:Q", x2="x1:Q")
    label = base.mark_text(align="left", baseline="top", dx=3, y=4, fontSize=10).encode(
        x="x0:Q", text="text:N"
    )
    return [band, label]


def _window_name(classic: Any, classics: Mapping[str, str], lang: Language) -> str:
    if classic is None:
        return word("hidden_moment", lang)
    return classics.get(classic.name, classic.name)


def _designed(
    result: HiddenMomentsResult, anchor: str, names: Mapping[str, str], rows: list[dict[str, Any]]
) -> list[alt.Chart]:
    """Designed touchpoints as diamonds below the bars, staggered where they crowd."""
    d = result.designed.filter(pc.equal(result.designed["anchor"], anchor)).to_pydict()
    points = sorted(
        (off, tp)
        for tp, off in zip(d["touchpoint"], d["median_offset"], strict=True)
        if off is not None and 0 <= off < result.horizon and tp != anchor
    )
    if not points:
        return []
    step = 0.07 * max((r["rate"] for r in rows if r["rate"] is not None), default=1.0)
    marks, level = [], 0
    for i, (off, tp) in enumerate(points):
        level = level + 1 if i > 0 and off - points[i - 1][0] < 1.5 else 0
        marks.append({"offset": off, "y": -step * (1 + level), "name": names.get(tp, tp)})
    base = alt.Chart(data(marks))
    diamonds = base.mark_point(shape="diamond", filled=True, size=90, color=PALETTE["blue"])
    text = base.mark_text(align="left", dx=7, fontSize=10, color=PALETTE["blue"])
    return [
        diamonds.encode(x="offset:Q", y="y:Q"),
        text.encode(x="offset:Q", y="y:Q", text="name:N"),
    ]
