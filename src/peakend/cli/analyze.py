"""``analyze`` (from a dataset spec to the full CX report in one go) and ``demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from peakend.cli.common import (
    BackendOpt,
    JsonOpt,
    SpecArg,
    app,
    err,
    out,
    print_json,
    progress_bar,
    status,
)
from peakend.report.build import STEPS, Report, ReportFiles
from peakend.report.build import analyze as run_analysis

LangOpt = Annotated[str, typer.Option("--lang", help="Report language: en or nl.")]
OutOpt = Annotated[Path, typer.Option("--out", help="Directory to write the report into.")]
PdfOpt = Annotated[
    bool, typer.Option("--pdf/--no-pdf", help="Also typeset report.pdf (A4, no browser needed).")
]
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
    backend: BackendOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run every analysis the data allows and write the report.

    Writes report.html (one self-contained file that works offline),
    report.pdf, results.json (every figure with its interval and sample size)
    and charts/ (PNG and SVG), all without a browser. Analyses the data cannot
    support are listed with the reason; a file that cannot be written is listed
    as skipped and the command still succeeds.

    Example: peakend analyze examples/airline_passenger_satisfaction.toml --out report --lang nl
    """
    report, files = run_report(
        spec, out_dir, lang=lang, outcome=outcome, pdf=pdf, images=images, backend=backend
    )
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
    serve: Annotated[
        bool,
        typer.Option(
            "--serve",
            help="Instead of a report, start the dashboard with the demo data and a demo survey.",
        ),
    ] = False,
    host: Annotated[str, typer.Option(help="With --serve: address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="With --serve: port to listen on.")] = 8000,
) -> None:
    """Run the full analysis on the bundled demo data and print where the report is.

    The demo data (2,000 synthetic journeys with a planted truth) is generated
    on first use. The report (HTML, PDF, charts) needs nothing but Python.

    With --serve, `peakend serve` starts instead, on a survey database in --out
    filled with answers from the demo journeys, with the demo dataset's analyses
    and an admin user "demo" (password from PEAKEND_PASSWORD, or printed once).

    Example: peakend demo --lang nl
    """
    from peakend.datasets import demo_spec_path

    if serve:
        serve_demo(out_dir, host, port)
        return

    with status("Preparing the demo dataset …"):
        spec = demo_spec_path()
    err.print(f"Demo dataset: [bold]{spec}[/]")
    analyze(
        spec, out_dir, lang=lang, outcome=None, pdf=True, images=True, backend=None,
        as_json=as_json,
    )  # fmt: skip


def serve_demo(folder: Path, host: str, port: int) -> None:
    """``peakend demo --serve``: the demo survey database, its admin, then ``serve``."""
    import os

    from peakend.cli.dashboard import start_service
    from peakend.dashboard.app import ServeSettings
    from peakend.dashboard.demo import DEMO_USER, prepare_demo
    from peakend.survey.app import SurveySettings

    with status("Preparing the demo survey (first start: about ten seconds) …"):
        setup = prepare_demo(folder, os.environ.get("PEAKEND_PASSWORD"))
    err.print(f"Demo survey: [bold]{setup.db}[/] ({setup.answers} answers)")
    if setup.password is not None:
        out.print(
            f"Log in as [bold]{DEMO_USER}[/] with password [bold]{escape(setup.password)}[/] "
            "(shown once; set PEAKEND_PASSWORD to choose it)."
        )
    settings = ServeSettings(
        survey=SurveySettings(db=str(setup.db), questionnaires=setup.questionnaires),
        rules=setup.rules,
        layout=setup.layout,
        datasets=(setup.spec,),
    )
    start_service(settings, host, port)


def run_report(
    spec: Path,
    out_dir: Path,
    *,
    lang: str,
    outcome: str | None,
    pdf: bool,
    images: bool,
    backend: str | None = None,
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
            backend=backend,
        )


def print_report_summary(report: Report, files: ReportFiles) -> None:
    """The executive summary, what was skipped, and where the files are."""
    out.print(f"[bold]{report.dataset}[/]: report in [bold]{files.directory}[/]")
    if report.warning:
        err.print(f"[bold red]{escape(report.warning)}[/]", highlight=False)
    out.print(f"  {escape(report.data_line)}", highlight=False)
    for number, sentence in enumerate(report.summary, start=1):
        out.print(f"  {number}. {escape(sentence)}", highlight=False)
    for item in report.skipped:
        err.print(f"  [dim]skipped {escape(item.title)}: {escape(item.reason)}[/]", highlight=False)
    out.print(f"  HTML: {files.html}")
    if files.pdf is not None:
        out.print(f"  PDF:  {files.pdf}")
    out.print(f"  JSON: {files.json}")
    if files.charts:
        out.print(f"  charts: {len(files.charts)} files in {files.directory / 'charts'}")
    for missing in files.skipped:
        err.print(
            f"  [yellow]skipped {escape(missing)}[/]; the rest of the report is complete. "
            "Free disk space or choose another --out folder to get it.",
            highlight=False,
        )


def _file_list(files: ReportFiles) -> dict[str, object]:
    return {
        "html": str(files.html),
        "json": str(files.json),
        "pdf": str(files.pdf) if files.pdf else None,
        "charts": [str(p) for p in files.charts],
        "skipped": list(files.skipped),
    }
