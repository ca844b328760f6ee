"""Turn report sections into files: one self-contained HTML page, an A4 PDF, chart images.

The HTML embeds Plotly's JavaScript once and every style inline, so it opens
offline and can be mailed as one file. The PDF is printed from that same page
by a headless Chromium (the one installed on the machine), after the charts
have been drawn.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from importlib.resources import files
from pathlib import Path

import jinja2
import plotly.io as pio
from plotly.offline import get_plotlyjs

from peakend.charts import save_figures
from peakend.errors import ConfigError
from peakend.report.i18n import Language, text
from peakend.report.section import Section, Skipped

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PDF_TIMEOUT_S = 180

_PLOT_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["sendDataToCloud"],
}


def render_html(
    *,
    sections: list[Section],
    skipped: list[Skipped],
    summary: list[str],
    lang: Language,
    dataset: str,
    subtitle: str,
    generated: str,
    version: str,
) -> str:
    """The report as one HTML document (UTF-8 text), all assets inline."""
    template = _environment().get_template("report.html.j2")
    charts = {
        chart.id: pio.to_html(
            chart.figure,
            full_html=False,
            include_plotlyjs=False,
            div_id=f"chart-{chart.id}",
            config=_PLOT_CONFIG,
        )
        for section in sections
        for chart in section.charts
    }
    references = sorted({ref for section in sections for ref in section.references})
    return template.render(
        lang=lang,
        version=version,
        title=text("title", lang),
        dataset=dataset,
        subtitle=subtitle,
        generated=generated,
        contents=text("contents", lang),
        summary_title=text("summary", lang),
        summary=summary,
        sections=sections,
        charts=charts,
        skipped=skipped,
        skipped_title=text("skipped", lang),
        skipped_intro=text("skipped_intro", lang),
        methods_title=text("methods", lang),
        references_title=text("references", lang),
        references=references,
        plotly_js=get_plotlyjs(),
    )


def write_chart_images(
    sections: list[Section], out_dir: Path, formats: tuple[str, ...]
) -> list[Path]:
    """Write every chart as ``out_dir/charts/<id>.<fmt>`` (PNG/SVG need Chromium)."""
    figures = [
        (chart.figure, out_dir / "charts" / chart.id)
        for section in sections
        for chart in section.charts
    ]
    return save_figures(figures, formats)


def print_pdf(html_path: Path, pdf_path: Path, *, chromium: str | None = None) -> Path:
    """Print ``html_path`` to an A4 PDF with a headless Chromium and return ``pdf_path``."""
    browser = chromium or find_chromium()
    with tempfile.TemporaryDirectory(prefix="peakend-chromium-") as profile:
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            "--run-all-compositor-stages-before-draw",
            "--virtual-time-budget=20000",
            "--window-size=1000,1400",
            f"--print-to-pdf={pdf_path}",
            html_path.resolve().as_uri(),
        ]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=PDF_TIMEOUT_S, check=False
        )
    if result.returncode != 0 or not pdf_path.exists() or pdf_path.stat().st_size == 0:
        raise ConfigError(
            f"Chromium could not print {html_path.name} to PDF (exit {result.returncode}): "
            f"{result.stderr.strip()[-400:]}"
        )
    return pdf_path


def find_chromium() -> str:
    """Path of a Chromium/Chrome executable: ``$PEAKEND_CHROMIUM`` or the first on PATH."""
    configured = os.environ.get("PEAKEND_CHROMIUM")
    if configured:
        return configured
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise ConfigError(
        "the PDF report needs Chromium: install it (Debian/Ubuntu: apt-get install chromium), "
        "set PEAKEND_CHROMIUM to its path, or run with --no-pdf"
    )


def _environment() -> jinja2.Environment:
    loader = jinja2.FunctionLoader(_load_template)
    return jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined)


def _load_template(name: str) -> str:
    return files("peakend.report").joinpath("templates", name).read_text(encoding="utf-8")
