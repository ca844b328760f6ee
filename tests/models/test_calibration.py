"""A small, fast run of the calibration suite (``bench/calibration.py``).

The full suite (200 replicates per scenario) lives in ``bench/``; here a few
replicates of the scenarios with nuisance check what must hold in every single
dataset: no verdict contradicts the planted truth, and no memory claim is made
about scores stored without their experienced order.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

_PATH = Path(__file__).resolve().parents[2] / "bench" / "calibration.py"


@pytest.fixture(scope="module")
def calibration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("calibration", _PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["calibration"] = module
    spec.loader.exec_module(module)
    return module


def test_small_calibration_run(calibration: ModuleType, tmp_path: Path) -> None:
    results = calibration.run(
        ["customers", "null", "memory", "memory_survey"],
        replicates=3,
        resamples=30,
        workdir=tmp_path,
        population_n=10_000,
        quiet=True,
    )
    for name in ("customers", "null"):
        contradicted, trials = results[name].share("verdict contradicted")
        assert trials == 30 and contradicted == 0.0, name
        allow, _ = results[name].share("'allow' with a true penalty beyond the threshold")
        assert allow == 0.0
    found, _ = results["null"].share("class other than standard/inconclusive")
    assert found <= 0.1
    coverage, trials = results["customers"].share("coverage penalty")
    assert trials > 0 and coverage >= 0.6  # a loose floor: 3 datasets only
    remembered, _ = results["memory"].share("claim 'customers remember the average'")
    assert remembered == 0.0
    claimed, trials = results["memory_survey"].share("any peak/end claim")
    assert trials == 3 and claimed == 0.0
    table = calibration.table(results)
    assert "| customers | verdict contradicted | 0.0 % | 30 |" in table


def test_contradiction_rule(calibration: ModuleType) -> None:
    t = calibration.THRESHOLD
    assert calibration.contradicted("standard", -2 * t, 0.0)
    assert calibration.contradicted("moment_of_truth", -0.5 * t, 0.0)
    assert calibration.contradicted("excel", 0.0, -t)
    assert not calibration.contradicted("moment_of_truth", -2 * t, 2 * t)
    assert not calibration.contradicted("inconclusive", -2 * t, 0.0)


def test_clear_world_plants_classes_clear_of_the_thresholds(calibration: ModuleType) -> None:
    """Every true effect of the clear world is ≤ 0.6× or ≥ 1.7× its threshold."""
    from peakend.generate import (
        SATISFIED_EFFECT_THRESHOLD,
        GeneratorConfig,
        satisfied_total_effects,
        total_effects,
    )

    cfg = calibration._clear(GeneratorConfig(n_journeys=5_000, seed=3))
    found = [(total_effects(cfg), calibration.THRESHOLD)]
    found.append((satisfied_total_effects(cfg), SATISFIED_EFFECT_THRESHOLD))
    direct = {t.name: {"penalty": t.penalty, "reward": t.reward} for t in cfg.touchpoints}
    found.append((direct, calibration.THRESHOLD))
    for effects, threshold in found:
        for name, effect in effects.items():
            for side in ("penalty", "reward"):
                size = abs(float(effect[side])) / threshold
                assert size <= 0.6 or size >= 1.7, (name, side, effect[side])
