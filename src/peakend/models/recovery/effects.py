"""Recovered versus never failed versus not recovered, on one outcome, adjusted and clustered.

Each failure group's effect is its average effect on the treated against the
journeys without a failure (:func:`peakend.stats.att.imputation_att`), adjusted for
the declared confounders; the recovered − not recovered contrast is the difference
of the two, with the covariance of both. The verdict follows the one rule of every
peakend verdict: it is stated only when its interval supports it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from peakend.models.columns import all_numbers, as_text
from peakend.models.recovery.data import NONE, RECOVERED, UNRECOVERED
from peakend.stats.att import Effect, clustered_cov, effect, imputation_att

F64 = NDArray[np.float64]

PARADOX = "paradox holds"
RESTORES = "recovery restores part of the loss"
NO_EVIDENCE = "no evidence at this sample size"


@dataclass(frozen=True)
class Contrasts:
    """The three comparisons on one outcome, in the outcome's own units."""

    recovered_vs_none: Effect
    unrecovered_vs_none: Effect
    recovered_vs_unrecovered: Effect
    outside_overlap: int

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "recovered_vs_none": self.recovered_vs_none.to_dict(),
            "unrecovered_vs_none": self.unrecovered_vs_none.to_dict(),
            "recovered_vs_unrecovered": self.recovered_vs_unrecovered.to_dict(),
            "outside_overlap": self.outside_overlap,
        }


def design(frame: pd.DataFrame, confounders: list[str]) -> tuple[F64, NDArray[np.int64]]:
    """Intercept, the joint cells of categorical confounders (saturated), numeric ones.

    Returns the design and each row's cell code (0 when there are no categorical
    confounders).
    """
    numeric, categorical = [], []
    for name in confounders:
        values = all_numbers(frame[name])
        if values is not None and frame[name].nunique() > 2:
            numeric.append(values.to_numpy(dtype=float))
        else:
            categorical.append(as_text(frame[name]))
    if categorical:
        cell = _joint_cells(categorical)
    else:
        cell = np.zeros(len(frame), dtype=np.int64)
    n_cells = int(cell.max()) + 1 if cell.size else 1
    # written into one matrix: the cells and the numeric columns stacked afterwards were
    # two more copies of it, fresh memory the size of the design on a million journeys
    x = np.zeros((len(frame), n_cells + len(numeric)))
    x[np.arange(len(frame)), cell] = 1.0
    for j, column in enumerate(numeric):
        x[:, n_cells + j] = column
    return x, cell


def _joint_cells(columns: list[NDArray[np.object_]]) -> NDArray[np.int64]:
    """Each row's cell of the categorical columns, numbered in order of first appearance.

    Every column's values are numbered first, then the combined numbers: the same
    cells as factorizing the rows' joined texts, without building a text per row.
    """
    key = np.zeros(len(columns[0]), dtype=np.int64)
    for values in columns:
        codes, levels = pd.factorize(values)
        key = key * max(len(levels), 1) + codes
        key = pd.factorize(key)[0].astype(np.int64)  # keeps the key below the rows' count
    return np.asarray(pd.factorize(key)[0], dtype=np.int64)


def contrasts(
    y: F64, group: NDArray[np.str_], x: F64, cell: NDArray[np.int64], cluster: NDArray[np.int64]
) -> Contrasts:
    """The three contrasts of one outcome (rows with a missing outcome already dropped)."""
    control = group == NONE
    covered = np.isin(cell, np.unique(cell[control]))
    rec, unrec = (group == RECOVERED) & covered, (group == UNRECOVERED) & covered
    outside = int(np.count_nonzero((group != NONE) & ~covered))
    infs, values, _ = imputation_att(y, x, control, [rec, unrec], cluster)
    diff = infs[0] - infs[1]
    cov = clustered_cov(np.column_stack([infs[0], infs[1], diff]), cluster)
    n_clusters = [_distinct(cluster[m]) for m in (rec, unrec, rec | unrec)]
    return Contrasts(
        recovered_vs_none=effect(values[0], cov[0, 0], int(rec.sum()), n_clusters[0]),
        unrecovered_vs_none=effect(values[1], cov[1, 1], int(unrec.sum()), n_clusters[1]),
        recovered_vs_unrecovered=effect(
            values[0] - values[1], cov[2, 2], int((rec | unrec).sum()), n_clusters[2]
        ),
        outside_overlap=outside,
    )


def _distinct(codes: NDArray[np.int64]) -> int:
    """How many distinct codes (non-negative integers) there are, without sorting them."""
    return int(np.count_nonzero(np.bincount(codes))) if codes.size else 0


def verdict(c: Contrasts, lower_is_better: bool) -> tuple[str, str]:
    """The verdict and the sentence that explains it, by the interval rule."""
    sign = -1.0 if lower_is_better else 1.0
    better = _sure(c.recovered_vs_none, sign)
    worse = _sure(c.recovered_vs_none, -sign)
    helps = _sure(c.recovered_vs_unrecovered, sign)
    if better:
        return PARADOX, "recovered customers do better than customers without a failure"
    if helps and worse:
        return RESTORES, "recovery beats no recovery, but recovered customers stay worse off"
    if helps:
        return RESTORES, (
            "recovery beats no recovery; whether a gap to never-failed customers remains "
            "cannot be told at this sample size"
        )
    if worse:
        return NO_EVIDENCE, (
            "recovered customers stay worse off than customers without a failure, and "
            "recovery is not shown to beat no recovery"
        )
    return NO_EVIDENCE, "the intervals include no difference"


def _sure(e: Effect, sign: float) -> bool:
    return bool(e.low > 0) if sign > 0 else bool(e.high < 0)
