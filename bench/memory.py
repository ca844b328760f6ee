"""Memory benchmark: fit and compare every memory model (5-fold) on 1M journeys.

Run from the repository root::

    .venv/bin/python bench/memory.py                 # 1,000,000 journeys
    .venv/bin/python bench/memory.py --journeys 200000

The journeys come from :mod:`peakend.generate` with known memory weights
(peak 0.9, end 1.1, mean 0.6, no touchpoint effects or service failures, so the
truth is exactly the ``peak_end_mean`` model) and are cached under
``bench/data/memory-<n>/``. Timed steps, each once:

* ``features_s``: the engine's journey features (DuckDB) from the Parquet events;
* ``compare_continuous_s``: all six models, 5-fold out of sample, scored by RMSE
  with paired intervals, on ``overall`` — the target is under 30 s on 2 cores;
* ``compare_binary_s``: the same for the binary ``satisfied`` (logistic, AUC/DeLong);
* ``fit_all_s``: every model once more on all journeys (weights and intervals);
* ``order_test_s``: collecting every journey's moments and shuffling them once.

Output is ``name: value`` lines; the recovered weights are printed next to the
planted ones, and ``peak_rss_mb`` is the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from peakend import engine
from peakend.generate import GeneratorConfig, generate
from peakend.models.memory import whatif as wi
from peakend.models.memory.models import MODELS, compare_models, fit_model

HERE = Path(__file__).resolve().parent
TRUTH = {"peak": 0.9, "end": 1.1, "mean": 0.6, "trough": 0.0}


def prepare(n_journeys: int, seed: int = 3) -> Path:
    """Directory of cached synthetic journeys with planted memory weights."""
    out = HERE / "data" / f"memory-{n_journeys}"
    if (out / "truth.json").exists():
        return out
    base = GeneratorConfig()
    quiet = tuple(
        dataclasses.replace(t, penalty=0.0, reward=0.0, failure_rate=0.0) for t in base.touchpoints
    )
    cfg = dataclasses.replace(
        base,
        n_journeys=n_journeys,
        seed=seed,
        touchpoints=quiet,
        w_peak=TRUTH["peak"],
        w_end=TRUTH["end"],
        w_mean=TRUTH["mean"],
        w_trough=TRUTH["trough"],
    )
    started = time.perf_counter()
    generate(out, cfg)
    print(f"# generated {out} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return out


def journeys(directory: Path) -> tuple[pa.Table, object, object]:
    """Journey features joined with the outcomes, and the events as an Ibis table."""
    con = engine.connect()
    events = engine.events_table(con, directory / "events.parquet")
    features = engine.journey_features(events).to_pyarrow()
    outcomes = pq.read_table(
        directory / "outcomes.parquet", columns=["journey_id", "overall", "satisfied"]
    )
    features = features.set_column(0, "journey_id", features["journey_id"].cast(pa.string()))
    table = features.join(outcomes, "journey_id").sort_by("journey_id")
    return table.filter(pa.compute.greater(table["n_scored"], 0)), events, con


def timed(name: str, fn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    print(f"{name}: {time.perf_counter() - started:.2f}", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--journeys", type=int, default=1_000_000)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    directory = prepare(args.journeys)
    table, events, _con = timed("features_s", journeys, directory)
    print(f"journeys: {table.num_rows}")
    y = table["overall"].to_numpy().astype(np.float64)
    cmp = timed("compare_continuous_s", compare_models, table, y, binary=False, folds=args.folds)
    print(f"continuous.chosen: {cmp.chosen}")
    for s in cmp.scores:
        print(
            f"continuous.{s.name}.rmse: {s.score.value:.4f} [{s.score.low:.4f}, {s.score.high:.4f}]"
        )
    yb = table["satisfied"].to_numpy().astype(np.float64)
    cmp_b = timed("compare_binary_s", compare_models, table, yb, binary=True, folds=args.folds)
    print(f"binary.chosen: {cmp_b.chosen}")
    for s in cmp_b.scores:
        e = s.score
        print(f"binary.{s.name}.auc: {e.value:.4f} [{e.low:.4f}, {e.high:.4f}]")
    fits = timed("fit_all_s", lambda: {m: fit_model(m, table, y, binary=False) for m in MODELS})
    for w in fits["peak_end_mean"].weights[1:]:
        truth = TRUTH[w.feature]
        e = w.estimate
        print(f"weight.{w.feature}: {e.value:.4f} [{e.low:.4f}, {e.high:.4f}] (planted {truth})")
    ids = table["journey_id"].combine_chunks()

    def order() -> list[wi.OrderEffect]:
        seqs = wi.journey_sequences(events, ids, table["duration_s"].to_numpy())
        return wi.order_test([fits["mean"], fits["peak_end_mean"]], seqs)

    for o in timed("order_test_s", order):
        print(f"order.{o.model}.mean_abs_change: {o.mean_abs_change.value:.4f}")
    print(f"peak_rss_mb: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")


if __name__ == "__main__":
    main()
