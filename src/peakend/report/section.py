"""The building blocks of a report: sections made of text, charts and sortable tables.

Each analysis contributes one :class:`Section` (or a :class:`Skipped` saying why
it could not run). A section carries its own results for ``results.json``, the
sentences it offers to the executive summary, and its method notes, so the
renderer needs to know nothing about the analyses.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from peakend.load import Dataset
from peakend.report.i18n import Language
from peakend.schema import Touchpoint
from peakend.summary import JourneySummary


@dataclass(frozen=True)
class Chart:
    """A chart with a stable id (file name of its PNG/SVG) and a title.

    ``spec`` is the chart's Vega-Lite specification (from :mod:`peakend.views`):
    the HTML draws it with vega-embed, the images and the PDF with vl-convert.
    """

    id: str
    title: str
    spec: dict[str, Any]


@dataclass(frozen=True)
class Cell:
    """A table cell: the text shown, and the value a column sort uses."""

    text: str
    sort: float | str | None = None
    muted: bool = False


@dataclass(frozen=True)
class ReportTable:
    """A sortable table: column headers and rows of cells."""

    id: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    caption: str = ""


@dataclass(frozen=True)
class Section:
    """One section of the report.

    Attributes
    ----------
    key:
        Stable id (anchor in the HTML, key in ``results.json``).
    title:
        Heading in the report language.
    paragraphs:
        Plain text paragraphs (escaped when rendered).
    charts, tables:
        What the section shows, in order: all charts, then all tables.
    summary:
        Sentences offered to the executive summary, most important first.
    methods:
        Method notes for the method section.
    references:
        Literature the method rests on.
    results:
        JSON-ready figures of the analysis, every one with its interval and n.
    """

    key: str
    title: str
    paragraphs: tuple[str, ...] = ()
    charts: tuple[Chart, ...] = ()
    tables: tuple[ReportTable, ...] = ()
    summary: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    results: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Skipped:
    """An analysis that did not run, and why (in the report language)."""

    key: str
    title: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {"analysis": self.key, "reason": self.reason}


@dataclass
class ReportContext:
    """What every section may use: the data, the journey summary, the language.

    ``classes`` maps touchpoint to moment class once the moments analysis has
    run, so that later sections (the journey map) colour touchpoints the same way;
    ``results`` keeps each analysis' typed result for the sections that build on
    it (the focus plan uses the moments). ``early`` holds the analyses started
    before the journey summary was ready (see :func:`peakend.report.build.build_report`),
    by section key, for their section to take instead of running them again.
    """

    dataset: Dataset
    summary: JourneySummary
    lang: Language
    outcome: str | None
    classes: dict[str, str] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    early: dict[str, Future[Any]] = field(default_factory=dict)

    def label(self, touchpoint: str) -> str:
        """The name readers see for ``touchpoint`` (its spec ``label``, else a plain form)."""
        return display_name(self.dataset, touchpoint)

    @property
    def labels(self) -> dict[str, str]:
        """Display name of every touchpoint in the data."""
        names = self.summary.touchpoints["touchpoint"].to_pylist()
        return {str(n): self.label(str(n)) for n in names}


def display_name(dataset: Dataset, touchpoint: str) -> str:
    """The spec's ``label`` of ``touchpoint``, else its name with spaces, capitalised."""
    declared = dataset.spec.touchpoint(touchpoint)
    return (declared or Touchpoint(name=touchpoint)).display_name
