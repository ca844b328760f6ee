"""Churn drivers: survival analysis of accumulated experiences and avoidable churn.

See :func:`churn_drivers` and docs/churn.md.
"""

from peakend.models.churn.analysis import ChurnResult, HazardRatio, churn_drivers, from_events

__all__ = ["ChurnResult", "HazardRatio", "churn_drivers", "from_events"]
