"""Kaplan-Meier curves (lifelines) per segment and per group of experience.

Groups of experience use a landmark: customers still at risk at ``landmark`` (in
the time unit) are grouped by their negative moments up to then and followed from
there, so that a group never borrows survival time it could only have by
surviving long enough to collect its negatives.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Curve:
    """One survival curve: times, survival and its 95 % interval, customers and churners."""

    label: str
    times: list[float]
    survival: list[float]
    low: list[float]
    high: list[float]
    n: int
    churners: int
    median: float | None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return dict(self.__dict__)


def km_curve(label: str, time: F64, event: NDArray[np.bool_], points: int = 60) -> Curve:
    """Kaplan-Meier estimate with its (exponential Greenwood) interval, thinned to ``points``."""
    from lifelines import KaplanMeierFitter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = KaplanMeierFitter().fit(time, event, label="s")
    sf = fit.survival_function_["s"]
    ci = fit.confidence_interval_survival_function_
    idx = np.unique(np.linspace(0, len(sf) - 1, min(points, len(sf))).astype(int))
    med = float(fit.median_survival_time_)
    return Curve(
        label=label,
        times=[float(t) for t in sf.index.to_numpy()[idx]],
        survival=[float(v) for v in sf.to_numpy()[idx]],
        low=[float(v) for v in ci.iloc[idx, 0].to_numpy()],
        high=[float(v) for v in ci.iloc[idx, 1].to_numpy()],
        n=int(time.size),
        churners=int(event.sum()),
        median=med if np.isfinite(med) else None,
    )


def by_group(
    labels: NDArray[np.str_], time: F64, event: NDArray[np.bool_], min_n: int = 20
) -> list[Curve]:
    """One curve per label with at least ``min_n`` customers."""
    curves = []
    for label in sorted(set(labels.tolist())):
        mask = labels == label
        if mask.sum() >= min_n:
            curves.append(km_curve(str(label), time[mask], event[mask]))
    return curves


def negative_bands(count: F64) -> NDArray[np.str_]:
    """0, 1, 2, 3+ negative moments as labels."""
    c = np.minimum(count, 3).astype(int)
    names = np.array(["0 negative", "1 negative", "2 negative", "3+ negative"])
    return names[c]
