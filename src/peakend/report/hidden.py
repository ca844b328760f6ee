"""The hidden-moments section: contact peaks between designed touchpoints and their cure."""

from __future__ import annotations

from peakend.models.hidden_analysis import (
    HiddenMomentReport,
    HiddenMomentsResult,
    find_hidden_moments,
)
from peakend.report.dutch import CLASSIC_NAMES, channel, classic_name, goal
from peakend.report.i18n import Language, ci, number, percent, text
from peakend.report.section import Cell, Chart, ReportContext, ReportTable, Section
from peakend.views.hidden import hidden_timeline
from peakend.views.save import to_spec

REFERENCES = (
    "Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate. Journal of "
    "the Royal Statistical Society B 57(1), 289–300.",
    "van Slooten, M. & Veldhoen, R. (2014). Twee belevingsklassiekers cadeau. "
    "Telecommerce Magazine 07/08.",
    "Monroe, B. L., Colaresi, M. P. & Quinn, K. M. (2008). Fightin' words: lexical feature "
    "selection and evaluation for identifying the content of political conflict. Political "
    "Analysis 16(4), 372–403.",
)

#: Anchors drawn as a timeline (largest hidden moment first).
TIMELINES = 3


def hidden_section(ctx: ReportContext) -> Section:
    """Run :func:`~peakend.models.hidden_analysis.find_hidden_moments` and present it."""
    result = find_hidden_moments(ctx.dataset)
    ctx.results["hidden"] = result
    lang = ctx.lang
    unit = text(f"unit_{result.unit}", lang)
    paragraphs = [text("hidden_intro", lang, unit=unit)]
    if result.moments:
        paragraphs += [_moment_sentence(m, ctx) for m in result.moments]
    else:
        paragraphs.append(text("hidden_none", lang))
    anchors = list(dict.fromkeys(m.moment.anchor for m in result.moments))[:TIMELINES]
    charts = tuple(
        Chart(
            f"hidden_{anchor}",
            text("timeline_title", lang, anchor=ctx.label(anchor)),
            to_spec(
                hidden_timeline(
                    result,
                    anchor,
                    lang=lang,
                    labels=ctx.labels,
                    classics=CLASSIC_NAMES if lang == "nl" else None,
                    title=text("timeline_title", lang, anchor=ctx.label(anchor)),
                )
            ),
        )
        for anchor in anchors
    )
    tables = (_moment_table(result, ctx),) if result.moments else ()
    summary = (summary_sentence(result.moments[0], lang, ctx),) if result.moments else ()
    return Section(
        key="hidden",
        title=text("hidden", lang),
        paragraphs=tuple(paragraphs),
        charts=charts,
        tables=tables,
        summary=summary,
        methods=(text("method_hidden", lang, unit=unit, alpha=number(result.alpha, lang)),),
        references=REFERENCES,
        results=result.to_dict(),
    )


def summary_sentence(
    report: HiddenMomentReport, lang: Language, ctx: ReportContext | None = None
) -> str:
    """The biggest hidden moment and the proactive contact that prevents it."""
    moment, action = report.moment, report.intervention
    return text(
        "sum_hidden",
        lang,
        label=window_label(report, ctx) if ctx else moment.label,
        excess=number(moment.excess_per_1000.value, lang, 0),
        classic=_classic(report, lang),
        channel=channel(action.channel, lang),
        day=action.day,
        deflected=number(action.contacts_deflected_per_1000.value, lang, 0),
        basis=text(f"basis_{action.basis}", lang),
    )


def window_label(report: HiddenMomentReport, ctx: ReportContext) -> str:
    """The window in words: ``First invoice, days 0–4 after``."""
    moment = report.moment
    key = "window_hour" if moment.unit == "hour" else "window_day"
    return text(
        key,
        ctx.lang,
        anchor=ctx.label(moment.anchor),
        first=moment.first_offset,
        last=moment.last_offset,
    )


def _moment_sentence(report: HiddenMomentReport, ctx: ReportContext) -> str:
    moment, lang = report.moment, ctx.lang
    return text(
        "hidden_moment",
        lang,
        label=window_label(report, ctx),
        excess=ci(moment.excess_per_1000, lang, 0, sign=False),
        share=percent(moment.share_affected.value, lang),
        classic=_classic(report, lang),
    )


def _classic(report: HiddenMomentReport, lang: Language) -> str:
    if report.classic is None:
        return ""
    return text("hidden_classic", lang, name=classic_name(report.classic.name, lang))


def _moment_table(result: HiddenMomentsResult, ctx: ReportContext) -> ReportTable:
    lang = ctx.lang
    outcome = next((g.outcome for m in result.moments for g in m.outcome_gaps), "–")
    headers = (
        text("col_window", lang),
        text("col_excess", lang),
        text("col_affected", lang),
        text("col_looks_like", lang),
        text("col_outcome_gap", lang, outcome=outcome),
        text("col_suggestion", lang),
        text("col_deflected", lang),
        text("col_basis", lang),
    )
    return ReportTable(
        "hidden",
        headers,
        tuple(_row(m, ctx) for m in result.moments),
        caption=text("sortable", lang),
    )


def _row(report: HiddenMomentReport, ctx: ReportContext) -> tuple[Cell, ...]:
    moment, action, lang = report.moment, report.intervention, ctx.lang
    gap = report.outcome_gaps[0] if report.outcome_gaps else None
    gap_text = ci(gap.difference, lang) if gap else "–"
    deflected = action.contacts_deflected_per_1000
    return (
        Cell(window_label(report, ctx)),
        Cell(ci(moment.excess_per_1000, lang, 0, sign=False), moment.excess_per_1000.value),
        Cell(percent(moment.share_affected.value, lang), moment.share_affected.value),
        Cell(classic_name(report.classic.name, lang) if report.classic else "–"),
        Cell(gap_text, gap.difference.value if gap else None),
        Cell(
            text(
                "suggestion",
                lang,
                channel=channel(action.channel, lang),
                day=action.day,
                goal=goal(action.goal, lang),
            )
        ),
        Cell(ci(deflected, lang, 0, sign=False), deflected.value),
        Cell(text(f"basis_{action.basis}", lang), action.basis, muted=action.basis == "assumed"),
    )
