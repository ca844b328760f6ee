"""Typeset the report as an A4 PDF with Typst: no browser, exact page control.

The same :class:`~peakend.report.build.Report` that becomes the HTML becomes a
``data.json`` beside the Typst template ``templates/report.typ``; the charts are
embedded as SVG (drawn by vl-convert). Page 1 is an infographic: the executive
summary beside the charts that prove it, the top of the focus plan and the data
behind it in one line. Wide tables go on landscape pages, numbers never wrap,
table headers repeat on every page, and the jargon stays in the method appendix.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from peakend.errors import SourceError
from peakend.report.i18n import Language, text
from peakend.report.section import Chart, ReportTable, Section, Skipped
from peakend.views.save import render

#: Charts on page 1, in order of preference per slot (the first that exists is used).
GLANCE = (
    ("memory_journey", "journey_map"),
    ("moment_matrix",),
    ("hidden_",),
    ("focus_plan", "score_distribution", "emotions"),
)
#: Size of the page-1 charts, in pixels (drawn again small so their text stays legible).
GLANCE_WIDTH, GLANCE_HEIGHT = 330, 190
#: Text width of a portrait A4 page in cm (210 mm − 2 × 14 mm margins).
TEXT_WIDTH_CM = 18.2
MAX_CHART_HEIGHT_CM = 12.0
#: A chart with nothing to draw comes out with no area or an infinite one.
MAX_PIXELS = 100_000
#: Tables wider than this (characters over the widest cell of each column) go landscape.
PORTRAIT_CHARS = 115
#: Top actions of the focus plan shown on page 1.
TOP_ACTIONS = 3

_NUMERIC = re.compile(r"^[\s+\-−–]*[\d.,]")


@dataclass(frozen=True)
class PdfContent:
    """What the PDF shows, beyond the sections: page-1 lines and the front matter."""

    title: str
    dataset: str
    subtitle: str
    generated: str
    summary: Sequence[str]
    data_line: str
    warning: str
    lang: Language


def typeset_pdf(
    content: PdfContent,
    sections: Sequence[Section],
    skipped: Sequence[Skipped],
    pdf_path: Path,
    *,
    chart_dir: Path | None = None,
) -> Path:
    """Write the report to ``pdf_path`` (A4) and return the path.

    ``chart_dir`` may hold the charts already drawn as ``<id>.svg`` (the report's
    ``charts/`` folder); those are reused, the others are drawn here.
    """
    pdf = _compile(content, sections, skipped, chart_dir, fmt="pdf")
    try:
        pdf_path.write_bytes(pdf[0])
    except OSError as exc:
        raise SourceError(f"could not write {pdf_path}: {exc.strerror or exc}") from exc
    return pdf_path


def first_page_pdf(content: PdfContent, sections: Sequence[Section]) -> bytes:
    """Page 1 of the report alone (the infographic), as PDF bytes: what the
    scheduled summary mails. Only the page-1 charts are drawn."""
    return _compile(content, sections, (), None, fmt="pdf", first_page_only=True)[0]


def page_images(
    content: PdfContent,
    sections: Sequence[Section],
    skipped: Sequence[Skipped],
    *,
    ppi: int = 110,
    chart_dir: Path | None = None,
) -> list[bytes]:
    """Every page of the PDF report as a PNG image (for previews and the README)."""
    return _compile(content, sections, skipped, chart_dir, fmt="png", ppi=ppi)


def _compile(
    content: PdfContent,
    sections: Sequence[Section],
    skipped: Sequence[Skipped],
    chart_dir: Path | None,
    *,
    fmt: str,
    ppi: int | None = None,
    first_page_only: bool = False,
) -> list[bytes]:
    import typst

    with tempfile.TemporaryDirectory(prefix="peakend-pdf-") as tmp:
        root = Path(tmp)
        data = _document(content, sections, skipped, root, chart_dir, first_page_only)
        (root / "data.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        template = files("peakend.report").joinpath("templates", "report.typ")
        (root / "report.typ").write_text(template.read_text(encoding="utf-8"), encoding="utf-8")
        try:
            out: Any = typst.compile(  # type: ignore[call-overload]
                str(root / "report.typ"), root=str(root), format=fmt, ppi=ppi
            )
        except RuntimeError as exc:
            raise SourceError(f"Typst could not typeset the report: {exc}") from exc
    pages = out if isinstance(out, list) else [out]
    return [bytes(p) for p in pages]


def _document(
    content: PdfContent,
    sections: Sequence[Section],
    skipped: Sequence[Skipped],
    root: Path,
    chart_dir: Path | None,
    first_page_only: bool = False,
) -> dict[str, Any]:
    lang = content.lang
    rest = () if first_page_only else sections
    return {
        "lang": lang,
        "title": content.title,
        "dataset": content.dataset,
        "subtitle": content.subtitle,
        "generated": content.generated,
        "summary": list(content.summary),
        "data_line": content.data_line,
        "warning": content.warning,
        "glance": _glance(sections, root, lang),
        "top_actions": _top_actions(sections),
        "first_page_only": first_page_only,
        "sections": [_section(s, root, chart_dir, lang) for s in rest],
        "skipped": [{"title": s.title, "reason": s.reason} for s in skipped],
        "references": sorted({r for s in rest for r in s.references}),
        "words": {
            key: text(key, lang)
            for key in ("summary", "page", "top_focus", "appendix", "references", "skipped")
        }
        | {"skipped_intro": text("skipped_intro", lang)},
    }


def _section(
    section: Section, root: Path, chart_dir: Path | None, lang: Language
) -> dict[str, Any]:
    return {
        "title": section.title,
        "paragraphs": list(section.paragraphs),
        "charts": [
            drawn for c in section.charts if (drawn := _chart_file(c, root, chart_dir, lang))
        ],
        "tables": [_table(t) for t in section.tables],
        "methods": list(section.methods),
    }


def _chart_file(
    chart: Chart, root: Path, chart_dir: Path | None, lang: Language
) -> dict[str, Any] | None:
    """Write the chart's SVG beside the document; None for a chart with nothing to draw."""
    drawn = chart_dir / f"{chart.id}.svg" if chart_dir is not None else None
    svg = (
        drawn.read_bytes()
        if drawn is not None and drawn.exists()
        else render(chart.spec, "svg", lang=lang)
    )
    if _size(svg) is None:
        return None
    path = root / f"{chart.id}.svg"
    path.write_bytes(svg)
    return {"file": path.name, "title": chart.title, "height": _height_cm(svg)}


def _height_cm(svg: bytes) -> float:
    """The height the chart takes at full text width, capped so that it fits a page."""
    size = _size(svg)
    if size is None:
        return MAX_CHART_HEIGHT_CM
    ratio = size[1] / size[0]
    return round(min(MAX_CHART_HEIGHT_CM, TEXT_WIDTH_CM * ratio), 2)


def _size(svg: bytes) -> tuple[float, float] | None:
    """Width and height of an SVG in pixels; None when it has no area (nothing drawn)."""
    head = svg[:400].decode("utf-8", "replace")
    found = [re.search(rf'{key}="([^"]+)"', head) for key in ("width", "height")]
    try:
        width, height = (float(m.group(1)) if m else 0.0 for m in found)
    except ValueError:
        return None
    if not (0 < width < MAX_PIXELS and 0 < height < MAX_PIXELS):
        return None
    return width, height


def _glance(sections: Sequence[Section], root: Path, lang: Language) -> list[dict[str, str]]:
    """The page-1 charts, drawn small: one per slot of :data:`GLANCE` that the report has."""
    charts = [c for s in sections for c in s.charts]
    chosen: list[dict[str, str]] = []
    for slot in GLANCE:
        found = next((c for prefix in slot for c in charts if c.id.startswith(prefix)), None)
        if found is None or any(g["id"] == found.id for g in chosen):
            continue
        spec = _small(found.spec)
        svg = render(spec, "svg", lang=lang)
        if _size(svg) is None:
            continue
        path = root / f"glance-{found.id}.svg"
        path.write_bytes(svg)
        chosen.append({"id": found.id, "title": found.title, "file": path.name})
    return chosen


def _small(spec: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``spec`` drawn small for page 1: no title (the page gives one), compact legend."""
    height = spec.get("height")
    small = {k: v for k, v in spec.items() if k != "title"}
    small["width"] = GLANCE_WIDTH
    small["height"] = (
        min(int(height), GLANCE_HEIGHT) if isinstance(height, int | float) else GLANCE_HEIGHT
    )
    config = dict(small.get("config", {}))
    config["legend"] = {**config.get("legend", {}), "columns": 3, "labelFontSize": 10}
    small["config"] = config
    return small


def _top_actions(sections: Sequence[Section]) -> dict[str, Any] | list[Any]:
    focus = next((s for s in sections if s.key == "focus"), None)
    if focus is None or not focus.tables:
        return []
    table = focus.tables[0]
    keep = [0, 1, 2, 3]  # rank, action, touchpoint, gain
    rows = [[_cell(row[i].text) for i in keep] for row in table.rows[:TOP_ACTIONS]]
    return {
        "columns": [table.columns[i] for i in keep],
        "rows": rows,
        "align": ["right", "left", "left", "right"],
        "caption": "",
        "size": 8,
        "landscape": False,
    }


def _table(table: ReportTable) -> dict[str, Any]:
    rows = [[_cell(c.text) for c in row] for row in table.rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(table.columns)]
    landscape = sum(min(w, 60) for w in widths) > PORTRAIT_CHARS
    return {
        "columns": list(table.columns),
        "rows": rows,
        "align": _alignment(rows, len(table.columns)),
        "caption": "",
        "size": 7.5 if landscape else 8,
        "landscape": landscape,
    }


def _alignment(rows: list[list[str]], n: int) -> list[str]:
    """Numbers right-aligned, text left-aligned; a column is numeric when most cells are."""
    aligns = []
    for i in range(n):
        cells = [r[i] for r in rows if r[i] not in ("", "–")]
        numeric = sum(bool(_NUMERIC.match(c)) for c in cells)
        aligns.append("right" if cells and numeric * 2 >= len(cells) else "left")
    return aligns


def _cell(value: str) -> str:
    """Numbers and intervals never wrap: their spaces become non-breaking.

    A cell of several figures ("269 (assumed, 134 to 403); saves €1,091 …") may
    break between them, at a "; " outside brackets, but never inside one.
    """
    parts = _top_level_parts(value)
    if len(parts) > 1:
        return "; ".join(_cell(part) for part in parts)
    if _NUMERIC.match(value) or "[" in value:
        return value.replace(" ", "\u00a0")
    return value


def _top_level_parts(value: str) -> list[str]:
    """``value`` split at each "; " that is not inside brackets or parentheses."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(value):
        depth += (char in "[(") - (char in "])")
        if depth == 0 and value.startswith("; ", i):
            parts.append(value[start:i])
            start = i + 2
    return [*parts, value[start:]]
