"""The journey map section: touchpoints in journey order, their volume, experience and scores."""

from __future__ import annotations

from typing import Any

from peakend.report.i18n import interval, number, percent, signed, text
from peakend.report.section import Cell, Chart, ReportContext, ReportTable, Section
from peakend.views.journey_map import journey_map, score_distribution
from peakend.views.save import to_spec

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


def journey_map_figure(ctx: ReportContext) -> dict[str, Any]:
    """Mean experience per touchpoint (95 % interval) in journey order, sized by volume."""
    chart = journey_map(
        ctx.summary.touchpoints.to_pylist(),
        classes=ctx.classes,
        lang=ctx.lang,
        labels=ctx.labels,
        title=text("map_title", ctx.lang),
    )
    return to_spec(chart)


def score_distribution_figure(ctx: ReportContext) -> dict[str, Any]:
    """Share of low, middle and high scores per scored touchpoint, as stacked bars."""
    chart = score_distribution(
        ctx.summary.touchpoints.to_pylist(),
        lang=ctx.lang,
        labels=ctx.labels,
        title=text("dist_title", ctx.lang),
    )
    return to_spec(chart)


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
            Cell(ctx.label(r["touchpoint"]), r.get("stage") if r.get("stage") is not None else 1e9),
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
                touchpoint=ctx.label(worst["touchpoint"]),
                valence=signed(worst["mean_valence"], lang),
                n=number(worst["n_scored"], lang),
                best=ctx.label(best["touchpoint"]),
                best_valence=signed(best["mean_valence"], lang),
            )
        )
    return tuple(sentences)
