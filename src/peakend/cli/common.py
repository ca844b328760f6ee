"""Shared parts of the ``peakend`` command: the Typer app, consoles, options and formatting.

Results go to stdout (a table, or JSON with ``--json``); progress and problems go
to stderr. Exit codes are the same for the same kind of problem in every command
(the table is in docs/validation.md): 0 ok, 1 data problems (the data were read
but cannot give the answer: no rows, bad rows in strict mode, no scores, no
outcome, no comments), 2 usage, spec or source errors (a wrong option, a wrong
spec, a missing or unreadable file). With ``--json`` a failure prints one JSON
error object on stdout (``{"ok": false, "error": {...}}``) besides the line on
stderr. Each sub-command lives in its own module and registers itself on :data:`app`.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from peakend.cli.lazy import LazyGroup
from peakend.errors import MissingColumnError, PeakendError, SchemaError

if TYPE_CHECKING:
    from peakend.load import Dataset
    from peakend.summary import Estimate

app = typer.Typer(
    name="peakend",
    cls=LazyGroup,
    help="Find the moments that matter in customer journeys and what customers remember.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _peakend() -> None:
    """Find the moments that matter in customer journeys and what customers remember."""
    # A callback keeps ``peakend`` a command group while no sub-command is imported yet.


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
    as_json = "--json" in sys.argv[1:]
    try:
        app(standalone_mode=False)
    except PeakendError as exc:
        if debug:
            raise
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        if as_json:
            print_json(error_object(exc, exc.exit_code))
        raise SystemExit(exc.exit_code) from None
    except typer.Abort:
        raise SystemExit(130) from None
    except Exception as exc:
        # Click usage errors (from click itself or the copy typer vendors) carry
        # their own message and exit code.
        show, exit_code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(exit_code, int):
            show()
            if as_json and exit_code != 0:
                print_json(error_object(exc, exit_code, kind="UsageError"))
            raise SystemExit(exit_code) from None
        raise


def error_object(exc: Exception, exit_code: int, *, kind: str | None = None) -> dict[str, Any]:
    """The JSON shape of a failure: ``{"ok": false, "error": {...}}``.

    ``error`` holds ``type`` (the exception class), ``exit_code``, ``message``, and
    where known ``column``, ``source`` and ``problems`` (strict-mode failures).
    """
    format_message = getattr(exc, "format_message", None)
    message = format_message() if callable(format_message) else str(exc)
    error: dict[str, Any] = {
        "type": kind or type(exc).__name__,
        "exit_code": exit_code,
        "message": message,
    }
    if isinstance(exc, MissingColumnError):
        error.update(column=exc.column, source=exc.source)
    if isinstance(exc, SchemaError):
        error["problems"] = [p.to_dict() for p in exc.problems]
    return {"ok": False, "error": error}


@contextmanager
def status(message: str) -> Iterator[None]:
    with err.status(message, spinner="dots"):
        yield


CacheOpt = Annotated[
    Path | None,
    typer.Option(
        "--cache",
        help="Keep the validated dataset as Parquet in this folder and re-read it while "
        "the sources and the spec are unchanged (default: the spec's [cache] dir).",
    ),
]

BackendOpt = Annotated[
    str | None,
    typer.Option(
        "--backend",
        help="Where loading, validation and the journey engine run: duckdb (this "
        "process) or spark (a Spark session; docs/scale.md). Default: $PEAKEND_BACKEND, "
        "else duckdb.",
    ),
]


def load_dataset(
    spec: Path, strict: bool | None, cache: Path | None = None, backend: str | None = None
) -> Dataset:
    """Load and validate ``spec``, through the dataset cache when one is set."""
    from peakend.load import load
    from peakend.loading import wanted_backend
    from peakend.spec import read_spec

    parsed = read_spec(spec)
    directory = cache if cache is not None else parsed.cache_dir
    if directory is None or wanted_backend(backend) == "spark":
        with status(loading_message(spec, backend)):
            dataset = load(parsed, strict=strict, cache=cache, backend=backend)
    else:
        from peakend.cache import load_cached

        with status(f"Loading {spec.name} through the cache {directory} …"):
            cached = load_cached(parsed, directory, strict=strict)
        err.print(escape(cached.message), highlight=False, soft_wrap=True)
        dataset = cached.dataset
    warn_quarantine(dataset)
    return dataset


def loading_message(spec: Path, backend: str | None) -> str:
    """What the spinner says while ``spec`` loads on ``backend``."""
    from peakend.loading import wanted_backend

    where = " on Spark" if wanted_backend(backend) == "spark" else ""
    return f"Loading and validating {spec.name}{where} …"


def warn_quarantine(dataset: Dataset) -> None:
    """Say prominently (stderr) when more than 1 % of the rows read were quarantined."""
    from peakend.report.quality import quarantine_warning

    warning = quarantine_warning(dataset.report, "en")
    if warning:
        err.print(f"[bold red]{escape(warning)}[/]", highlight=False)


def fmt(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def fmt_estimate(estimate: Estimate) -> str:
    if estimate.value is None:
        return "–"
    if estimate.low is None or estimate.high is None:
        return f"{estimate.value:+.2f} (n={estimate.n:,})"
    return f"{estimate.value:+.2f} [{estimate.low:+.2f}, {estimate.high:+.2f}] (n={estimate.n:,})"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def duration(seconds: float | None) -> str:
    if seconds is None or math.isnan(seconds):
        return "–"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def progress_bar() -> Progress:
    """A transient progress bar on stderr.

    It redraws itself ten times a second only on a terminal: into a file or a
    pipe nothing is drawn, and the redrawing thread would only take the
    interpreter from the analysis ten times a second.
    """
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        auto_refresh=err.is_terminal,
    )


def print_json(result: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(clean_json(result), indent=2, ensure_ascii=False) + "\n")


def clean_json(value: Any) -> Any:
    """Make a result JSON-safe: NaN becomes null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: clean_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_json(v) for v in value]
    return value
