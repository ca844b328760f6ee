"""Charts of the remembered experience, one function per chart.

* :func:`journey_types` — experienced against remembered valence per journey type;
* :func:`journey_curve` — one journey as a curve, its peak and end marked, with the
  experienced average and the remembered valence as lines;
* :func:`model_comparison` — the out-of-sample score of every memory model.

Every point carries its 95 % interval (whiskers) or its sample size (tooltip).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import altair as alt
import numpy as np
import pyarrow.compute as pc
from numpy.typing import NDArray

from peakend.errors import ConfigError
from peakend.load import Dataset
from peakend.loading.events import journey_events
from peakend.models.memory import MemoryResult
from peakend.stats.resampling import Interval
from peakend.views.style import HEIGHT, PALETTE, WIDTH, Chart, configure, data
from peakend.views.words import Language, signed, word


def journey_types(
    result: MemoryResult, *, lang: Language = "en", title: str | None = None
) -> Chart:
    """Experienced vs remembered valence per journey type, with 95 % intervals."""
    experienced = word("experienced", lang)
    remembered = f"{word('remembered', lang)} ({result.comparison.chosen})"
    rows: list[dict[str, Any]] = []
    for t in result.types:
        label = f"{t.journey_type} (n={t.experienced.n:,})"
        for name, value in ((experienced, t.experienced), (remembered, t.remembered)):
            rows.append({"type": label, "series": name, **_bounds(value)})
    values = data(rows)
    order = list(dict.fromkeys(r["type"] for r in rows))
    y = alt.Y("type:N", title=word("journey_type", lang), sort=order)
    colour = alt.Color(
        "series:N",
        title=None,
        scale=alt.Scale(domain=[experienced, remembered], range=[PALETTE["grey"], PALETTE["blue"]]),
    )
    base = alt.Chart(values)
    link = base.mark_line(color=PALETTE["light_grey"], strokeWidth=6).encode(
        x="value:Q", y=y, detail="type:N"
    )
    whisker = base.mark_rule().encode(x="low:Q", x2="high:Q", y=y, color=colour)
    points = base.mark_circle(size=120, opacity=1).encode(
        x=alt.X("value:Q", title=word("valence_axis", lang)),
        y=y,
        color=colour,
        tooltip=["type:N", "series:N", alt.Tooltip("value:Q", format="+.2f")],
    )
    zero = alt.Chart(data([{"x": 0}])).mark_rule(strokeDash=[2, 2]).encode(x="x:Q")
    chart = alt.layer(zero, link, whisker, points).properties(
        width=WIDTH, height=max(120, 34 * len(order))
    )
    return configure(chart, title or word("types_title", lang))


def journey_curve(
    result: MemoryResult,
    dataset: Dataset,
    journey_id: str | None = None,
    *,
    lang: Language = "en",
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> Chart:
    """One journey's scored moments in order, with peak and end marked.

    Without ``journey_id`` the journey most spoiled by its end is drawn (or, when
    none is, the one with the largest memory gap).
    """
    row = _journey_row(result, journey_id)
    jid = str(row["journey_id"])
    events = journey_events(dataset, jid)
    ev = events.filter(pc.is_valid(events["valence"])).sort_by(
        [("ts", "ascending"), ("seq", "ascending")]
    )
    if ev.num_rows == 0:
        raise ConfigError(f"journey {jid!r} has no scored moments in {dataset.spec.name!r}")
    names = dict(labels or {})
    steps = [f"{i + 1}. {names.get(n, n)}" for i, n in enumerate(ev["touchpoint"].to_pylist())]
    v = np.asarray(ev["valence"].to_numpy(zero_copy_only=False), dtype=np.float64)
    peak, end = _peak_index(v), len(v) - 1
    marks = {end: word("end", lang)}
    marks[peak] = word("peak_and_end", lang) if peak == end else word("peak", lang)
    rows = [
        {"step": s, "valence": float(x), "mark": marks.get(i, "")}
        for i, (s, x) in enumerate(zip(steps, v, strict=True))
    ]
    x = alt.X("step:N", sort=steps, title=word("moment_order", lang), axis=alt.Axis(labelAngle=-30))
    y = alt.Y("valence:Q", scale=alt.Scale(domain=[-1.1, 1.2]), title=word("valence_axis", lang))
    base = alt.Chart(data(rows))
    curve = base.mark_line(point=True, color=PALETTE["blue"]).encode(x=x, y=y)
    marked = base.transform_filter("datum.mark != ''")
    dots = marked.mark_point(size=220, filled=True, color=PALETTE["vermillion"], shape="diamond")
    names_layer = marked.mark_text(dy=-14, fontWeight="bold").encode(x=x, y=y, text="mark:N")
    lines = [
        (
            f"{word('experienced', lang)} {signed(float(row['experienced']), lang)}",
            row["experienced"],
            "grey",
        ),
        (
            f"{word('remembered', lang)} {signed(float(row['remembered']), lang)}",
            row["remembered"],
            "bluish_green",
        ),
    ]
    refs = alt.Chart(data([{"y": float(val), "text": t, "c": PALETTE[c]} for t, val, c in lines]))
    ref_lines = refs.mark_rule(strokeDash=[5, 4]).encode(
        y="y:Q", color=alt.Color("c:N", scale=None)
    )
    ref_text = refs.mark_text(align="left", x=4, dy=-6, fontSize=10).encode(
        y="y:Q", text="text:N", color=alt.Color("c:N", scale=None)
    )
    chart = alt.layer(ref_lines, ref_text, curve, dots.encode(x=x, y=y), names_layer).properties(
        width=width, height=height
    )
    heading = title or word("journey_title", lang, journey=jid)
    return configure(chart, heading)


def model_comparison(
    result: MemoryResult,
    *,
    lang: Language = "en",
    title: str | None = None,
    names: Mapping[str, str] | None = None,
    metric: str | None = None,
) -> Chart:
    """Out-of-sample score of every memory model with its 95 % interval.

    ``names`` (model to display name) and ``metric`` (the score's name) let a
    report for managers say "peak and end" and "separation score" instead of
    ``peak_end`` and AUC.
    """
    comparison = result.comparison
    shown = dict(names or {})
    rows = [
        {
            "model": shown.get(s.name, s.name),
            "chosen": word("chosen", lang) if s.name == comparison.chosen else word("other", lang),
            **_bounds(s.score),
        }
        for s in comparison.scores
    ]
    key = "higher_better" if comparison.metric == "auc" else "lower_better"
    metric = metric or comparison.metric.upper()
    order = [shown.get(s.name, s.name) for s in comparison.scores]
    y = alt.Y("model:N", sort=order, title=word("model", lang))
    colour = alt.Color(
        "chosen:N",
        title=None,
        scale=alt.Scale(
            domain=[word("chosen", lang), word("other", lang)],
            range=[PALETTE["blue"], PALETTE["grey"]],
        ),
    )
    base = alt.Chart(data(rows))
    whisker = base.mark_rule().encode(x="low:Q", x2="high:Q", y=y, color=colour)
    points = base.mark_circle(size=120, opacity=1).encode(
        x=alt.X("value:Q", title=word(key, lang, metric=metric), scale=alt.Scale(zero=False)),
        y=y,
        color=colour,
        tooltip=["model:N", alt.Tooltip("value:Q", format=".3f")],
    )
    chart = alt.layer(whisker, points).properties(width=WIDTH, height=max(100, 30 * len(rows)))
    return configure(chart, title or word("models_title", lang))


def _bounds(i: Interval) -> dict[str, float]:
    low = i.low if math.isfinite(i.low) else i.value
    high = i.high if math.isfinite(i.high) else i.value
    return {"value": i.value, "low": low, "high": high}


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
