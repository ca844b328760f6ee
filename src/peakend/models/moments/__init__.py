"""Moments of truth, excel, performance and standard moments (see :mod:`.analysis`).

Modules: :mod:`.design` (bands per journey), :mod:`.fit` (the regression and its
cluster bootstrap), :mod:`.importance` (relative weights), :mod:`.verdict` (the
one rule that turns intervals into classes), :mod:`.result` (result objects),
:mod:`.segments` (per-segment estimates), :mod:`.analysis` (:func:`find_moments`).
"""

from peakend.models.moments.analysis import (
    CLASSES,
    RECOMMENDATIONS,
    MomentSettings,
    MomentsResult,
    TouchpointMoment,
    classify,
    find_moments,
    moments_from_design,
    recommend,
)

__all__ = [
    "CLASSES",
    "RECOMMENDATIONS",
    "MomentSettings",
    "MomentsResult",
    "TouchpointMoment",
    "classify",
    "find_moments",
    "moments_from_design",
    "recommend",
]
