"""The focus plan: what to fix, where to excel, what to allow (see :mod:`.plan`)."""

from peakend.models.focus.plan import (
    KIND_ORDER,
    MOVED_BY_INTERVENTION,
    SLIP_SHARE,
    FocusAction,
    FocusPlan,
    focus_plan,
    with_actions,
)

__all__ = [
    "KIND_ORDER",
    "MOVED_BY_INTERVENTION",
    "SLIP_SHARE",
    "FocusAction",
    "FocusPlan",
    "focus_plan",
    "with_actions",
]
