"""From a dataset to a report: run every analysis the data allows, then write the files.

:func:`analyze` is what ``peakend analyze`` runs. Each analysis becomes a
:class:`~peakend.report.section.Section`; an analysis the data cannot support
(no scores, no outcome, no timestamps, no text) becomes a
:class:`~peakend.report.section.Skipped` with the reason, so the report says
what it left out instead of silently showing less.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from threadpoolctl import threadpool_limits

from peakend.errors import DataError, ModelError, PeakendError
from peakend.load import Dataset, load
from peakend.loading.events import commented_events
from peakend.report.i18n import Language, check_language, number, text
from peakend.report.pdf import PdfContent, typeset_pdf
from peakend.report.quality import data_line, data_quality, quarantine_warning
from peakend.report.render import render_html, write_chart_images
from peakend.report.section import ReportContext, Section, Skipped
from peakend.spec import DatasetSpec
from peakend.summary import summarize_journeys
from peakend.views.save import draw_ahead, forget_ahead, warm_up

Progress = Callable[[str], None]
SectionBuilder = Callable[[ReportContext], Section | Skipped]

#: Sections in the order the report shows them.
SECTION_ORDER = (
    "journey_map", "moments", "memory", "emotions", "hidden", "recovery", "churn", "focus",
    "quality",
)  # fmt: skip

#: Sections whose sentences lead the executive summary, most important first.
SUMMARY_PRIORITY = (
    "moments", "memory", "hidden", "recovery", "churn", "emotions", "focus", "journey_map",
)  # fmt: skip
SUMMARY_SENTENCES = 5


@dataclass(frozen=True)
class Report:
    """A built report: its sections, what was skipped, and the executive summary."""

    dataset: str
    lang: Language
    outcome: str | None
    generated_at: datetime
    n_journeys: int
    n_events: int
    sections: tuple[Section, ...]
    skipped: tuple[Skipped, ...]
    summary: tuple[str, ...]
    #: Rows read, loaded and quarantined (:func:`~peakend.report.quality.data_quality`).
    quality: dict[str, Any] = field(default_factory=dict)
    #: The data line and the quarantine warning in the report language ("" when none).
    data_line: str = ""
    warning: str = ""
    #: The ISO 4217 code of money figures (``[report] currency``), None when not declared.
    currency: str | None = None

    def section(self, key: str) -> Section | None:
        """The section ``key`` if it was built."""
        return next((s for s in self.sections if s.key == key), None)

    def to_dict(self) -> dict[str, Any]:
        """Everything ``results.json`` holds: each section's figures with intervals and n."""
        from peakend import __version__

        return {
            "peakend_version": __version__,
            "generated_at": self.generated_at.isoformat(),
            "dataset": self.dataset,
            "lang": self.lang,
            "outcome": self.outcome,
            "currency": self.currency,
            "n_journeys": self.n_journeys,
            "n_events": self.n_events,
            "summary": list(self.summary),
            "data_quality": {**self.quality, "line": self.data_line, "warning": self.warning},
            "sections": {s.key: s.results for s in self.sections},
            "skipped": [s.to_dict() for s in self.skipped],
        }


@dataclass(frozen=True)
class ReportFiles:
    """Where :func:`write_report` put the report."""

    directory: Path
    html: Path
    json: Path
    pdf: Path | None
    charts: tuple[Path, ...]
    #: What could not be written, each with the reason and how to get it.
    skipped: tuple[str, ...] = ()


def build_report(
    dataset: Dataset,
    *,
    lang: str = "en",
    outcome: str | None = None,
    progress: Progress | None = None,
    image_formats: tuple[str, ...] = (),
) -> Report:
    """Run every analysis ``dataset`` allows and collect the sections of the report.

    ``image_formats`` names the image formats :func:`write_report` will write: the
    charts of the sections built beside the others are then drawn on their
    thread as soon as they are ready, while the others are still running.
    """
    language = check_language(lang)
    step = progress or (lambda _name: None)
    outcome = dataset.choose_outcome(outcome)
    step("journeys")
    # BLAS stays single-threaded until the early analyses are done: the limit is
    # process-wide, and one thread lifting it would change another's last digits
    with (
        threadpool_limits(limits=1, user_api="blas"),
        ThreadPoolExecutor(1, thread_name_prefix="peakend-early") as pool,
    ):
        early = _start_early(pool, dataset, outcome)
        summary = summarize_journeys(dataset, outcome=outcome)
        ctx = ReportContext(
            dataset=dataset, summary=summary, lang=language, outcome=outcome, early=early
        )
        built = _build_sections(ctx, step, image_formats)
    sections = tuple(s for k in SECTION_ORDER if isinstance(s := built[k], Section))
    skipped = tuple(s for k in SECTION_ORDER if isinstance(s := built[k], Skipped))
    return Report(
        dataset=dataset.spec.name,
        lang=language,
        outcome=outcome,
        generated_at=datetime.now(UTC),
        n_journeys=summary.n_journeys,
        n_events=summary.n_events,
        sections=sections,
        skipped=skipped,
        summary=_executive_summary(sections),
        quality=data_quality(dataset.report),
        data_line=data_line(dataset.report, language),
        warning=quarantine_warning(dataset.report, language),
        currency=dataset.spec.currency,
    )


def write_report(
    report: Report,
    out_dir: Path,
    *,
    pdf: bool = True,
    image_formats: tuple[str, ...] = ("png", "svg"),
    progress: Progress | None = None,
) -> ReportFiles:
    """Write ``report.html``, ``results.json``, ``report.pdf`` and ``charts/`` into ``out_dir``.

    HTML and JSON are the report itself; when the chart images or the PDF cannot
    be written (a full disk, a read-only folder), the rest is still written and
    :attr:`ReportFiles.skipped` says what is missing and why.
    """
    from peakend import __version__

    step = progress or (lambda _name: None)
    out_dir.mkdir(parents=True, exist_ok=True)
    step("html")
    html_path = out_dir / "report.html"
    html_path.write_text(_html(report, __version__), encoding="utf-8")
    json_path = out_dir / "results.json"
    json_path.write_text(
        json.dumps(_json_safe(report.to_dict()), indent=2, ensure_ascii=False), encoding="utf-8"
    )
    skipped: list[str] = []
    charts: list[Path] = []
    if image_formats:
        step("charts")
        try:
            charts = write_chart_images(
                list(report.sections), out_dir, image_formats, lang=report.lang
            )
        except (PeakendError, OSError) as exc:
            skipped.append(f"chart images: {exc}")
    pdf_path = None
    if pdf:
        step("pdf")
        try:
            pdf_path = typeset_pdf(
                pdf_content(report, __version__),
                report.sections,
                report.skipped,
                out_dir / "report.pdf",
                chart_dir=out_dir / "charts" if "svg" in image_formats else None,
            )
        except (PeakendError, OSError) as exc:
            skipped.append(f"report.pdf: {exc}")
    return ReportFiles(out_dir, html_path, json_path, pdf_path, tuple(charts), tuple(skipped))


def analyze(
    spec: str | Path | DatasetSpec,
    out_dir: Path,
    *,
    lang: str = "en",
    outcome: str | None = None,
    pdf: bool = True,
    image_formats: tuple[str, ...] = ("png", "svg"),
    progress: Progress | None = None,
    backend: str | None = None,
) -> tuple[Report, ReportFiles]:
    """Load ``spec``, run every analysis the data allows and write the report to ``out_dir``.

    ``backend`` is :func:`peakend.load`'s: with ``spark`` the events stay on the
    Spark session and the analyses bring back only aggregates, per-journey
    features and the commented events (docs/scale.md).
    """
    check_language(lang)
    step = progress or (lambda _name: None)
    # the chart engine starts beside the loading, which leaves the second core idle
    warming = _start_thread(warm_up) if pdf or image_formats else None
    try:
        step("load")
        dataset = load(spec, backend=backend)
        report = build_report(
            dataset, lang=lang, outcome=outcome, progress=step, image_formats=image_formats
        )
    finally:
        if warming is not None:
            warming.join()
    try:
        files = write_report(report, out_dir, pdf=pdf, image_formats=image_formats, progress=step)
    finally:
        forget_ahead()  # a chart drawn ahead but not written (an error) is not kept
    return report, files


def _start_thread(work: Callable[[], None]) -> threading.Thread:
    """Run ``work`` on a thread of its own (joined by the caller)."""
    thread = threading.Thread(target=work, name="peakend-warm-up", daemon=True)
    thread.start()
    return thread


#: The steps :func:`analyze` reports to its progress callback, in order.
STEPS = ("load", "journeys", *SECTION_ORDER, "html", "charts", "pdf")


def _run_order() -> tuple[str, ...]:
    # Moments run first so the journey map can colour touchpoints by their class.
    return ("moments", *(k for k in SECTION_ORDER if k != "moments"))


def _build_sections(
    ctx: ReportContext, step: Progress, images: tuple[str, ...] = ()
) -> dict[str, Section | Skipped]:
    """Build every section in :func:`_run_order`, the memory section beside the moments.

    The memory analysis needs nothing from the others, and the moments analysis
    leaves a core idle while it cross-validates and fits segment by segment: on
    two cores running them side by side cut the airline report by a quarter.
    BLAS runs single-threaded throughout: the matrices are narrow, and a
    multi-threaded BLAS on a busy machine made each product several times slower.
    The side sections' charts are drawn in ``images`` formats on their thread
    once they are built (see :func:`build_report`).
    """
    built: dict[str, Section | Skipped] = {}
    two_cores = (os.cpu_count() or 1) > 1
    side = _SIDE_SECTIONS if two_cores else ()
    beside = _BESIDE if two_cores else {}
    for key in (*side, *(k for keys in beside.values() for k in keys), *_run_order()[:1]):
        # Imported here, one after the other: a module of a package whose __init__ another
        # thread is running at the same moment deadlocks the two imports (peakend.stats).
        _builder(key)
        _follow_up(key)
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(1) as pool:
        ahead = {key: pool.submit(_build_side_section, key, ctx, images) for key in side}
        for key in _run_order():
            step(key)
            for later in beside.get(key, ()):
                ahead[later] = pool.submit(_build_side_section, later, ctx, images)
            built[key] = ahead[key].result() if key in ahead else _build_section(key, ctx)
            if (after := _follow_up(key)) is not None:
                after(ctx)
    return built


#: Sections built on a second thread while the others run (they use no other section).
_SIDE_SECTIONS = ("memory",)

#: Sections started on the second thread, one after the other, when the main thread
#: reaches the key's section, and built beside it. The hidden moments keep about one
#: core of two busy; service recovery and churn need nothing from them (nor from each
#: other). Started only once the moments are done, so that they never add to the
#: moments' peak of memory. Churn comes last: it counts its history rows at the rows it
#: keeps, and beside the hidden moments' tables the peak of 10M events stays under 6 GB.
_BESIDE: dict[str, tuple[str, ...]] = {"hidden": ("recovery", "churn")}

#: Analyses that need only the data, not the journey summary: started beside it, by
#: section key, with the module and function that run them (called with the dataset
#: and the outcome).
_EARLY = {"moments": ("peakend.report.moments", "moments_model")}


def _start_early(
    pool: ThreadPoolExecutor, dataset: Dataset, outcome: str | None
) -> dict[str, Future[Any]]:
    """Start the :data:`_EARLY` analyses on ``pool`` while the journey summary runs.

    The summary keeps about one core of two busy for a second or two; the
    moments analysis, the longest of the report, fills the other. Only with a
    second core and an outcome (without one the section is skipped), and only
    when the events are in memory: events the loader left on its DuckDB
    connection are summarised there, and reading them on another thread would
    use (and then close) that connection under the summary. A failure surfaces
    when the section takes the result, as if it had run there.
    """
    if (os.cpu_count() or 1) < 2 or outcome is None or dataset.event_source is not None:
        return {}
    found: dict[str, Future[Any]] = {}
    for key, (module, function) in _EARLY.items():
        # imported on this thread first, as in _build_sections
        run = getattr(importlib.import_module(module), function)
        found[key] = pool.submit(run, dataset, outcome)
    return found


#: The module and function that build each section. A section's module is imported
#: only when the data allow the section: a survey without churn or recovery never
#: loads their statistics libraries (statsmodels, scipy.stats), a second of start-up.
_BUILDERS = {
    "journey_map": ("peakend.report.journey_map", "journey_map_section"),
    "moments": ("peakend.report.moments", "moments_section"),
    "memory": ("peakend.report.memory", "memory_section"),
    "hidden": ("peakend.report.hidden", "hidden_section"),
    "recovery": ("peakend.report.recovery", "recovery_section"),
    "churn": ("peakend.report.churn", "churn_section"),
    "emotions": ("peakend.report.emotions", "emotions_section"),
    "focus": ("peakend.report.focus", "focus_section"),
    "quality": ("peakend.report.quality", "quality_section"),
}


#: Work done right after a section, while what that section computed is still in memory.
#: The focus plan ranks the moments' actions from the inputs the moments analysis kept,
#: which are then let go before the hidden moments and churn (where the peak is reached).
_FOLLOW_UPS = {"moments": ("peakend.report.focus", "rank_moments_actions")}


def _follow_up(key: str) -> Callable[[ReportContext], None] | None:
    """The work to do right after section ``key``, its module imported now; None if none."""
    where = _FOLLOW_UPS.get(key)
    if where is None:
        return None
    return cast(
        Callable[[ReportContext], None], getattr(importlib.import_module(where[0]), where[1])
    )


def _build_side_section(key: str, ctx: ReportContext, images: tuple[str, ...]) -> Section | Skipped:
    """Build section ``key``, then draw its charts in ``images`` formats for later."""
    section = _build_section(key, ctx)
    if images and isinstance(section, Section):
        draw_ahead([chart.spec for chart in section.charts], images, lang=ctx.lang)
    return section


def _builder(key: str) -> SectionBuilder | None:
    """The function that builds section ``key``, its module imported now; None if unknown."""
    where = _BUILDERS.get(key)
    if where is None:
        return None
    return cast(SectionBuilder, getattr(importlib.import_module(where[0]), where[1]))


def _build_section(key: str, ctx: ReportContext) -> Section | Skipped:
    title = text(key, ctx.lang)
    missing = _missing_data(key, ctx)
    if missing:
        return Skipped(key, title, text(missing, ctx.lang))
    builder = _builder(key)
    if builder is None:
        return Skipped(key, title, text("reason_not_available", ctx.lang))
    try:
        return builder(ctx)
    except (DataError, ModelError) as exc:
        # Too little or unsuitable data for this analysis: say so, keep the rest.
        return Skipped(key, title, text("reason_failed", ctx.lang, error=str(exc)))


def _missing_data(key: str, ctx: ReportContext) -> str | None:
    """The reason ``key`` cannot run on this data, or None."""
    summary = ctx.summary
    has_scores = any(summary.touchpoints["n_scored"].to_pylist())
    if key in ("moments", "memory", "focus") and not has_scores:
        return "reason_no_scores"
    if key in ("moments", "memory", "focus") and ctx.outcome is None:
        return "reason_no_outcome"
    if key == "recovery" and ctx.dataset.spec.recovery is None:
        return "reason_no_recovery"
    if key == "churn" and ctx.dataset.spec.churn is None:
        return "reason_no_churn"
    if key == "hidden" and summary.median_duration_s is None:
        return "reason_no_timestamps"
    if key == "emotions" and commented_events(ctx.dataset).num_rows == 0:
        return "reason_no_text"
    return None


def _executive_summary(sections: tuple[Section, ...]) -> tuple[str, ...]:
    by_key = {s.key: s for s in sections}
    sentences: list[str] = []
    for key in SUMMARY_PRIORITY:
        if key in by_key:
            sentences += by_key[key].summary
    return tuple(sentences[:SUMMARY_SENTENCES])


def _subtitle(report: Report) -> str:
    return text(
        "subtitle",
        report.lang,
        dataset=report.dataset,
        journeys=number(report.n_journeys, report.lang),
        events=number(report.n_events, report.lang),
    )


def _generated(report: Report, version: str) -> str:
    date = report.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    return text("generated", report.lang, version=version, date=date)


def pdf_content(report: Report, version: str) -> PdfContent:
    """What the PDF shows beyond the sections: title, summary, data line, warning."""
    return PdfContent(
        title=text("title", report.lang),
        dataset=report.dataset,
        subtitle=_subtitle(report),
        generated=_generated(report, version),
        summary=report.summary,
        data_line=report.data_line,
        warning=report.warning,
        lang=report.lang,
    )


def _html(report: Report, version: str) -> str:
    lang = report.lang
    return render_html(
        data_line=report.data_line,
        warning=report.warning,
        sections=list(report.sections),
        skipped=list(report.skipped),
        summary=list(report.summary),
        lang=lang,
        dataset=report.dataset,
        subtitle=text(
            "subtitle",
            lang,
            dataset=report.dataset,
            journeys=number(report.n_journeys, lang),
            events=number(report.n_events, lang),
        ),
        generated=text(
            "generated",
            lang,
            version=version,
            date=report.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
        ),
        version=version,
    )


def _json_safe(value: Any) -> Any:
    """NaN and infinities become null; dates become ISO strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
