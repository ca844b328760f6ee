"""The service-recovery section: recovered, not recovered and never failed, with the verdict."""

from __future__ import annotations

from peakend.models.recovery import RecoveryResult, service_recovery
from peakend.models.recovery.analysis import OutcomeRecovery
from peakend.report.i18n import Language, ci, number, text
from peakend.report.section import Cell, Chart, ReportContext, ReportTable, Section
from peakend.views.recovery import recovery_chart
from peakend.views.save import to_spec

REFERENCES = (
    "McCollough, M. A. & Bharadwaj, S. G. (1992). The recovery paradox. AMA Winter "
    "Educators' Conference Proceedings 3, 119.",
    "de Matos, C. A., Henrique, J. L. & Rossi, C. A. V. (2007). Service recovery paradox: a "
    "meta-analysis. Journal of Service Research 10(1), 60–77.",
    "Maxham, J. G. & Netemeyer, R. G. (2002). A longitudinal study of complaining customers' "
    "evaluations of multiple service failures and recovery efforts. Journal of Marketing "
    "66(4), 57–71.",
    "Michel, S. & Meuter, M. L. (2008). The service recovery paradox: true but overrated? "
    "International Journal of Service Industry Management 19(4), 441–457.",
    "Knox, G. & van Oest, R. (2014). Customer complaints and recovery effectiveness: a "
    "customer base approach. Journal of Marketing 78(5), 42–57.",
)


def recovery_section(ctx: ReportContext) -> Section:
    """Run :func:`~peakend.models.recovery.service_recovery` and present it."""
    result = service_recovery(ctx.dataset)
    ctx.results["recovery"] = result
    lang = ctx.lang
    g = result.groups
    failed = g["recovered"] + g["not recovered"]
    paragraphs = [
        text(
            "recovery_intro",
            lang,
            failed=number(failed, lang, 0),
            units=number(sum(g.values()), lang, 0),
            unit=text(f"units_{result.unit}", lang),
            recovered=number(g["recovered"], lang, 0),
            adjusted=", ".join(result.confounders) or "–",
        )
    ]
    paragraphs += [_sentence(o, lang) for o in result.outcomes if o.all_failures]
    if result.speed is not None:
        paragraphs.append(
            text(
                "recovery_speed",
                lang,
                outcome=result.speed.outcome,
                slope=ci(result.speed.per_doubling, lang, 3),
                verdict=result.speed.verdict,
            )
        )
    first = next((o for o in result.outcomes if o.all_failures), None)
    summary: tuple[str, ...] = ()
    if first is not None and first.all_failures is not None:
        summary = (
            text(
                "sum_recovery",
                lang,
                outcome=first.outcome,
                verdict=_verdict(first.verdict, lang),
                gap=ci(first.all_failures.recovered_vs_none, lang, 2),
            ),
        )
    return Section(
        key="recovery",
        title=text("recovery", lang),
        paragraphs=tuple(paragraphs),
        charts=_charts(result, lang),
        tables=(_table(result, lang),) if result.outcomes else (),
        summary=summary,
        methods=(text("method_recovery", lang),),
        references=REFERENCES,
        results=result.to_dict(),
    )


def _charts(result: RecoveryResult, lang: Language) -> tuple[Chart, ...]:
    """The contrasts of the first outcome compared, when there is one."""
    first = next((o for o in result.outcomes if o.all_failures), None)
    if first is None:
        return ()
    title = text("recovery_chart_title", lang, outcome=first.outcome)
    chart = recovery_chart(result, outcome=first.outcome, lang=lang, title=title)
    return (Chart("recovery", title, to_spec(chart)),)


def _verdict(verdict: str, lang: Language) -> str:
    return text(f"verdict_{verdict}", lang)


def _sentence(o: OutcomeRecovery, lang: Language) -> str:
    c = o.all_failures
    assert c is not None
    return text(
        "recovery_outcome",
        lang,
        outcome=o.outcome,
        gap=ci(c.recovered_vs_none, lang, 2),
        help=ci(c.recovered_vs_unrecovered, lang, 2),
        verdict=_verdict(o.verdict, lang),
    )


def _table(result: RecoveryResult, lang: Language) -> ReportTable:
    headers = tuple(
        text(k, lang)
        for k in (
            "col_outcome", "col_never_failed", "col_recovered", "col_not_recovered",
            "col_gap_never", "col_gap_unrecovered", "col_verdict",
        )
    )  # fmt: skip
    rows = []
    for o in result.outcomes:
        c = o.all_failures
        means = [o.means[k] for k in ("no failure", "recovered", "not recovered")]
        rows.append(
            (
                Cell(o.outcome),
                *(Cell(number(m, lang, 3), m) for m in means),
                Cell(ci(c.recovered_vs_none, lang, 3) if c else "–"),
                Cell(ci(c.recovered_vs_unrecovered, lang, 3) if c else "–"),
                Cell(_verdict(o.verdict, lang)),
            )
        )
    return ReportTable("recovery", headers, tuple(rows), caption=text("sortable", lang))
