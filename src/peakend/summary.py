"""A journey summary: what ``peakend journeys`` shows, as one typed result.

:func:`summarize_journeys` runs the engine on a loaded :class:`~peakend.load.Dataset`
and keeps the per-journey features, per-touchpoint statistics, score
distributions and the directly-follows graph as Arrow tables, plus headline
figures with their uncertainty (95 % normal-approximation intervals of means,
and the sample size of every figure).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from peakend import engine
from peakend.load import Dataset

Z_95 = 1.959964


@dataclass(frozen=True)
class Estimate:
    """A mean with its 95 % interval and sample size (interval missing when n < 2)."""

    value: float | None
    low: float | None
    high: float | None
    n: int

    @classmethod
    def of_mean(cls, mean: float | None, sd: float | None, n: int) -> Estimate:
        """Normal-approximation interval ``mean ± 1.96 sd / sqrt(n)``."""
        if mean is None or n == 0:
            return cls(None, None, None, n)
        if sd is None or n < 2 or math.isnan(sd):
            return cls(mean, None, None, n)
        half = Z_95 * sd / math.sqrt(n)
        return cls(mean, mean - half, mean + half, n)

    def to_dict(self) -> dict[str, float | int | None]:
        """JSON-ready form."""
        return {"value": self.value, "low": self.low, "high": self.high, "n": self.n}


@dataclass(frozen=True)
class JourneySummary:
    """Everything ``peakend journeys`` reports for one dataset.

    Attributes
    ----------
    dataset_name:
        The spec's ``name``.
    outcome:
        The outcome used for the per-band outcome means, if any.
    n_journeys, n_events:
        Counts after validation.
    mean_valence:
        Mean experienced valence over journeys with a score (journey means averaged).
    end_valence, peak_valence:
        Mean end and peak valence over journeys with a score.
    journeys:
        Per-journey features (:func:`peakend.engine.journey_features`).
    touchpoints:
        Per-touchpoint statistics, in stage order, with a 95 % interval of the
        mean valence (``valence_low``/``valence_high``).
    scores:
        Score distribution per touchpoint.
    flows:
        Directly-follows graph.
    """

    dataset_name: str
    outcome: str | None
    n_journeys: int
    n_events: int
    mean_valence: Estimate
    end_valence: Estimate
    peak_valence: Estimate
    median_events: float | None
    median_duration_s: float | None
    journeys: pa.Table
    touchpoints: pa.Table
    scores: pa.Table
    flows: pa.Table

    def to_dict(self, *, include_journeys: bool = False) -> dict[str, object]:
        """JSON-ready form; per-journey rows only when asked (they can be millions)."""
        result: dict[str, object] = {
            "dataset": self.dataset_name,
            "outcome": self.outcome,
            "n_journeys": self.n_journeys,
            "n_events": self.n_events,
            "mean_valence": self.mean_valence.to_dict(),
            "end_valence": self.end_valence.to_dict(),
            "peak_valence": self.peak_valence.to_dict(),
            "median_events_per_journey": self.median_events,
            "median_duration_s": self.median_duration_s,
            "touchpoints": _rows(self.touchpoints),
            "scores": _rows(self.scores),
            "flows": _rows(self.flows),
        }
        if include_journeys:
            result["journeys"] = _rows(self.journeys)
        return result


def summarize_journeys(
    dataset: Dataset, *, outcome: str | None = None, con: object | None = None
) -> JourneySummary:
    """Run the journey engine on ``dataset`` and collect the summary.

    Parameters
    ----------
    dataset:
        A loaded dataset (:func:`peakend.load`).
    outcome:
        Name of a declared outcome for the outcome-by-score-band columns;
        defaults to the first declared outcome.
    con:
        An Ibis connection to run on; a fresh in-process DuckDB by default.
    """
    outcome = dataset.choose_outcome(outcome)
    source = dataset.event_source if con is None else None
    if source is not None:
        # the events stay where the loader left them: no in-memory copy, no re-import
        backend, events = source.ibis_table()
    else:
        backend = con or engine.connect()
        events = engine.events_table(backend, dataset.events)
    if outcome is None:
        outcomes = None
    elif source is not None and source.remote:
        # a temporary view on the events' session (a table would be written to disk)
        import ibis

        outcomes = ibis.memtable(dataset.outcomes)
    else:
        outcomes = engine.outcomes_table(backend, dataset.outcomes)
    # Features sorted by journey, so that sums (and every figure) repeat exactly.
    tables = engine.journey_tables(events, outcomes, outcome_col=outcome)
    journeys = engine.utc_times(tables.features)
    return JourneySummary(
        dataset_name=dataset.spec.name,
        outcome=outcome,
        n_journeys=journeys.num_rows,
        n_events=dataset.n_events,
        mean_valence=_column_estimate(journeys, "mean_valence"),
        end_valence=_column_estimate(journeys, "end_valence"),
        peak_valence=_column_estimate(journeys, "peak_valence"),
        median_events=_median(journeys, "n_events"),
        median_duration_s=_median(journeys, "duration_s"),
        journeys=journeys,
        touchpoints=_in_stage_order(_with_interval(tables.touchpoints), dataset.touchpoints),
        scores=tables.scores,
        flows=tables.flows,
    )


def _column_estimate(table: pa.Table, column: str) -> Estimate:
    values = table[column]
    n = values.length() - values.null_count
    mean = pc.mean(values).as_py()
    sd = pc.stddev(values, ddof=1).as_py() if n > 1 else None
    return Estimate.of_mean(mean, sd, n)


def _median(table: pa.Table, column: str) -> float | None:
    values = table[column]
    if values.length() == values.null_count:
        return None
    return float(pc.quantile(values, q=0.5)[0].as_py())


def _with_interval(touchpoints: pa.Table) -> pa.Table:
    mean = touchpoints["mean_valence"].to_pylist()
    sd = touchpoints["sd_valence"].to_pylist()
    n = touchpoints["n_scored"].to_pylist()
    estimates = [Estimate.of_mean(m, s, k) for m, s, k in zip(mean, sd, n, strict=True)]
    touchpoints = touchpoints.append_column(
        "valence_low", pa.array([e.low for e in estimates], pa.float64())
    )
    return touchpoints.append_column(
        "valence_high", pa.array([e.high for e in estimates], pa.float64())
    )


def _in_stage_order(touchpoints: pa.Table, catalogue: pa.Table) -> pa.Table:
    stage = dict(
        zip(catalogue["touchpoint"].to_pylist(), catalogue["stage"].to_pylist(), strict=True)
    )
    names = touchpoints["touchpoint"].to_pylist()
    order = sorted(
        range(len(names)),
        key=lambda i: (stage.get(names[i]) is None, stage.get(names[i]) or 0, names[i]),
    )
    stages = pa.array([stage.get(n) for n in names], pa.int64())
    return touchpoints.append_column("stage", stages).take(pa.array(order, pa.int64()))


def _rows(table: pa.Table) -> list[dict[str, object]]:
    return [
        {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
        for row in table.to_pylist()
    ]
