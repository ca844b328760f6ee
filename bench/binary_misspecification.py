"""Which outcome model makes the binary total effects unbiased for the population's average?

Run from the repository root::

    nice -n 10 .venv/bin/python bench/binary_misspecification.py --replicates 60
    nice -n 10 .venv/bin/python bench/binary_misspecification.py --outcome overall


For the datasets of ``bench/calibration.py``'s scenario ``classes_total_binary``
(5,000 journeys, outcome ``satisfied``, seeds 1..K) it computes every
touchpoint's total penalty and reward by intervention (g-computation,
:mod:`peakend.models.moments.total`) under several outcome models, each fitted
to the same design the product builds (the band dummies and the memory
features of :func:`~peakend.models.moments.total.total_inputs`) and predicting
the same intervened journeys (:class:`~peakend.models.moments.total.OneTouchpoint`,
the band's values in the product's proportions):

* ``product``: the product's own figures (:func:`total_from_inputs`);
* ``logit``: a plain logistic fit here, which must give the product's figures;
* ``probit``: the same columns with a normal link (the generator's ``satisfied``
  is a threshold on a score with normal noise);
* ``logit+sq`` / ``probit+sq``: the memory part richer by the features'
  squares and pairwise products;
* ``lpm``: least squares on the 0/1 outcome (a linear probability model).

For each model and touchpoint it prints the estimates' mean miss, in units of
their standard deviation over datasets, against the population's average (the
generator's intervention over 20,000 journeys of each of ``--population-seeds``
other seeds, the calibration's ``population_effects``; and over the first 5 of
them, what the calibration used before) and against each dataset's own
``truth.json``. It prints the population averages with their standard errors
(from the seeds), checks that the values the product sets within a band, and
their shares, are the generator's (the share of each score among the journeys
scoring the touchpoint), and gives the coverage of the product's intervals,
and without the variance the band's value shares add
(:func:`peakend.models.moments.total.shares_variance`, computed here again).

With ``--outcome overall`` the same for the continuous outcome: the datasets of
``classes_total`` (5,000 journeys, outcome ``overall``), the product's least
squares g-computation only, against the population's average of the
generator's total effect on ``overall`` (``total_effects``), and the coverage
of its intervals with and without the variance of the bands' value shares in
the linear model (:func:`linear_shares_variance`: each value ``v`` of a band
predicts ``β_band + β_memory · mean(features with v set)``, linearised by the
product's :func:`~peakend.models.moments.total.shares_variance`, which the
product's intervals now hold too).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit, ndtr
from scipy.stats import norm
from threadpoolctl import threadpool_limits

import calibration  # bench/calibration.py: the scenario and its population truth
import peakend
from peakend.errors import StatisticalWarning
from peakend.generate import (
    TOTAL_EFFECT_JOURNEYS,
    GeneratorConfig,
    generate,
    satisfied_total_effects,
    total_effects,
)
from peakend.models.moments.design import HIGH, LOW, MIDDLE, MomentDesign, build_design
from peakend.models.moments.total import (
    AdjustedFit,
    Extremes,
    OneTouchpoint,
    TotalInputs,
    _band_features,
    _values_by_band,
    fit_adjusted,
    scored_events,
    shares_variance,
    total_from_inputs,
    total_inputs,
)

F64 = NDArray[np.float64]
RIDGE = 0.1  # the product's weak ridge, per unit of mean weight (fit._RIDGE)
FORMAT = 2  # of the figures kept per dataset: intervals with the shares' variance


@dataclass(frozen=True)
class Outcome:
    """An outcome whose total effects are checked: its scenario and the generator's truth.

    ``prefix`` starts the names of the files kept per population seed and
    dataset; ``shares_in_product`` says whether the product's intervals already
    hold the variance of the bands' value shares.
    """

    scenario: calibration.Scenario
    truth: Callable[[GeneratorConfig], dict[str, dict[str, float | str]]]
    prefix: str
    shares_in_product: bool


OUTCOMES = {
    "satisfied": Outcome(
        calibration.SCENARIOS["classes_total_binary"], satisfied_total_effects, "", True
    ),
    "overall": Outcome(calibration.SCENARIOS["classes_total"], total_effects, "overall-", True),
}


@dataclass(frozen=True)
class Link:
    """An inverse link (probability from the linear predictor) and its derivative."""

    name: str
    cdf: Callable[[F64], F64]
    pdf: Callable[[F64], F64]


LOGIT = Link("logit", lambda e: np.asarray(expit(e)), lambda e: expit(e) * (1 - expit(e)))
PROBIT = Link("probit", lambda e: np.asarray(ndtr(e)), lambda e: np.asarray(norm.pdf(e)))
IDENTITY = Link("identity", lambda e: e, lambda e: np.ones_like(e))


def plain(x: F64, memory: NDArray[np.int64]) -> F64:
    """The product's columns as they are."""
    return x


def squares(x: F64, memory: NDArray[np.int64]) -> F64:
    """The product's columns and the memory features' squares and pairwise products."""
    m = x[:, memory]
    extra = [m[:, i] * m[:, j] for i in range(m.shape[1]) for j in range(i, m.shape[1])]
    return np.column_stack([x, *extra])


Expand = Callable[[F64, NDArray[np.int64]], F64]
MODELS: dict[str, tuple[Link, Expand]] = {
    "logit": (LOGIT, plain),
    "probit": (PROBIT, plain),
    "logit+sq": (LOGIT, squares),
    "probit+sq": (PROBIT, squares),
    "lpm": (IDENTITY, plain),
}


def fit_glm(x: F64, y: F64, w: F64, link: Link) -> F64:
    """IRLS with the product's weak ridge (none for the linear probability model)."""
    ridge = np.full(x.shape[1], RIDGE * float(np.mean(w)))
    ridge[0] = 0.0
    if link is IDENTITY:
        xtx = (x * w[:, None]).T @ x
        return np.asarray(np.linalg.lstsq(xtx, (x * w[:, None]).T @ y, rcond=None)[0])
    coef = np.zeros(x.shape[1])
    mean = float(np.average(y, weights=w))
    coef[0] = float(np.log(mean / (1 - mean))) if link is LOGIT else float(norm.ppf(mean))
    objective = np.inf
    for _ in range(100):
        eta = x @ coef
        prob = np.clip(link.cdf(eta), 1e-12, 1 - 1e-12)
        slope = np.maximum(link.pdf(eta), 1e-12)
        loglik = float(np.sum(w * (y * np.log(prob) + (1 - y) * np.log(1 - prob))))
        penalised = -2 * loglik + float(ridge @ coef**2)
        if abs(penalised - objective) < 1e-10 * (abs(penalised) + 0.1):
            break
        objective = penalised
        work = w * slope**2 / (prob * (1 - prob))
        resp = eta + (y - prob) / slope
        xtx = (x * work[:, None]).T @ x + np.diag(ridge)
        coef = np.linalg.solve(xtx, (x * work[:, None]).T @ resp)
    return coef


def g_computation(
    inputs: TotalInputs, adjusted: AdjustedFit, link: Link, expand: Expand
) -> tuple[F64, F64, F64, F64]:
    """Penalty and reward per touchpoint by intervention under the model ``link``/``expand``.

    ``adjusted`` holds the product's columns (:func:`fit_adjusted`), their
    touchpoints and bands. Also the variance each of them owes to the shares
    of the band's values being those of this sample (a multinomial draw of the
    band's moments): ``(Σ s_v m_v² − (Σ s_v m_v)²) / n_band`` per band, ``m_v``
    the mean prediction with value ``v`` set, summed over the band and the middle.
    """
    design = inputs.design
    x, memory = adjusted.x, adjusted.memory
    coef = fit_glm(expand(x, memory), design.y, design.weights, link)
    extremes = Extremes.of(inputs.moments, inputs.touchpoint)
    shape = len(design.touchpoints)
    penalty, reward = np.full(shape, np.nan), np.full(shape, np.nan)
    penalty_var, reward_var = np.full(shape, np.nan), np.full(shape, np.nan)
    for t in range(shape):
        rows = np.flatnonzero(np.isin(design.bands[:, t], (LOW, MIDDLE, HIGH)))
        moved = OneTouchpoint.of(inputs.moments, inputs.touchpoint == t, rows, extremes.without(t))
        features = _band_features(design, moved, rows, t)
        columns = {
            b: 1 + np.flatnonzero((adjusted.touchpoint == t) & (adjusted.band == b))
            for b in (LOW, HIGH)
        }
        share = design.weights[rows] / design.weights[rows].sum()
        mean, var = {}, {}
        for band in (LOW, MIDDLE, HIGH):
            base = x[rows].copy()
            for b, cols in columns.items():
                base[:, cols] = float(b == band)
            prob = np.zeros(rows.size)
            by_value = []
            for value_share, values in features.get(band, []):
                base[:, memory] = values
                value_prob = link.cdf(expand(base, memory) @ coef)
                prob += value_share * value_prob
                by_value.append((value_share, float(share @ value_prob)))
            mean[band] = float(share @ prob)
            n_band = float(design.weights[rows][design.bands[rows, t] == band].sum())
            second = sum(s * m**2 for s, m in by_value)
            var[band] = (second - mean[band] ** 2) / n_band if n_band > 0 else np.nan
        penalty[t] = mean[LOW] - mean[MIDDLE]
        reward[t] = mean[HIGH] - mean[MIDDLE]
        penalty_var[t] = var[LOW] + var[MIDDLE]
        reward_var[t] = var[HIGH] + var[MIDDLE]
    return penalty, reward, penalty_var, reward_var


def band_share_gap(dataset: peakend.Dataset, inputs: TotalInputs, planted: set[str]) -> float:
    """Largest difference between the product's within-band value shares and the generator's.

    The generator sets each score of a band in the share it has among the
    journeys scoring the touchpoint (``generate._forced``); the product sets
    each valence in its share among the band's moments (``total._values_by_band``).
    """
    design, events = inputs.design, dataset.events
    extremes = Extremes.of(inputs.moments, inputs.touchpoint)
    gap = 0.0
    for t, name in enumerate(design.touchpoints):
        if name not in planted:
            continue
        rows = np.flatnonzero(np.isin(design.bands[:, t], (LOW, MIDDLE, HIGH)))
        moved = OneTouchpoint.of(inputs.moments, inputs.touchpoint == t, rows, extremes.without(t))
        found = _values_by_band(design, moved, rows, t)
        at = events.filter(np.asarray(events["touchpoint"].to_pylist()) == name)
        scores = np.asarray(at["score"].to_numpy(zero_copy_only=False), dtype=np.float64)
        scores = scores[~np.isnan(scores)]
        for band, scale in ((LOW, (1.0, 2.0)), (MIDDLE, (3.0,)), (HIGH, (4.0, 5.0))):
            counts = np.array([np.sum(scores == s) for s in scale], dtype=np.float64)
            generator = dict(
                zip(((np.array(scale) - 3.0) / 2.0).tolist(), counts / counts.sum(), strict=True)
            )
            values, shares = found.get(band, (np.zeros(0), np.zeros(0)))
            product = dict(zip(values.tolist(), shares.tolist(), strict=True))
            for key in generator.keys() | product.keys():
                gap = max(gap, abs(generator.get(key, 0.0) - product.get(key, 0.0)))
    return gap


def population_truth(
    outcome: Outcome, cache: Path, seeds: int
) -> dict[str, list[dict[str, float]]]:
    """The generator's total effects on ``outcome`` per population seed, 20,000 journeys each.

    The seeds are the calibration's (``10**6 + k``). Each seed is kept in
    ``cache`` once computed.
    """
    found: dict[str, list[dict[str, float]]] = {}
    for k in range(seeds):
        path = cache / f"{outcome.prefix}population-{k}.json"
        if not path.exists():
            cfg = outcome.scenario.configure(
                GeneratorConfig(n_journeys=TOTAL_EFFECT_JOURNEYS, seed=10**6 + k)
            )
            effects = {
                name: {"penalty": float(e["penalty"]), "reward": float(e["reward"])}
                for name, e in outcome.truth(cfg).items()
            }
            path.write_text(json.dumps(effects))
        for name, pair in json.loads(path.read_text()).items():
            found.setdefault(name, []).append(pair)
    return found


def own_effect(
    own: dict[str, dict[str, dict[str, float]]], key: str, name: str, side: str
) -> float:
    """truth.json's total effect ``key`` (NaN for a touchpoint it states none of)."""
    return float(own[name][key][side]) if name in own else float("nan")


def linear_shares_variance(inputs: TotalInputs, adjusted: AdjustedFit) -> tuple[F64, F64]:
    """Per touchpoint, the variance the linear penalty and reward owe to the bands' value shares.

    The least squares model predicts, with value ``v`` set at the touchpoint of
    every journey scoring it, ``β_band + β_memory · m(v)`` on average, ``m(v)``
    the journeys' mean memory features with ``v`` set; ``β_band`` is the same for
    every value of a band, so ``β_memory · m(v)`` is what the shares weigh, and
    the product's :func:`shares_variance` linearises them as for a binary outcome.
    """
    design = inputs.design
    beta = adjusted.fitted.coef[adjusted.memory]
    extremes = Extremes.of(inputs.moments, inputs.touchpoint)
    shape = len(design.touchpoints)
    penalty, reward = np.full(shape, np.nan), np.full(shape, np.nan)
    for t in range(shape):
        rows = np.flatnonzero(np.isin(design.bands[:, t], (LOW, MIDDLE, HIGH)))
        if rows.size == 0:
            continue
        moved = OneTouchpoint.of(inputs.moments, inputs.touchpoint == t, rows, extremes.without(t))
        share = design.weights[rows] / design.weights[rows].sum()
        means = {
            band: np.array([float(share @ (moved.features(float(v)) @ beta)) for v in values])
            for band, (values, _) in _values_by_band(design, moved, rows, t).items()
        }
        if MIDDLE not in means:
            continue
        for band, out in ((LOW, penalty), (HIGH, reward)):
            if band in means:
                by_value = {band: means[band], MIDDLE: means[MIDDLE]}
                out[t] = shares_variance(design, moved, rows, t, by_value)
    return penalty, reward


def replicate(outcome: Outcome, seed: int, workdir: Path) -> dict[str, object]:
    """One dataset: every model's penalty and reward, truth.json's, the band-share check.

    A continuous outcome has the product's figures only (its g-computation is
    least squares, no link to choose).
    """
    scenario = outcome.scenario
    cfg = scenario.configure(GeneratorConfig(n_journeys=scenario.n, seed=seed))
    made = generate(workdir / f"binary-{seed}", cfg)
    own = json.loads(made.truth_path.read_text(encoding="utf-8"))["touchpoints"]
    dataset = peakend.load(made.spec_path)
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore", StatisticalWarning)
        design: MomentDesign = build_design(dataset, scenario.outcome)
        inputs = total_inputs(scored_events(dataset), design)
        product = total_from_inputs(inputs, 0.95)
        found: dict[str, list[F64]] = {"product": [product.penalty, product.reward]}
        adjusted = fit_adjusted(inputs.design)
        share_var = (np.zeros(0), np.zeros(0))
        if not design.binary:
            share_var = linear_shares_variance(inputs, adjusted)
        for name, (link, expand) in MODELS.items() if design.binary else ():
            *found[name], pen_var, rew_var = g_computation(inputs, adjusted, link, expand)
            if name == "logit":
                share_var = (pen_var, rew_var)
        gap = band_share_gap(dataset, inputs, set(own))
    shutil.rmtree(workdir / f"binary-{seed}", ignore_errors=True)
    return {
        "touchpoints": list(design.touchpoints),
        "planted": [n in own for n in design.touchpoints],
        "estimates": {k: [v[0].tolist(), v[1].tolist()] for k, v in found.items()},
        "own": [
            [own_effect(own, scenario.effects, n, "penalty") for n in design.touchpoints],
            [own_effect(own, scenario.effects, n, "reward") for n in design.touchpoints],
        ],
        "share_gap": gap,
        "halves": [product.penalty_half.tolist(), product.reward_half.tolist()],
        "share_var": [share_var[0].tolist(), share_var[1].tolist()],
        "shares_in_halves": outcome.shares_in_product,
        "format": FORMAT,
    }


def summarise(runs: list[dict[str, object]], pop: dict[str, list[dict[str, float]]]) -> None:
    """Per model and touchpoint: mean miss (population, own), sd, miss / sd; then coverage.

    Coverage with and without the bands' value shares' variance: taken out of
    the product's half-widths where they hold it, else added to them (both at
    the normal quantile).
    """
    keep = np.flatnonzero(runs[0]["planted"])  # type: ignore[arg-type]
    names = [runs[0]["touchpoints"][i] for i in keep]  # type: ignore[index]
    models = list(runs[0]["estimates"])  # type: ignore[arg-type]
    seeds = len(pop[names[0]])
    for side, index in (("penalty", 0), ("reward", 1)):
        per_seed = np.array([[p[side] for p in pop[n]] for n in names])  # (T, seeds)
        five, truth = per_seed[:, :5].mean(axis=1), per_seed.mean(axis=1)
        five_se = per_seed[:, :5].std(axis=1, ddof=1) / np.sqrt(5)
        truth_se = per_seed.std(axis=1, ddof=1) / np.sqrt(seeds)
        own = np.array([r["own"][index] for r in runs])[:, keep]  # type: ignore[index]
        own_se = own.std(axis=0, ddof=1) / np.sqrt(len(runs))
        print(f"\n{side}: the population's average over 5 seeds and over {seeds}")
        print(f"  {'':24s} {'5 seeds':>16s} {f'{seeds} seeds':>16s} {'own (mean)':>16s}")
        for i, n in enumerate(names):
            print(
                f"  {n:24s} {five[i]:+.4f} ± {five_se[i]:.4f} {truth[i]:+.4f} ± {truth_se[i]:.4f}"
                f" {own[:, i].mean():+.4f} ± {own_se[i]:.4f}"
            )
        for model in models:
            est = np.array([r["estimates"][model][index] for r in runs])[:, keep]  # type: ignore[index]
            sd = est.std(axis=0, ddof=1)
            print(f"  {model}: miss against 5 seeds, {seeds} seeds, own truth (in sd); sd")
            ratios = []
            for truth_now in (five, truth, own):
                miss = (est - truth_now).mean(axis=0)
                ratios.append(miss / sd)
            for i, n in enumerate(names):
                figures = "  ".join(f"{r[i]:+.2f}" for r in ratios)
                print(f"    {n:24s} {figures}  sd {sd[i]:.4f}")
            worst = "  ".join(f"{np.abs(r).max():.2f}" for r in ratios)
            print(f"  {model}.{side}: max |miss|/sd {worst}; mean sd {sd.mean():.4f}")
        est = np.array([r["estimates"]["product"][index] for r in runs])[:, keep]  # type: ignore[index]
        half = np.array([r["halves"][index] for r in runs])[:, keep]  # type: ignore[index]
        share_var = np.array([r["share_var"][index] for r in runs])[:, keep]  # type: ignore[index]
        if runs[0].get("shares_in_halves", True):
            wider = half
            narrower = np.sqrt(np.maximum(half**2 - 1.96**2 * share_var, 0.0))
        else:
            wider, narrower = np.sqrt(half**2 + 1.96**2 * share_var), half
        for label, truth_now in (("5 seeds", five), (f"{seeds} seeds", truth), ("own", own)):
            for kind, width in (
                (" with the shares' variance", wider),
                (" without the shares' variance", narrower),
            ):
                hit = np.abs(est - truth_now) <= width
                by_tp = " ".join(f"{100 * h:.0f}" for h in hit.mean(axis=0))
                print(
                    f"  coverage {side} ({label}){kind}: {100 * hit.mean():.2f} % "
                    f"of {hit.size}; {by_tp}"
                )
        print(
            f"  shares' variance / interval's variance: "
            f"{' '.join(f'{r:.3f}' for r in np.mean(1.96**2 * share_var / narrower**2, axis=0))}"
        )
        spread = np.mean((half / 1.96) ** 2, axis=0) / np.mean((est - truth) ** 2, axis=0)
        print(
            f"  (half-width / 1.96)² over squared miss ({seeds} seeds): {np.mean(spread):.2f};"
            f" {' '.join(f'{r:.2f}' for r in spread)}"
        )
        spread = np.mean((wider / 1.96) ** 2, axis=0) / np.mean((est - truth) ** 2, axis=0)
        print(
            f"  the same with the shares' variance: {np.mean(spread):.2f};"
            f" {' '.join(f'{r:.2f}' for r in spread)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicates", type=int, default=60)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument(
        "--outcome",
        choices=OUTCOMES,
        default="satisfied",
        help="satisfied (classes_total_binary) or overall (classes_total)",
    )
    parser.add_argument(
        "--population-seeds",
        type=int,
        default=100,
        help="population seeds of 20,000 journeys (the calibration's truth takes 100)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(tempfile.gettempdir()) / "peakend-binary-misspecification",
        help="where each dataset's figures are kept (a rerun reuses them)",
    )
    args = parser.parse_args()
    outcome = OUTCOMES[args.outcome]
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"load: {os.getloadavg()[0]:.2f}, outcome {args.outcome}", flush=True)
    started = time.perf_counter()
    pop = population_truth(outcome, args.out, args.population_seeds)
    print(f"population truth: {time.perf_counter() - started:.1f} s", flush=True)
    runs = []
    with tempfile.TemporaryDirectory(prefix="peakend-binary-") as tmp:
        for seed in range(args.first_seed, args.first_seed + args.replicates):
            path = args.out / f"{outcome.prefix}seed-{seed}.json"
            kept = json.loads(path.read_text()) if path.exists() else {}
            if (kept.get("format"), kept.get("shares_in_halves")) != (
                FORMAT,
                outcome.shares_in_product,
            ):
                path.write_text(json.dumps(replicate(outcome, seed, Path(tmp))))
            runs.append(json.loads(path.read_text()))
            product = np.array(runs[-1]["estimates"]["product"])
            logit = np.array(runs[-1]["estimates"].get("logit", product))
            print(
                f"seed {seed}: |logit − product| max {np.nanmax(np.abs(logit - product)):.2e}, "
                f"band-share gap {runs[-1]['share_gap']:.2e}, "
                f"{time.perf_counter() - started:.0f} s, load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
    summarise(runs, pop)
    print(f"\nwall: {time.perf_counter() - started:.1f} s, load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
