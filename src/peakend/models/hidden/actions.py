"""Proactive-contact actions for the focus plan, from the hidden moments found.

Each hidden moment with a suggested proactive contact becomes one
``proactive_contact`` action of :func:`peakend.models.focus.focus_plan`, on
the same scale as the other actions: the expected change of the plan's outcome
per journey. Only moments whose score change is on that outcome contribute.
An *observed* change (journeys that already got such a contact, weighted) keeps
its 95 % interval; an *assumed* one is a range over the assumed prevented share
(25-75 %), and its reason says so: it is not a sampling interval.
"""

from __future__ import annotations

from peakend.models.focus import FocusAction
from peakend.models.hidden.analysis import HiddenMomentsResult
from peakend.models.hidden.interventions import AssumedRange
from peakend.stats.resampling import Interval


def proactive_actions(result: HiddenMomentsResult | None, outcome: str) -> list[FocusAction]:
    """The focus-plan actions of the hidden moments whose score change is on ``outcome``."""
    if result is None:
        return []
    actions = []
    zero = Interval(0.0, 0.0, 0.0, 0)
    for report in result.moments:
        action = report.intervention
        change = action.score_change
        if change is None or action.score_outcome != outcome:
            continue
        deflected = action.contacts_deflected_per_1000
        if isinstance(change, AssumedRange):
            gain = Interval(change.value, change.low, change.high, 0)
            basis = f"{change.assumption} (a range under that assumption, not an interval)"
        else:
            gain = change
            basis = f"estimated from journeys that already received {action.observed_touchpoint}"
        reason = (
            f"hidden moment {report.moment.label}: a proactive {action.channel} on "
            f"{report.moment.unit} {action.day} ({action.goal}) prevents about "
            f"{deflected.value:.0f} contacts per 1,000 journeys; {basis}"
        )
        actions.append(
            FocusAction(
                0,
                "proactive_contact",
                action.anchor,
                gain,
                zero,
                report.moment.n_journeys,
                None,
                None,
                reason,
            )  # fmt: skip
        )
    return actions
