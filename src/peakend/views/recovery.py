"""Service-recovery chart: the three contrasts of one outcome with their 95 % intervals.

Recovered − never failed says whether the paradox holds (above zero) or how much
of the loss remains (below zero); recovered − not recovered says what recovery
wins back. A dashed line marks zero so the reader sees which intervals exclude it.
"""

from __future__ import annotations

import altair as alt

from peakend.models.recovery import RecoveryResult
from peakend.views.style import PALETTE, WIDTH, Chart, configure, data
from peakend.views.words import Language, word


def recovery_chart(
    result: RecoveryResult,
    *,
    outcome: str | None = None,
    lang: Language = "en",
    title: str | None = None,
    width: int = WIDTH,
) -> Chart:
    """Contrasts with intervals for ``outcome`` (default: the first one compared)."""
    chosen = next(
        (o for o in result.outcomes if outcome in (None, o.outcome) and o.all_failures), None
    )
    rows = []
    if chosen is not None and chosen.all_failures is not None:
        c = chosen.all_failures
        for key, e in (
            ("recovered_vs_never", c.recovered_vs_none),
            ("unrecovered_vs_never", c.unrecovered_vs_none),
            ("recovered_vs_unrecovered", c.recovered_vs_unrecovered),
        ):
            rows.append(
                {"contrast": word(key, lang), "value": e.value, "low": e.low, "high": e.high}
            )
    name = chosen.outcome if chosen is not None else (outcome or "outcome")
    y = alt.Y("contrast:N", title=None, sort=None)
    base = alt.Chart(data(rows))
    points = base.mark_point(filled=True, size=80, color=PALETTE["blue"]).encode(
        x=alt.X("value:Q", title=word("recovery_x", lang, outcome=name)), y=y
    )
    whiskers = base.mark_rule(color=PALETTE["black"]).encode(x="low:Q", x2="high:Q", y=y)
    zero = alt.Chart(data([{"x": 0}])).mark_rule(strokeDash=[4, 4]).encode(x="x:Q")
    chart = alt.layer(whiskers, points, zero).properties(width=width - 200, height=110)
    return configure(chart, title or word("recovery_title", lang, outcome=name))
