"""The cross-validated fit's error, real and simulated, dataset by dataset.

Run from the repository root::

    .venv/bin/python bench/fit_errors.py --scenarios null classes_total --replicates 200
    .venv/bin/python bench/fit_errors.py --scenarios classes_total_binary --variants

For every simulated dataset of a moments scenario of ``bench/calibration.py``
(same configuration, same seeds) it records

* the **real error** of the cross-validated score: score − truth, the truth
  being the R² on 100,000 fresh journeys of the model fitted on the dataset
  (what the calibration scores the printed interval against);
* the **simulated errors** the printed interval is built from
  (:func:`peakend.models.moments.holdout.cv_errors`): their mean and spread,
  and their parts, the simulated cross-validated score and the simulated truth;
* whether the printed interval covers the truth, and on which side it misses
  (and whether the interval at the plain quantiles of the same simulated errors
  would: ``plain quantiles coverage``; the same for a continuous outcome).

and prints per scenario the spread (standard deviation over datasets) and the
centre of the real errors against the average spread and centre of the
simulated ones: an interval that over-covers has simulated errors spread
wider than the real ones, or centred elsewhere.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

import calibration  # bench/calibration.py: the scenarios and the truth
import peakend
from peakend.errors import StatisticalWarning
from peakend.generate import GeneratorConfig, generate
from peakend.models.moments.design import MomentDesign, build_design
from peakend.models.moments.fit import FullFit, full_fit
from peakend.models.moments.holdout import (
    FOLDS,
    corrected_interval,
    cv_errors,
    fold_of_rows,
    held_out_score,
)

RESAMPLES = 100


def replicate(
    scenario: calibration.Scenario,
    seed: int,
    workdir: Path,
    pop: dict[str, object],
    variants: tuple[str, ...] = (),
) -> dict[str, float]:
    """One dataset: its real error, its simulated errors and the printed interval."""
    cfg = scenario.configure(GeneratorConfig(n_journeys=scenario.n, seed=seed))
    dataset = peakend.load(generate(workdir / f"{scenario.name}-{seed}", cfg).spec_path)
    adjust = calibration.MEMORY_FEATURES if scenario.adjust else ()
    design = build_design(dataset, scenario.outcome, adjust_for=adjust)
    clusters = design.n if design.clusters is None else int(design.clusters.max()) + 1
    fold = fold_of_rows(design, min(FOLDS, clusters), seed)
    whole = full_fit(design)
    point = held_out_score(design, fold, whole)
    errors = cv_errors(design, fold, n_resamples=RESAMPLES, seed=seed + 1, full=whole)
    shown = corrected_interval(point, errors, design.n, 0.95)
    plain = corrected_interval(point, errors, design.n, 0.95, finite_draws=False)
    truth = calibration.fresh_fit(dataset, scenario, pop)
    parts = _parts(design, fold, whole, seed + 1, point, truth, variants)
    return {
        "seed": seed,
        "point": point,
        "truth": truth,
        "real_error": point - truth,
        "sim_mean": float(errors.mean()),
        "sim_sd": float(errors.std(ddof=1)),
        **parts,
        "low": shown.low,
        "high": shown.high,
        "value": shown.value,
        "covers": float(shown.low <= truth <= shown.high),
        "miss_low": float(truth < shown.low),
        "miss_high": float(truth > shown.high),
        "plain_covers": float(plain.low <= truth <= plain.high),
    }


#: Worlds compared with the shipped one (journeys redrawn, Rademacher signs):
#: ``fixed``, the dataset's journeys kept with each leverage-corrected residual
#: times a normal draw (one per customer; Bernoulli draws for a binary outcome);
#: ``random_x_resampled``, journeys redrawn and each copy's noise a residual
#: drawn from all (continuous outcome only).
VARIANTS = {"fixed": {"random_x": False}, "random_x_resampled": {"noise": "resampled"}}


def _parts(
    design: MomentDesign,
    fold: np.ndarray,
    whole: FullFit,
    seed: int,
    point: float,
    truth: float,
    variants: tuple[str, ...],
) -> dict[str, float]:
    """Simulated errors and coverage in the other worlds of :data:`VARIANTS` (``variants``)."""
    out: dict[str, float] = {}
    for variant in variants:
        options = VARIANTS[variant]
        if design.binary and variant != "fixed":
            continue
        errors = cv_errors(design, fold, n_resamples=RESAMPLES, seed=seed, full=whole, **options)  # type: ignore[arg-type]
        shown = corrected_interval(point, errors, design.n, 0.95)
        out[f"{variant}_sd"] = float(errors.std(ddof=1))
        out[f"{variant}_mean"] = float(errors.mean())
        out[f"{variant}_covers"] = float(shown.low <= truth <= shown.high)
        out[f"{variant}_miss_low"] = float(truth < shown.low)
        out[f"{variant}_miss_high"] = float(truth > shown.high)
    return out


def summary(name: str, rows: list[dict[str, float]]) -> None:
    """Real against simulated errors over the datasets of one scenario."""
    real = np.array([r["real_error"] for r in rows])

    def mean(key: str) -> float:
        return float(np.mean([r[key] for r in rows]))

    sd = float(real.std(ddof=1))
    figures = {
        "datasets": float(len(rows)),
        "real error mean": float(real.mean()),
        "real error sd": sd,
        "real score sd": float(np.std([r["point"] for r in rows], ddof=1)),
        "real truth sd": float(np.std([r["truth"] for r in rows], ddof=1)),
        "real truth mean": float(np.mean([r["truth"] for r in rows])),
        "shown coverage": mean("covers"),
        "shown miss below (truth < low)": mean("miss_low"),
        "shown miss above (truth > high)": mean("miss_high"),
        "plain quantiles coverage": mean("plain_covers"),
    }
    figures["shown error mean"] = mean("sim_mean")
    figures["shown error sd (rms)"] = math.sqrt(mean_sq(rows, "sim_sd"))
    figures["shown sd ratio to real"] = figures["shown error sd (rms)"] / sd
    for v in (v for v in VARIANTS if f"{v}_sd" in rows[0]):
        figures |= {
            f"{v} coverage": mean(f"{v}_covers"),
            f"{v} miss below (truth < low)": mean(f"{v}_miss_low"),
            f"{v} miss above (truth > high)": mean(f"{v}_miss_high"),
            f"{v} error mean": mean(f"{v}_mean"),
            f"{v} error sd (rms)": math.sqrt(mean_sq(rows, f"{v}_sd")),
            f"{v} sd ratio to real": math.sqrt(mean_sq(rows, f"{v}_sd")) / sd,
        }
    for figure, value in figures.items():
        print(f"{name}.{figure}: {value:.5f}", flush=True)


def mean_sq(rows: list[dict[str, float]], key: str) -> float:
    return float(np.mean([r[key] ** 2 for r in rows]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    moments = [n for n, s in calibration.SCENARIOS.items() if s.kind == "moments"]
    parser.add_argument(
        "--scenarios", nargs="*", default=["null", "classes_total"], choices=moments
    )
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument(
        "--variants",
        nargs="*",
        default=list(VARIANTS),
        choices=list(VARIANTS),
        help="other worlds to compare with (default: all)",
    )
    parser.add_argument("--rows", type=Path, help="write every dataset's figures here (JSON lines)")
    parser.add_argument(
        "--population-seed",
        type=int,
        default=10**6,
        help="seed of the fresh journeys the true fit is scored on",
    )
    parser.add_argument(
        "--population-size",
        type=int,
        default=calibration.POPULATION_JOURNEYS,
        help="fresh journeys for the true fit",
    )
    args = parser.parse_args()
    print(f"load: {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="peakend-fit-errors-") as tmp:
        for name in args.scenarios:
            scenario = calibration.SCENARIOS[name]
            started = time.perf_counter()
            pop = calibration.population(
                scenario, Path(tmp), args.population_size, seed=args.population_seed
            )
            rows = []
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", StatisticalWarning)
                for seed in range(args.first_seed, args.first_seed + args.replicates):
                    rows.append(replicate(scenario, seed, Path(tmp), pop, tuple(args.variants)))
                    shutil.rmtree(Path(tmp) / f"{name}-{seed}", ignore_errors=True)
            print(f"{name}.seconds: {time.perf_counter() - started:.1f}", flush=True)
            summary(name, rows)
            if args.rows is not None:
                with args.rows.open("a", encoding="utf-8") as out:
                    for row in rows:
                        out.write(json.dumps({"scenario": name, **row}) + "\n")


if __name__ == "__main__":
    main()
