"""The focus plan as a chart: expected gain per action with its interval, by recommendation."""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt

from peakend.models.focus import FocusPlan
from peakend.views.style import PALETTE, RECOMMENDATION_COLOURS, WIDTH, Chart, configure, data
from peakend.views.words import Language, word

#: Actions drawn (the report's table lists all).
CHART_ACTIONS = 12


def focus_chart(
    plan: FocusPlan,
    *,
    lang: Language = "en",
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    unit: str | None = None,
    scale: float = 1.0,
    actions: int = CHART_ACTIONS,
    width: int = WIDTH,
) -> Chart:
    """Expected gain per action with its 95 % interval, coloured by recommendation.

    ``scale`` multiplies the gains (100 turns a probability into percentage
    points); ``unit`` names the axis unit (default: the outcome).
    """
    names = dict(labels or {})
    shown = [a for a in plan.actions if a.gain.value > 0][:actions]
    rows = [
        {
            "action": f"{word(f'rec_{a.kind}', lang)}: {names.get(a.touchpoint, a.touchpoint)}",
            "kind": word(f"rec_{a.kind}", lang) if f"rec_{a.kind}" in _KINDS else a.kind,
            "gain": a.gain.value * scale,
            "low": a.gain.low * scale,
            "high": a.gain.high * scale,
        }
        for a in shown
    ]
    kinds = [k for k in RECOMMENDATION_COLOURS if any(a.kind == k for a in shown)]
    colour = alt.Color(
        "kind:N",
        title=None,
        scale=alt.Scale(
            domain=[word(f"rec_{k}", lang) for k in kinds],
            range=[RECOMMENDATION_COLOURS[k] for k in kinds],
        ),
    )
    y = alt.Y("action:N", sort=[str(r["action"]) for r in rows], title=None)
    base = alt.Chart(data(rows))
    bars = base.mark_bar().encode(
        x=alt.X("gain:Q", title=word("focus_x", lang, outcome=unit or plan.outcome)),
        y=y,
        color=colour,
        tooltip=["action:N", alt.Tooltip("gain:Q", format=".3f")],
    )
    whisker = base.mark_rule(color=PALETTE["black"]).encode(x="low:Q", x2="high:Q", y=y)
    chart = alt.layer(bars, whisker).properties(width=width - 160, height=max(80, 24 * len(rows)))
    return configure(chart, title or word("focus_title", lang))


_KINDS = {f"rec_{k}" for k in RECOMMENDATION_COLOURS}
