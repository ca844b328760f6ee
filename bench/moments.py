"""Moments benchmark: accuracy on planted classes, the airline survey, and speed.

Run from the repository root::

    .venv/bin/python bench/moments.py                       # everything
    .venv/bin/python bench/moments.py --parts accuracy      # planted classes only
    .venv/bin/python bench/moments.py --parts timing --sizes 100k 1M

Parts:

* ``accuracy``: synthetic journeys (``peakend.generate``) with the memory
  weights set to zero, so a touchpoint's planted penalty/reward is its only
  effect on ``overall``; across seeds and sizes, the share of the ten designed
  touchpoints classified as planted, with the default threshold (0.2 SD) and
  with 0.125 (half the generator's class boundary of 0.25 points). The same
  with every penalty and reward set to zero gives the false-positive rate. A
  last scenario switches the memory model on (peak and end effects on
  ``overall`` that every touchpoint's score feeds), with and without adjusting
  for the journey's peak, end, mean and trough valence.
* ``airline``: 5-fold cross-validated AUC on the airline survey (``satisfied``)
  of the moment model (one logistic model on low/high/not-scored dummies),
  the same fitted per travel type x customer type, and scikit-learn's
  ``HistGradientBoostingClassifier`` on the 14 ratings (and with the two
  segment columns added).
* ``timing``: journeys x 20 scored touchpoints, 200 bootstrap resamples:
  seconds for banding the events, and for the fit with its bootstrap.

Output is ``name: value`` lines.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

import peakend
from peakend.errors import StatisticalWarning
from peakend.generate import GeneratorConfig, TouchpointDesign, generate
from peakend.models.moments import MomentSettings, find_moments
from peakend.models.moments.design import MomentDesign, build_design
from peakend.models.moments.fit import fit_moments, fit_predict
from peakend.models.moments.segments import group_labels
from peakend.stats.resampling import kfold_splits

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
AIRLINE = HERE.parent / "examples" / "airline_passenger_satisfaction.toml"
SIZES = {"100k": 100_000, "1M": 1_000_000}
QUIET_MEMORY = {"w_peak": 0.0, "w_end": 0.0, "w_mean": 0.0, "w_trough": 0.0}


def emit(name: str, value: object) -> None:
    text = f"{value:.4f}" if isinstance(value, float) else str(value)
    print(f"{name}: {text}", flush=True)


# ---------------------------------------------------------------- accuracy
def _config(n: int, seed: int, *, zero: bool, memory: bool) -> GeneratorConfig:
    cfg = GeneratorConfig(n_journeys=n, seed=seed)
    if zero:
        designs = tuple(dataclasses.replace(t, penalty=0.0, reward=0.0) for t in cfg.touchpoints)
        cfg = dataclasses.replace(cfg, touchpoints=designs)
    return cfg if memory else dataclasses.replace(cfg, **QUIET_MEMORY)


MEMORY_FEATURES = ("peak_valence", "end_valence", "mean_valence", "trough_valence")


def _scores(
    directory: Path, cfg: GeneratorConfig, resamples: int, adjust: bool = False
) -> dict[str, float]:
    dataset = peakend.load(generate(directory, cfg).spec_path)
    adjust_for = MEMORY_FEATURES if adjust else ()
    truth = {t.name: t.kind for t in cfg.touchpoints}
    out = {}
    for label, threshold in (("default", None), ("half_boundary", 0.125)):
        settings = MomentSettings(threshold=threshold, n_resamples=resamples)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StatisticalWarning)
            result = find_moments(
                dataset, outcome="overall", settings=settings, segments=(), adjust_for=adjust_for
            )
        found = result.classes()
        known = [t for t in truth if found[t] != "not_enough_data"]
        out[f"{label}.correct"] = float(np.mean([found[t] == c for t, c in truth.items()]))
        out[f"{label}.correct_when_classified"] = (
            float(np.mean([found[t] == truth[t] for t in known])) if known else float("nan")
        )
        out[f"{label}.false_positive"] = float(
            np.mean([found[t] not in ("standard", "not_enough_data") for t in truth])
        )
        out[f"{label}.not_enough_data"] = 1.0 - len(known) / len(truth)
    return out


def accuracy(
    sizes: list[int], seeds: list[int], resamples: int, work: Path, chosen: list[str]
) -> None:
    scenarios = (
        ("planted", False, False, False),
        ("zero", True, False, False),
        ("memory_on", False, True, False),
        ("memory_on_adjusted", False, True, True),
        ("memory_on_zero_adjusted", True, True, True),
    )
    for name, zero, memory, adjust in scenarios:
        if name not in chosen:
            continue
        for n in sizes if not memory else [5_000]:
            runs = [
                _scores(
                    work / f"{name}-{n}-{s}",
                    _config(n, s, zero=zero, memory=memory),
                    resamples,
                    adjust,
                )
                for s in seeds
            ]
            wanted = (
                ("false_positive", "not_enough_data")
                if zero
                else ("correct", "correct_when_classified", "not_enough_data")
            )
            for key in runs[0]:
                if key.split(".", 1)[1] in wanted:
                    values = [r[key] for r in runs]
                    emit(f"accuracy.{name}.n{n}.{key}", float(np.nanmean(values)))


# ---------------------------------------------------------------- airline
def airline(folds: int, seed: int) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    dataset = peakend.load(AIRLINE)
    design = build_design(dataset, "satisfied")
    labels = [
        np.array(group_labels(dataset, design, a), dtype=object) for a in dataset.spec.segments
    ]
    cell = np.array(["|".join(str(x) for x in parts) for parts in zip(*labels, strict=True)])
    ratings = _ratings(dataset, design)
    codes = np.column_stack([np.unique(lab, return_inverse=True)[1] for lab in labels])
    scores: dict[str, list[float]] = {"pooled": [], "per_segment": [], "gbm": [], "gbm_seg": []}
    started = time.perf_counter()
    for train, test in kfold_splits(design.n, folds, seed):
        y = design.y[test]
        scores["pooled"].append(
            roc_auc_score(y, fit_predict(design.subset(train), design.subset(test)))
        )
        scores["per_segment"].append(roc_auc_score(y, _per_segment(design, cell, train, test)))
        for key, x in (("gbm", ratings), ("gbm_seg", np.column_stack([ratings, codes]))):
            model = HistGradientBoostingClassifier(random_state=seed).fit(x[train], design.y[train])
            scores[key].append(roc_auc_score(y, model.predict_proba(x[test])[:, 1]))
    for key, values in scores.items():
        emit(f"airline.auc.{key}.mean", float(np.mean(values)))
        emit(f"airline.auc.{key}.sd_over_folds", float(np.std(values, ddof=1)))
    emit(
        "airline.auc.gap_gbm_minus_per_segment",
        float(np.mean(scores["gbm"]) - np.mean(scores["per_segment"])),
    )
    emit("airline.cv_seconds", time.perf_counter() - started)


def _per_segment(
    design: MomentDesign, cell: np.ndarray, train: np.ndarray, test: np.ndarray
) -> np.ndarray:
    out = np.zeros(test.size)
    for name in np.unique(cell):
        tr, te = train[cell[train] == name], np.flatnonzero(cell[test] == name)
        out[te] = fit_predict(design.subset(tr), design.subset(test[te]))
    return out


def _ratings(dataset: peakend.Dataset, design: MomentDesign) -> np.ndarray:
    """The raw 0-5 ratings per passenger (0 = not applicable), for the GBM."""
    events = dataset.events
    row = pc.index_in(events["journey_id"], value_set=design.journey_ids).to_numpy(
        zero_copy_only=False
    )
    col = pc.index_in(events["touchpoint"], value_set=pa.array(design.touchpoints)).to_numpy(
        zero_copy_only=False
    )
    score = events["score"].to_numpy(zero_copy_only=False)
    out = np.zeros((design.n, len(design.touchpoints)))
    ok = ~np.isnan(row.astype(float)) & ~np.isnan(col.astype(float)) & ~np.isnan(score)
    out[row[ok].astype(int), col[ok].astype(int)] = score[ok]
    return out


# ---------------------------------------------------------------- timing
def _twenty(cfg: GeneratorConfig) -> tuple[TouchpointDesign, ...]:
    """The ten designed touchpoints twice (a second product line), 20 in stage order."""
    second = tuple(
        dataclasses.replace(
            t, name=f"{t.name}_2", stage=t.stage + 10, gap_hours=max(t.gap_hours, 1.0)
        )
        for t in cfg.touchpoints
    )
    return cfg.touchpoints + second


def timing(sizes: list[str], resamples: int) -> None:
    for label in sizes:
        n = SIZES[label]
        directory = DATA / f"moments-{label}"
        base = dataclasses.replace(GeneratorConfig(n_journeys=n, seed=11), **QUIET_MEMORY)
        cfg = dataclasses.replace(base, touchpoints=_twenty(base), hidden_windows=())
        if not (directory / "synthetic.toml").exists():
            started = time.perf_counter()
            generate(directory, cfg)
            emit(f"timing.{label}.generate_s", time.perf_counter() - started)
        started = time.perf_counter()
        dataset = peakend.load(directory / "synthetic.toml")
        emit(f"timing.{label}.load_s", time.perf_counter() - started)
        emit(f"timing.{label}.events", dataset.events.num_rows)
        started = time.perf_counter()
        design = build_design(dataset, "overall")
        emit(f"timing.{label}.design_s", time.perf_counter() - started)
        emit(f"timing.{label}.touchpoints", len(design.touchpoints))
        started, cpu = time.perf_counter(), time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StatisticalWarning)
            draws = fit_moments(design, n_resamples=resamples, seed=0)
        emit(f"timing.{label}.fit_bootstrap_s", time.perf_counter() - started)
        # CPU seconds over all threads: on a shared machine the wall time mostly
        # measures the other jobs; CPU / cores is what two free cores would take
        emit(f"timing.{label}.fit_bootstrap_cpu_s", time.process_time() - cpu)
        emit(f"timing.{label}.resamples", len(draws.fit))
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StatisticalWarning)
            result = find_moments(
                dataset,
                outcome="overall",
                settings=MomentSettings(n_resamples=resamples),
                segments=(),
            )
        emit(f"timing.{label}.find_moments_s", time.perf_counter() - started)
        truth = {t.name: t.kind for t in cfg.touchpoints}
        found = result.classes()
        emit(f"timing.{label}.correct", float(np.mean([found[t] == c for t, c in truth.items()])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", default=["accuracy", "airline", "timing"])
    parser.add_argument("--sizes", nargs="+", default=["100k", "1M"], choices=list(SIZES))
    parser.add_argument(
        "--accuracy-sizes", nargs="+", type=int, default=[500, 1_000, 2_000, 5_000, 10_000, 50_000]
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--resamples", type=int, default=200)
    parser.add_argument(
        "--scenarios",
        nargs="+",
        default=["planted", "zero", "memory_on", "memory_on_adjusted", "memory_on_zero_adjusted"],
    )
    parser.add_argument("--work", type=Path, default=DATA / "moments-accuracy")
    args = parser.parse_args()
    if "accuracy" in args.parts:
        accuracy(args.accuracy_sizes, args.seeds, args.resamples, args.work, args.scenarios)
    if "airline" in args.parts:
        airline(5, 0)
    if "timing" in args.parts:
        timing(args.sizes, args.resamples)


if __name__ == "__main__":
    main()
