"""The ``moments`` sub-command: moments of truth, excel and standard moments per touchpoint."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Annotated

import pyarrow.compute as pc
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
    err,
    load_dataset,
    out,
    print_json,
    progress_bar,
)
from peakend.errors import ConfigError, StatisticalWarning
from peakend.load import Dataset
from peakend.models.moments import (
    MomentSettings,
    MomentsResult,
    TouchpointMoment,
    find_moments,
)
from peakend.models.moments.design import Cuts
from peakend.report.quality import data_quality
from peakend.stats.pooling import MIN_GROUPS
from peakend.stats.resampling import Interval


@app.command()
def moments(
    spec: SpecArg,
    outcome: Annotated[
        str | None, typer.Option(help="Declared outcome to explain (default: the first).")
    ] = None,
    segment: Annotated[
        list[str] | None,
        typer.Option(help="Segment attribute (repeatable); default: the spec's segments."),
    ] = None,
    no_segments: Annotated[
        bool, typer.Option("--no-segments", help="Skip the per-segment estimates.")
    ] = False,
    resamples: Annotated[int, typer.Option(help="Bootstrap resamples.")] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    threshold: Annotated[
        float | None,
        typer.Option(help="Smallest effect that matters, in outcome units (default 0.2 SD)."),
    ] = None,
    min_count: Annotated[
        int, typer.Option(help="Fewest journeys per low/middle/high band to classify.")
    ] = 30,
    low_max: Annotated[
        float | None, typer.Option(help="Raw scores <= this are low (default: the scale).")
    ] = None,
    high_min: Annotated[
        float | None, typer.Option(help="Raw scores >= this are high (default: the scale).")
    ] = None,
    adjust_for: Annotated[
        list[str] | None,
        typer.Option(help="Journey feature to adjust for, e.g. end_valence (repeatable)."),
    ] = None,
    weight_col: Annotated[
        str | None, typer.Option(help="Attribute column with a weight per respondent.")
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(help="Write the moment matrix as PLOT.html (offline), PLOT.png and PLOT.svg."),
    ] = None,
    strict: StrictOpt = None,
    backend: BackendOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Moments of truth, excel, performance and standard moments, with intervals.

    Per touchpoint: the penalty of a low score and the reward of a high score
    against the middle, the share of the explained variance, the class with its
    probability of what it states and a recommendation (fix, excel, maintain,
    allow, collect data). A class is stated only when its interval supports it:
    standard needs both intervals inside the threshold; anything else is
    inconclusive, with roughly how many more low or high scores would settle it.

    Example: peakend moments examples/airline_passenger_satisfaction.toml --outcome satisfied
    """
    if (low_max is None) != (high_min is None):
        raise ConfigError("give both --low-max and --high-min, or neither")
    cuts = Cuts(low_max, high_min) if low_max is not None and high_min is not None else None
    settings = MomentSettings(
        threshold=threshold,
        min_count=min_count,
        n_resamples=resamples,
        seed=seed,
        cuts=cuts,
    )
    dataset = load_dataset(spec, strict, backend=backend)
    chosen = () if no_segments else (tuple(segment) if segment else dataset.spec.segments)
    total = resamples * (1 + _group_count(dataset, chosen))
    with progress_bar() as bar, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", StatisticalWarning)
        task = bar.add_task("Bootstrapping moments", total=total)
        result = find_moments(
            dataset,
            outcome=outcome,
            settings=settings,
            weight_col=weight_col,
            segments=chosen,
            adjust_for=tuple(adjust_for or ()),
            progress=lambda k: bar.advance(task, k),
        )
    for warning in caught:
        err.print(f"[yellow]warning:[/] {escape(str(warning.message))}", highlight=False)
    if as_json:
        print_json({**result.to_dict(), "data_quality": data_quality(dataset.report)})
    else:
        _print(result)
    if plot is not None:
        from peakend.views.moments import moment_matrix

        write_charts([(moment_matrix(result), plot)], what="moment matrix")


def _group_count(dataset: Dataset, attributes: tuple[str, ...]) -> int:
    count = 0
    for attribute in attributes:
        if attribute in dataset.outcomes.column_names:
            values = dataset.outcomes[attribute].drop_null()
            count += len(pc.unique(values))
    return count


#: How the command line names each estimand (``MomentsResult.estimand``).
ESTIMANDS = {
    "direct": "direct effects",
    "total_by_intervention": "total effects by intervention (g-computation)",
    "total_regression_weighted": "total effects, regression-weighted",
}


def _estimand(result: MomentsResult) -> str:
    return ESTIMANDS.get(result.estimand, f"{result.effects} effects")


def _print(result: MomentsResult) -> None:
    unit = "pp" if result.outcome_kind == "binary" else result.outcome
    fit_name = "McFadden R²" if result.outcome_kind == "binary" else "R²"
    out.print(
        f"[bold]{escape(result.dataset_name)}[/]: moments for [bold]{escape(result.outcome)}[/] "
        f"({result.model}, {result.n_journeys:,} journeys; {fit_name} {_interval(result.fit)}, "
        f"{result.fit_method}; threshold {_effect(result.threshold, result)} {unit}; "
        f"{result.settings.n_resamples} bootstrap resamples of whole {result.resampling_unit}s; "
        f"{_estimand(result)})"
    )
    out.print(_table(result, "Touchpoints by impact"))
    odd = [m.touchpoint for m in result.touchpoints if m.reversed_effect]
    if odd:
        out.print(
            f"  reversed effects (a low score with a better outcome or a high one with a worse; "
            f"correlated ratings, not causes): {escape(', '.join(odd))}"
        )
    for seg in result.segments:
        for group in seg.groups:
            pooled = ", pooled" if len(seg.groups) >= MIN_GROUPS else ""
            title = f"{seg.attribute} = {group.name} (n={group.n_journeys:,}{pooled})"
            out.print(_group_table(group.touchpoints, result, title))
        differing = [d.touchpoint for d in seg.differences if d.class_differs]
        text = ", ".join(differing) if differing else "none"
        out.print(f"  class differs between {escape(seg.attribute)} groups: {escape(text)}")


def _table(result: MomentsResult, title: str) -> Table:
    table = Table(title=title, header_style="bold")
    for name in ("touchpoint", "class", "conf.", "action", "penalty [95% CI]"):
        table.add_column(
            name, justify="left" if name in ("touchpoint", "class", "action") else "right"
        )
    for name in ("reward [95% CI]", "importance", "n low/mid/high", "to settle"):
        table.add_column(name, justify="right")
    for m in result.touchpoints:
        table.add_row(
            m.touchpoint,
            m.moment_class.replace("_", " "),
            _pct(m.confidence),
            m.recommendation.replace("_", " "),
            _effect_interval(m.penalty, result),
            _effect_interval(m.reward, result),
            _share_interval(m.importance) + ("" if m.importance_distinct else " ≈0"),
            "/".join(_count(m.counts[band]) for band in ("low", "middle", "high")),
            settle_text(m.more_journeys),
        )
    return table


def settle_text(more: dict[str, int | None]) -> str:
    """``+120 low, +40 high``: more journeys per band that would settle an open class."""
    parts = [
        f"+{_count(n)} {band}" if n is not None else f"{band}: more data will not settle it"
        for band, n in more.items()
    ]
    return ", ".join(parts)


def _group_table(moments: tuple[TouchpointMoment, ...], result: MomentsResult, title: str) -> Table:
    table = Table(title=title, header_style="bold")
    for name in ("touchpoint", "class", "conf.", "penalty [95% CI]", "reward [95% CI]"):
        table.add_column(
            name, justify="left" if name in ("touchpoint", "class", "action") else "right"
        )
    for m in moments:
        table.add_row(
            m.touchpoint,
            m.moment_class.replace("_", " "),
            _pct(m.confidence),
            _effect_interval(m.penalty, result),
            _effect_interval(m.reward, result),
        )
    return table


def _effect(value: float, result: MomentsResult) -> str:
    if not math.isfinite(value):
        return "–"
    return f"{100 * value:+.1f}" if result.outcome_kind == "binary" else f"{value:+.2f}"


def _effect_interval(interval: Interval, result: MomentsResult) -> str:
    if not math.isfinite(interval.value):
        return "–"
    return (
        f"{_effect(interval.value, result)} "
        f"[{_effect(interval.low, result)},{_effect(interval.high, result)}]"
    )


def _share_interval(interval: Interval) -> str:
    if not math.isfinite(interval.value):
        return "–"
    return f"{100 * interval.value:.0f}% [{100 * interval.low:.0f},{100 * interval.high:.0f}]"


def _count(n: int) -> str:
    return f"{n / 1000:.0f}k" if n >= 10_000 else f"{n:,}"


def _interval(interval: Interval) -> str:
    return f"{interval.value:.3f} [{interval.low:.3f}, {interval.high:.3f}]"


def _pct(value: float) -> str:
    return "–" if not math.isfinite(value) else f"{100 * value:.0f}%"
