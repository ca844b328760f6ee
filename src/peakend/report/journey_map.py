"""The journey map section: touchpoints in journey order, their volume, experience and scores."""

from __future__ import annotations

import math
from typing import Any

import plotly.graph_objects as go

from peakend.charts import CLASS_COLOURS, PALETTE, style
from peakend.report.i18n import interval, number, percent, signed, text
from peakend.report.section import Cell, Chart, ReportContext, ReportTable, Section

REFERENCES = (
    "Okabe, M. & Ito, K. (2008). Color Universal Design (CUD): how to make figures and "
    "presentations that are friendly to colorblind people.",
)


def journey_map_section(ctx: ReportContext) -> Section:
    """Touchpoints in stage order with experience, volume and score distribution."""
    lang = ctx.lang
    rows = ctx.summary.touchpoints.to_pylist()
    scored = [r for r in rows if r["n_scored"]]
    charts = [Chart("journey_map", text("map_title", lang), journey_map_figure(ctx))]
    if scored:
        charts.append(
            Chart("score_distribution", text("dist_title", lang), score_distribution_figure(ctx))
        )
    return Section(
        key="journey_map",
        title=text("journey_map", lang),
        paragraphs=(text("map_intro", lang),),
        charts=tuple(charts),
        tables=(_touchpoint_table(ctx, rows),),
        summary=_summary_sentences(ctx, scored),
        methods=(text("method_valence", lang), text("method_order", lang)),
        references=REFERENCES,
        results=ctx.summary.to_dict(),
    )


def journey_map_figure(ctx: ReportContext) -> go.Figure:
    """Mean experience per touchpoint (95 % interval) in journey order, sized by volume."""
    rows = [r for r in ctx.summary.touchpoints.to_pylist() if r["n_scored"]]
    if not rows:
        rows = ctx.summary.touchpoints.to_pylist()
    fig = go.Figure()
    largest = max((r["volume"] for r in rows), default=1) or 1
    for label, members in _by_class(ctx, rows).items():
        fig.add_trace(
            go.Scatter(
                x=[r["touchpoint"] for r in members],
                y=[r["mean_valence"] or 0.0 for r in members],
                error_y=_error_bars(members),
                mode="markers",
                name=label,
                showlegend=True,
                marker={
                    "size": [8 + 24 * math.sqrt(r["volume"] / largest) for r in members],
                    "opacity": 0.75,
                    "color": CLASS_COLOURS.get(_class_key(ctx, members[0]), PALETTE["grey"]),
                    "line": {"color": PALETTE["black"], "width": 1},
                },
                customdata=[[r["volume"], r["n_scored"]] for r in members],
                hovertemplate="%{x}<br>%{y:+.2f}<br>n=%{customdata[1]:,} / %{customdata[0]:,}"
                "<extra></extra>",
            )
        )
    order = [r["touchpoint"] for r in rows]
    fig.update_xaxes(categoryorder="array", categoryarray=order, tickangle=-35)
    fig.update_yaxes(range=[-1.05, 1.05], zeroline=True)
    return style(fig, text("map_title", ctx.lang), text("map_x", ctx.lang), text("map_y", ctx.lang))


def score_distribution_figure(ctx: ReportContext) -> go.Figure:
    """Share of low, middle and high scores per scored touchpoint, as stacked bars."""
    lang = ctx.lang
    rows = [r for r in ctx.summary.touchpoints.to_pylist() if r["n_scored"]]
    names = [r["touchpoint"] for r in rows]
    low = [r["share_low"] or 0.0 for r in rows]
    high = [r["share_high"] or 0.0 for r in rows]
    middle = [max(0.0, 1.0 - lo - hi) for lo, hi in zip(low, high, strict=True)]
    fig = go.Figure()
    bands = (
        (text("low", lang), low, PALETTE["vermillion"]),
        (text("middle", lang), middle, PALETTE["light_grey"]),
        (text("high", lang), high, PALETTE["bluish_green"]),
    )
    for label, shares, colour in bands:
        fig.add_trace(
            go.Bar(
                y=names,
                x=shares,
                name=label,
                orientation="h",
                marker_color=colour,
                hovertemplate="%{y}: %{x:.0%}<extra>" + label + "</extra>",
            )
        )
    fig.update_layout(barmode="stack")
    fig.update_xaxes(tickformat=".0%", range=[0, 1])
    fig.update_yaxes(autorange="reversed")
    return style(fig, text("dist_title", lang), text("dist_x", lang), text("dist_y", lang))


def _by_class(ctx: ReportContext, rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        key = _class_key(ctx, row)
        label = text(f"class_{key}", ctx.lang) if ctx.classes else text("not_analysed", ctx.lang)
        groups.setdefault(label, []).append(row)
    return groups


def _class_key(ctx: ReportContext, row: dict[str, Any]) -> str:
    return ctx.classes.get(row["touchpoint"], "not_enough_data" if ctx.classes else "standard")


def _error_bars(rows: list[dict[str, Any]]) -> dict[str, Any]:
    mean = [r["mean_valence"] for r in rows]
    high = [r["valence_high"] for r in rows]
    low = [r["valence_low"] for r in rows]
    return {
        "type": "data",
        "symmetric": False,
        "array": [_gap(m, h) for h, m in zip(high, mean, strict=True)],
        "arrayminus": [_gap(lo, m) for lo, m in zip(low, mean, strict=True)],
        "color": PALETTE["black"],
        "thickness": 1,
    }


def _gap(low: float | None, high: float | None) -> float:
    return high - low if low is not None and high is not None else 0.0


def _touchpoint_table(ctx: ReportContext, rows: list[dict[str, Any]]) -> ReportTable:
    lang = ctx.lang
    columns: tuple[str, ...] = (
        "col_touchpoint",
        "col_volume",
        "col_journeys",
        "col_scored",
        "col_valence",
    )
    body = []
    for r in rows:
        cells = (
            Cell(r["touchpoint"], r.get("stage") if r.get("stage") is not None else 1e9),
            Cell(number(r["volume"], lang), r["volume"]),
            Cell(number(r["journeys"], lang), r["journeys"]),
            Cell(number(r["n_scored"], lang), r["n_scored"]),
            Cell(
                interval(r["mean_valence"], r["valence_low"], r["valence_high"], lang),
                r["mean_valence"],
                muted=not r["n_scored"],
            ),
            Cell(percent(r["share_low"], lang), r["share_low"]),
            Cell(percent(r["share_high"], lang), r["share_high"]),
        )
        body.append(cells)
    headers = tuple(text(c, lang) for c in columns) + (
        text("col_low", lang),
        text("col_high", lang),
    )
    return ReportTable("touchpoints", headers, tuple(body), caption=text("sortable", lang))


def _summary_sentences(ctx: ReportContext, scored: list[dict[str, Any]]) -> tuple[str, ...]:
    lang, summary = ctx.lang, ctx.summary
    sentences = [
        text(
            "sum_volume",
            lang,
            journeys=number(summary.n_journeys, lang),
            events=number(summary.n_events, lang),
        )
    ]
    if summary.mean_valence.value is not None:
        sentences.append(
            text(
                "sum_experience",
                lang,
                mean=signed(summary.mean_valence.value, lang),
                end=signed(summary.end_valence.value, lang),
                peak=signed(summary.peak_valence.value, lang),
            )
        )
    enough = [r for r in scored if r["n_scored"] >= 30]
    if len(enough) >= 2:
        worst = min(enough, key=lambda r: r["mean_valence"])
        best = max(enough, key=lambda r: r["mean_valence"])
        sentences.append(
            text(
                "sum_weakest",
                lang,
                touchpoint=worst["touchpoint"],
                valence=signed(worst["mean_valence"], lang),
                n=number(worst["n_scored"], lang),
                best=best["touchpoint"],
                best_valence=signed(best["mean_valence"], lang),
            )
        )
    return tuple(sentences)
