"""Kaplan-Meier curves per segment and per group of experience.

Groups of experience use a landmark: customers still at risk at ``landmark`` (in
the time unit) are grouped by their negative moments up to then and followed from
there, so that a group never borrows survival time it could only have by
surviving long enough to collect its negatives.
"""

from __future__ import annotations

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
    """Kaplan-Meier estimate with its exponential-Greenwood (log-log) 95 % interval.

    The same estimate and interval as lifelines' ``KaplanMeierFitter`` (checked in
    the tests), in a few vectorised passes so that a million customers take well
    under a second; thinned to ``points`` time points.
    """
    order = np.argsort(time, kind="stable")
    t, e = time[order], event[order].astype(np.float64)
    times, first = np.unique(t, return_index=True)
    at_risk = t.size - first
    deaths = np.add.reduceat(e, first) if t.size else np.zeros(0)
    keep = deaths > 0
    times, at_risk, deaths = times[keep], at_risk[keep].astype(np.float64), deaths[keep]
    surv = np.cumprod(1.0 - deaths / at_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        green = np.cumsum(deaths / (at_risk * (at_risk - deaths)))
        v = green / np.log(surv) ** 2
        spread = 1.959964 * np.sqrt(v)
        low = np.where(surv > 0, surv ** np.exp(spread), 0.0)
        high = np.where(surv > 0, surv ** np.exp(-spread), 0.0)
    idx = np.unique(np.linspace(0, times.size - 1, min(points, times.size)).astype(int))
    below = np.flatnonzero(surv <= 0.5)
    return Curve(
        label=label,
        times=[float(x) for x in times[idx]],
        survival=[float(x) for x in surv[idx]],
        low=[float(x) if np.isfinite(x) else 1.0 for x in low[idx]],
        high=[float(x) if np.isfinite(x) else 1.0 for x in high[idx]],
        n=int(time.size),
        churners=int(event.sum()),
        median=float(times[below[0]]) if below.size else None,
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
    return np.asarray(names[c], dtype=np.str_)
