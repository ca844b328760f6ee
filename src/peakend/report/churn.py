"""The churn section: drivers with hazard ratios and avoidable churn per cause."""

from __future__ import annotations

from peakend.models.churn import ChurnResult, churn_drivers
from peakend.report.i18n import Language, ci, number, text
from peakend.report.section import Cell, Chart, ReportContext, ReportTable, Section
from peakend.views.churn import avoidable_chart, survival_chart
from peakend.views.save import to_spec
from peakend.views.words import word

REFERENCES = (
    "Cox, D. R. (1972). Regression models and life-tables. Journal of the Royal Statistical "
    "Society B 34(2), 187–220.",
    "Andersen, P. K. & Gill, R. D. (1982). Cox's regression model for counting processes: a "
    "large sample study. Annals of Statistics 10(4), 1100–1120.",
    "Grambsch, P. M. & Therneau, T. M. (1994). Proportional hazards tests and diagnostics "
    "based on weighted residuals. Biometrika 81(3), 515–526.",
    "Gijsenberg, M. J., van Heerde, H. J. & Verhoef, P. C. (2015). Losses loom longer than "
    "gains: modeling the impact of service crises on perceived service quality over time. "
    "Journal of Marketing Research 52(5), 642–656.",
    "Davidson-Pilon, C. (2019). lifelines: survival analysis in Python. Journal of Open "
    "Source Software 4(40), 1317.",
)


def churn_section(ctx: ReportContext) -> Section:
    """Run :func:`~peakend.models.churn.churn_drivers` and present it."""
    result = churn_drivers(ctx.dataset)
    ctx.results["churn"] = result
    lang = ctx.lang
    c = result.concordance
    paragraphs = [
        text(
            "churn_intro",
            lang,
            customers=number(result.customers, lang, 0),
            churners=number(result.churners, lang, 0),
            kind=result.kind,
            c=number(c, lang, 3) if c is not None else "–",
        )
    ]
    summary: tuple[str, ...] = ()
    a = result.avoidable
    if a is not None and a.total.low > 0 and a.by_cause:
        cause, effect = a.by_cause[0]
        paragraphs.append(
            text(
                "churn_avoidable",
                lang,
                value=ci(a.total, lang, 0, sign=False),
                churners=number(a.churners, lang, 0),
                cause=cause,
                cause_value=ci(effect, lang, 0, sign=False),
            )
        )
        summary = (text("sum_churn", lang, value=ci(a.total, lang, 0, sign=False)),)
    elif a is not None:
        paragraphs.append(text("churn_avoidable_none", lang, value=ci(a.total, lang, 0)))
    tables = [_drivers(result, lang)]
    if a is not None and a.by_cause:
        tables.append(_causes(result, lang))
    return Section(
        key="churn",
        title=text("churn", lang),
        paragraphs=tuple(paragraphs),
        charts=_charts(result, ctx),
        tables=tuple(tables),
        summary=summary,
        methods=(text("method_churn", lang),),
        references=REFERENCES,
        results=result.to_dict(),
    )


def _charts(result: ChurnResult, ctx: ReportContext) -> tuple[Chart, ...]:
    """Survival by negative moments so far, and avoidable churn per cause, when there are any."""
    lang, charts = ctx.lang, []
    if result.curves_by_experience:
        title = word("survival_title", lang)
        curves = survival_chart(result.curves_by_experience, time_unit=result.time_unit, lang=lang)
        charts.append(Chart("churn_survival", title, to_spec(curves)))
    if result.avoidable is not None and result.avoidable.by_cause:
        title = text("avoidable_chart_title", lang)
        bars = avoidable_chart(result, lang=lang, labels=ctx.labels, title=title)
        charts.append(Chart("churn_avoidable", title, to_spec(bars)))
    return tuple(charts)


def _drivers(result: ChurnResult, lang: Language) -> ReportTable:
    headers = (text("col_driver", lang), text("col_hazard_ratio", lang), text("col_ph", lang))
    rows = tuple(
        (
            Cell(d.covariate),
            Cell(
                f"{number(d.hazard_ratio, lang, 3)} [{number(d.low, lang, 3)}, "
                f"{number(d.high, lang, 3)}]",
                d.hazard_ratio,
            ),
            Cell(number(d.ph_p, lang, 3), d.ph_p),
        )
        for d in result.drivers
    )
    return ReportTable("churn_drivers", headers, rows, caption=text("sortable", lang))


def _causes(result: ChurnResult, lang: Language) -> ReportTable:
    assert result.avoidable is not None
    headers = (text("col_cause", lang), text("col_avoidable", lang))
    rows = tuple(
        (Cell(cause), Cell(ci(e, lang, 0, sign=False), e.value))
        for cause, e in result.avoidable.by_cause
    )
    return ReportTable("churn_avoidable", headers, rows, caption=text("sortable", lang))
