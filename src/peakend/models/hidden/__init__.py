"""Hidden moments: windows of excess customer contacts after company touchpoints.

One module per idea:

* :mod:`~peakend.models.hidden.curves` — which events are anchors and
  contacts, the risk set, the contact-rate curves and the per-offset tests;
* :mod:`~peakend.models.hidden.windows` — runs of flagged offsets, their size
  with intervals, echoes and contacts logged together with the anchor;
* :mod:`~peakend.models.hidden.words` — what the contacts say;
* :mod:`~peakend.models.hidden.effects` — outcome gaps, excess by segment and
  the effect of proactive contacts already given;
* :mod:`~peakend.models.hidden.interventions` — experience classics
  (``classics.toml``) and the suggested proactive contact;
* :mod:`~peakend.models.hidden.analysis` — the whole analysis as one result;
* :mod:`~peakend.models.hidden.schedule` — proactive contacts due on a date.
"""

from __future__ import annotations

from peakend.models.hidden.analysis import (
    HiddenMomentReport,
    HiddenMomentsResult,
    find_hidden_moments,
)
from peakend.models.hidden.curves import ContactCurves, ContactRule, contact_curves, contact_rule
from peakend.models.hidden.schedule import ProactiveRule, due_actions
from peakend.models.hidden.windows import HiddenMoment

__all__ = [
    "ContactCurves",
    "ContactRule",
    "HiddenMoment",
    "HiddenMomentReport",
    "HiddenMomentsResult",
    "ProactiveRule",
    "contact_curves",
    "contact_rule",
    "due_actions",
    "find_hidden_moments",
]
