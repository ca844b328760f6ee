"""The journey map: experience per touchpoint in journey order, and how each was scored.

Both charts read the per-touchpoint rows of
:class:`~peakend.summary.JourneySummary` (``summary.touchpoints``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt

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


def journey_map(
    touchpoints: Sequence[Mapping[str, Any]],
    *,
    classes: Mapping[str, str] | None = None,
    lang: Language = "en",
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> Chart:
    """Mean experience per touchpoint (95 % interval) in journey order, sized by volume.

    ``classes`` (touchpoint → moment class) colours the points the way the moment
    matrix does; without it every point is grey.
    """
    scored = [r for r in touchpoints if r["n_scored"]] or list(touchpoints)
    names = dict(labels or {})
    known = {
        **{c: word(c, lang) for c in CLASS_COLOURS},
        "not_analysed": word("not_analysed", lang),
    }
    rows = []
    for r in scored:
        key = (classes or {}).get(r["touchpoint"], "not_enough_data" if classes else "not_analysed")
        mean = r["mean_valence"] or 0.0
        rows.append(
            {
                "touchpoint": names.get(r["touchpoint"], r["touchpoint"]),
                "valence": mean,
                "low": r["valence_low"] if r["valence_low"] is not None else mean,
                "high": r["valence_high"] if r["valence_high"] is not None else mean,
                "volume": r["volume"],
                "scored": r["n_scored"],
                "class": known[key],
            }
        )
    order = [row["touchpoint"] for row in rows]
    colours = {**CLASS_COLOURS, "not_analysed": PALETTE["grey"]}
    x = alt.X("touchpoint:N", sort=order, title=word("map_x", lang), axis=alt.Axis(labelAngle=-35))
    y = alt.Y("valence:Q", scale=alt.Scale(domain=[-1, 1]), title=word("valence_axis", lang))
    base = alt.Chart(data(rows))
    whisker = base.mark_rule(color=PALETTE["black"]).encode(x=x, y="low:Q", y2="high:Q")
    line = base.mark_line(color=PALETTE["light_grey"]).encode(x=x, y=y)
    points = base.mark_circle(opacity=0.85, stroke="black", strokeWidth=0.7).encode(
        x=x,
        y=y,
        size=alt.Size("volume:Q", legend=None, scale=alt.Scale(range=[40, 500])),
        color=alt.Color("class:N", title=None, scale=colour_scale(colours, known)),
        tooltip=["touchpoint:N", alt.Tooltip("valence:Q", format="+.2f"), "scored:Q", "volume:Q"],
    )
    zero = alt.Chart(data([{"y": 0}])).mark_rule(color=PALETTE["grey"]).encode(y="y:Q")
    chart = alt.layer(zero, line, whisker, points).properties(width=width, height=height)
    return configure(chart, title or word("map_title", lang))


def score_distribution(
    touchpoints: Sequence[Mapping[str, Any]],
    *,
    lang: Language = "en",
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
) -> Chart:
    """Share of low, middle and high scores per scored touchpoint, as stacked bars."""
    names = dict(labels or {})
    bands = (
        ("low", PALETTE["vermillion"]),
        ("middle", PALETTE["light_grey"]),
        ("high", PALETTE["bluish_green"]),
    )
    rows, order = [], []
    for r in touchpoints:
        if not r["n_scored"]:
            continue
        name = names.get(r["touchpoint"], r["touchpoint"])
        order.append(name)
        low, high = r["share_low"] or 0.0, r["share_high"] or 0.0
        shares = {"low": low, "middle": max(0.0, 1.0 - low - high), "high": high}
        for i, (band, _) in enumerate(bands):
            rows.append(
                {"touchpoint": name, "band": word(band, lang), "i": i, "share": shares[band]}
            )
    chart = (
        alt.Chart(data(rows))
        .mark_bar()
        .encode(
            x=alt.X("share:Q", stack="zero", title=word("dist_x", lang), axis=alt.Axis(format="%")),
            y=alt.Y("touchpoint:N", sort=order, title=None),
            color=alt.Color(
                "band:N",
                title=word("band", lang),
                scale=alt.Scale(
                    domain=[word(b, lang) for b, _ in bands], range=[c for _, c in bands]
                ),
            ),
            order=alt.Order("i:Q"),
            tooltip=["touchpoint:N", "band:N", alt.Tooltip("share:Q", format=".0%")],
        )
        .properties(width=WIDTH - 100, height=max(120, 24 * len(order)))
    )
    return configure(chart, title or word("dist_title", lang))
