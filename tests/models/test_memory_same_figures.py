"""The memory section's cheaper paths give the figures of the plain ones, to the last digit.

Each test computes a figure the way the memory analysis did before (fresh arrays, one
statistic at a time, a query, text arrays) and the way it does now, and asks for
equality, not closeness.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import peakend
from peakend import engine
from peakend.generate import GeneratorConfig, generate
from peakend.models.memory import MemoryResult, remembered_experience
from peakend.models.memory import fit as mf
from peakend.models.memory import whatif as wi
from peakend.models.memory.journeys import end_spoilers, type_memories
from peakend.models.memory.models import (
    MODELS,
    MemoryModel,
    candidate_matrices,
    compare_models,
    feature_matrix,
    fit_model,
    usable_features,
)
from peakend.stats.resampling import grouped_kfold_splits


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> peakend.Dataset:
    """3,000 generated journeys (customers with several journeys among them)."""
    cfg = dataclasses.replace(GeneratorConfig(), n_journeys=3_000, seed=21)
    return peakend.load(generate(tmp_path_factory.mktemp("same"), cfg).spec_path)


@pytest.fixture(scope="module")
def result(dataset: peakend.Dataset) -> MemoryResult:
    return remembered_experience(dataset, outcome="overall")


def _old_remembered(model: MemoryModel, eta: np.ndarray) -> np.ndarray:
    """``MemoryModel.remembered_from`` as it was: both sides divided, then chosen."""
    a, b_pos, b_neg = model._flat_line()
    pos = b_pos if b_pos > 0 else math.nan
    neg = b_neg if b_neg > 0 else math.nan
    return np.asarray(np.where(eta >= a, (eta - a) / pos, (eta - a) / neg))


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.array_equal(a, b, equal_nan=True))


def test_remembered_valence_in_place_is_the_chosen_side_division(result: MemoryResult) -> None:
    """Every model (the full one's two slopes among them), fresh, into a buffer, in place."""
    eta = np.random.default_rng(0).normal(0.0, 2.0, 5_000)
    eta[:3] = [np.nan, result.models["full"]._flat_line()[0], 0.0]
    for model in result.models.values():
        expected = _old_remembered(model, eta)
        assert _same(model.remembered_from(eta), expected)
        out = np.empty_like(eta)
        assert model.remembered_from(eta, out=out) is out
        assert _same(out, expected)
        inplace = eta.copy()
        model.remembered_from(inplace, out=inplace)
        assert _same(inplace, expected)
    assert result.models["full"]._flat_line()[1] != result.models["full"]._flat_line()[2]


def test_rows_into_buffers_and_taken_by_column_are_the_fresh_rows(result: MemoryResult) -> None:
    """Moved linear predictors and remembered valences written into a buffer, and rows
    taken from a matrix of more features, equal the fresh ones of :meth:`Rows.of`."""
    rng = np.random.default_rng(1)
    names = tuple(dict.fromkeys(f for m in result.models.values() for f in m.features))
    wide = np.asfortranarray(rng.uniform(-1, 1, (700, len(names))))
    by_row = np.ascontiguousarray(wide)
    for model in result.models.values():
        index = [names.index(f) for f in model.features]
        fresh = wi.Rows.of(model, np.ascontiguousarray(wide[:, index]))
        taken = wi.Rows.taken(model, by_row, wide, index)
        assert _same(taken.x, fresh.x) and _same(taken.eta, fresh.eta)
        assert _same(fresh.eta, model.fit.linear_predictor(fresh.x))
        for i in range(len(model.fit.coef)):
            moved = model.fit.coef.copy()
            moved[i] += 1e-5
            other = wi._with_coef(model, moved)
            plain = fresh.linear_predictor(other)
            out = np.empty(700)
            assert taken.linear_predictor(other, out) is out and _same(out, plain)
            assert _same(taken.remembered(other, out), _old_remembered(other, plain))
        if len(model.features) > 1:  # two weights moved: from every feature
            two = wi._with_coef(model, model.fit.coef + 0.01)
            out = np.empty(700)
            assert _same(fresh.linear_predictor(two, out), two.fit.linear_predictor(fresh.x))


def test_the_order_tests_change_into_buffers_is_the_fresh_one(result: MemoryResult) -> None:
    rng = np.random.default_rng(2)
    for model in result.models.values():
        k = len(model.features)
        x0 = wi.Rows.of(model, rng.uniform(-1, 1, (600, k)))
        x1 = wi.Rows.of(model, np.vstack([x0.x[:300], rng.uniform(-1, 1, (300, k))]))
        change = np.abs(model.remembered(x1.x) - model.remembered(x0.x))
        expected = np.where(change < 1e-9, 0.0, change)
        scratch = (np.empty(600), np.empty(600))
        assert _same(wi._abs_change(model, x0, x1), expected)
        assert _same(wi._abs_change(model, x0, x1, scratch), expected)


@pytest.mark.parametrize("values", [[1.0, np.nan, 3.0, np.inf], [0.5, 0.25], [np.nan], []])
def test_mean_of_the_finite_values(values: list[float]) -> None:
    v = np.asarray(values, dtype=np.float64)
    finite = v[np.isfinite(v)]
    expected = float(finite.mean()) if len(finite) else math.nan
    assert wi._nanmean(v) == expected or (math.isnan(expected) and math.isnan(wi._nanmean(v)))


def test_the_best_last_statistics_together_are_each_one_alone(result: MemoryResult) -> None:
    """Three statistics under each moved weight at once: the variances of one at a time."""
    rng = np.random.default_rng(3)
    for binary in (False, True):
        model = result.models["full"] if not binary else _binary(result.models["full"])
        k = len(model.features)
        a = wi.Rows.of(model, rng.uniform(-1, 1, (800, k)))
        b = wi.Rows.of(model, rng.uniform(-1, 1, (800, k)))

        def before(m: MemoryModel, a: wi.Rows = a) -> float:
            return wi._nanmean(a.remembered(m))

        def remembered(m: MemoryModel, a: wi.Rows = a, b: wi.Rows = b) -> float:
            return wi._nanmean(b.remembered(m) - a.remembered(m))

        def outcome(m: MemoryModel, a: wi.Rows = a, b: wi.Rows = b) -> float:
            return wi._nanmean(b.predict(m) - a.predict(m))

        alone = [wi.weight_variance(model, s) for s in (before, remembered, outcome)]
        together = wi.weight_variances(model, wi._BestLastStatistics(a, b), 3)
        assert together == alone
        assert all(math.isfinite(v) and v > 0 for v in together)


def _binary(model: MemoryModel) -> MemoryModel:
    return dataclasses.replace(model, binary=True, fit=dataclasses.replace(model.fit, binary=True))


def test_ordered_moments_from_memory_are_the_querys(dataset: peakend.Dataset) -> None:
    """The moments from the events in memory equal the query's, also with events stored
    out of time order, events without a time, and journeys not asked for."""
    events = dataset.events
    order = np.random.default_rng(4).permutation(events.num_rows)
    stamps = pc.if_else(
        pc.equal(pc.bit_wise_and(events["seq"], 7), 3),
        pa.scalar(None, events["ts"].type),
        events["ts"],
    )
    shuffled = events.set_column(events.schema.get_field_index("ts"), "ts", stamps)
    shuffled = shuffled.take(pa.array(order))
    for table in (events, shuffled):
        features = engine.journey_features(engine.events_table(engine.connect(), table))
        ids = (
            features.to_pyarrow()["journey_id"].combine_chunks().take(pa.array(range(0, 2_500, 2)))
        )
        durations = np.arange(len(ids), dtype=np.float64)
        query = wi.journey_sequences(engine.events_table(engine.connect(), table), ids, durations)
        loaded = wi.loaded_sequences(table, ids, durations)
        for name in ("group", "position", "valence", "duration_s"):
            assert _same(getattr(loaded, name), getattr(query, name)), name
        assert loaded.journey_ids.equals(query.journey_ids)


def test_candidate_matrices_and_shared_splits_change_no_figure(dataset: peakend.Dataset) -> None:
    """The matrices built once, the folds drawn once and each fold's rows taken from one
    design give the comparison and the fits of the matrices built per model."""
    features = engine.journey_features(engine.dataset_events(dataset)[1]).to_pyarrow()
    table = features.filter(pc.greater(features["n_scored"], 0))
    y = np.random.default_rng(5).normal(size=table.num_rows)
    matrices = candidate_matrices(table)
    for name in MODELS:
        used = usable_features(table, MODELS[name])
        assert matrices[name][0] == used
        assert _same(matrices[name][1], feature_matrix(table, used))
        given = fit_model(name, table, y, binary=False, matrix=matrices[name])
        built = fit_model(name, table, y, binary=False)
        assert given.features == built.features and given.centre == built.centre
        assert _same(given.fit.coef, built.fit.coef) and _same(given.fit.cov, built.fit.cov)
    x = matrices["full"][1]
    splits = list(grouped_kfold_splits(None, len(y), 5, 0))
    for binary, target in ((False, y), (True, (y > 0).astype(np.float64))):
        old = np.empty(len(y))
        start = mf.fit(x, target, binary=True, covariance=False).coef if binary else None
        for train, test in grouped_kfold_splits(None, len(y), 5, 0):
            fold = mf.fit(x[train], target[train], binary=binary, start=start, covariance=False)
            old[test] = mf.predict(fold, x[test])
        new = mf.out_of_sample(x, target, binary=binary, folds=5, seed=0, splits=splits)
        assert _same(new, old)
        assert _same(mf.out_of_sample(x, target, binary=binary, folds=5, seed=0), old)
    given = compare_models(table, y, binary=False, matrices=matrices).to_dict()
    assert _json(given) == _json(compare_models(table, y, binary=False).to_dict())


def _old_types(journeys: pa.Table) -> list[tuple[str, int, int, int]]:
    labels = journeys["journey_type"].to_numpy(zero_copy_only=False).astype(str)
    verdict = journeys["verdict"].to_numpy(zero_copy_only=False).astype(str)
    out = []
    for label in ["all"] + sorted(set(labels.tolist()) - {"all"}):
        m = np.ones(len(labels), bool) if label == "all" else labels == label
        spoiled = int((verdict[m] == "spoiled_by_end").sum())
        out.append(
            (label, int(m.sum()), spoiled, int(np.char.startswith(verdict[m], "saved").sum()))
        )
    return out


def _old_spoilers(journeys: pa.Table, good: float) -> list[tuple[str, int, int, float]]:
    good_rows = journeys.filter(pc.greater_equal(journeys["experienced"], good))
    ends = good_rows["end_touchpoint"].to_numpy(zero_copy_only=False).astype(str)
    spoiled = good_rows["verdict"].to_numpy(zero_copy_only=False).astype(str) == "spoiled_by_end"
    gap = good_rows["gap"].to_numpy()
    found = []
    for tp in sorted(set(ends.tolist())):
        m = ends == tp
        found.append((tp, int(m.sum()), int(spoiled[m].sum()), float(gap[m].mean())))
    return sorted(found, key=lambda s: (-s[2], s[0]))


def test_types_and_spoilers_by_codes_are_those_by_text(result: MemoryResult) -> None:
    """Labels and end touchpoints as codes count and average what text arrays did, also
    with a missing end touchpoint (read ``"None"``, as before)."""
    journeys = result.journeys
    ends = journeys["end_touchpoint"]
    hole = pc.if_else(
        pc.equal(pc.cast(journeys["n_moments"], pa.int64()), 2), pa.scalar(None, pa.string()), ends
    )
    for table in (
        journeys,
        journeys.set_column(
            journeys.schema.get_field_index("end_touchpoint"), "end_touchpoint", hole
        ),
    ):
        types = type_memories(table)
        found = [
            (
                t.journey_type,
                t.experienced.n,
                round(t.spoiled_share.value * t.experienced.n),
                round(t.saved_share.value * t.experienced.n),
            )
            for t in types
        ]
        assert found == _old_types(table)
        spoilers = [
            (s.touchpoint, s.n_good, s.n_spoiled, s.mean_gap.value)
            for s in end_spoilers(table, 0.25)
        ]
        assert spoilers == _old_spoilers(table, 0.25)
    assert any(s.touchpoint == "None" for s in end_spoilers(table, 0.25))


def test_outcomes_looked_up_in_order_are_the_joined_rows(dataset: peakend.Dataset) -> None:
    """Outcomes in the features' order (the lookup without a hash table and no sort),
    and features out of order, give the joined table."""
    from peakend.models.memory.analysis import _ascending, _joined, _positions, _with_outcome

    features = engine.journey_features(engine.dataset_events(dataset)[1]).to_pyarrow()
    outcomes = dataset.outcomes.sort_by("journey_id")
    shuffled = features.take(pa.array(np.random.default_rng(6).permutation(features.num_rows)))
    for table in (features, shuffled):
        for journey_type in ("segment", None):
            found = _with_outcome(table, outcomes, "overall", journey_type)
            assert found.equals(_joined(table, outcomes, "overall", journey_type))
    ids = outcomes["journey_id"].cast(pa.large_string()).combine_chunks()
    assert _ascending(ids, strictly=True) and not _ascending(ids[::-1])
    assert not _ascending(pa.concat_arrays([ids[:2], ids[1:2]]), strictly=True)
    assert _ascending(pa.concat_arrays([ids[:2], ids[1:2]]))  # a repeat: ascending still
    assert not _ascending(ids.take(pa.array([0, 2, 1])))
    assert not _ascending(pa.array(["a", None, "b"]))
    assert _positions(ids, ids).equals(pc.index_in(ids, value_set=ids))
    other = ids[::-1]
    assert _positions(other, ids).equals(pc.index_in(other, value_set=ids))


def test_a_section_run_is_the_same_with_the_moments_from_a_query(
    dataset: peakend.Dataset, result: MemoryResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end: the result does not depend on whether the moments came from memory."""
    from peakend.models.memory import analysis

    def by_query(_: peakend.Dataset, events: object, table: pa.Table) -> wi.Sequences:
        ids, durations = table["journey_id"].combine_chunks(), table["duration_s"].to_numpy()
        return wi.journey_sequences(events, ids, durations)  # type: ignore[arg-type]

    monkeypatch.setattr(analysis, "_sequences", by_query)
    assert _json(remembered_experience(dataset, outcome="overall").to_dict()) == _json(
        result.to_dict()
    )


def _json(value: dict[str, object]) -> str:
    import json

    return json.dumps(value, sort_keys=True, default=str)


def test_the_timed_share_by_runs_is_the_grouped_one(dataset: peakend.Dataset) -> None:
    """Journey after journey (in chunks that split journeys, with missing times, without
    times, without scores, one moment each) the runs give the grouped share; events in
    another order fall back to grouping."""
    from peakend.models.memory.verdict import _grouped_share, _share_by_runs

    events = dataset.events.select(["journey_id", "score", "ts"])
    chunked = pa.Table.from_batches(events.to_batches(max_chunksize=997))
    assert chunked["journey_id"].num_chunks > 1
    stamps = events["ts"]
    no_time = pa.nulls(events.num_rows, stamps.type)
    some = pc.if_else(pc.greater(events["score"], 3), pa.scalar(None, stamps.type), stamps)
    first = pc.equal(events["journey_id"], events["journey_id"][0])
    no_score = pa.nulls(events.num_rows, events["score"].type)
    cases = [
        chunked,
        events.set_column(2, "ts", some),
        events.set_column(2, "ts", no_time),
        events.set_column(1, "score", no_score),
        events.filter(first),
        events.slice(0, 1),
    ]
    for table in cases:
        assert _share_by_runs(table) is not None
        assert _same(np.array(_share_by_runs(table)), np.array(_grouped_share(table)))
    one_each = events.filter(pc.invert(_repeats(events["journey_id"])))
    assert math.isnan(_share_by_runs(one_each) or 0.0) == math.isnan(_grouped_share(one_each))
    order = np.random.default_rng(7).permutation(events.num_rows)
    assert _share_by_runs(events.take(pa.array(order))) is None
    assert _share_by_runs(events.slice(0, 0)) is None


def _repeats(ids: pa.ChunkedArray) -> pa.Array:
    """Whether each event's journey id equals the one before (all but a journey's first)."""
    flat = ids.combine_chunks()
    return pa.concat_arrays([pa.array([False]), pc.equal(flat[1:], flat[:-1])])
