"""Data sub-commands: ``validate``, ``journeys`` and ``generate``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pyarrow.parquet as pq
import typer
from rich.markup import escape
from rich.table import Table

from peakend.cli.common import (
    BackendOpt,
    CacheOpt,
    JsonOpt,
    SpecArg,
    StrictOpt,
    app,
    duration,
    err,
    fmt,
    fmt_estimate,
    load_dataset,
    out,
    percent,
    print_json,
    progress_bar,
    status,
)
from peakend.summary import JourneySummary, summarize_journeys
from peakend.validate import Severity, ValidationReport


@app.command()
def validate(
    spec: SpecArg,
    strict: StrictOpt = None,
    quarantine: Annotated[
        Path | None,
        typer.Option(
            help="Where to write quarantined rows: CSV, or Parquet for a name ending in "
            ".parquet. Default: NAME.quarantine.csv"
        ),
    ] = None,
    cache: CacheOpt = None,
    backend: BackendOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a dataset against its spec: every problem with file, row, column and fix.

    Rows that fail are written to a quarantine CSV with their reason; with
    --strict the command fails (exit 1) instead. With --cache DIR the validated
    dataset is also kept as Parquet in DIR, for later commands to re-read.

    Example: peakend validate examples/airline_passenger_satisfaction.toml
    """
    dataset = load_dataset(spec, strict, cache, backend)
    path = None
    if not dataset.quarantine.empty:
        path = quarantine or Path(f"{dataset.spec.name}.quarantine.csv")
        if path.suffix.lower() == ".parquet":
            dataset.quarantine.to_parquet(path, index=False)
        else:
            dataset.quarantine.to_csv(path, index=False)
    if as_json:
        result = dataset.report.to_dict()
        result["quarantine_file"] = str(path) if path else None
        print_json(result)
        return
    _print_report(dataset.report, dataset.spec.name)
    if path is not None:
        err.print(f"Quarantined rows written to [bold]{path}[/]")


def _print_report(report: ValidationReport, name: str) -> None:
    verdict = "[green]ok[/]" if report.ok else "[yellow]rows quarantined[/]"
    out.print(
        f"[bold]{name}[/]: {report.rows_read:,} rows read, {report.events_loaded:,} events in "
        f"{report.journeys:,} journeys, {report.quarantined_rows:,} rows quarantined — {verdict}"
    )
    if not report.problems:
        return
    table = Table("severity", "problem", box=None, show_header=True, header_style="bold")
    colour = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "dim"}
    for problem in report.problems:
        style = colour[problem.severity]
        table.add_row(f"[{style}]{problem.severity}[/]", escape(problem.message()))
    out.print(table)


@app.command()
def journeys(
    spec: SpecArg,
    outcome: Annotated[
        str | None, typer.Option(help="Outcome for the outcome-by-score columns.")
    ] = None,
    strict: StrictOpt = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Also write journeys/touchpoints/flows as Parquet here."),
    ] = None,
    cache: CacheOpt = None,
    backend: BackendOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Journey features, touchpoint statistics and the flow between touchpoints.

    Example: peakend journeys examples/bpic2012_loan_application.toml --json
    """
    dataset = load_dataset(spec, strict, cache, backend)
    with status("Computing journey features …"):
        summary = summarize_journeys(dataset, outcome=outcome)
    if out_dir is not None:
        _write_tables(summary, out_dir)
    if as_json:
        result = summary.to_dict()
        result["validation"] = dataset.report.to_dict()
        print_json(result)
        return
    _print_summary(summary, dataset.report)


def _write_tables(summary: JourneySummary, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("journeys", "touchpoints", "scores", "flows"):
        pq.write_table(getattr(summary, name), out_dir / f"{name}.parquet")
    err.print(f"Tables written to [bold]{out_dir}[/]")


def _print_summary(summary: JourneySummary, report: ValidationReport) -> None:
    duration = summary.median_duration_s
    days = f"{duration / 86400:.1f} days" if duration is not None else "no timestamps"
    out.print(
        f"[bold]{summary.dataset_name}[/]: {summary.n_journeys:,} journeys, "
        f"{summary.n_events:,} events (median {fmt(summary.median_events, 0)} per journey, "
        f"median duration {days}); {report.quarantined_rows:,} rows quarantined"
    )
    out.print(f"  experienced (mean valence): {fmt_estimate(summary.mean_valence)}")
    out.print(f"  peak valence:               {fmt_estimate(summary.peak_valence)}")
    out.print(f"  end valence:                {fmt_estimate(summary.end_valence)}")
    out.print(_touchpoint_table(summary))
    out.print(_flow_table(summary))


def _touchpoint_table(summary: JourneySummary) -> Table:
    table = Table(title="Touchpoints (journey order)", header_style="bold")
    scored = any(summary.touchpoints["n_scored"].to_pylist())
    columns = ["touchpoint", "volume", "journeys", "by customer"]
    if scored:
        columns += ["scored", "valence [95% CI]", "low", "high"]
    if scored and summary.outcome:
        columns += [f"{summary.outcome} if low", "if high"]
    for name in columns:
        table.add_column(name, justify="left" if name == "touchpoint" else "right")
    for row in summary.touchpoints.to_pylist():
        interval = (
            f"{row['mean_valence']:+.2f} [{row['valence_low']:+.2f}, {row['valence_high']:+.2f}]"
            if row["valence_low"] is not None
            else fmt(row["mean_valence"])
        )
        cells = [
            escape(row["touchpoint"]),
            fmt(row["volume"]),
            fmt(row["journeys"]),
            fmt(row["n_customer_initiated"]),
        ]
        if scored:
            cells += [
                fmt(row["n_scored"]),
                interval,
                percent(row["share_low"]),
                percent(row["share_high"]),
            ]
        if scored and summary.outcome:
            cells += [
                f"{fmt(row['outcome_low'])} (n={row['n_low']:,})",
                f"{fmt(row['outcome_high'])} (n={row['n_high']:,})",
            ]
        table.add_row(*cells)
    return table


def _flow_table(summary: JourneySummary, top: int = 10) -> Table:
    table = Table(title=f"Most frequent steps (top {top})", header_style="bold")
    for name in ("from", "to", "count", "journeys", "median time"):
        table.add_column(name, justify="right" if name in ("count", "journeys") else "left")
    for row in summary.flows.slice(0, top).to_pylist():
        table.add_row(
            row["source"],
            row["target"],
            fmt(row["count"]),
            fmt(row["journeys"]),
            duration(row["median_s"]),
        )
    return table


@app.command()
def generate(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write the dataset into.")],
    n_journeys: Annotated[int, typer.Option("--journeys", help="Number of journeys.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data).")] = 0,
    name: Annotated[
        str, typer.Option(help="Dataset name (also the spec file name).")
    ] = "synthetic",
) -> None:
    """Generate synthetic journeys with a planted truth, plus a dataset spec for them.

    Writes events.parquet, outcomes.parquet, touchpoints.csv, truth.json and
    NAME.toml, so that `peakend journeys DIR/NAME.toml` works at once.

    Example: peakend generate --out data/synthetic --journeys 100000 --seed 1
    """
    from peakend.generate import GeneratorConfig
    from peakend.generate import generate as run_generator

    config = GeneratorConfig(n_journeys=n_journeys, seed=seed)
    with progress_bar() as progress:
        task = progress.add_task("Generating journeys", total=n_journeys)
        result = run_generator(
            out_dir, config, name=name, progress=lambda done: progress.update(task, completed=done)
        )
    err.print(
        f"Wrote {result.n_events:,} events in {result.n_journeys:,} journeys to "
        f"[bold]{result.directory}[/]; spec: [bold]{result.spec_path}[/]"
    )
    out.print(str(result.spec_path))
