"""Peak-end memory models: recovery of planted weights, model choice, order effects, API.

Synthetic journeys come from :mod:`peakend.generate` with the touchpoint
penalties, rewards and service failures switched off, so that ``overall`` is
exactly ``intercept + w_peak*peak + w_end*end + w_mean*mean + w_trough*trough +
noise`` on the valence scale — the scale of peakend's features — and the fitted
weights can be compared with the planted ones directly.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

import peakend
from peakend import engine
from peakend.cli import app, main
from peakend.cli.common import clean_json
from peakend.errors import ConfigError, DataError, ModelError
from peakend.generate import GeneratorConfig, generate
from peakend.models.memory import MemoryResult, remembered_experience
from peakend.models.memory import fit as mf
from peakend.models.memory import whatif as wi
from peakend.models.memory.models import compare_models
from peakend.stats.resampling import wilson
from peakend.views import chart_rows
from peakend.views.memory import journey_curve, journey_types, model_comparison

TRUTH = {"peak": 0.9, "end": 1.1, "mean": 0.6}


def _dataset(tmp: Path, n: int, seed: int, **weights: float) -> peakend.Dataset:
    base = GeneratorConfig()
    quiet = tuple(
        dataclasses.replace(t, penalty=0.0, reward=0.0, failure_rate=0.0) for t in base.touchpoints
    )
    cfg = dataclasses.replace(
        base, n_journeys=n, seed=seed, touchpoints=quiet, w_trough=0.0, **weights
    )
    return peakend.load(generate(tmp, cfg).spec_path)


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> peakend.Dataset:
    """10,000 journeys remembered by peak, end and mean."""
    w = {"w_peak": TRUTH["peak"], "w_end": TRUTH["end"], "w_mean": TRUTH["mean"]}
    return _dataset(tmp_path_factory.mktemp("planted"), 10_000, 11, **w)


@pytest.fixture(scope="module")
def planted_result(planted: peakend.Dataset) -> MemoryResult:
    return remembered_experience(planted, outcome="overall")


@pytest.fixture(scope="module")
def peak_end_result(tmp_path_factory: pytest.TempPathFactory) -> MemoryResult:
    ds = _dataset(tmp_path_factory.mktemp("pe"), 4_000, 12, w_peak=1.0, w_end=1.2, w_mean=0.0)
    return remembered_experience(ds, outcome="overall")


@pytest.fixture(scope="module")
def mean_result(tmp_path_factory: pytest.TempPathFactory) -> MemoryResult:
    ds = _dataset(tmp_path_factory.mktemp("mean"), 4_000, 13, w_peak=0.0, w_end=0.0, w_mean=1.5)
    return remembered_experience(ds, outcome="overall")


# -- validation against the planted truth ----------------------------------------


def test_planted_weights_are_recovered_within_005(planted_result: MemoryResult) -> None:
    model = planted_result.models["peak_end_mean"]
    for feature, truth in TRUTH.items():
        assert model.weight(feature) == pytest.approx(truth, abs=0.05), feature
    assert model.weight("trough") == pytest.approx(0.0, abs=0.05)


def test_weight_intervals_cover_the_truth(planted_result: MemoryResult) -> None:
    weights = {w.feature: w.estimate for w in planted_result.models["peak_end_mean"].weights}
    for feature, truth in TRUTH.items():
        assert weights[feature].low <= truth <= weights[feature].high, feature


def test_comparison_picks_the_planted_model(
    planted_result: MemoryResult, peak_end_result: MemoryResult, mean_result: MemoryResult
) -> None:
    assert planted_result.comparison.chosen == "peak_end_mean"
    assert peak_end_result.comparison.chosen == "peak_end"
    assert mean_result.comparison.chosen == "mean"


def test_peak_end_beats_the_mean_out_of_sample_when_true(peak_end_result: MemoryResult) -> None:
    score = peak_end_result.comparison.score_of("peak_end")
    assert score.metric == "rmse"
    assert score.versus_baseline.high < 0  # lower error than the mean, paired interval
    assert score.score.low < score.score.value < score.score.high


def test_order_matters_under_peak_end_not_under_the_mean(peak_end_result: MemoryResult) -> None:
    effects = {o.model: o for o in peak_end_result.order_effects}
    assert effects["mean"].mean_abs_change.value == 0.0
    assert effects["mean"].share_changed == 0.0
    assert effects["peak_end"].mean_abs_change.low > 0.05


def test_best_moment_last_helps_under_peak_end_only(
    peak_end_result: MemoryResult, mean_result: MemoryResult
) -> None:
    pe = {b.journey_type: b for b in peak_end_result.best_last}
    assert pe["all"].remembered_change.low > 0
    assert pe["all"].outcome_change.low > 0
    assert {"consumer", "business"} <= set(pe)
    mean = {b.journey_type: b for b in mean_result.best_last}
    assert mean["all"].remembered_change.value == pytest.approx(0.0, abs=1e-12)


def test_remembered_equals_experienced_under_the_mean(mean_result: MemoryResult) -> None:
    gap = mean_result.journeys["gap"].to_numpy()
    assert np.allclose(gap, 0.0, atol=1e-9)
    assert set(mean_result.journeys["verdict"].to_pylist()) == {""}


def test_spoiled_journeys_are_good_on_average_but_end_badly(planted_result: MemoryResult) -> None:
    spoiled = planted_result.examples("spoiled_by_end", 1000)
    assert spoiled.num_rows > 0
    assert min(spoiled["experienced"].to_pylist()) >= 0.25
    assert max(spoiled["gap"].to_pylist()) <= -0.25
    ends, means = spoiled["end_valence"].to_numpy(), spoiled["experienced"].to_numpy()
    assert np.all(ends < means)
    total = sum(s.n_spoiled for s in planted_result.spoilers)
    assert total == spoiled.num_rows
    top = planted_result.spoilers[0]
    assert top.spoiled_share.low <= top.spoiled_share.value <= top.spoiled_share.high


def test_summary_is_plain_language_with_intervals(planted_result: MemoryResult) -> None:
    text = planted_result.summary
    assert "peak_end_mean" in text and "RMSE" in text
    assert "counts" in text and "as much as an average moment [" in text
    assert "Peak and end alone score" in text and "better than the average alone" in text


# -- statistics against reference implementations --------------------------------


def test_ols_and_robust_intervals_match_statsmodels() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 3))
    y = 1.0 + x @ np.array([0.5, -0.2, 0.0]) + rng.standard_t(4, size=500)
    fit = mf.fit(x, y, binary=False)
    # sm.OLS(y, sm.add_constant(x)).fit(cov_type="HC1")
    ref = sm.OLS(y, sm.add_constant(x)).fit(cov_type="HC1")
    np.testing.assert_allclose(fit.coef, ref.params, rtol=1e-10)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.cov)), ref.bse, rtol=1e-8)


def test_logistic_matches_statsmodels() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(800, 2))
    p = 1.0 / (1.0 + np.exp(-(0.3 + x @ np.array([1.0, -0.5]))))
    y = (rng.random(800) < p).astype(float)
    fit = mf.fit(x, y, binary=True)
    # sm.Logit(y, sm.add_constant(x)).fit(cov_type="HC0"); ours adds the n/(n-p) factor
    ref = sm.Logit(y, sm.add_constant(x)).fit(disp=0, cov_type="HC0")
    # the weak ridge (0.1) moves weights of 800 rows by well under 1 %
    np.testing.assert_allclose(fit.coef, ref.params, rtol=5e-3)
    np.testing.assert_allclose(np.diag(fit.cov) * (797 / 800), ref.bse**2, rtol=2e-2)


def test_auc_and_delong_interval() -> None:
    rng = np.random.default_rng(3)
    y = (rng.random(400) < 0.4).astype(float)
    pred = np.round(y + rng.normal(size=400), 1)  # rounding makes ties
    s = mf.score(y, pred, binary=True)
    assert s.value == pytest.approx(roc_auc_score(y, pred), abs=1e-12)
    ci = mf.interval(s)
    assert ci.low < s.value < ci.high and ci.high - ci.low < 0.2
    same = mf.difference(s, s)
    assert same.value == 0.0 and same.high - same.low == pytest.approx(0.0, abs=1e-12)


def test_wilson_interval_of_zero_successes() -> None:
    share = wilson(0, 50)
    assert share.value == 0.0 and share.low == 0.0 and 0.05 < share.high < 0.08


# -- order and what-if --------------------------------------------------------------


def test_sequence_features_match_the_engine(planted: peakend.Dataset) -> None:
    events = engine.events_table(engine.connect(), planted.events)
    feats = engine.journey_features(events).to_pyarrow().sort_by("journey_id")
    feats = feats.filter(feats["n_scored"].to_numpy() > 0)
    seqs = wi.journey_sequences(events, feats["journey_id"].combine_chunks())
    ours = wi.sequence_features(seqs)
    for col in ("mean_valence", "peak_valence", "trough_valence", "end_valence", "trend"):
        np.testing.assert_allclose(
            ours[col].to_numpy(), feats[col].to_numpy(zero_copy_only=False), atol=1e-9
        )


def test_what_if_best_moment_last(peak_end_result: MemoryResult) -> None:
    model = peak_end_result.model
    change = wi.what_if(model, [1.0, -0.5, 0.0], move=(0, -1))
    assert change.valences_after == (-0.5, 0.0, 1.0)
    assert change.remembered_after > change.remembered_before
    assert change.outcome_after > change.outcome_before
    mean_model = peak_end_result.models["mean"]
    same = wi.what_if(mean_model, [1.0, -0.5, 0.0], move=(0, -1))
    assert same.remembered_change == pytest.approx(0.0, abs=1e-12)
    lower = wi.what_if(model, [0.5, 0.5, 0.5], set_moment=(-1, -1.0))
    assert lower.remembered_after < lower.remembered_before == pytest.approx(0.5)


def test_what_if_intervals_carry_the_weights_uncertainty(peak_end_result: MemoryResult) -> None:
    model = peak_end_result.model
    change = wi.what_if(model, [1.0, -0.5, 0.0], move=(0, -1))
    ci = change.remembered_change_interval
    assert ci.low < change.remembered_change < ci.high
    assert ci.value == pytest.approx(change.remembered_change)
    # the delta method against the spread of the change over weights drawn from their
    # sampling distribution (it is a smooth function of the weights)
    rng = np.random.default_rng(3)
    draws = rng.multivariate_normal(model.fit.coef, model.fit.cov, size=4000)
    x_moved = []
    for coef in draws:
        m = dataclasses.replace(model, fit=dataclasses.replace(model.fit, coef=coef))
        x_moved.append(wi.what_if(m, [1.0, -0.5, 0.0], move=(0, -1)).remembered_change)
    delta_sd = (ci.high - ci.low) / (2 * 1.959964)
    assert float(np.std(x_moved)) == pytest.approx(delta_sd, rel=0.1)
    # four times the covariance: twice the half-width
    wider = dataclasses.replace(model, fit=dataclasses.replace(model.fit, cov=4 * model.fit.cov))
    wide = wi.what_if(wider, [1.0, -0.5, 0.0], move=(0, -1)).remembered_change_interval
    assert wide.high - wide.low == pytest.approx(2 * (ci.high - ci.low), rel=1e-3)
    # under the mean-only model re-ordering changes nothing, whatever the weights
    mean_model = peak_end_result.models["mean"]
    same = wi.what_if(mean_model, [1.0, -0.5, 0.0], move=(0, -1)).remembered_change_interval
    assert same.low == pytest.approx(0.0, abs=1e-9) and same.high == pytest.approx(0.0, abs=1e-9)


def test_order_and_best_last_intervals_include_the_weights(peak_end_result: MemoryResult) -> None:
    effects = {e.model: e.mean_abs_change for e in peak_end_result.order_effects}
    best = next(b for b in peak_end_result.best_last if b.journey_type == "all")
    for interval in (effects["peak_end"], best.remembered_change, best.outcome_change):
        assert interval.low < interval.value < interval.high
    # the mean-only model does not see order: no change and no uncertainty about it
    assert effects["mean"].value == 0.0 and effects["mean"].high - effects["mean"].low == 0.0
    # with the weights' covariance at zero only the spread over journeys is left: narrower
    model = peak_end_result.model
    certain = dataclasses.replace(
        model, fit=dataclasses.replace(model.fit, cov=np.zeros_like(model.fit.cov))
    )
    end = 1 + model.features.index("end")
    assert wi.weight_variance(certain, lambda m: m.weight("end")) == 0.0
    # a statistic that is one weight: its variance is that weight's variance
    assert wi.weight_variance(model, lambda m: m.weight("end")) == pytest.approx(
        float(model.fit.cov[end, end]), rel=1e-6
    )


def test_what_if_rejects_bad_input(peak_end_result: MemoryResult) -> None:
    model = peak_end_result.model
    with pytest.raises(ConfigError, match="valences must lie"):
        wi.what_if(model, [3.0, 4.0])
    with pytest.raises(ConfigError, match="outside"):
        wi.what_if(model, [0.5, 0.0], move=(5, 0))
    with pytest.raises(ConfigError, match="non-empty"):
        wi.what_if(model, [])


@pytest.mark.parametrize("value", [-1.0, -0.5, 0.0, 0.5, 1.0])
def test_a_flat_journey_is_remembered_as_it_was(planted_result: MemoryResult, value: float) -> None:
    # the full model's flat journey also has the average length and duration
    for name, model in planted_result.models.items():
        if name == "full":
            continue
        result = wi.what_if(model, [value] * 4)
        assert result.remembered_before == pytest.approx(value, abs=1e-6), model.name


# -- API, errors, outputs -----------------------------------------------------------


def test_binary_outcome_is_compared_by_auc(planted: peakend.Dataset) -> None:
    result = remembered_experience(planted, outcome="satisfied", journey_type="segment")
    assert result.binary and result.comparison.metric == "auc"
    best = result.comparison.score_of(result.comparison.chosen)
    assert 0.5 < best.score.low < best.score.value < best.score.high <= 1.0
    assert result.comparison.chosen != "mean"
    predicted = result.journeys["predicted_outcome"].to_numpy()
    assert predicted.min() >= 0.0 and predicted.max() <= 1.0


def test_to_dict_is_json_ready_with_intervals(planted_result: MemoryResult) -> None:
    data = json.loads(json.dumps(clean_json(planted_result.to_dict())))
    assert data["comparison"]["chosen"] == "peak_end_mean"
    assert {"value", "low", "high", "n"} <= set(data["chosen_model"]["weights"][1])
    assert data["journey_types"][0]["journey_type"] == "all"
    assert data["spoiled_by_end"] and "journeys" not in data
    every = planted_result.to_dict(include_journeys=True)["journeys"]
    assert isinstance(every, list) and len(every) == planted_result.n_journeys


def test_errors_say_what_to_fix(planted: peakend.Dataset) -> None:
    with pytest.raises(ConfigError, match="unknown outcome 'nps'"):
        remembered_experience(planted, outcome="nps")
    with pytest.raises(ConfigError, match="journey type attribute 'region'"):
        remembered_experience(planted, journey_type="region")
    with pytest.raises(ConfigError, match="journey type attribute 'overall'"):
        remembered_experience(planted, journey_type="overall")  # an outcome, not an attribute
    with pytest.raises(ConfigError, match="margin"):
        remembered_experience(planted, margin=0.0)
    no_outcome = dataclasses.replace(planted, spec=dataclasses.replace(planted.spec, outcomes=()))
    with pytest.raises(ConfigError, match="declares no outcome"):
        remembered_experience(no_outcome)
    tiny = dataclasses.replace(planted, outcomes=planted.outcomes.slice(0, 5))
    with pytest.raises(DataError, match="need at least 10"):
        remembered_experience(tiny, outcome="overall")


def test_figures(planted: peakend.Dataset, planted_result: MemoryResult) -> None:
    types = [r for r in chart_rows(journey_types(planted_result)) if "series" in r]
    assert len(types) == 2 * len(planted_result.types)
    marks = {r["mark"] for r in chart_rows(journey_curve(planted_result, planted)) if "mark" in r}
    assert {"peak", "end"} <= marks or "peak and end" in marks
    assert len([r for r in chart_rows(model_comparison(planted_result)) if "model" in r]) == 6
    with pytest.raises(ConfigError, match="not among the analysed"):
        journey_curve(planted_result, planted, "nobody")


def test_cli_memory_json(tmp_path: Path) -> None:
    base = dataclasses.replace(GeneratorConfig(), n_journeys=600, seed=5)
    spec = generate(tmp_path / "d", base).spec_path
    result = CliRunner().invoke(app, ["memory", str(spec), "--outcome", "overall", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["outcome"] == "overall" and data["comparison"]["metric"] == "rmse"
    table = CliRunner().invoke(app, ["memory", str(spec), "--folds", "3"])
    assert table.exit_code == 0, table.output
    assert "Memory models, out of sample (3-fold)" in table.stdout


def test_one_moment_per_journey_drops_coinciding_features(planted: peakend.Dataset) -> None:
    events = planted.events
    first = pc.equal(events["touchpoint"], "subscription_started")
    one = dataclasses.replace(planted, events=events.filter(first))
    result = remembered_experience(one, outcome="overall")
    # peak, end, worst and mean are the same number: only one of them can stay
    assert result.comparison.score_of("peak_end").features == ("peak",)
    # the split peak is not linear in the mean, so its positive half stays
    assert result.comparison.score_of("full").features == ("mean", "peak_positive")
    assert result.comparison.chosen in ("mean", "end")
    effects = {o.model: o for o in result.order_effects}
    assert effects["peak_end"].mean_abs_change.n == 0  # no journey has two moments


def test_cli_reports_a_bad_outcome_with_exit_code_2(
    planted: peakend.Dataset, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = planted.spec.spec_path
    assert spec is not None
    monkeypatch.setattr(sys, "argv", ["peakend", "memory", str(spec), "--outcome", "nps"])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    assert "unknown outcome 'nps'" in capsys.readouterr().err


@settings(max_examples=40, deadline=None)
@given(
    valences=st.lists(st.sampled_from([-1.0, -0.5, 0.0, 0.5, 1.0]), min_size=2, max_size=8),
    data=st.data(),
)
def test_moving_a_moment_never_changes_the_mean_memory(
    planted_result: MemoryResult, valences: list[float], data: st.DataObject
) -> None:
    src = data.draw(st.integers(0, len(valences) - 1))
    dst = data.draw(st.integers(0, len(valences) - 1))
    mean_model = planted_result.models["mean"]
    assert wi.what_if(mean_model, valences, move=(src, dst)).remembered_change == pytest.approx(
        0.0, abs=1e-12
    )
    # under peak-end a better last moment is never remembered worse
    pe = planted_result.models["peak_end"]
    worse_end = wi.what_if(pe, valences, set_moment=(-1, -1.0))
    assert worse_end.remembered_after <= worse_end.remembered_before + 1e-12


def test_one_class_outcome_and_no_segments(planted: peakend.Dataset) -> None:
    outcomes = planted.outcomes
    ones = pa.array(np.ones(outcomes.num_rows))
    same = outcomes.set_column(outcomes.schema.get_field_index("satisfied"), "satisfied", ones)
    with pytest.raises(ModelError, match="only one class"):
        remembered_experience(dataclasses.replace(planted, outcomes=same), outcome="satisfied")
    plain = dataclasses.replace(planted, spec=dataclasses.replace(planted.spec, segments=()))
    result = remembered_experience(plain, outcome="overall", folds=3)
    assert result.journey_type is None
    assert [t.journey_type for t in result.types] == ["all"]
    assert [b.journey_type for b in result.best_last] == ["all"]


def test_a_loss_within_the_tolerance_keeps_the_simpler_model(planted: peakend.Dataset) -> None:
    features = engine.journey_features(engine.events_table(engine.connect(), planted.events))
    table = features.to_pyarrow().sort_by("journey_id").slice(0, 3000)
    table = table.filter(pc.greater(table["n_scored"], 0))
    ids, overall = planted.outcomes["journey_id"], planted.outcomes["overall"]
    y_by_id = dict(zip(ids.to_pylist(), overall.to_pylist(), strict=True))
    y = np.array([y_by_id[j] for j in table["journey_id"].to_pylist()])
    strict = compare_models(table, y, binary=False, folds=3)
    assert strict.chosen == "peak_end_mean"
    assert strict.tolerance == pytest.approx(0.005 * strict.score_of(strict.best).score.value)
    lenient = compare_models(table, y, binary=False, folds=3, tolerance=10.0)
    assert lenient.chosen == "mean" and lenient.best == strict.best


# -- the report's sentence ---------------------------------------------------------


def test_report_sentence_follows_the_evidence(
    peak_end_result: MemoryResult, mean_result: MemoryResult, planted_result: MemoryResult
) -> None:
    from peakend.report.memory import summary_sentence
    from peakend.stats.resampling import Interval

    assert summary_sentence(mean_result, "en").startswith("Customers remember their journey")
    assert summary_sentence(planted_result, "en").startswith("Customers remember the end: it")
    assert summary_sentence(peak_end_result, "en").startswith(
        "Customers remember the peak and the end, not the average"
    )
    # Peak-end predicting significantly worse than the average: the whole journey counts.
    comparison = peak_end_result.comparison
    worse = tuple(
        dataclasses.replace(s, versus_baseline=Interval(0.05, 0.04, 0.06, s.score.n))
        if s.name == "peak_end"
        else s
        for s in comparison.scores
    )
    judged = dataclasses.replace(
        peak_end_result,
        comparison=dataclasses.replace(comparison, scores=worse, chosen="full"),
    )
    assert comparison.metric == "rmse"
    assert summary_sentence(judged, "nl").startswith("Klanten beoordelen hier de hele reis")


def test_shuffling_by_one_sort_is_the_two_key_sort() -> None:
    """The journeys' shuffled order equals ``lexsort((key, group))``, also when keys tie."""
    from peakend.models.memory.whatif import _by_group_then_key

    rng = np.random.default_rng(3)
    group = np.sort(rng.integers(0, 400, 3_000))
    key = rng.random(3_000)
    assert np.array_equal(_by_group_then_key(group, key), np.lexsort((key, group)))
    tied = np.round(key, 1)  # ties within journeys: the two-key sort keeps their place
    assert np.array_equal(_by_group_then_key(group, tied), np.lexsort((tied, group)))


def test_journeys_with_their_outcome_by_id_are_the_joined_rows(planted: peakend.Dataset) -> None:
    """Outcomes looked up by journey id give the table a join gives, row for row; outcomes
    that list a journey twice are joined."""
    from peakend.models.memory.analysis import _joined, _with_outcome

    features = engine.journey_features(engine.dataset_events(planted)[1]).to_pyarrow()
    outcomes = planted.outcomes
    # a journey without a value of the outcome, and journeys in another order
    order = np.random.default_rng(0).permutation(outcomes.num_rows)
    outcomes = outcomes.take(pa.array(order))
    scored = features.filter(pc.greater(features["n_scored"], 0))
    missing = pc.equal(outcomes["journey_id"], scored["journey_id"][0].as_py())
    outcomes = outcomes.set_column(
        outcomes.schema.get_field_index("overall"),
        "overall",
        pc.if_else(missing, pa.scalar(None, pa.float64()), pc.cast(outcomes["overall"], "float64")),
    )
    for journey_type in ("segment", None):
        found = _with_outcome(features, outcomes, "overall", journey_type)
        assert found.equals(_joined(features, outcomes, "overall", journey_type))
        assert found.num_rows == scored.num_rows - 1
        assert found["journey_id"].to_pylist() == sorted(found["journey_id"].to_pylist())
    twice = pa.concat_tables([outcomes, outcomes.slice(0, 3)])
    doubled = _with_outcome(features, twice, "overall", "segment")
    assert doubled.num_rows > found.num_rows
    assert doubled.equals(_joined(features, twice, "overall", "segment"))


def test_delta_method_rows_move_one_column_per_weight(planted_result: MemoryResult) -> None:
    """The linear predictor of rows under weights with one of them moved is the one the
    model computes from every feature (to rounding), the fitted and the intercept exactly."""
    model = planted_result.model
    x = np.random.default_rng(1).uniform(-1, 1, (500, len(model.features)))
    rows = wi.Rows.of(model, x)
    assert np.array_equal(rows.linear_predictor(model), model.fit.linear_predictor(x))
    for i in range(len(model.fit.coef)):
        moved = model.fit.coef.copy()
        moved[i] += 0.01 * (i + 1)
        other = dataclasses.replace(model, fit=dataclasses.replace(model.fit, coef=moved))
        expected = other.fit.linear_predictor(x)
        found = rows.linear_predictor(other)
        if i == 0:
            assert np.array_equal(found, expected)
        np.testing.assert_allclose(found, expected, rtol=0, atol=1e-13)
        np.testing.assert_allclose(rows.remembered(other), other.remembered(x), atol=1e-12)
        np.testing.assert_allclose(rows.predict(other), other.predict(x), atol=1e-12)
    two = model.fit.coef + 0.01  # more than one weight moved: computed from every feature
    other = dataclasses.replace(model, fit=dataclasses.replace(model.fit, coef=two))
    assert np.array_equal(rows.linear_predictor(other), other.fit.linear_predictor(x))


def test_the_timed_share_of_an_events_table_is_counted_once(planted: peakend.Dataset) -> None:
    """The moments and the memory verdict ask for the same events' timed share: the
    second asks the kept figure, which goes with the table."""
    import gc

    from peakend.models.memory import verdict

    events = planted.events.slice(0, 5_000)
    first = verdict.timed_share(events)
    assert verdict._SHARES[id(events)] == first == verdict._timed_share(events)
    assert verdict.timed_share(events) == first
    key = id(events)
    del events
    gc.collect()
    assert key not in verdict._SHARES
