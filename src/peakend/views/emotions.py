"""Emotions per touchpoint: what customers feel where, and how often it ends badly."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import altair as alt

from peakend.text.journey import TouchpointEmotions
from peakend.text.labels import EMOTIONS
from peakend.views.style import PALETTE, WIDTH, Chart, configure, data
from peakend.views.words import Language, word

#: One colour per emotion (Okabe-Ito); negative states in warm colours, positive in greens/blues.
EMOTION_COLOURS = {
    "anger": PALETTE["vermillion"],
    "frustration": PALETTE["orange"],
    "worry": PALETTE["reddish_purple"],
    "uncertainty": PALETTE["yellow"],
    "disappointment": PALETTE["sky_blue"],
    "joy": PALETTE["bluish_green"],
    "trust": PALETTE["blue"],
    "surprise": PALETTE["black"],
    "neutral": PALETTE["light_grey"],
}


def emotion_chart(
    result: TouchpointEmotions,
    *,
    lang: Language = "en",
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
) -> Chart:
    """Stacked bars: the share of comments per top emotion at each touchpoint.

    Each touchpoint's label carries its number of comments and the share of
    interactions that end negatively; the tooltip shows each share's interval.
    """
    names = dict(labels or {})
    rows: list[dict[str, Any]] = []
    order = []
    for tp in result.touchpoints:
        ends = tp.ends_negative
        label = (
            f"{names.get(tp.touchpoint, tp.touchpoint)} (n = {tp.n_comments}; "
            f"{word('ends_negative', lang)} {_pct(ends.value, lang)})"
        )
        order.append(label)
        for emotion in EMOTIONS:
            share = tp.emotions.get(emotion)
            if share is None or not share.value:
                continue
            rows.append(
                {
                    "touchpoint": label,
                    "emotion": word(emotion, lang),
                    "order": EMOTIONS.index(emotion),
                    "share": share.value,
                    "low": share.low,
                    "high": share.high,
                }
            )
    used = [e for e in EMOTIONS if any(r["order"] == EMOTIONS.index(e) for r in rows)]
    colour = alt.Color(
        "emotion:N",
        title=word("emotion", lang),
        scale=alt.Scale(
            domain=[word(e, lang) for e in used], range=[EMOTION_COLOURS[e] for e in used]
        ),
    )
    chart = (
        alt.Chart(data(rows))
        .mark_bar()
        .encode(
            x=alt.X(
                "share:Q",
                stack="zero",
                title=word("share_comments", lang),
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            y=alt.Y("touchpoint:N", sort=order, title=None),
            color=colour,
            order=alt.Order("order:Q"),
            tooltip=[
                "touchpoint:N",
                "emotion:N",
                alt.Tooltip("share:Q", format=".0%"),
                alt.Tooltip("low:Q", format=".0%"),
                alt.Tooltip("high:Q", format=".0%"),
            ],
        )
        .properties(width=WIDTH - 120, height=max(120, 26 * len(order)))
    )
    return configure(chart, title or word("emotions_title", lang))


def _pct(value: float | None, lang: Language) -> str:
    if value is None:
        return "–"
    shown = f"{100 * value:.0f}"
    return shown + ("%" if lang == "nl" else " %")
