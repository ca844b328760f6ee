"""A chart of emotions per touchpoint: what customers feel where, and how often it ends badly."""

from __future__ import annotations

import plotly.graph_objects as go

from peakend.charts import PALETTE, style
from peakend.text.journey import TouchpointEmotions
from peakend.text.labels import EMOTIONS

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


def emotion_chart(result: TouchpointEmotions) -> go.Figure:
    """Stacked bars: the share of comments per top emotion at each touchpoint.

    Each touchpoint's label carries its number of comments and the share of
    interactions that end negatively with its 95 % interval; hovering a bar shows the
    emotion's share with its interval.
    """
    labels = []
    for tp in result.touchpoints:
        ends = tp.ends_negative
        labels.append(
            f"{tp.touchpoint} (n={tp.n_comments}; ends negative "
            f"{_pct(ends.value)} [{_pct(ends.low)}–{_pct(ends.high)}])"
        )
    fig = go.Figure()
    for emotion in EMOTIONS:
        shares = [tp.emotions.get(emotion) for tp in result.touchpoints]
        if not any(s is not None and s.value for s in shares):
            continue
        fig.add_bar(
            name=emotion,
            y=labels,
            x=[(s.value or 0.0) if s else 0.0 for s in shares],
            orientation="h",
            marker_color=EMOTION_COLOURS[emotion],
            customdata=[[_pct(s.low), _pct(s.high), s.n] if s else ["–", "–", 0] for s in shares],
            hovertemplate=(
                f"{emotion}: %{{x:.0%}} [%{{customdata[0]}}–%{{customdata[1]}}], "
                "n=%{customdata[2]}<extra></extra>"
            ),
        )
    fig.update_layout(
        barmode="stack", yaxis={"autorange": "reversed"}, legend={"traceorder": "normal"}
    )
    fig.update_xaxes(tickformat=".0%", range=[0, 1])
    return style(
        fig,
        f"Emotions in comments per touchpoint ({result.n_comments:,} comments, "
        f"{result.backend} backend)",
        "share of comments (top emotion)",
        "",
    )


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"
