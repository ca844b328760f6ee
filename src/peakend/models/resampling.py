"""Moved to :mod:`peakend.stats.resampling`; kept for the modules that still import it here."""

from peakend.stats.resampling import (
    Interval,
    bootstrap_indices,
    bootstrap_weights,
    kfold_splits,
    percentile_interval,
    wilson,
)

__all__ = [
    "Interval",
    "bootstrap_indices",
    "bootstrap_weights",
    "kfold_splits",
    "percentile_interval",
    "wilson",
]
