"""The ``peakend`` command: one sub-command per job, each a thin layer over the Python API.

Results go to stdout (a table, or JSON with ``--json``); progress and problems go
to stderr. Exit codes: 0 ok, 1 data problems (strict mode, unreadable data),
2 usage or spec errors.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import pyarrow.parquet as pq
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from peakend.errors import ConfigError, PeakendError, SourceError
from peakend.load import Dataset, load
from peakend.summary import Estimate, JourneySummary, summarize_journeys
from peakend.validate import Severity, ValidationReport

app = typer.Typer(
    name="peakend",
    help="Find the moments that matter in customer journeys and what customers remember.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Piped output gets a fixed, wide layout so tables stay readable in files and logs.
out = Console(width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True)

SpecArg = Annotated[Path, typer.Argument(help="Dataset spec (TOML) describing the data.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a machine-readable result.")]
StrictOpt = Annotated[
    bool | None,
    typer.Option("--strict/--no-strict", help="Fail on bad rows instead of quarantining them."),
]


def main() -> None:
    """Entry point of the ``peakend`` console script."""
    debug = "--debug" in sys.argv
    if debug:
        sys.argv.remove("--debug")
    try:
        app(standalone_mode=False)
    except PeakendError as exc:
        if debug:
            raise
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise SystemExit(2 if isinstance(exc, ConfigError | SourceError) else 1) from None
    except typer.Abort:
        raise SystemExit(130) from None
    except Exception as exc:  # noqa: BLE001 - click usage errors carry their own exit code
        try:
            from click import ClickException
        except ImportError:  # typer >= 0.20 vendors click instead of depending on it
            from typer._click.exceptions import ClickException

        if isinstance(exc, ClickException):
            exc.show()
            raise SystemExit(exc.exit_code) from None
        raise


@contextmanager
def _status(message: str) -> Iterator[None]:
    with err.status(message, spinner="dots"):
        yield


def _load(spec: Path, strict: bool | None) -> Dataset:
    with _status(f"Loading and validating {spec.name} …"):
        return load(spec, strict=strict)


@app.command()
def validate(
    spec: SpecArg,
    strict: StrictOpt = None,
    quarantine: Annotated[
        Path | None,
        typer.Option(help="Where to write quarantined rows (CSV). Default: NAME.quarantine.csv"),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a dataset against its spec: every problem with file, row, column and fix.

    Rows that fail are written to a quarantine CSV with their reason; with
    --strict the command fails (exit 1) instead.

    Example: peakend validate examples/airline_passenger_satisfaction.toml
    """
    dataset = _load(spec, strict)
    path = None
    if not dataset.quarantine.empty:
        path = quarantine or Path(f"{dataset.spec.name}.quarantine.csv")
        dataset.quarantine.to_csv(path, index=False)
    if as_json:
        result = dataset.report.to_dict()
        result["quarantine_file"] = str(path) if path else None
        _print_json(result)
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
    as_json: JsonOpt = False,
) -> None:
    """Journey features, touchpoint statistics and the flow between touchpoints.

    Example: peakend journeys examples/bpic2012_loan_application.toml --json
    """
    dataset = _load(spec, strict)
    with _status("Computing journey features …"):
        summary = summarize_journeys(dataset, outcome=outcome)
    if out_dir is not None:
        _write_tables(summary, out_dir)
    if as_json:
        result = summary.to_dict()
        result["validation"] = dataset.report.to_dict()
        _print_json(result)
        return
    _print_summary(summary, dataset.report)


def _write_tables(summary: JourneySummary, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("journeys", "touchpoints", "scores", "flows"):
        pq.write_table(getattr(summary, name), out_dir / f"{name}.parquet")
    err.print(f"Tables written to [bold]{out_dir}[/]")


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _fmt_estimate(estimate: Estimate) -> str:
    if estimate.value is None:
        return "–"
    if estimate.low is None or estimate.high is None:
        return f"{estimate.value:+.2f} (n={estimate.n:,})"
    return f"{estimate.value:+.2f} [{estimate.low:+.2f}, {estimate.high:+.2f}] (n={estimate.n:,})"


def _print_summary(summary: JourneySummary, report: ValidationReport) -> None:
    duration = summary.median_duration_s
    days = f"{duration / 86400:.1f} days" if duration is not None else "no timestamps"
    out.print(
        f"[bold]{summary.dataset_name}[/]: {summary.n_journeys:,} journeys, "
        f"{summary.n_events:,} events (median {_fmt(summary.median_events, 0)} per journey, "
        f"median duration {days}); {report.quarantined_rows:,} rows quarantined"
    )
    out.print(f"  experienced (mean valence): {_fmt_estimate(summary.mean_valence)}")
    out.print(f"  peak valence:               {_fmt_estimate(summary.peak_valence)}")
    out.print(f"  end valence:                {_fmt_estimate(summary.end_valence)}")
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
            else _fmt(row["mean_valence"])
        )
        cells = [
            escape(row["touchpoint"]),
            _fmt(row["volume"]),
            _fmt(row["journeys"]),
            _fmt(row["n_customer_initiated"]),
        ]
        if scored:
            cells += [
                _fmt(row["n_scored"]),
                interval,
                _percent(row["share_low"]),
                _percent(row["share_high"]),
            ]
        if scored and summary.outcome:
            cells += [
                f"{_fmt(row['outcome_low'])} (n={row['n_low']:,})",
                f"{_fmt(row['outcome_high'])} (n={row['n_high']:,})",
            ]
        table.add_row(*cells)
    return table


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def _flow_table(summary: JourneySummary, top: int = 10) -> Table:
    table = Table(title=f"Most frequent steps (top {top})", header_style="bold")
    for name in ("from", "to", "count", "journeys", "median time"):
        table.add_column(name, justify="right" if name in ("count", "journeys") else "left")
    for row in summary.flows.slice(0, top).to_pylist():
        table.add_row(
            row["source"],
            row["target"],
            _fmt(row["count"]),
            _fmt(row["journeys"]),
            _duration(row["median_s"]),
        )
    return table


def _duration(seconds: float | None) -> str:
    if seconds is None or math.isnan(seconds):
        return "–"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


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
    with _progress() as progress:
        task = progress.add_task("Generating journeys", total=n_journeys)
        result = run_generator(
            out_dir, config, name=name, progress=lambda done: progress.update(task, completed=done)
        )
    err.print(
        f"Wrote {result.n_events:,} events in {result.n_journeys:,} journeys to "
        f"[bold]{result.directory}[/]; spec: [bold]{result.spec_path}[/]"
    )
    out.print(str(result.spec_path))


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )


@app.command()
def demo(as_json: JsonOpt = False) -> None:
    """Run peakend on the bundled demo data (generated on first use).

    Example: peakend demo
    """
    from peakend.datasets import demo_spec_path

    with _status("Preparing the demo dataset …"):
        spec = demo_spec_path()
    err.print(f"Demo dataset: [bold]{spec}[/]")
    journeys(spec, outcome=None, strict=None, out_dir=None, as_json=as_json)


def _print_json(result: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(_clean(result), indent=2, ensure_ascii=False) + "\n")


def _clean(value: Any) -> Any:
    """Make a result JSON-safe: NaN becomes null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


__all__: list[str] = ["app", "main"]
