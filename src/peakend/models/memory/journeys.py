"""Per-journey memory and its aggregates: the gap, the verdicts, types and end spoilers.

Given the chosen :class:`~peakend.models.memory.models.MemoryModel`, every
journey gets its remembered valence and memory gap (remembered - experienced),
the pull of its peak and its end on that memory, and a verdict:

* ``spoiled_by_end``: a good journey (experienced >= ``good``) remembered at
  least ``margin`` worse, with the end pulling hardest downwards;
* ``saved_by_peak`` / ``saved_by_end``: a weak journey (experienced <= ``weak``)
  remembered at least ``margin`` better, with the peak (end) pulling hardest up.

Shares come with Wilson score intervals, means with normal 95 % intervals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from peakend.models.memory.fit import F64, wald
from peakend.models.memory.models import MemoryModel, feature_matrix
from peakend.stats.resampling import Interval, wilson

ALL = "all"
"""The journey type that holds every journey."""


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


def journey_rows(
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
            "best_valence": table["best_valence"],
            "worst_valence": table["trough_valence"],
            "worst_touchpoint": table["trough_touchpoint"],
            "first_valence": table["first_valence"],
            "trend": table["trend"],
            "duration_s": table["duration_s"],
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


def type_memories(journeys: pa.Table) -> tuple[TypeMemory, ...]:
    names, codes = _labels(journeys["journey_type"])
    spoiled, saved = _verdicts(journeys)
    cols = {c: journeys[c].to_numpy().astype(np.float64) for c in ("experienced", "remembered")}
    gap, outcome = journeys["gap"].to_numpy(), journeys["outcome"].to_numpy().astype(np.float64)
    groups = [ALL] + sorted(set(names) - {ALL})
    result = []
    for label in groups:
        m = np.ones(len(codes), bool) if label == ALL else codes == names.index(label)
        n = int(m.sum())
        result.append(
            TypeMemory(
                label,
                _mean(cols["experienced"][m]),
                _mean(cols["remembered"][m]),
                _mean(gap[m]),
                _mean(outcome[m]),
                wilson(int(spoiled[m].sum()), n),
                wilson(int(saved[m].sum()), n),
            )
        )
    return tuple(result)


def end_spoilers(journeys: pa.Table, good: float) -> tuple[EndSpoiler, ...]:
    good_rows = journeys.filter(pc.greater_equal(journeys["experienced"], good))
    names, ends = _labels(good_rows["end_touchpoint"])
    spoiled, _ = _verdicts(good_rows)
    gap = good_rows["gap"].to_numpy()
    result = []
    for tp in sorted(names):
        m = ends == names.index(tp)
        k = int(spoiled[m].sum())
        result.append(EndSpoiler(tp, int(m.sum()), k, wilson(k, int(m.sum())), _mean(gap[m])))
    return tuple(sorted(result, key=lambda s: (-s.n_spoiled, s.touchpoint)))


def _labels(column: pa.ChunkedArray) -> tuple[list[str], NDArray[np.int64]]:
    """The distinct labels of a text column and each row's code among them.

    A missing label reads ``"None"``, as NumPy's ``astype(str)`` of the column reads
    it; codes instead of a text array per row, whose building and comparisons cost
    most of the types' and spoilers' time on a million journeys.
    """
    filled = pc.fill_null(column.cast(pa.string()), "None").combine_chunks()
    encoded = pc.dictionary_encode(filled)
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return encoded.dictionary.to_pylist(), codes


def _verdicts(journeys: pa.Table) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Per journey: spoiled by its end; saved (by its peak or its end)."""
    verdict = pc.fill_null(journeys["verdict"], "None")
    spoiled = pc.equal(verdict, "spoiled_by_end").to_numpy(zero_copy_only=False)
    saved = pc.starts_with(verdict, "saved").to_numpy(zero_copy_only=False)
    return np.asarray(spoiled, dtype=bool), np.asarray(saved, dtype=bool)
