"""The data-quality section: what was read, loaded and quarantined, and why."""

from __future__ import annotations

from peakend.report.i18n import Language, number, percent, text
from peakend.report.section import Cell, ReportContext, ReportTable, Section
from peakend.validate import Severity, ValidationReport

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


#: Above this share of quarantined rows the report, the CLI and ``--json`` warn prominently.
QUARANTINE_WARN_SHARE = 0.01
#: Quarantine reasons named in the one-line data summary.
TOP_REASONS = 3

_REASON_WORDS: dict[str, dict[Language, str]] = {
    "missing_column": {"en": "missing column", "nl": "ontbrekende kolom"},
    "missing_value": {"en": "empty value", "nl": "lege waarde"},
    "bad_timestamp": {"en": "unreadable timestamp", "nl": "onleesbaar tijdstip"},
    "bad_score": {"en": "score not a number", "nl": "score is geen getal"},
    "score_out_of_scale": {
        "en": "score outside the declared scale",
        "nl": "score buiten de schaal",
    },
    "bad_value": {"en": "unreadable value", "nl": "onleesbare waarde"},
    "duplicate_event": {"en": "duplicate event", "nl": "dubbele gebeurtenis"},
    "duplicate_journey": {"en": "duplicate journey", "nl": "dubbele klantreis"},
    "no_outcome": {"en": "no outcome", "nl": "geen uitkomst"},
    "bad_outcome": {"en": "unreadable outcome", "nl": "onleesbare uitkomst"},
    "outcome_without_events": {
        "en": "outcome without events",
        "nl": "uitkomst zonder gebeurtenissen",
    },
    "bad_encoding": {"en": "bad text encoding", "nl": "verkeerde tekstcodering"},
    "unknown_touchpoint": {"en": "unknown touchpoint", "nl": "onbekend contactmoment"},
}


def quarantined_share(report: ValidationReport) -> float:
    """The share of rows read that were quarantined (0 when nothing was read)."""
    return report.quarantined_rows / report.rows_read if report.rows_read else 0.0


def top_reasons(report: ValidationReport, n: int = TOP_REASONS) -> list[tuple[str, int]]:
    """The quarantine reasons with the most rows: ``(reason code, rows)``, largest first."""
    counts: dict[str, int] = {}
    for p in report.problems:
        if p.severity is Severity.ERROR:
            counts[str(p.reason)] = counts.get(str(p.reason), 0) + p.count
    return sorted(counts.items(), key=lambda kv: -kv[1])[:n]


def data_line(report: ValidationReport, lang: Language) -> str:
    """One line: rows read, loaded and quarantined, with the top reasons."""
    reasons = ", ".join(
        f"{_REASON_WORDS.get(code, {}).get(lang, code)} ({number(count, lang)})"
        for code, count in top_reasons(report)
    )
    return text(
        "data_line",
        lang,
        rows=number(report.rows_read, lang),
        events=number(report.events_loaded, lang),
        journeys=number(report.journeys, lang),
        quarantined=number(report.quarantined_rows, lang),
        share=percent(quarantined_share(report), lang, 1),
        reasons=text("data_reasons", lang, reasons=reasons) if reasons else "",
    )


def quarantine_warning(report: ValidationReport, lang: Language) -> str:
    """The prominent warning when more than 1 % of rows were quarantined, else ``""``."""
    share = quarantined_share(report)
    if share <= QUARANTINE_WARN_SHARE:
        return ""
    return text(
        "quarantine_warning",
        lang,
        share=percent(share, lang, 1),
        quarantined=number(report.quarantined_rows, lang),
        rows=number(report.rows_read, lang),
    )


def data_quality(report: ValidationReport) -> dict[str, object]:
    """JSON-ready counts and the warning flag that ``--json`` outputs carry."""
    share = quarantined_share(report)
    return {
        "rows_read": report.rows_read,
        "events_loaded": report.events_loaded,
        "journeys": report.journeys,
        "quarantined_rows": report.quarantined_rows,
        "quarantined_share": share,
        "quarantine_warning": share > QUARANTINE_WARN_SHARE,
        "top_reasons": [{"reason": r, "rows": c} for r, c in top_reasons(report)],
    }
