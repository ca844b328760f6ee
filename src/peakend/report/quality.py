"""The data-quality section: what was read, loaded and quarantined, and why."""

from __future__ import annotations

from peakend.report.i18n import number, text
from peakend.report.section import Cell, ReportContext, ReportTable, Section
from peakend.validate import Severity

_SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def quality_section(ctx: ReportContext) -> Section:
    """Counts of rows read, loaded and quarantined, and every validation problem."""
    lang, report = ctx.lang, ctx.dataset.report
    paragraph = text(
        "quality_summary",
        lang,
        rows=number(report.rows_read, lang),
        events=number(report.events_loaded, lang),
        journeys=number(report.journeys, lang),
        quarantined=number(report.quarantined_rows, lang),
    )
    paragraphs = [paragraph]
    tables: tuple[ReportTable, ...] = ()
    if report.problems:
        rows = tuple(
            (
                Cell(str(p.severity), _SEVERITY_ORDER[p.severity]),
                Cell(p.message(), str(p.reason)),
                Cell(number(p.count, lang), p.count),
            )
            for p in report.problems
        )
        headers = (text("col_severity", lang), text("col_problem", lang), text("col_rows", lang))
        tables = (ReportTable("problems", headers, rows, caption=text("sortable", lang)),)
    else:
        paragraphs.append(text("quality_clean", lang))
    return Section(
        key="quality",
        title=text("quality", lang),
        paragraphs=tuple(paragraphs),
        tables=tables,
        results=report.to_dict(),
    )
