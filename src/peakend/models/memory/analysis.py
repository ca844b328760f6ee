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
2. candidate memory models (:data:`~peakend.models.memory.models.MODELS`) fitted
   to the outcome and compared out of sample (seeded k-fold; RMSE or AUC with
   95 % intervals); the simplest model not significantly worse than the best is
   chosen, and its weights are reported with intervals and in plain language;
3. the remembered valence of each journey under the chosen model, the memory
   gap (remembered - experienced), journeys spoiled by their end or saved by
   their peak or end, and the final touchpoints that spoil most often;
4. order effects: a random re-ordering of the moments, and "what if the best
   moment came last?" per journey type (:mod:`peakend.models.memory.whatif`);
5. the claim (:mod:`peakend.models.memory.verdict`): a peak/end effect, the
   average, or inconclusive, by a joint Wald test and an equivalence margin,
   and none at all without an experienced order (ratings given at once, e.g. a
   wide survey, unless the spec declares ``experienced_order = true``).

When a customer has several journeys, the weights' intervals are
cluster-robust and the folds keep a customer's journeys together.

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
from peakend.errors import ConfigError, DataError, InputMissingError
from peakend.load import Dataset
from peakend.models.memory import whatif as wi
from peakend.models.memory.journeys import (
    ALL,
    EndSpoiler,
    TypeMemory,
    end_spoilers,
    journey_rows,
    type_memories,
)
from peakend.models.memory.models import (
    MODELS,
    MemoryModel,
    ModelComparison,
    candidate_matrices,
    compare_models,
    fit_model,
)
from peakend.models.memory.summary import Ratio, plain_summary, weight_ratios
from peakend.models.memory.verdict import (
    TEST_MODEL,
    MemoryVerdict,
    memory_verdict,
    timed_share,
)
from peakend.stats.resampling import cluster_codes, resampling_unit, wilson

__all__ = [
    "EndSpoiler",
    "MemoryResult",
    "Ratio",
    "TypeMemory",
    "remembered_experience",
    "wilson",
]

_EXAMPLES = 10


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
        peak and end (valence and touchpoint), best, worst, first, trend,
        duration, the pull of peak and end on the memory, and the verdict
        (``spoiled_by_end``, ``saved_by_peak``, ``saved_by_end`` or empty).
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
    verdict:
        What may be claimed (:class:`~peakend.models.memory.verdict.MemoryVerdict`).
    resampling_unit:
        ``"customer"`` when intervals and folds treat a customer's journeys
        together, else ``"journey"``.
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
    verdict: MemoryVerdict | None = None
    resampling_unit: str = "journey"

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
            "verdict": None if self.verdict is None else self.verdict.to_dict(),
            "resampling_unit": self.resampling_unit,
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
    features: pa.Table | None = None,
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
    features:
        The engine's journey features of ``dataset``
        (:func:`peakend.engine.journey_features`) when already computed, e.g.
        :attr:`peakend.summary.JourneySummary.journeys`: the report passes the
        summary's table instead of computing the same table a second time.

    Raises
    ------
    ConfigError
        Unknown outcome or journey type attribute, bad thresholds.
    DataError
        Too few journeys with a score and an outcome.

    Examples
    --------
    >>> import peakend
    >>> from peakend.datasets import demo_spec_path
    >>> memory = peakend.remembered_experience(peakend.load(demo_spec_path()), outcome="overall")
    >>> memory.comparison.score_of("peak_end").versus_baseline.high < 0  # beats the mean
    True
    """
    outcome = _outcome(dataset, outcome)
    journey_type = _journey_type(dataset, journey_type)
    if not -1.0 <= weak <= good <= 1.0 or margin <= 0:
        raise ConfigError("need -1 <= weak <= good <= 1 and margin > 0 (valence units)")
    _, events = engine.dataset_events(dataset, con)
    all_journeys = engine.journey_features(events).to_pyarrow() if features is None else features
    table = _with_outcome(all_journeys, dataset.outcomes, outcome, journey_type)
    if table.num_rows < 2 * folds:
        raise DataError(
            f"only {table.num_rows} journeys have a scored moment and a value of "
            f"{outcome!r}; the memory models need at least {2 * folds}"
        )
    binary = _is_binary(dataset, outcome)
    y = table["_y"].to_numpy().astype(np.float64)
    clusters = _clusters(table)
    matrices = candidate_matrices(table)  # for the comparison and the fits on all journeys
    comparison = compare_models(
        table, y, binary=binary, folds=folds, seed=seed, clusters=clusters, matrices=matrices
    )
    models = {
        name: fit_model(name, table, y, binary=binary, clusters=clusters, matrix=matrices[name])
        for name in MODELS
    }
    del matrices
    chosen = models[comparison.chosen]
    verdict = memory_verdict(
        models[TEST_MODEL],
        y,
        binary=binary,
        share=timed_share(_scored_times(dataset)),
        declared=dataset.spec.experienced_order,
    )
    journeys = journey_rows(table, chosen, good, weak, margin)
    seqs = _sequences(dataset, events, table)
    types = np.asarray(table["_type"].to_pylist(), dtype=object)
    ratios = weight_ratios(chosen, models["full"], float(np.median(table["n_scored"].to_numpy())))
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
        summary=plain_summary(outcome, comparison, ratios, verdict),
        journeys=journeys,
        types=type_memories(journeys),
        spoilers=end_spoilers(journeys, good),
        order_effects=tuple(wi.order_test(list(models.values()), seqs, seed=seed)),
        best_last=tuple(wi.best_last(chosen, seqs, types)),
        thresholds={"good": good, "weak": weak, "margin": margin},
        verdict=verdict,
        resampling_unit=resampling_unit(clusters),
    )


def _clusters(table: pa.Table) -> np.ndarray | None:
    """Customer codes of the analysed journeys; ``None`` when no customer repeats."""
    if "customer_id" not in table.column_names:
        return None
    ids = pc.cast(table["customer_id"], pa.string())
    filled = pc.coalesce(ids, pc.cast(table["journey_id"], pa.string()))
    codes = pc.dictionary_encode(filled.combine_chunks()).indices
    return cluster_codes(codes.to_numpy(zero_copy_only=False))


def _sequences(dataset: Dataset, events: object, table: pa.Table) -> wi.Sequences:
    """The analysed journeys' scored moments in journey order: from the events in
    memory, or by a query where the events stay on a remote engine (Spark)."""
    ids, durations = table["journey_id"].combine_chunks(), table["duration_s"].to_numpy()
    source = dataset.event_source
    if source is not None and source.remote:
        return wi.journey_sequences(events, ids, durations)
    return wi.loaded_sequences(dataset.events, ids, durations)


# ------------------------------------------------------------------ inputs
def _outcome(dataset: Dataset, outcome: str | None) -> str:
    names = dataset.outcome_names
    if not names:
        raise InputMissingError(
            f"dataset {dataset.spec.name!r} declares no outcome; a memory model predicts an "
            "outcome (overall rating, NPS, satisfied …): add an [outcomes.NAME] table to the spec"
        )
    return dataset.choose_outcome(outcome) or names[0]


def _journey_type(dataset: Dataset, journey_type: str | None) -> str | None:
    if journey_type is None:
        return dataset.spec.segments[0] if dataset.spec.segments else None
    declared = journey_type in dataset.spec.attributes or journey_type in dataset.spec.segments
    if not declared or journey_type not in dataset.outcomes.column_names:
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
    """Journeys with a scored moment and an outcome, with ``_y`` and ``_type`` columns.

    In the order of their ids. Each journey's outcome row is looked up by id and the
    rows kept taken in that order at once, instead of a hash join of every column
    and a sort of the joined table (on a million journeys a fifth of the memory
    section); outcomes with a journey twice are joined.
    """
    ids = outcomes["journey_id"].cast(pa.large_string()).combine_chunks()
    if not _ascending(ids, strictly=True) and pc.count_distinct(ids).as_py() != len(ids):
        return _joined(journeys, outcomes, outcome, journey_type)
    keys = journeys["journey_id"].cast(pa.large_string()).combine_chunks()
    match = _positions(keys, ids)
    y = outcomes[outcome].cast(pa.float64()).combine_chunks().take(match)
    keep = pc.and_kleene(pc.greater(journeys["n_scored"], 0), pc.is_valid(y))
    rows = pc.indices_nonzero(pc.fill_null(keep, False))
    if not _ascending(keys.take(rows)):  # the engine's features come sorted by id
        rows = rows.take(pc.sort_indices(keys.take(rows)))
    table = journeys.take(rows)
    table = table.set_column(
        table.schema.get_field_index("journey_id"), "journey_id", keys.take(rows)
    )
    table = table.append_column("_y", y.take(rows))
    if journey_type is None:
        types = pa.array([ALL] * table.num_rows, pa.string())
    else:
        labels = outcomes[journey_type].cast(pa.string()).fill_null("(missing)")
        types = labels.combine_chunks().take(match).take(rows)
    return table.append_column("_type", types)


def _ascending(ids: pa.Array, *, strictly: bool = False) -> bool:
    """Whether ``ids`` (no missing one) are in ascending order, each larger than the last
    when ``strictly``: then a sort leaves them in place and they are distinct."""
    if ids.null_count:
        return False
    if len(ids) < 2:
        return True
    earlier = (pc.less_equal if strictly else pc.less)(ids[1:], ids[:-1])
    return not pc.any(earlier).as_py()


def _positions(keys: pa.Array, ids: pa.Array) -> pa.Array:
    """The position of each key among ``ids`` (distinct; missing when absent), as
    ``pc.index_in``; without a hash table when the two lists are the same."""
    same = len(keys) == len(ids) and not keys.null_count and not ids.null_count
    if same and pc.all(pc.equal(keys, ids)).as_py() is not False:
        return pa.array(np.arange(len(ids), dtype=np.int32))
    return pc.index_in(keys, value_set=ids)


def _joined(
    journeys: pa.Table, outcomes: pa.Table, outcome: str, journey_type: str | None
) -> pa.Table:
    """:func:`_with_outcome` by a join, for outcomes that list a journey more than once."""
    cols = {
        "journey_id": outcomes["journey_id"].cast(pa.large_string()),
        "_y": outcomes[outcome].cast(pa.float64()),
    }
    if journey_type is not None:
        cols["_type"] = outcomes[journey_type].cast(pa.string()).fill_null("(missing)")
    right = pa.table(cols)
    scored = journeys.filter(pc.greater(journeys["n_scored"], 0))
    index = scored.schema.get_field_index("journey_id")
    scored = scored.set_column(index, "journey_id", scored["journey_id"].cast(pa.large_string()))
    joined = scored.join(right, "journey_id", join_type="inner")
    joined = joined.filter(pc.is_valid(joined["_y"])).sort_by("journey_id")
    if journey_type is None:
        joined = joined.append_column("_type", pa.array([ALL] * joined.num_rows, pa.string()))
    return joined


def _rows(table: pa.Table) -> list[dict[str, object]]:
    return [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        for row in table.to_pylist()
    ]


def _scored_times(dataset: Dataset) -> pa.Table:
    """What :func:`timed_share` reads: the events in memory, or from a Spark session
    only the journey, score and time of the scored events."""
    source = dataset.event_source
    if source is not None and source.remote:
        _, events = source.ibis_table()
        scored = events.filter(events.score.notnull()).select("journey_id", "score", "ts")
        table: pa.Table = scored.to_pyarrow()
        return table
    return dataset.events
