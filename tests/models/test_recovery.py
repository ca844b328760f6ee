"""Service recovery on the generator's planted truth, on snapshots, and on bad input."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from peakend.errors import ConfigError
from peakend.generate import GeneratorConfig, generate
from peakend.models.recovery import service_recovery
from peakend.models.recovery.effects import NO_EVIDENCE, PARADOX, RESTORES


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("recovery")
    generate(out, GeneratorConfig(n_journeys=8_000, seed=21))
    return out


def test_groups_match_the_planted_failures(synthetic: Path) -> None:
    realised = json.loads((synthetic / "truth.json").read_text())["realised"]
    result = service_recovery(synthetic / "synthetic.toml")
    assert result.groups["recovered"] == realised["recovered"]
    failed = result.groups["recovered"] + result.groups["not recovered"]
    assert failed == realised["failures"]
    causes = {c["touchpoint"] for c in result.causes}
    assert {"installation", "first_invoice", "support_call"} <= causes


def test_total_effects_within_their_intervals(synthetic: Path) -> None:
    planted = json.loads((synthetic / "truth.json").read_text())["realised"]
    truth = planted["recovery_total_effect"]
    result = service_recovery(synthetic / "synthetic.toml", outcomes=["overall"])
    c = result.outcomes[0].all_failures
    assert c is not None
    # the sample's own total effect; 3.3 standard errors (99.9 %) so a fixed seed tests the method
    for effect, value in ((c.recovered_vs_none, truth["recovered"]),
                          (c.unrecovered_vs_none, truth["unrecovered"])):  # fmt: skip
        half = (effect.high - effect.low) / 2
        assert abs(effect.value - value) < 1.7 * half
    assert result.outcomes[0].verdict == RESTORES


def test_a_planted_paradox_is_found(tmp_path: Path) -> None:
    cfg = GeneratorConfig(n_journeys=8_000, seed=22, recovered_effect=4.0)
    generate(tmp_path, cfg)
    result = service_recovery(tmp_path / "synthetic.toml", outcomes=["overall"])
    assert result.outcomes[0].verdict == PARADOX


def test_too_few_failures_is_no_evidence(tmp_path: Path) -> None:
    base = GeneratorConfig()
    touchpoints = tuple(
        replace(t, failure_rate=min(t.failure_rate, 0.002)) for t in base.touchpoints
    )
    generate(tmp_path, GeneratorConfig(n_journeys=1_000, seed=3, touchpoints=touchpoints))
    result = service_recovery(tmp_path / "synthetic.toml", outcomes=["overall"])
    assert result.outcomes[0].verdict == NO_EVIDENCE


def test_several_journeys_per_customer_are_clustered(tmp_path: Path) -> None:
    generate(tmp_path, GeneratorConfig(n_journeys=3_000, seed=4, journeys_per_customer=3.0))
    result = service_recovery(tmp_path / "synthetic.toml", outcomes=["overall"])
    assert result.clustered_by == "customer"
    c = result.outcomes[0].all_failures
    assert c is not None and c.recovered_vs_none.clusters <= c.recovered_vs_none.n


def test_unknown_outcome_and_missing_section(synthetic: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown outcome"):
        service_recovery(synthetic / "synthetic.toml", outcomes=["nps"])
    text = (synthetic / "synthetic.toml").read_text()
    start, end = text.index("[recovery]"), text.index("[churn]")
    spec = synthetic / "no_recovery.toml"
    spec.write_text(text[:start] + text[end:])
    with pytest.raises(ConfigError, match=r"add a \[recovery\] section"):
        service_recovery(spec)


def test_planted_severity_per_level(tmp_path: Path) -> None:
    """Half the failures severe; a recovered severe failure costs 0.8 more on overall."""
    generate(tmp_path, GeneratorConfig(n_journeys=8_000, seed=23, severe_share=0.5))
    truth = json.loads((tmp_path / "truth.json").read_text())["realised"]
    planted = truth["recovery_total_effect_by_severity"]
    result = service_recovery(tmp_path / "synthetic.toml", outcomes=["overall"])
    levels = {b.level: b for b in result.outcomes[0].by_severity}
    assert set(levels) == {"minor", "severe"}
    for level, b in levels.items():
        assert b.recovered + b.not_recovered == planted[level]["failures"]
        c = b.contrasts
        for effect, value in ((c.recovered_vs_none, planted[level]["recovered"]),
                              (c.unrecovered_vs_none, planted[level]["unrecovered"])):  # fmt: skip
            half = (effect.high - effect.low) / 2
            assert abs(effect.value - value) < 1.7 * half, (level, effect, value)
    # severity lowers overall after recovery: the severe level's recovered effect is lower
    gap = (levels["minor"].contrasts.recovered_vs_none.value
           - levels["severe"].contrasts.recovered_vs_none.value)  # fmt: skip
    assert gap > 0.4
    assert levels["severe"].contrasts.recovered_vs_none.high < (
        levels["minor"].contrasts.recovered_vs_none.low
    )


def test_severity_off_by_default_and_bad_severity_specs(synthetic: Path, tmp_path: Path) -> None:
    truth = json.loads((synthetic / "truth.json").read_text())
    assert truth["realised"]["recovery_total_effect_by_severity"] is None
    assert "failure_severity" not in (synthetic / "outcomes.parquet").read_bytes().decode("latin-1")
    result = service_recovery(synthetic / "synthetic.toml", outcomes=["overall"])
    assert result.outcomes[0].by_severity == []
    text = (synthetic / "synthetic.toml").read_text()
    bad = tmp_path / "bad.toml"
    for extra, message in (
        ('severity = "no_such_column"', "not a column"),
        ("severity_cuts = [3, 1]", "ascending"),
    ):
        bad.write_text(
            text.replace("[recovery]\n", f"[recovery]\n{extra}\n").replace(
                'path = "', f'path = "{synthetic}/'
            )
        )
        with pytest.raises(ConfigError, match=message):
            service_recovery(bad, outcomes=["overall"])


def test_severity_from_the_failure_score_with_cuts(synthetic: Path, tmp_path: Path) -> None:
    """severity = "failure_score": the failure event's own score, banded by the cuts."""
    text = (synthetic / "synthetic.toml").read_text()
    spec = tmp_path / "scored.toml"
    extra = 'severity = "failure_score"\nseverity_cuts = [2]\n'
    text = text.replace("[recovery]\n", "[recovery]\n" + extra)
    spec.write_text(text.replace('path = "', f'path = "{synthetic}/'))
    result = service_recovery(spec, outcomes=["overall"])
    levels = [b.level for b in result.outcomes[0].by_severity]
    assert levels and set(levels) <= {"<= 2", "> 2"}


def test_confounder_cells_are_those_of_the_joined_values() -> None:
    """Cells numbered from each column's codes match the rows' joined texts, in first order."""
    import numpy as np
    import pandas as pd

    from peakend.models.recovery.effects import design

    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        {
            "segment": rng.choice(["a", "b", "c"], 300),
            "plan": rng.choice(["basic", "plus"], 300),
            "flag": rng.choice([0, 1], 300),
        }
    )
    x, cell = design(frame, ["segment", "plan", "flag"])
    joined = frame.astype(str).agg("|".join, axis=1)
    assert np.array_equal(cell, pd.factorize(joined)[0])
    assert x.shape == (300, int(cell.max()) + 1)
    assert np.array_equal(x.argmax(axis=1), cell)


def test_the_design_holds_the_cells_then_the_numeric_confounders() -> None:
    """One matrix: the one-hot cells, then each numeric confounder as it is."""
    import numpy as np
    import pandas as pd

    from peakend.models.recovery.effects import design

    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "segment": rng.choice(["a", "b"], 200),
            "tenure": rng.normal(size=200),
            "age": rng.integers(18, 80, 200),
        }
    )
    x, cell = design(frame, ["tenure", "segment", "age"])
    cells = np.zeros((200, int(cell.max()) + 1))
    cells[np.arange(200), cell] = 1.0
    numeric = frame[["tenure", "age"]].to_numpy(dtype=float)
    np.testing.assert_array_equal(x, np.column_stack([cells, numeric]))
    assert x.flags.c_contiguous
