"""Calibration suite: is every interval peakend prints honest, and every verdict right?

Run from the repository root::

    .venv/bin/python bench/calibration.py                    # every scenario, 200 replicates
    .venv/bin/python bench/calibration.py --replicates 20    # a quick look
    .venv/bin/python bench/calibration.py --scenarios null customers

Each scenario simulates datasets with a planted truth (``peakend.generate``,
whose ``truth.json`` states every touchpoint's direct and total effect) and
realistic nuisance, runs the analysis a user runs, and compares:

* **coverage** of every printed interval (penalty, reward, importance, fit,
  memory weights, weight ratio, segment effects): the share of replicates whose
  95 % interval holds the truth; target 93–97 %;
* per verdict, over touchpoints: **accuracy** (class equals the planted class),
  **inconclusive** (inconclusive or not enough data) and **contradicted** (the
  class states something the truth denies: "standard"/"allow" with a true
  effect beyond the threshold, a class in the wrong direction; target ≤ 1 %);
* **false findings**: in the null scenario, touchpoints with any class other
  than standard/inconclusive (target ≤ 5 %), importances "distinguishable from
  zero" where the truth is zero (nominal 5 %);
* **memory**: with true peak and end weights of 0.4 at n = 300, the share of
  datasets reporting a peak/end effect or "inconclusive" (target ≥ 90 %) and
  "customers remember the average" (≤ 5 %); with ratings stored without their
  experienced order, the share making any peak/end claim (target 0 %).

Scenarios:

``additive``
    The memory weights are zero, so a touchpoint's planted (direct) effect is
    also its total effect and the band regression is the true model.
``customers``
    As ``additive``, 250 customers × 4 journeys, a customer-level share of
    mood (0.5) and a customer rating tendency (sd 0.5): resampling must be by
    customer.
``near``
    Effects near the threshold (0.8× and 1.25× of 0.25 points), 2,000 journeys.
``segments``
    As ``additive`` with three segment groups (60 / 30 / 10 %) whose moods differ
    (the business group's by −0.2, the students' by +0.2) but whose effects are the
    same; coverage of the pooled per-group effects of the smallest group.
``segments_differ``
    As ``segments``, the business group's effects 0.6× and the students' 1.5× the
    planted ones: pooled effects that truly differ between groups.
``null``
    No touchpoint effect and no memory effect anywhere.
``classes_total`` / ``classes_direct``
    The default generator (peak-end memory on) at 5,000 journeys: total effects
    recovered without adjustment, direct ones with ``--adjust-for`` the memory
    features.
``classes_total_binary``
    As ``classes_total`` for the binary outcome ``satisfied`` (logistic model):
    total effects on the share satisfied, classes at 10 percentage points.
``memory`` / ``memory_ratio`` / ``memory_survey``
    Memory analysis at n = 300: peak and end weights 0.4 (mean 0.6); end 1.2
    against mean 0.4 (a true ratio of 3, Fieller interval); and the first with
    the scores stored as one survey gives them (``survey_order``).

Output: one ``name: value`` line per figure, then the targets table.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import shutil
import tempfile
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import peakend
from peakend.errors import StatisticalWarning
from peakend.generate import (
    SATISFIED_EFFECT_THRESHOLD,
    TOTAL_EFFECT_JOURNEYS,
    GeneratorConfig,
    Segment,
    generate,
    satisfied_total_effects,
    total_effects,
)
from peakend.models.memory import fit as mf
from peakend.models.memory.verdict import TEST_MODEL
from peakend.models.moments import MomentSettings, MomentsResult, find_moments, total
from peakend.models.moments.design import MomentDesign, build_design
from peakend.models.moments.fit import fit_predict
from peakend.models.moments.verdict import MATERIAL
from peakend.stats.links import BinaryLink
from peakend.stats.resampling import Interval

THRESHOLD = 0.25  # the generator's class boundary, in points of `overall`
QUIET_MEMORY = {"w_peak": 0.0, "w_end": 0.0, "w_mean": 0.0, "w_trough": 0.0}
NO_RECOVERY = {"recovered_effect": 0.0, "unrecovered_effect": 0.0}
MEMORY_FEATURES = ("peak_valence", "end_valence", "mean_valence", "trough_valence")
POPULATION_JOURNEYS = 500_000  # fresh journeys each fit and importance is scored on


@dataclass(frozen=True)
class Scenario:
    """One simulated setting: how to configure the generator and what to analyse."""

    name: str
    kind: str  # "moments" or "memory"
    n: int
    configure: Callable[[GeneratorConfig], GeneratorConfig]
    effects: str = "total"  # truth.json effects the moments estimate
    adjust: bool = False
    segment: bool = False
    outcome: str = "overall"
    threshold: float = THRESHOLD  # the class boundary of ``effects``, in outcome units


def _touchpoints(cfg: GeneratorConfig, **scale: float) -> GeneratorConfig:
    designs = tuple(dataclasses.replace(t, **scale) for t in cfg.touchpoints)
    return dataclasses.replace(cfg, touchpoints=designs)


def _near(cfg: GeneratorConfig) -> GeneratorConfig:
    """Penalties and rewards at 0.8× or 1.25× the threshold, alternating."""
    designs = []
    for i, t in enumerate(cfg.touchpoints):
        low, high = (0.8, 1.25) if i % 2 else (1.25, 0.8)
        designs.append(dataclasses.replace(t, penalty=-low * THRESHOLD, reward=high * THRESHOLD))
    return dataclasses.replace(cfg, touchpoints=tuple(designs), **QUIET_MEMORY, **NO_RECOVERY)


#: A world whose every planted class is clear at 5,000 journeys, directly and in
#: total, on ``overall`` and on ``satisfied``: each true penalty and reward is at
#: most 0.6 times its threshold (0.25 points; 10 percentage points) or at least 1.7
#: times it, two printed half-widths or more away. The default world plants
#: ``quote`` at 1.2× the threshold and gives the unplanted touchpoints total
#: rewards of 0.25–0.29 through the remembered peak and end, which no interval
#: from 5,000 journeys can class either way (see :func:`resolvable`). Here the
#: memory path is kept, smaller, and the intercept puts ``overall`` near the
#: satisfied cut so that a low score can move the share satisfied.
CLEAR_WORLD = {"w_peak": 0.15, "w_end": 0.05, "w_mean": 0.1, "w_trough": 0.0, "intercept": 6.8}
CLEAR_EFFECTS = {
    "quote": (-0.8, 0.8),
    "installation": (-1.5, 0.0),
    "first_invoice": (-1.2, 0.0),
    "support_call": (-1.0, 0.8),
}


def _clear(cfg: GeneratorConfig) -> GeneratorConfig:
    """The default journeys with the planted classes of :data:`CLEAR_EFFECTS` and memory."""
    designs = tuple(
        dataclasses.replace(t, penalty=CLEAR_EFFECTS[t.name][0], reward=CLEAR_EFFECTS[t.name][1])
        if t.name in CLEAR_EFFECTS
        else t
        for t in cfg.touchpoints
    )
    return dataclasses.replace(cfg, touchpoints=designs, **CLEAR_WORLD)


def _memory(
    w_peak: float, w_end: float, w_mean: float, survey: bool = False
) -> Callable[[GeneratorConfig], GeneratorConfig]:
    def configure(cfg: GeneratorConfig) -> GeneratorConfig:
        cfg = _touchpoints(cfg, penalty=0.0, reward=0.0)
        return dataclasses.replace(
            cfg,
            w_peak=w_peak,
            w_end=w_end,
            w_mean=w_mean,
            w_trough=0.0,
            survey_order=survey,
            **NO_RECOVERY,
        )

    return configure


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "additive",
            "moments",
            2_000,
            lambda c: dataclasses.replace(c, **QUIET_MEMORY, **NO_RECOVERY),
        ),
        Scenario(
            "customers",
            "moments",
            1_000,
            lambda c: dataclasses.replace(
                c,
                journeys_per_customer=4.0,
                customer_mood_corr=0.5,
                customer_overall_sd=0.5,
                **QUIET_MEMORY,
                **NO_RECOVERY,
            ),
        ),
        Scenario("near", "moments", 2_000, _near),
        Scenario(
            "segments",
            "moments",
            2_000,
            lambda c: dataclasses.replace(
                c,
                segments=(
                    Segment("consumer", 0.6),
                    Segment("business", 0.3, mood_shift=-0.2),
                    Segment("student", 0.1, mood_shift=0.2),
                ),
                **QUIET_MEMORY,
                **NO_RECOVERY,
            ),
            segment=True,
        ),
        Scenario(
            "segments_differ",
            "moments",
            2_000,
            lambda c: dataclasses.replace(
                c,
                segments=(
                    Segment("consumer", 0.6),
                    Segment("business", 0.3, mood_shift=-0.2, effect_scale=0.6),
                    Segment("student", 0.1, mood_shift=0.2, effect_scale=1.5),
                ),
                **QUIET_MEMORY,
                **NO_RECOVERY,
            ),
            segment=True,
        ),
        Scenario(
            "null",
            "moments",
            2_000,
            lambda c: dataclasses.replace(
                _touchpoints(c, penalty=0.0, reward=0.0), **QUIET_MEMORY, **NO_RECOVERY
            ),
        ),
        Scenario("classes_total", "moments", 5_000, lambda c: c),
        Scenario("classes_direct", "moments", 5_000, lambda c: c, effects="direct", adjust=True),
        Scenario(
            "classes_total_binary",
            "moments",
            5_000,
            lambda c: c,
            effects="total_satisfied",
            outcome="satisfied",
            threshold=SATISFIED_EFFECT_THRESHOLD,
        ),
        Scenario("clear_total", "moments", 5_000, _clear),
        Scenario("clear_direct", "moments", 5_000, _clear, effects="direct", adjust=True),
        Scenario(
            "clear_binary",
            "moments",
            5_000,
            _clear,
            effects="total_satisfied",
            outcome="satisfied",
            threshold=SATISFIED_EFFECT_THRESHOLD,
        ),
        Scenario("memory", "memory", 300, _memory(0.4, 0.4, 0.6)),
        Scenario("memory_ratio", "memory", 300, _memory(0.0, 1.2, 0.4)),
        Scenario("memory_survey", "memory", 300, _memory(0.4, 0.4, 0.6, survey=True)),
    )
}


@dataclass
class Tally:
    """Hits per figure: ``figure -> [hits, trials]``."""

    counts: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    #: ``(touchpoint, true class, printed class) -> count``
    confusion: Counter[tuple[str, str, str]] = field(default_factory=Counter)

    def add(self, figure: str, hit: bool) -> None:
        entry = self.counts[figure]
        entry[0] += int(hit)
        entry[1] += 1

    def share(self, figure: str) -> tuple[float, int]:
        hits, trials = self.counts.get(figure, [0, 0])
        return (hits / trials if trials else math.nan), trials


def covers(interval: Interval | dict[str, float], truth: float) -> bool:
    """Whether the interval holds ``truth`` (bounds inclusive; NaN bounds never cover)."""
    low = interval.low if isinstance(interval, Interval) else interval["low"]
    high = interval.high if isinstance(interval, Interval) else interval["high"]
    return bool(low <= truth <= high)


def contradicted(
    moment_class: str, penalty: float, reward: float, threshold: float = THRESHOLD
) -> bool:
    """Whether a stated class is denied by the true penalty and reward."""
    if moment_class in ("moment_of_truth", "performance") and penalty > -threshold:
        return True
    if moment_class in ("excel", "performance") and reward < threshold:
        return True
    return moment_class == "standard" and max(abs(penalty), abs(reward)) >= threshold


def resolvable(
    penalty: Interval,
    reward: Interval,
    true_penalty: float,
    true_reward: float,
    threshold: float = THRESHOLD,
) -> bool:
    """Whether the sample can settle the class: every true effect 2 half-widths from ±threshold.

    A 95 % interval of half-width *h* around an unbiased estimate excludes a
    boundary at distance δ from the truth with probability ≥ 95 % once
    δ ≥ h (1 + 1.645 / 1.96) ≈ 1.84 h; a touchpoint whose true effect sits
    closer to the threshold than that is recovered with less than 95 %
    probability *whatever* the method, however honest its interval (it is then
    inconclusive or stated as one side of a performance moment).
    """
    pairs = ((true_penalty, penalty), (true_reward, reward))
    for truth, interval in pairs:
        half = (interval.high - interval.low) / 2
        if not math.isfinite(half):
            return False
        if min(abs(truth - threshold), abs(truth + threshold)) < 2 * half:
            return False
    return True


# ---------------------------------------------------------------- moments
def population(
    scenario: Scenario, workdir: Path, n: int = POPULATION_JOURNEYS, seed: int = 10**6
) -> dict[str, object]:
    """A very large sample: the true importance, and fresh journeys to score each fit on.

    Every dataset's fit is scored on these same journeys, so their chance
    deviation is an offset shared by all datasets, not noise that averages out:
    with 100,000 journeys the average real error of the `near` fit was −0.0039,
    −0.0018 and −0.0027 on three population seeds (its spread is 0.010) and its
    coverage 92.5 %, 93.5 % and 93.5 %; five times the journeys take that
    offset's spread down by √5 (−0.0015 and −0.0018 on two seeds).

    The printed fit is cross-validated: it estimates how well the model fitted on
    the data predicts new journeys. Its truth is that score on fresh journeys
    (this sample) of the model fitted on the replicate.
    """
    cfg = scenario.configure(GeneratorConfig(n_journeys=n, seed=seed))
    dataset = peakend.load(generate(workdir / f"population-{scenario.name}-{seed}", cfg).spec_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        result = find_moments(
            dataset,
            outcome=scenario.outcome,
            settings=MomentSettings(threshold=scenario.threshold, n_resamples=10, seed=0),
            segments=(),
            adjust_for=MEMORY_FEATURES if scenario.adjust else (),
        )
    adjust = MEMORY_FEATURES if scenario.adjust else ()
    design = build_design(dataset, scenario.outcome, adjust_for=adjust)
    return {
        "design": design,
        "importance": {m.touchpoint: m.importance.value for m in result.touchpoints},
        "effects": population_effects(scenario),
    }


def population_effects(scenario: Scenario, seeds: int = 100) -> dict[str, dict[str, float]]:
    """The total effects over ``seeds`` × 20,000 journeys of other seeds.

    ``truth.json`` states the average by intervention over the dataset's own
    journeys; an interval that includes the spread of the journeys' changes and
    of the band's value shares is meant for journeys like these, whose average
    this is. For ``total_satisfied`` and for ``total`` where memory moves the
    outcome (empty otherwise: without it the total effect is the planted one in
    every population, as ``truth.json`` states). Five seeds were too few: their
    average's standard error was 7–24 % of the estimates' spread,
    and welcome_mail's penalty 2.7 standard errors from that of 100 seeds
    (``bench/binary_misspecification.py``); 100 seeds take about a minute.
    """
    truth = {"total": total_effects, "total_satisfied": satisfied_total_effects}
    world = scenario.configure(GeneratorConfig())
    memory = (world.w_peak, world.w_end, world.w_mean, world.w_trough)
    if scenario.effects not in truth or (scenario.effects == "total" and not any(memory)):
        return {}
    found = [
        truth[scenario.effects](
            scenario.configure(GeneratorConfig(n_journeys=TOTAL_EFFECT_JOURNEYS, seed=10**6 + k))
        )
        for k in range(seeds)
    ]
    return {
        name: {
            band: float(np.mean([float(f[name][band]) for f in found]))
            for band in ("penalty", "reward")
        }
        for name in found[0]
    }


def fresh_fit(dataset: peakend.Dataset, scenario: Scenario, pop: dict[str, object]) -> float:
    """R² (McFadden's for a binary outcome) on the population's fresh journeys.

    Of the model fitted on ``dataset``; a binary outcome's null model predicts
    the share of ``dataset``'s journeys with the outcome.
    """
    fresh = pop["design"]
    assert isinstance(fresh, MomentDesign)
    adjust = MEMORY_FEATURES if scenario.adjust else ()
    design = build_design(dataset, scenario.outcome, adjust_for=adjust)
    if design.touchpoints != fresh.touchpoints:
        return math.nan
    predicted = fit_predict(design, fresh)
    if not design.binary:
        return float(1.0 - np.mean((fresh.y - predicted) ** 2) / np.var(fresh.y))
    share = float(np.average(design.y, weights=design.weights))

    def loss(p: np.ndarray) -> float:
        p = np.clip(p, 1e-12, 1 - 1e-12)
        return float(-np.mean(fresh.y * np.log(p) + (1 - fresh.y) * np.log(1 - p)))

    return 1.0 - loss(predicted) / loss(np.full(fresh.n, share))


def moments_replicate(
    scenario: Scenario, seed: int, workdir: Path, resamples: int, pop: dict[str, object]
) -> Tally:
    """One simulated dataset: coverage and verdict figures of the moments analysis."""
    cfg = scenario.configure(GeneratorConfig(n_journeys=scenario.n, seed=seed))
    made = generate(workdir / f"{scenario.name}-{seed}", cfg)
    planted = json.loads(made.truth_path.read_text(encoding="utf-8"))
    truth = planted["touchpoints"]
    scales = {k: float(v["effect_scale"]) for k, v in planted["journeys"]["segments"].items()}
    dataset = peakend.load(made.spec_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        result = find_moments(
            dataset,
            outcome=scenario.outcome,
            settings=MomentSettings(threshold=scenario.threshold, n_resamples=resamples, seed=seed),
            segments=("segment",) if scenario.segment else (),
            adjust_for=MEMORY_FEATURES if scenario.adjust else (),
        )
    tally = Tally()
    tally.add("coverage fit", covers(result.fit, fresh_fit(dataset, scenario, pop)))
    _moment_figures(tally, result, truth, scenario, pop)
    _segment_figures(tally, result, truth, scenario.effects, scales)
    return tally


def _moment_figures(
    tally: Tally,
    result: MomentsResult,
    truth: dict[str, dict[str, object]],
    scenario: Scenario,
    pop: dict[str, object],
) -> None:
    effects, threshold = scenario.effects, scenario.threshold
    importance = pop["importance"]
    assert isinstance(importance, dict)
    population_truth = pop.get("effects", {})
    assert isinstance(population_truth, dict)
    effect_anywhere = any(
        float(t[effects]["penalty"]) or float(t[effects]["reward"])  # type: ignore[index]
        for t in truth.values()
    )
    for m in result.touchpoints:
        if m.touchpoint not in truth:
            continue
        true = truth[m.touchpoint][effects]
        assert isinstance(true, dict)
        penalty, reward, planted = float(true["penalty"]), float(true["reward"]), true["class"]
        if m.moment_class != "not_enough_data":
            tally.add("coverage penalty", covers(m.penalty, penalty))
            tally.add("coverage reward", covers(m.reward, reward))
            wide = population_truth.get(m.touchpoint)
            if wide is not None:
                tally.add("coverage penalty (population truth)", covers(m.penalty, wide["penalty"]))
                tally.add("coverage reward (population truth)", covers(m.reward, wide["reward"]))
        if effect_anywhere:  # shares of nothing explained have no true value
            tally.add("coverage importance", covers(m.importance, float(importance[m.touchpoint])))
        if penalty == 0 and reward == 0:
            tally.add("importance distinct from zero (truth 0)", m.importance_distinct)
        tally.add("verdict accuracy", m.moment_class == planted)
        tally.confusion[(m.touchpoint, str(planted), m.moment_class)] += 1
        if resolvable(m.penalty, m.reward, penalty, reward, threshold):
            tally.add("verdict accuracy (resolvable)", m.moment_class == planted)
        tally.add("verdict inconclusive", m.moment_class in ("inconclusive", "not_enough_data"))
        tally.add("verdict contradicted", contradicted(m.moment_class, penalty, reward, threshold))
        tally.add("class other than standard/inconclusive", m.moment_class in MATERIAL)
        allow = m.recommendation == "allow" and penalty <= -threshold
        tally.add("'allow' with a true penalty beyond the threshold", allow)


def _segment_figures(
    tally: Tally,
    result: MomentsResult,
    truth: dict[str, dict[str, object]],
    effects: str,
    scales: dict[str, float],
) -> None:
    """Coverage of the smallest group's pooled penalty and reward.

    A group's true effect is the scenario's (``effects``) when every segment has
    the same effects, else its ``effect_scale`` times the planted (direct) effect:
    with the memory weights at 0 nothing else reaches the outcome.
    """
    same = all(v == 1.0 for v in scales.values())
    for segment in result.segments:
        smallest = min(segment.groups, key=lambda g: g.n_journeys)
        for m in smallest.touchpoints:
            if m.touchpoint in truth and math.isfinite(m.penalty.low + m.reward.low):
                true = truth[m.touchpoint][effects if same else "direct"]
                assert isinstance(true, dict)
                scale = 1.0 if same else scales[smallest.name]
                tally.add(
                    "coverage segment penalty (smallest group)",
                    covers(m.penalty, scale * float(true["penalty"])),
                )
                tally.add(
                    "coverage segment reward (smallest group)",
                    covers(m.reward, scale * float(true["reward"])),
                )


# ---------------------------------------------------------------- memory
def memory_replicate(scenario: Scenario, seed: int, workdir: Path) -> Tally:
    """One simulated dataset: the memory claim, weight and ratio coverage."""
    cfg = scenario.configure(GeneratorConfig(n_journeys=scenario.n, seed=seed))
    made = generate(workdir / f"{scenario.name}-{seed}", cfg)
    dataset = peakend.load(made.spec_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        result = peakend.remembered_experience(dataset, outcome="overall", seed=seed)
    tally = Tally()
    verdict = result.verdict
    assert verdict is not None
    claim = verdict.claim
    tally.add("claim peak_end or inconclusive", claim in ("peak_end", "inconclusive"))
    tally.add("claim 'customers remember the average'", claim == "average")
    tally.add("claim peak_end", claim == "peak_end")
    tally.add("any peak/end claim", claim in ("peak_end", "average"))
    if scenario.configure(GeneratorConfig()).survey_order:
        return tally
    tally.add("coverage memory weight peak", covers(verdict.peak, cfg.w_peak))
    tally.add("coverage memory weight end", covers(verdict.end, cfg.w_end))
    model = result.models[TEST_MODEL]
    idx = {f: i + 1 for i, f in enumerate(model.features)}
    if cfg.w_mean != 0:
        ratio = mf.ratio(model.fit, idx["end"], idx["mean"])
        tally.add("coverage ratio end/mean (Fieller)", covers(ratio, cfg.w_end / cfg.w_mean))
        tally.add("ratio bounded", bool(np.isfinite(ratio.low)))
    return tally


# ---------------------------------------------------------------- driver
TARGETS = {
    "coverage": "93-97 %",
    "verdict contradicted": "<= 1 %",
    "verdict accuracy (resolvable)": ">= 95 % (classes_*)",
    "verdict accuracy": ">= 95 % at 5,000 journeys (classes_*)",
    "class other than standard/inconclusive": "<= 5 % (null)",
    "importance distinct from zero (truth 0)": "about 5 % (nominal)",
    "claim peak_end or inconclusive": ">= 90 % (memory)",
    "claim 'customers remember the average'": "<= 5 % (memory)",
    "any peak/end claim": "0 % (memory_survey)",
    "'allow' with a true penalty beyond the threshold": "<= 1 %",
}


def run(
    names: list[str],
    replicates: int,
    resamples: int,
    workdir: Path,
    population_n: int = POPULATION_JOURNEYS,
    quiet: bool = False,
    confusion: bool = False,
    journeys: int | None = None,
    first_seed: int = 1,
) -> dict[str, Tally]:
    """Every replicate of every named scenario; prints its figures as ``name: value`` lines."""
    results: dict[str, Tally] = {}
    for name in names:
        scenario = SCENARIOS[name]
        if journeys is not None:
            scenario = dataclasses.replace(scenario, n=journeys)
        started = time.perf_counter()
        total = Tally()
        pop = population(scenario, workdir, population_n) if scenario.kind == "moments" else {}
        for seed in range(first_seed, first_seed + replicates):
            if scenario.kind == "moments":
                one = moments_replicate(scenario, seed, workdir, resamples, pop)
            else:
                one = memory_replicate(scenario, seed, workdir)
            shutil.rmtree(workdir / f"{name}-{seed}", ignore_errors=True)
            for figure, (hits, trials) in one.counts.items():
                entry = total.counts[figure]
                entry[0] += hits
                entry[1] += trials
            total.confusion.update(one.confusion)
        results[name] = total
        if quiet:
            continue
        print(f"{name}.seconds: {time.perf_counter() - started:.1f}", flush=True)
        for figure in sorted(total.counts):
            share, trials = total.share(figure)
            print(f"{name}.{figure}: {share:.4f} (n={trials})", flush=True)
        if confusion:
            for (touchpoint, truth, shown), count in sorted(total.confusion.items()):
                print(f"{name}.confusion: {touchpoint} {truth} -> {shown}: {count}", flush=True)
    return results


def table(results: dict[str, Tally]) -> str:
    """The targets table in Markdown: one row per scenario and figure."""
    lines = ["| scenario | figure | value | n | target |", "|---|---|---|---|---|"]
    for name, tally in results.items():
        for figure in sorted(tally.counts):
            share, trials = tally.share(figure)
            target = next((t for key, t in TARGETS.items() if figure.startswith(key)), "")
            lines.append(f"| {name} | {figure} | {100 * share:.1f} % | {trials:,} | {target} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", nargs="*", default=list(SCENARIOS), choices=SCENARIOS)
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--resamples", type=int, default=100)
    parser.add_argument(
        "--first-seed",
        type=int,
        default=1,
        help="seed of the first replicate (replicates use consecutive seeds), to extend a run",
    )
    parser.add_argument("--journeys", type=int, help="journeys per dataset (default: per scenario)")
    parser.add_argument(
        "--confusion", action="store_true", help="print true class x printed class per touchpoint"
    )
    parser.add_argument(
        "--binary-link",
        choices=("logit", "probit"),
        help="the link of the binary total effects' model (default: the product's)",
    )
    args = parser.parse_args()
    if args.binary_link is not None:
        total.BINARY_LINK = BinaryLink(args.binary_link)
    print(f"load: {os.getloadavg()[0]:.2f}, binary link: {total.BINARY_LINK.name}", flush=True)
    with tempfile.TemporaryDirectory(prefix="peakend-calibration-") as tmp:
        results = run(
            args.scenarios,
            args.replicates,
            args.resamples,
            Path(tmp),
            confusion=args.confusion,
            journeys=args.journeys,
            first_seed=args.first_seed,
        )
    print(table(results))


if __name__ == "__main__":
    main()
