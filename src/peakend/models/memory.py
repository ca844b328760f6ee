"""Remembered experience: how customers remember their journeys (the peak-end rule).

People do not remember the average of an experience: they remember its most
intense moment and its end, and they neglect its duration (Kahneman,
Fredrickson, Schreiber & Redelmeier 1993; Fredrickson & Kahneman 1993). In
service encounters Verhoef, Antonides & de Hoog (2004) found peak and end
effects too. :func:`remembered_experience` measures how *your* customers
remember, from your own journeys and outcomes:

1. per journey the engine's features (:func:`peakend.engine.journey_features`):
   experienced average, peak, best, worst, end, first, trend, number of
   moments, duration;
2. candidate memory models (:data:`~peakend.models.memory_models.MODELS`) fitted
   to the outcome and compared out of sample (seeded k-fold; RMSE or AUC with
   95 % intervals); the simplest model not significantly worse than the best is
   chosen, and its weights are reported with intervals and in plain language;
3. the remembered valence of each journey under the chosen model, the memory
   gap (remembered - experienced), journeys spoiled by their end or saved by
   their peak or end, and the final touchpoints that spoil most often;
4. order effects: a random re-ordering of the moments, and "what if the best
   moment came last?" per journey type (:mod:`peakend.models.memory_whatif`).

A *journey type* is a group of the segment attribute ``journey_type`` (by
default the spec's first ``segments`` entry); without one, all journeys form
one type. Segments are stable, few and meaningful to a CX team, where exact
touchpoint sequences are many and mostly unique.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from peakend import engine
from peakend.errors import ConfigError, DataError
from peakend.load import Dataset
from peakend.models import memory_whatif as wi
from peakend.models.memory_fit import F64, Z_95, ratio, wald
from peakend.models.memory_models import (
    BASELINE,
    MODELS,
    MemoryModel,
    ModelComparison,
    compare_models,
    feature_matrix,
    fit_model,
)
from peakend.models.resampling import Interval

ALL = "all"
_EXAMPLES = 10


@dataclass(frozen=True)
class Ratio:
    """A ratio of two fitted weights with its delta-method 95 % interval."""

    name: str
    estimate: Interval
    meaning: str

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"name": self.name, "meaning": self.meaning, **self.estimate.to_dict()}


@dataclass(frozen=True)
class TypeMemory:
    """Experienced and remembered valence of one journey type (normal 95 % intervals).

    ``spoiled_share``/``saved_share`` are shares of the type's journeys (Wilson
    intervals); ``outcome`` is the observed mean outcome.
    """

    journey_type: str
    experienced: Interval
    remembered: Interval
    gap: Interval
    outcome: Interval
    spoiled_share: Interval
    saved_share: Interval

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "journey_type": self.journey_type,
            "n": self.experienced.n,
            "experienced": self.experienced.to_dict(),
            "remembered": self.remembered.to_dict(),
            "gap": self.gap.to_dict(),
            "outcome": self.outcome.to_dict(),
            "spoiled_share": self.spoiled_share.to_dict(),
            "saved_share": self.saved_share.to_dict(),
        }


@dataclass(frozen=True)
class EndSpoiler:
    """A final touchpoint: how often a good journey that ends there is spoiled by it."""

    touchpoint: str
    n_good: int
    n_spoiled: int
    spoiled_share: Interval
    mean_gap: Interval

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "touchpoint": self.touchpoint,
            "n_good_journeys": self.n_good,
            "n_spoiled": self.n_spoiled,
            "spoiled_share": self.spoiled_share.to_dict(),
            "mean_gap": self.mean_gap.to_dict(),
        }


@dataclass(frozen=True)
class MemoryResult:
    """Everything :func:`remembered_experience` found, JSON-ready with :meth:`to_dict`.

    Attributes
    ----------
    dataset_name, outcome, binary:
        What was analysed; a binary outcome is modelled by logistic regression
        and compared by AUC, a continuous one by least squares and RMSE.
    n_journeys, n_excluded:
        Journeys analysed, and journeys left out (no scored moment or no outcome).
    journey_type:
        The attribute whose groups are the journey types (None: one type).
    comparison:
        Every candidate model scored out of sample, the best and the chosen one.
    models:
        Every candidate fitted on all analysed journeys, by name.
    model:
        The chosen model (``models[comparison.chosen]``).
    ratios:
        Plain-language ratios of the chosen (and full) model's weights.
    summary:
        A few sentences for a CX team.
    journeys:
        One row per journey: experienced, remembered, gap, predicted outcome,
        peak and end (valence and touchpoint), the pull of peak and end on the
        memory, and the verdict (``spoiled_by_end``, ``saved_by_peak``,
        ``saved_by_end`` or empty).
    types:
        Per journey type (first row: all journeys).
    spoilers:
        Final touchpoints of good journeys, most spoiled first.
    order_effects:
        Random re-ordering of the moments: change of the remembered valence per model.
    best_last:
        "What if the best moment came last?" per journey type, under the chosen model.
    thresholds:
        ``good``, ``weak`` and ``margin`` used for the verdicts (valence).
    """

    dataset_name: str
    outcome: str
    binary: bool
    n_journeys: int
    n_excluded: int
    journey_type: str | None
    comparison: ModelComparison
    models: dict[str, MemoryModel]
    ratios: tuple[Ratio, ...]
    summary: str
    journeys: pa.Table
    types: tuple[TypeMemory, ...]
    spoilers: tuple[EndSpoiler, ...]
    order_effects: tuple[wi.OrderEffect, ...]
    best_last: tuple[wi.BestLast, ...]
    thresholds: dict[str, float]

    @property
    def model(self) -> MemoryModel:
        """The chosen memory model."""
        return self.models[self.comparison.chosen]

    def examples(self, verdict: str, limit: int = _EXAMPLES) -> pa.Table:
        """The journeys with ``verdict`` and the largest gap, largest first."""
        rows = self.journeys.filter(pc.equal(self.journeys["verdict"], verdict))
        order = "ascending" if verdict == "spoiled_by_end" else "descending"
        return rows.sort_by([("gap", order)]).slice(0, limit)

    def to_dict(self, *, include_journeys: bool = False) -> dict[str, object]:
        """JSON-ready form; every journey only when asked (there can be millions)."""
        result: dict[str, object] = {
            "dataset": self.dataset_name,
            "outcome": self.outcome,
            "outcome_kind": "binary" if self.binary else "continuous",
            "n_journeys": self.n_journeys,
            "n_excluded": self.n_excluded,
            "journey_type": self.journey_type,
            "summary": self.summary,
            "comparison": self.comparison.to_dict(),
            "chosen_model": self.model.to_dict(),
            "models": {k: m.to_dict() for k, m in self.models.items()},
            "ratios": [r.to_dict() for r in self.ratios],
            "thresholds": self.thresholds,
            "journey_types": [t.to_dict() for t in self.types],
            "end_spoilers": [s.to_dict() for s in self.spoilers],
            "spoiled_by_end": _rows(self.examples("spoiled_by_end")),
            "saved": _rows(self.examples("saved_by_peak")) + _rows(self.examples("saved_by_end")),
            "order_effects": [o.to_dict() for o in self.order_effects],
            "best_last": [b.to_dict() for b in self.best_last],
        }
        if include_journeys:
            result["journeys"] = _rows(self.journeys)
        return result

    def __repr__(self) -> str:
        return (
            f"MemoryResult({self.dataset_name!r}, outcome={self.outcome!r}: chosen "
            f"{self.comparison.chosen!r} on {self.n_journeys:,} journeys)"
        )


def remembered_experience(
    dataset: Dataset,
    *,
    outcome: str | None = None,
    journey_type: str | None = None,
    folds: int = 5,
    seed: int = 0,
    good: float = 0.25,
    weak: float = 0.0,
    margin: float = 0.25,
    con: object | None = None,
) -> MemoryResult:
    """Fit and compare memory models on ``dataset`` and explain how journeys are remembered.

    Parameters
    ----------
    dataset:
        A loaded dataset (:func:`peakend.load`) with scored events and an outcome.
    outcome:
        A declared outcome (default: the first one).
    journey_type:
        Attribute whose groups are journey types (default: the spec's first segment).
    folds, seed:
        The seeded k-fold split of the out-of-sample comparison.
    good, weak, margin:
        Valence thresholds of the verdicts: a journey is *good* when its
        experienced average is at least ``good``, *weak* when at most ``weak``;
        it is spoiled (saved) when its memory gap is at most ``-margin`` (at
        least ``margin``) and the end (the peak or end) pulls hardest.
    con:
        An Ibis connection for the engine (a fresh DuckDB by default).

    Raises
    ------
    ConfigError
        Unknown outcome or journey type attribute, bad thresholds.
    DataError
        Too few journeys with a score and an outcome.
    """
    outcome = _outcome(dataset, outcome)
    journey_type = _journey_type(dataset, journey_type)
    if not -1.0 <= weak <= good <= 1.0 or margin <= 0:
        raise ConfigError("need -1 <= weak <= good <= 1 and margin > 0 (valence units)")
    backend = con or engine.connect()
    events = engine.events_table(backend, dataset.events)
    all_journeys = engine.journey_features(events).to_pyarrow()
    table = _with_outcome(all_journeys, dataset.outcomes, outcome, journey_type)
    if table.num_rows < 2 * folds:
        raise DataError(
            f"only {table.num_rows} journeys have a scored moment and a value of "
            f"{outcome!r}; the memory models need at least {2 * folds}"
        )
    binary = _is_binary(dataset, outcome)
    y = table["_y"].to_numpy().astype(np.float64)
    comparison = compare_models(table, y, binary=binary, folds=folds, seed=seed)
    models = {name: fit_model(name, table, y, binary=binary) for name in MODELS}
    chosen = models[comparison.chosen]
    journeys = _journey_rows(table, chosen, good, weak, margin)
    seqs = wi.journey_sequences(
        events, table["journey_id"].combine_chunks(), table["duration_s"].to_numpy()
    )
    types = np.asarray(table["_type"].to_pylist(), dtype=object)
    ratios = _ratios(chosen, models["full"], float(np.median(table["n_scored"].to_numpy())))
    return MemoryResult(
        dataset_name=dataset.spec.name,
        outcome=outcome,
        binary=binary,
        n_journeys=table.num_rows,
        n_excluded=all_journeys.num_rows - table.num_rows,
        journey_type=journey_type,
        comparison=comparison,
        models=models,
        ratios=ratios,
        summary=_summary(outcome, comparison, ratios),
        journeys=journeys,
        types=_types(journeys),
        spoilers=_spoilers(journeys, good),
        order_effects=tuple(wi.order_test(list(models.values()), seqs, seed=seed)),
        best_last=tuple(wi.best_last(chosen, seqs, types)),
        thresholds={"good": good, "weak": weak, "margin": margin},
    )


# ------------------------------------------------------------------ inputs
def _outcome(dataset: Dataset, outcome: str | None) -> str:
    names = dataset.outcome_names
    if not names:
        raise ConfigError(
            f"dataset {dataset.spec.name!r} declares no outcome; a memory model predicts an "
            "outcome (overall rating, NPS, satisfied …): add an [outcomes.NAME] table to the spec"
        )
    if outcome is None:
        return names[0]
    if outcome not in names:
        raise ConfigError(f"unknown outcome {outcome!r}; the spec declares: {', '.join(names)}")
    return outcome


def _journey_type(dataset: Dataset, journey_type: str | None) -> str | None:
    if journey_type is None:
        return dataset.spec.segments[0] if dataset.spec.segments else None
    if journey_type not in dataset.outcomes.column_names or journey_type == "journey_id":
        known = ", ".join(dataset.spec.attributes) or "none declared"
        raise ConfigError(
            f"unknown journey type attribute {journey_type!r}; the spec's attributes: {known}"
        )
    return journey_type


def _is_binary(dataset: Dataset, outcome: str) -> bool:
    return next(o.kind for o in dataset.spec.outcomes if o.name == outcome) == "binary"


def _with_outcome(
    journeys: pa.Table, outcomes: pa.Table, outcome: str, journey_type: str | None
) -> pa.Table:
    """Journeys with a scored moment and an outcome, with ``_y`` and ``_type`` columns."""
    cols = {
        "journey_id": outcomes["journey_id"].cast(pa.large_string()),
        "_y": outcomes[outcome].cast(pa.float64()),
    }
    if journey_type is not None:
        cols["_type"] = outcomes[journey_type].cast(pa.string()).fill_null("(missing)")
    right = pa.table(cols)
    scored = journeys.filter(pc.greater(journeys["n_scored"], 0))
    scored = scored.set_column(0, "journey_id", scored["journey_id"].cast(pa.large_string()))
    joined = scored.join(right, "journey_id", join_type="inner")
    joined = joined.filter(pc.is_valid(joined["_y"])).sort_by("journey_id")
    if journey_type is None:
        joined = joined.append_column("_type", pa.array([ALL] * joined.num_rows, pa.string()))
    return joined


# ------------------------------------------------------------------ per journey
def _journey_rows(
    table: pa.Table, model: MemoryModel, good: float, weak: float, margin: float
) -> pa.Table:
    x = feature_matrix(table, model.features)
    experienced = table["mean_valence"].to_numpy().astype(np.float64)
    remembered = model.remembered(x)
    gap = remembered - experienced
    pulls = model.contributions(x, experienced)
    zero = np.zeros(len(gap))
    end_pull = pulls.get("end", zero)
    peak_pull = sum((pulls.get(k, zero) for k in ("peak", "peak_positive", "peak_negative")), zero)
    stacked = np.column_stack(list(pulls.values())) if pulls else zero[:, None]
    verdict = np.full(len(gap), "", dtype=object)
    spoiled = (experienced >= good) & (gap <= -margin) & (end_pull <= stacked.min(axis=1))
    saved = (experienced <= weak) & (gap >= margin)
    top = stacked.max(axis=1)
    verdict[spoiled & (end_pull < 0)] = "spoiled_by_end"
    verdict[saved & (peak_pull >= top) & (peak_pull > 0)] = "saved_by_peak"
    verdict[saved & (end_pull >= top) & (end_pull > 0) & (verdict == "")] = "saved_by_end"
    return pa.table(
        {
            "journey_id": table["journey_id"],
            "journey_type": table["_type"],
            "n_moments": table["n_scored"],
            "experienced": experienced,
            "remembered": remembered,
            "gap": gap,
            "predicted_outcome": model.predict(x),
            "outcome": table["_y"],
            "peak_valence": table["peak_valence"],
            "peak_touchpoint": table["peak_touchpoint"],
            "end_valence": table["end_valence"],
            "end_touchpoint": table["end_touchpoint"],
            "peak_pull": peak_pull,
            "end_pull": end_pull,
            "verdict": pa.array(verdict.tolist(), pa.string()),
        }
    )


def _mean(values: F64) -> Interval:
    values = values[np.isfinite(values)]
    n = len(values)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    if n < 2:
        return Interval(float(values[0]), math.nan, math.nan, 1)
    return wald(float(values.mean()), float(values.var(ddof=1)) / n, n)


def wilson(successes: int, n: int) -> Interval:
    """Share ``successes / n`` with its Wilson score 95 % interval."""
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    p = successes / n
    z2 = Z_95**2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z_95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Interval(p, low, high, n)


def _types(journeys: pa.Table) -> tuple[TypeMemory, ...]:
    labels = journeys["journey_type"].to_numpy(zero_copy_only=False).astype(str)
    verdict = journeys["verdict"].to_numpy(zero_copy_only=False).astype(str)
    cols = {c: journeys[c].to_numpy().astype(np.float64) for c in ("experienced", "remembered")}
    gap, outcome = journeys["gap"].to_numpy(), journeys["outcome"].to_numpy().astype(np.float64)
    groups = [ALL] + sorted(set(labels.tolist()) - {ALL})
    result = []
    for label in groups:
        m = np.ones(len(labels), bool) if label == ALL else labels == label
        n = int(m.sum())
        result.append(
            TypeMemory(
                label,
                _mean(cols["experienced"][m]),
                _mean(cols["remembered"][m]),
                _mean(gap[m]),
                _mean(outcome[m]),
                wilson(int((verdict[m] == "spoiled_by_end").sum()), n),
                wilson(int(np.char.startswith(verdict[m], "saved").sum()), n),
            )
        )
    return tuple(result)


def _spoilers(journeys: pa.Table, good: float) -> tuple[EndSpoiler, ...]:
    good_rows = journeys.filter(pc.greater_equal(journeys["experienced"], good))
    ends = good_rows["end_touchpoint"].to_numpy(zero_copy_only=False).astype(str)
    spoiled = good_rows["verdict"].to_numpy(zero_copy_only=False).astype(str) == "spoiled_by_end"
    gap = good_rows["gap"].to_numpy()
    result = []
    for tp in sorted(set(ends.tolist())):
        m = ends == tp
        k = int(spoiled[m].sum())
        result.append(EndSpoiler(tp, int(m.sum()), k, wilson(k, int(m.sum())), _mean(gap[m])))
    return tuple(sorted(result, key=lambda s: (-s.n_spoiled, s.touchpoint)))


# ------------------------------------------------------------------ plain language
def _ratios(chosen: MemoryModel, full: MemoryModel, n_moments: float) -> tuple[Ratio, ...]:
    result: list[Ratio] = []
    idx = {f: i + 1 for i, f in enumerate(chosen.features)}
    if "mean" in idx:
        for f in ("end", "peak", "trough", "first"):
            if f in idx:
                r = ratio(chosen.fit, idx[f], idx["mean"])
                per_moment = _affine(r, n_moments, 1.0)
                result.append(
                    Ratio(
                        f"{f}_vs_average_moment",
                        per_moment,
                        f"the {_word(f)} moment counts this many times as much as an average "
                        f"moment of a {n_moments:g}-moment journey: 1 + n * w_{f} / w_mean",
                    )
                )
    elif "end" in idx and "peak" in idx:
        r = ratio(chosen.fit, idx["end"], idx["peak"])
        result.append(Ratio("end_vs_peak", r, "weight of the end divided by that of the peak"))
    fidx = {f: i + 1 for i, f in enumerate(full.features)}
    if "peak_positive" in fidx and "peak_negative" in fidx:
        r = ratio(full.fit, fidx["peak_negative"], fidx["peak_positive"])
        result.append(
            Ratio(
                "negativity",
                r,
                "full model: weight of a negative peak divided by that of a positive peak",
            )
        )
    return tuple(result)


def _affine(r: Interval, scale: float, shift: float) -> Interval:
    return Interval(shift + scale * r.value, shift + scale * r.low, shift + scale * r.high, r.n)


def _word(feature: str) -> str:
    return {"trough": "worst", "first": "first", "end": "last", "peak": "most intense"}[feature]


def _summary(outcome: str, comparison: ModelComparison, ratios: tuple[Ratio, ...]) -> str:
    chosen = comparison.score_of(comparison.chosen)
    base = comparison.score_of(BASELINE)
    metric = comparison.metric.upper()
    fmt = ".3f"
    lines = [
        f"Out of sample ({comparison.folds}-fold, n={comparison.n:,}), the {comparison.chosen!r} "
        f"memory model predicts {outcome!r} with {metric} {chosen.score.value:{fmt}} "
        f"[{chosen.score.low:{fmt}}, {chosen.score.high:{fmt}}], against "
        f"{base.score.value:{fmt}} [{base.score.low:{fmt}}, {base.score.high:{fmt}}] for the "
        "experienced average alone."
    ]
    if comparison.chosen == BASELINE:
        lines.append(
            "No memory model beats the plain average here: these customers remember "
            "their journey as its average, and the order of moments does not matter."
        )
    by_name = {r.name: r for r in ratios}
    for f in ("end", "peak"):
        r = by_name.get(f"{f}_vs_average_moment")
        if r is not None:
            lines.append(
                f"The {_word(f)} moment counts {r.estimate.value:.1f}x as much as an average "
                f"moment [{r.estimate.low:.1f}, {r.estimate.high:.1f}]."
            )
    if "end_vs_peak" in by_name:
        e = by_name["end_vs_peak"].estimate
        lines.append(
            f"The average adds nothing beyond peak and end; the end weighs {e.value:.2f}x "
            f"the peak [{e.low:.2f}, {e.high:.2f}]."
        )
    neg = by_name["negativity"].estimate if "negativity" in by_name else None
    # Only readable when both peak weights point the same way (positive ratio).
    if neg is not None and neg.low > 0:
        lines.append(
            f"A negative peak weighs {neg.value:.2f}x a positive one "
            f"[{neg.low:.2f}, {neg.high:.2f}]."
        )
    return " ".join(lines)


def _rows(table: pa.Table) -> list[dict[str, object]]:
    return [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        for row in table.to_pylist()
    ]
