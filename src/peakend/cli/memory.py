"""The ``memory`` sub-command: how customers remember their journeys (peak-end rule)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from peakend.cli.charts import write_charts
from peakend.cli.common import (
    BackendOpt,
    JsonOpt,
    SpecArg,
    StrictOpt,
    app,
    fmt,
    load_dataset,
    out,
    percent,
    print_json,
    status,
)
from peakend.load import Dataset
from peakend.models.memory import MemoryResult, remembered_experience
from peakend.report.quality import data_quality
from peakend.stats.resampling import Interval


@app.command()
def memory(
    spec: SpecArg,
    outcome: Annotated[
        str | None, typer.Option(help="Declared outcome to predict (default: the first).")
    ] = None,
    journey_type: Annotated[
        str | None,
        typer.Option(help="Attribute whose groups are journey types (default: first segment)."),
    ] = None,
    folds: Annotated[int, typer.Option(help="Folds of the out-of-sample comparison.")] = 5,
    seed: Annotated[int, typer.Option(help="Seed of the fold split and the re-ordering.")] = 0,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Write the figures (HTML, PNG, SVG) to this directory."),
    ] = None,
    strict: StrictOpt = None,
    backend: BackendOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Remembered experience: which memory model fits your customers, and which ends spoil.

    Compares memory models (average only, end, peak-end, peak-end + worst,
    peak-end + average, full with a negativity weight) out of sample, reports the
    chosen model's weights with 95% intervals, the remembered score and memory
    gap per journey type, the final touchpoints that spoil good journeys, and
    whether the order of moments matters.

    Example: peakend memory examples/airline_passenger_satisfaction.toml --outcome satisfied
    """
    dataset = load_dataset(spec, strict, backend=backend)
    with status(f"Fitting and comparing memory models ({folds}-fold) …"):
        result = remembered_experience(
            dataset, outcome=outcome, journey_type=journey_type, folds=folds, seed=seed
        )
    if as_json:
        print_json({**result.to_dict(), "data_quality": data_quality(dataset.report)})
    else:
        _print(result)
    if out_dir is not None:
        _write_figures(result, dataset, out_dir)


def _write_figures(result: MemoryResult, dataset: Dataset, out_dir: Path) -> None:
    from peakend.views.memory import journey_curve, journey_types, model_comparison

    figures = {
        "memory_types": journey_types(result),
        "memory_journey": journey_curve(result, dataset),
        "memory_models": model_comparison(result),
    }
    with status(f"Writing figures to {out_dir} …"):
        write_charts([(c, out_dir / stem) for stem, c in figures.items()], what="figures")


def _ci(i: Interval, digits: int = 3, signed: bool = False) -> str:
    if not math.isfinite(i.value):
        return "–"
    f = f"{'+' if signed else ''}.{digits}f"
    if not (math.isfinite(i.low) and math.isfinite(i.high)):
        return f"{i.value:{f}}"
    return f"{i.value:{f}} [{i.low:{f}}, {i.high:{f}}]"


def _print(result: MemoryResult) -> None:
    out.print(
        f"[bold]{escape(result.dataset_name)}[/]: memory of {escape(result.outcome)} over "
        f"{result.n_journeys:,} journeys ({result.n_excluded:,} left out: no score or outcome)"
    )
    out.print(escape(result.summary), highlight=False)
    metric = result.comparison.metric.upper()
    models = Table(
        "model", f"{metric} [95% CI]", "vs average only", "features",
        title=f"Memory models, out of sample ({result.comparison.folds}-fold)",
    )  # fmt: skip
    for s in result.comparison.scores:
        mark = " ← chosen" if s.name == result.comparison.chosen else ""
        models.add_row(
            s.name + mark,
            _ci(s.score),
            _ci(s.versus_baseline, signed=True),
            ", ".join(s.features),
        )
    out.print(models)
    weights = Table("feature", "weight [95% CI]", title=f"Weights of {result.comparison.chosen}")
    for w in result.model.weights:
        weights.add_row(w.feature, _ci(w.estimate, signed=True))
    for r in result.ratios:
        weights.add_row(f"[dim]{r.name}[/]", _ci(r.estimate, digits=2))
    out.print(weights)
    _print_types(result)
    _print_spoilers(result)
    _print_examples(result)
    order = Table("model", "mean |change| [95% CI]", "journeys changed")
    order.title = "Same moments, random order: change of the remembered valence"
    for o in result.order_effects:
        order.add_row(o.model, _ci(o.mean_abs_change), percent(o.share_changed))
    out.print(order)


def _print_types(result: MemoryResult) -> None:
    types = Table(
        "journey type", "n", "experienced", "remembered", "gap", "spoiled by end", "saved",
        "best moment last: Δ remembered",
        title=f"Experienced and remembered ({result.journey_type or 'all journeys'})",
    )  # fmt: skip
    best_last = {b.journey_type: b for b in result.best_last}
    for t in result.types:
        b = best_last.get(t.journey_type)
        types.add_row(
            escape(t.journey_type),
            fmt(t.experienced.n),
            _ci(t.experienced, 2, True),
            _ci(t.remembered, 2, True),
            _ci(t.gap, 2, True),
            percent(t.spoiled_share.value),
            percent(t.saved_share.value),
            _ci(b.remembered_change, 3, True) if b else "–",
        )
    out.print(types)


def _print_spoilers(result: MemoryResult) -> None:
    spoilers = Table(
        "final touchpoint", "good journeys", "spoiled", "share [95% CI]", "mean gap",
        title=f"Good journeys (experienced ≥ {result.thresholds['good']:+.2f}) by final touchpoint",
    )  # fmt: skip
    for s in result.spoilers[:10]:
        spoilers.add_row(
            escape(s.touchpoint),
            fmt(s.n_good),
            fmt(s.n_spoiled),
            _ci(s.spoiled_share, 3),
            _ci(s.mean_gap, 2, True),
        )
    out.print(spoilers)


def _print_examples(result: MemoryResult, limit: int = 5) -> None:
    for verdict in ("spoiled_by_end", "saved_by_peak", "saved_by_end"):
        rows = result.examples(verdict, limit).to_pylist()
        if not rows:
            continue
        table = Table(
            "journey", "type", "experienced", "remembered", "gap", "peak (touchpoint)",
            "end (touchpoint)",
            title=f"Journeys {verdict.replace('_', ' ')}, largest gaps first",
        )  # fmt: skip
        for r in rows:
            table.add_row(
                escape(str(r["journey_id"])),
                escape(str(r["journey_type"])),
                f"{r['experienced']:+.2f}",
                f"{r['remembered']:+.2f}",
                f"{r['gap']:+.2f}",
                f"{r['peak_valence']:+.1f} ({escape(str(r['peak_touchpoint']))})",
                f"{r['end_valence']:+.1f} ({escape(str(r['end_touchpoint']))})",
            )
        out.print(table)
