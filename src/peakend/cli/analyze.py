"""``analyze`` (from a dataset spec to the full CX report in one go) and ``demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from peakend.cli.common import JsonOpt, SpecArg, app, err, out, print_json, progress_bar, status
from peakend.errors import ConfigError
from peakend.report.build import STEPS, Report, ReportFiles
from peakend.report.build import analyze as run_analysis
from peakend.report.render import find_chromium

LangOpt = Annotated[str, typer.Option("--lang", help="Report language: en or nl.")]
OutOpt = Annotated[Path, typer.Option("--out", help="Directory to write the report into.")]
PdfOpt = Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also print report.pdf (A4).")]
ImagesOpt = Annotated[
    bool, typer.Option("--images/--no-images", help="Also write every chart as PNG and SVG.")
]


@app.command()
def analyze(
    spec: SpecArg,
    out_dir: OutOpt = Path("peakend-report"),
    lang: LangOpt = "en",
    outcome: Annotated[
        str | None, typer.Option(help="Outcome to explain (default: the first declared).")
    ] = None,
    pdf: PdfOpt = True,
    images: ImagesOpt = True,
    as_json: JsonOpt = False,
) -> None:
    """Run every analysis the data allows and write the report.

    Writes report.html (one self-contained file that works offline),
    report.pdf, results.json (every figure with its interval and sample size)
    and charts/ (PNG and SVG). Analyses the data cannot support are listed with
    the reason.

    Example: peakend analyze examples/airline_passenger_satisfaction.toml --out report --lang nl
    """
    report, files = run_report(spec, out_dir, lang=lang, outcome=outcome, pdf=pdf, images=images)
    if as_json:
        result = report.to_dict()
        result["files"] = _file_list(files)
        print_json(result)
        return
    print_report_summary(report, files)


@app.command()
def demo(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Directory to write the demo report into.")
    ] = Path("peakend-demo-report"),
    lang: LangOpt = "en",
    as_json: JsonOpt = False,
) -> None:
    """Run the full analysis on the bundled demo data and print where the report is.

    The demo data (2,000 synthetic journeys with a planted truth) is generated
    on first use. Without Chromium on the machine the PDF and chart images are
    left out and the HTML report is still written.

    Example: peakend demo --lang nl
    """
    from peakend.datasets import demo_spec_path

    with status("Preparing the demo dataset …"):
        spec = demo_spec_path()
    err.print(f"Demo dataset: [bold]{spec}[/]")
    browser = _has_chromium()
    if not browser:
        err.print(
            "[yellow]Chromium not found: writing the HTML report only "
            "(apt-get install chromium for report.pdf and chart images)[/]"
        )
    analyze(spec, out_dir, lang=lang, outcome=None, pdf=browser, images=browser, as_json=as_json)


def _has_chromium() -> bool:
    try:
        find_chromium()
    except ConfigError:
        return False
    return True


def run_report(
    spec: Path, out_dir: Path, *, lang: str, outcome: str | None, pdf: bool, images: bool
) -> tuple[Report, ReportFiles]:
    """Run :func:`peakend.report.analyze` with a progress bar over its steps."""
    steps = [s for s in STEPS if (pdf or s != "pdf") and (images or s != "charts")]
    with progress_bar() as progress:
        task = progress.add_task("Analysing", total=len(steps))

        def advance(step: str) -> None:
            progress.update(task, description=f"Analysing: {step}", advance=1)

        return run_analysis(
            spec,
            out_dir,
            lang=lang,
            outcome=outcome,
            pdf=pdf,
            image_formats=("png", "svg") if images else (),
            progress=advance,
        )


def print_report_summary(report: Report, files: ReportFiles) -> None:
    """The executive summary, what was skipped, and where the files are."""
    out.print(f"[bold]{report.dataset}[/]: report in [bold]{files.directory}[/]")
    for number, sentence in enumerate(report.summary, start=1):
        out.print(f"  {number}. {sentence}")
    for item in report.skipped:
        err.print(f"  [dim]skipped {item.title}: {item.reason}[/]")
    out.print(f"  HTML: {files.html}")
    if files.pdf is not None:
        out.print(f"  PDF:  {files.pdf}")
    out.print(f"  JSON: {files.json}")
    if files.charts:
        out.print(f"  charts: {len(files.charts)} files in {files.directory / 'charts'}")


def _file_list(files: ReportFiles) -> dict[str, object]:
    return {
        "html": str(files.html),
        "json": str(files.json),
        "pdf": str(files.pdf) if files.pdf else None,
        "charts": [str(p) for p in files.charts],
    }
