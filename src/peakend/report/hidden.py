"""The hidden-moments section: contact peaks between designed touchpoints and their cure."""

from __future__ import annotations

from peakend.models.hidden.analysis import (
    HiddenMomentReport,
    HiddenMomentsResult,
    find_hidden_moments,
)
from peakend.models.hidden.interventions import AssumedRange, Intervention
from peakend.models.hidden.windows import LoggedTogether
from peakend.report.dutch import CLASSIC_NAMES, channel, classic_name, goal
from peakend.report.i18n import Language, ci, money, money_ci, number, percent, text
from peakend.report.section import Cell, Chart, ReportContext, ReportTable, Section
from peakend.stats.resampling import Interval
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
    """Run :func:`~peakend.models.hidden.analysis.find_hidden_moments` and present it."""
    result = find_hidden_moments(ctx.dataset)
    ctx.results["hidden"] = result
    lang = ctx.lang
    unit = text(f"unit_{result.unit}", lang)
    paragraphs = [text("hidden_intro", lang, unit=unit)]
    if result.moments:
        paragraphs += [_moment_sentence(m, ctx) for m in result.moments]
    else:
        paragraphs.append(text("hidden_none", lang))
    paragraphs += [_together_sentence(t, lang) for t in result.logged_together]
    paragraphs += [
        text(
            "hidden_refused",
            lang,
            touchpoint=e.touchpoint,
            n=number(e.n_treated, lang, 0),
            reason=e.overlap.refused,
        )  # fmt: skip
        for m in result.moments
        for e in m.proactive_effects
        if e.overlap is not None and e.overlap.refused
    ]
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
    lead = leading_moment(result)
    summary = (summary_sentence(lead, lang, ctx),) if lead is not None else ()
    return Section(
        key="hidden",
        title=text("hidden", lang),
        paragraphs=tuple(paragraphs),
        charts=charts,
        tables=tables,
        summary=summary,
        methods=(
            text(
                "method_hidden",
                lang,
                unit=unit,
                alpha=number(result.alpha, lang),
                grace=number(result.journey_end.get("grace_days", 14.0), lang, 0),
            ),
        ),
        references=REFERENCES,
        results={**result.to_dict(), "currency": ctx.dataset.spec.currency},
    )


def leading_moment(result: HiddenMomentsResult) -> HiddenMomentReport | None:
    """The hidden moment the executive summary leads with, or ``None``.

    The largest excess among windows that are more than a same-instant
    artefact: a window of only the anchor's own unit whose contacts come within
    a minute of it is a logging effect even when not stamped at the very same
    second, so it never leads.
    """
    real = [m for m in result.moments if not _instant(m)]
    return real[0] if real else None


def _instant(report: HiddenMomentReport) -> bool:
    m = report.moment
    return m.first_offset == m.last_offset == 0 and m.unit == "day" and report.near_anchor > 0.5


def summary_sentence(
    report: HiddenMomentReport, lang: Language, ctx: ReportContext | None = None
) -> str:
    """The biggest hidden moment and the proactive contact that prevents it."""
    moment, action = report.moment, report.intervention
    return text(
        "sum_hidden",
        lang,
        label=window_label(report, ctx) if ctx else moment.label,
        excess=ci(moment.excess_per_1000, lang, 0, sign=False),
        classic=_classic(report, lang),
        channel=channel(action.channel, lang),
        day=action.day,
        deflected=_amount(action.contacts_deflected_per_1000, lang),
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


def _together_sentence(t: LoggedTogether, lang: Language) -> str:
    return text(
        "hidden_logged_together",
        lang,
        contacts=", ".join(t.contact_mix) or "–",
        anchor=t.anchor,
        per_1000=number(t.per_1000, lang, 0),
    )


def _amount(figure: Interval | AssumedRange, lang: Language) -> str:
    """An estimate with its interval, or an assumed figure with its range (labelled)."""
    if isinstance(figure, AssumedRange):
        return text(
            "assumed_range",
            lang,
            value=number(figure.value, lang, 0),
            low=number(figure.low, lang, 0),
            high=number(figure.high, lang, 0),
        )
    return ci(figure, lang, 0, sign=False)


def _prevented(action: Intervention, ctx: ReportContext) -> str:
    """Contacts prevented per 1,000 journeys, and the money that saves when costs are known."""
    prevented = _amount(action.contacts_deflected_per_1000, ctx.lang)
    saved = action.cost_saved_per_1000
    if saved is None:
        return prevented
    return text("prevented_saving", ctx.lang, prevented=prevented, saved=money_amount(saved, ctx))


def money_amount(figure: Interval | AssumedRange, ctx: ReportContext) -> str:
    """A money figure in the spec's currency, with its interval or assumed range."""
    lang, currency = ctx.lang, ctx.dataset.spec.currency
    if isinstance(figure, AssumedRange):
        return text(
            "assumed_range",
            lang,
            value=money(figure.value, currency, lang),
            low=money(figure.low, currency, lang),
            high=money(figure.high, currency, lang),
        )
    return money_ci(figure, currency, lang)


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
        Cell(_prevented(action, ctx), deflected.value),
        Cell(text(f"basis_{action.basis}", lang), action.basis, muted=action.basis == "assumed"),
    )
