"""The moments step's shortcuts give exactly what the long ways gave.

* the cross-validation's folds are fitted from the whole fit's matrix and
  distinct rows (:func:`fit_predict_rows`) instead of from the journeys;
* the model matrix is written row by row instead of stacked from columns;
* the simulated world's true fit takes its constant parts once (:func:`_truth`).

Every check is equality to the last bit, against the way it was done before.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
import pytest

from peakend.models.moments import holdout
from peakend.models.moments.design import HIGH, LOW, MIDDLE, MomentDesign
from peakend.models.moments.fit import (
    _band_columns,
    _distinct,
    _matrix,
    _part_rows,
    fit_predict,
    fit_predict_rows,
    full_fit,
)

KINDS = ("plain", "customers", "weighted", "controls")


def _design(kind: str, *, binary: bool = False, n: int = 2_000, seed: int = 3) -> MomentDesign:
    """Five touchpoints with planted effects; customers, weights or a control by ``kind``."""
    rng = np.random.default_rng(seed)
    bands = rng.choice(4, size=(n, 5), p=[0.4, 0.25, 0.25, 0.1]).astype(np.int8)
    effects = rng.normal(0, 1, size=(5, 4))
    effects[:, 0] = 0.0
    signal = effects[np.arange(5), bands].sum(axis=1)
    if binary:
        y = (rng.random(n) < 1 / (1 + np.exp(-signal))).astype(np.float64)
    else:
        y = np.clip(np.round(6 + signal + rng.normal(0, 1.5, n)), 1, 10)
    clusters = None
    if kind == "customers":
        clusters = np.unique(rng.integers(0, n // 3, n), return_inverse=True)[1].astype(np.int64)
    design = MomentDesign(
        touchpoints=tuple(f"t{i}" for i in range(5)),
        journey_ids=pa.array([str(i) for i in range(n)]),
        bands=bands,
        y=y,
        weights=rng.choice([0.5, 1.0, 2.0], n) if kind == "weighted" else np.ones(n),
        binary=binary,
        dropped_no_outcome=0,
        clusters=clusters,
    )
    if kind == "controls":
        control = np.round(rng.normal(size=(n, 1)), 1)
        design = dataclasses.replace(design, controls=control, control_names=("c",))
    return design


@pytest.mark.parametrize("binary", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_folds_fitted_from_the_whole_fit_are_the_folds_fitted_afresh(
    kind: str, binary: bool
) -> None:
    design = _design(kind, binary=binary)
    _assert_folds_as_afresh(design, holdout.fold_of_rows(design, 5, 0))


def _assert_folds_as_afresh(design: MomentDesign, fold: np.ndarray) -> None:
    """Each of the five folds' predictions from the whole fit are those fitted afresh."""
    whole = full_fit(design)
    for i in range(5):
        test, train = np.flatnonzero(fold == i), np.flatnonzero(fold != i)
        afresh = fit_predict(design.subset(train), design.subset(test), whole)
        np.testing.assert_array_equal(fit_predict_rows(design, train, test, whole), afresh)


@pytest.mark.parametrize("kind", KINDS)
def test_a_sample_s_distinct_rows_are_the_whole_s_restricted(kind: str) -> None:
    design = _design(kind)
    rows = np.sort(np.random.default_rng(0).choice(design.n, 700, replace=False))
    mine, afresh = _part_rows(_distinct(design), rows), _distinct(design.subset(rows))
    np.testing.assert_array_equal(mine.first, afresh.first)
    np.testing.assert_array_equal(mine.inverse, afresh.inverse)


@pytest.mark.parametrize("binary", [False, True])
def test_training_folds_without_a_band_or_the_middle_band_are_fitted_as_afresh(
    binary: bool,
) -> None:
    design = _design("plain", binary=binary)
    fold = holdout.fold_of_rows(design, 5, 0)
    bands = design.bands.copy()
    bands[(fold != 0) & (bands[:, 0] == HIGH), 0] = LOW  # t0's high band only in fold 0
    bands[(fold != 1) & (bands[:, 1] == MIDDLE), 1] = LOW  # t1's middle band only in fold 1
    _assert_folds_as_afresh(dataclasses.replace(design, bands=bands), fold)


@pytest.mark.parametrize("kind", KINDS)
def test_held_out_score_from_the_whole_fit_is_the_score_afresh(kind: str) -> None:
    design = _design(kind)  # a continuous outcome: the fit does not depend on its start
    fold = holdout.fold_of_rows(design, 5, 1)
    assert holdout.held_out_score(design, fold, full_fit(design)) == holdout.held_out_score(
        design, fold
    )


def _true_fit_afresh(world: holdout._World, coef: np.ndarray) -> np.ndarray:
    """The true fit as it was computed before, every part in every draw."""
    total = float(world.weight.sum())
    if world.binary:
        eta = coef @ world.x.T
        p = world.fitted
        loss = (holdout._softplus(eta) - p * eta) @ world.weight / total
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


@pytest.mark.parametrize("binary", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_true_fit_with_its_parts_taken_once_is_the_true_fit(kind: str, binary: bool) -> None:
    design = _design(kind, binary=binary)
    world = holdout._world(design, holdout.fold_of_rows(design, 5, 0))
    assert world is not None
    coef = np.random.default_rng(2).normal(0, 0.3, size=(4, world.x.shape[1]))
    for _ in range(2):  # the second time from the parts kept
        np.testing.assert_array_equal(holdout._true_fit(world, coef), _true_fit_afresh(world, coef))


def _matrix_afresh(design: MomentDesign) -> np.ndarray:
    """The model matrix as it was built: its dummies stacked as columns."""
    columns = [np.ones(design.n, dtype=np.float32)]
    columns += [
        (design.bands[:, t] == b).astype(np.float32) for t, b in _band_columns(design.bands)
    ]
    columns += [design.controls[:, j].astype(np.float32) for j in range(len(design.control_names))]
    return np.column_stack(columns)


@pytest.mark.parametrize("kind", KINDS)
def test_matrix_written_row_by_row_is_the_stacked_matrix(kind: str) -> None:
    design = _design(kind)
    bands = design.bands.copy()
    bands[:, 2] = np.where(bands[:, 2] == MIDDLE, LOW, bands[:, 2])  # no middle band at t2
    bands[:, 3] = np.where(bands[:, 3] == HIGH, LOW, bands[:, 3])  # no high band at t3
    for d in (design, dataclasses.replace(design, bands=bands)):
        matrix = _matrix(d)
        assert matrix.x.flags.c_contiguous
        np.testing.assert_array_equal(matrix.x, _matrix_afresh(d))
