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


def _old_numbers(column):  # type: ignore[no-untyped-def]
    """The decision before :func:`all_numbers`: the whole column parsed, then checked."""
    import pandas as pd

    values = pd.to_numeric(column, errors="coerce")
    return values if values.notna().all() else None


def test_all_numbers_decides_as_parsing_the_whole_column() -> None:
    """Numbers as text, a word after the probe, a category first, missing values, booleans."""
    import numpy as np
    import pandas as pd

    from peakend.models.columns import PROBE, all_numbers

    n = 3 * PROBE
    word_late = [str(i) for i in range(n)]
    word_late[2 * PROBE] = "many"
    columns = [
        pd.Series([str(i * 0.5) for i in range(n)], dtype=object),
        pd.Series(word_late, dtype=object),
        pd.Series(["consumer", "business"] * PROBE, dtype=object),
        pd.Series([1.0, np.nan] * PROBE),
        pd.Series([True, False] * PROBE),
        pd.Series(np.arange(n)),
        pd.Series([], dtype=object),
    ]
    for column in columns:
        old, new = _old_numbers(column), all_numbers(column)
        assert (old is None) == (new is None)
        if old is not None:
            pd.testing.assert_series_equal(old, new)


def test_as_text_is_astype_str() -> None:
    """Strings stay as they are; missing values, numbers and other dtypes are converted."""
    import numpy as np
    import pandas as pd

    from peakend.models.columns import as_text

    columns = [
        pd.Series(["c1", "c2", "c1"], dtype=object),
        pd.Series(["c1", None, "c2"], dtype=object),
        pd.Series(["c1", np.nan], dtype=object),
        pd.Series([1, 2, 3]),
        pd.Series([True, False]),
        pd.Series(["a", None], dtype="string"),
        pd.Series(["a", 1], dtype=object),
    ]
    for column in columns:
        np.testing.assert_array_equal(as_text(column), column.astype(str).to_numpy())


def test_outcomes_looked_up_by_id_are_the_left_merge() -> None:
    """The Arrow lookup gives pandas' left merge; missing, repeated ids and clashes merge."""
    import pandas as pd
    import pyarrow as pa

    from peakend.models.recovery.inputs import with_outcomes

    table = pd.DataFrame({"journey_id": ["j3", "j1", "j2"], "group": ["a", "b", "a"]})
    ids = pa.chunked_array([pa.array(["j3", "j1", "j2"])])
    outcomes = pa.table(
        {
            "journey_id": pa.chunked_array([["j1", "j2"], ["j3"]]),
            "overall": [7.0, None, 5.0],
            "segment": ["x", None, "y"],
            "count": pa.array([1, 2, 3], pa.int64()),
        }
    )
    cases = [
        outcomes,
        outcomes.slice(0, 2),  # a journey without outcomes
        pa.concat_tables([outcomes, outcomes.slice(0, 1)]),  # a journey with two rows
        outcomes.rename_columns(["journey_id", "overall", "group", "count"]),  # a clash
    ]
    for case in cases:
        expected = table.merge(case.to_pandas(), on="journey_id", how="left")
        pd.testing.assert_frame_equal(with_outcomes(table, ids, case), expected)


def test_the_rows_of_an_outcome_are_those_of_loc() -> None:
    """Only the columns read are copied, none when every row is kept."""
    import numpy as np
    import pandas as pd

    from peakend.models.recovery.analysis import _rows

    table = pd.DataFrame({"y": [1.0, 2.0, 3.0], "group": ["a", "b", "a"], "other": [0, 1, 2]})
    keep = np.array([True, False, True])
    pd.testing.assert_frame_equal(
        _rows(table, keep, ["y", "group", "y"]), table.loc[keep, ["y", "group"]]
    )
    assert _rows(table, np.ones(3, dtype=bool), ["y"]) is table


def test_masked_rows_are_the_arrays_rows_without_copies_when_all_are_in() -> None:
    """Every row in: the arrays themselves; otherwise each array's rows of the mask."""
    import numpy as np

    from peakend.models.recovery.analysis import _masked

    arrays = (np.arange(4.0), np.array(["a", "b", "c", "d"]), np.arange(8.0).reshape(4, 2))
    same = _masked(np.ones(4, dtype=bool), arrays)
    assert all(a is b for a, b in zip(same, arrays, strict=True))
    mask = np.array([True, False, False, True])
    for part, whole in zip(_masked(mask, arrays), arrays, strict=True):
        np.testing.assert_array_equal(part, whole[mask])
