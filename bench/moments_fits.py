"""The moments step's simulated draws and sandwich intervals: reused buffers against fresh arrays.

Run from the repository root::

    python bench/moments_fits.py bench/data/peakend-10M/synthetic.toml [--draws 40]

Builds the moment design of the spec's first outcome and, in this process, times
(CPU seconds, user + system, and minor page faults from ``getrusage``, BLAS on one
thread as in the report) two pairs, each alternated twice:

* the Rademacher draws of the simulated cross-validation: each draw's sums per
  pooled row written into buffers reused from draw to draw (what the moments step
  does) against the same draws taken as fresh per-journey arrays
  (``_row_sums(world, *_copies(...))``, what it did); both from the same seed, and
  every sum is checked to be equal;
* the band model's sandwich intervals from the fit's band matrix (what the moments
  step does) against building the matrix again; the half-widths are checked equal;
* the cross-validation's five folds fitted from the whole fit's matrix and distinct
  rows (``fit_predict_rows``, what the moments step does) against each fold's
  matrix and distinct rows built from its journeys (``fit_predict`` of the
  subsets, what it did); the predictions are checked equal;
* the simulated world's true fit with its constant parts kept (what the moments
  step does) against taking them in every draw (what it did).

Each line prints both figures and their ratio (old / new: "fresh" is the old way).
"""

from __future__ import annotations

import argparse
import resource
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits


def _usage() -> tuple[float, int]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime, r.ru_minflt


def _timed(run: Callable[[], object]) -> tuple[float, int, object]:
    cpu, faults = _usage()
    out = run()
    cpu1, faults1 = _usage()
    return cpu1 - cpu, faults1 - faults, out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", help="the dataset spec")
    parser.add_argument("--draws", type=int, default=40, help="simulated draws per timing")
    args = parser.parse_args(argv)

    import peakend
    from peakend.models.moments import holdout
    from peakend.models.moments.design import build_design
    from peakend.models.moments.fit import (
        fit_predict,
        fit_predict_rows,
        full_fit,
    )
    from peakend.models.moments.robust import band_intervals

    data = peakend.load(args.spec)
    design = build_design(data, data.outcome_names[0])
    with threadpool_limits(limits=1, user_api="blas"), np.errstate(all="ignore"):
        whole = full_fit(design)
        world = holdout._world(design, holdout.fold_of_rows(design, holdout.FOLDS, 0), whole)
        assert world is not None
        pooled = "none" if world.pooled is None else f"{world.pooled.x.shape[0]:,}"
        print(f"{design.n:,} journeys, pooled rows: {pooled}, {args.draws} draws per timing")

        def fresh() -> list[tuple[np.ndarray, ...]]:
            rng = np.random.default_rng(1)
            return [
                holdout._row_sums(world, *holdout._copies(world, rng, "rademacher"))
                for _ in range(args.draws)
            ]

        def reused() -> list[tuple[np.ndarray, ...]]:
            rng, buffers = np.random.default_rng(1), holdout._DrawBuffers.of(world)
            return [holdout._rademacher_sums(world, rng, buffers) for _ in range(args.draws)]

        fold = holdout.fold_of_rows(design, holdout.FOLDS, 0)
        parts = [(np.flatnonzero(fold != i), np.flatnonzero(fold == i)) for i in range(5)]

        def folds_afresh() -> list[tuple[np.ndarray, ...]]:
            return [
                (fit_predict(design.subset(train), design.subset(test), whole),)
                for train, test in parts
            ]

        def folds_reused() -> list[tuple[np.ndarray, ...]]:
            return [(fit_predict_rows(design, train, test, whole),) for train, test in parts]

        coefs = np.random.default_rng(3).normal(0, 0.1, (args.draws, 1, whole.matrix.x.shape[1]))

        def true_afresh() -> list[tuple[np.ndarray, ...]]:
            return [(_true_fit_afresh(world, coef),) for coef in coefs]

        def true_kept() -> list[tuple[np.ndarray, ...]]:
            return [(holdout._true_fit(world, coef),) for coef in coefs]

        def rebuilt() -> object:
            return band_intervals(design, 0.95)

        def shared() -> object:
            return band_intervals(design, 0.95, whole.matrix)

        pairs: tuple[tuple[str, Callable[[], object], Callable[[], object]], ...] = (
            ("draws", fresh, reused),
            ("intervals", rebuilt, shared),
            ("folds", folds_afresh, folds_reused),
            ("true fit", true_afresh, true_kept),
        )
        for name, old, new in pairs:
            for _ in range(2):
                cpu_old, faults_old, a = _timed(old)
                cpu_new, faults_new, b = _timed(new)
                _check(a, b)
                print(
                    f"{name:10s} old: {cpu_old:6.2f} CPU s, {faults_old / 1e3:7.1f} k faults"
                    f" | new: {cpu_new:6.2f} CPU s, {faults_new / 1e3:7.1f} k faults"
                    f" | ratio {cpu_old / max(cpu_new, 1e-9):4.2f}",
                    flush=True,
                )


def _true_fit_afresh(world: Any, coef: np.ndarray) -> np.ndarray:
    """The simulated world's true fit as it was: its constant parts taken in every draw."""
    from peakend.models.moments.holdout import _softplus

    total = float(world.weight.sum())
    if world.binary:
        eta = coef @ world.x.T
        p = world.fitted
        loss = (_softplus(eta) - p * eta) @ world.weight / total
        mean = float(np.clip(p @ world.weight / total, 1e-12, 1 - 1e-12))
        null = -(mean * np.log(mean) + (1 - mean) * np.log(1 - mean))
    else:
        noise = float(world.noise**2 @ world.weight) / total
        rows = world if world.pooled is None else world.pooled
        eta = coef @ rows.x.T
        loss = noise + ((eta - rows.fitted) ** 2) @ rows.weight / total
        mean = float(rows.fitted @ rows.weight) / total
        null = noise + float((rows.fitted - mean) ** 2 @ rows.weight) / total
    return np.asarray(1.0 - loss / null, dtype=np.float64)


def _check(a: object, b: object) -> None:
    """The two ways give the same figures, to the last digit."""
    if isinstance(a, list) and isinstance(b, list):
        for x, y in zip(a, b, strict=True):
            for u, v in zip(x, y, strict=True):
                np.testing.assert_array_equal(u, v)
        return
    np.testing.assert_array_equal(a.half_width, b.half_width)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(a.zero_p, b.zero_p)  # type: ignore[attr-defined]


if __name__ == "__main__":
    main(sys.argv[1:])
