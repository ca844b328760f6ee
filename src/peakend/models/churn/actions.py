"""Focus-plan actions from churn and recovery: prevent a negative experience, recover failures.

* **prevent the negative experience at Y**: the churners the model attributes to
  negative moments and endings at touchpoint Y (avoidable churn with Y's
  experiences removed);
* **recover faster at X**: the churners attributed to unrecovered failures, split
  over the touchpoints where those failures happened in proportion to their
  unrecovered failures.

Gains are churners saved over the observed time, not outcome points, so these
actions follow the outcome-ranked ones and are ranked among themselves.
"""

from __future__ import annotations

from dataclasses import replace

from peakend.models.churn.analysis import ChurnResult
from peakend.models.focus import FocusAction, FocusPlan
from peakend.models.recovery import RecoveryResult
from peakend.stats.resampling import Interval

UNRECOVERED = "unrecovered failures"


def churn_actions(churn: ChurnResult, recovery: RecoveryResult | None) -> list[FocusAction]:
    """The prevent/recover actions whose avoidable-churn interval lies above zero."""
    if churn.avoidable is None:
        return []
    actions = []
    for cause, e in churn.avoidable.by_cause:
        if e.low <= 0:
            continue
        if cause == UNRECOVERED:
            actions += _recover(e.value, e.low, e.high, recovery)
            continue
        actions.append(
            _make(
                "prevent_negative",
                cause,
                Interval(e.value, e.low, e.high, e.n),
                e.n,
                f"about {e.value:.0f} churners left after negative experiences at {cause}",
            )
        )
    return sorted(actions, key=lambda a: -a.gain.value)


def _recover(
    value: float, low: float, high: float, recovery: RecoveryResult | None
) -> list[FocusAction]:
    """Split the unrecovered failures' churn over where the failures happened."""
    if recovery is None or not recovery.causes:
        where = [(UNRECOVERED, 1.0, 0)]
    else:
        open_ = [
            (c["touchpoint"], c["failures"] * (1 - c["recovered_share"]), c["failures"])
            for c in recovery.causes
        ]
        total = sum(n for _, n, _ in open_) or 1.0
        where = [(tp, n / total, f) for tp, n, f in open_ if n > 0]
    return [
        _make(
            "recover_faster",
            tp,
            Interval(value * share, low * share, high * share, failures),
            failures,
            f"unrecovered failures after {tp} drive about {value * share:.0f} churners",
        )
        for tp, share, failures in where
    ]


def _make(kind: str, touchpoint: str, gain: Interval, n: int, reason: str) -> FocusAction:
    zero = Interval(0.0, 0.0, 0.0, n)
    return FocusAction(0, kind, touchpoint, gain, zero, n, None, None, reason)


def with_churn_actions(
    plan: FocusPlan, churn: ChurnResult | None, recovery: RecoveryResult | None
) -> FocusPlan:
    """``plan`` with the churn actions appended after its own, ranks continued."""
    if churn is None:
        return plan
    extra = churn_actions(churn, recovery)
    start = len(plan.actions) + 1
    ranked = tuple(replace(a, rank=start + i) for i, a in enumerate(extra))
    return replace(plan, actions=plan.actions + ranked)
