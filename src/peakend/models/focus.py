"""The focus plan: what to change first, ranked by the outcome it can win back.

The moments analysis says *what kind* of moment each touchpoint is; the focus
plan turns that into actions with an expected effect, so a CX team can compare
them on one scale:

* **fix** a moment of truth that performs below expectation: if the journeys
  that now score it low scored it in the middle instead, the outcome would rise
  by ``share_low × −penalty`` per journey;
* **excel** at a brand-relevant excel moment: if the journeys that now score it
  in the middle scored it high, the outcome would rise by ``share_middle × reward``;
* **maintain** what works, **allow** some pain at standard moments (the budget
  can move elsewhere: the risk of letting it slip is shown), **collect data**
  where there is too little to say;
* **proactive contact** in a hidden moment (when that analysis ran): contacts
  deflected per 1,000 journeys and the cost saved.

Shares are those observed in the data (journeys with the touchpoint over all
journeys with the outcome); the interval of a gain is the bootstrap interval of
the penalty or reward scaled by that share. The gains assume the effect is
causal and that the action moves journeys one band; they rank the options, they
do not promise a number (see ``docs/focus.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from peakend.load import Dataset
from peakend.models.moments import MomentsResult, TouchpointMoment
from peakend.models.resampling import Interval

#: Order of action kinds when gains tie (and for actions without a gain).
KIND_ORDER = ("fix", "excel", "proactive_contact", "maintain", "allow", "collect_data")


@dataclass(frozen=True)
class FocusAction:
    """One action of the focus plan.

    Attributes
    ----------
    rank:
        1 is the action to take first.
    kind:
        fix, excel, proactive_contact, maintain, allow or collect_data.
    touchpoint:
        Where to act (the anchor touchpoint for a proactive contact).
    gain:
        Expected change of the outcome per journey, in outcome units (probability
        for a binary outcome), with its interval; zero for maintain/allow.
    risk:
        For *allow* and *maintain*: the outcome lost per journey if 10 % more
        journeys scored the touchpoint low (from the penalty); else zero.
    journeys:
        Journeys the action reaches (those that scored the touchpoint low for
        fix, middle for excel, all scored for the others).
    owner, cost:
        From the touchpoint catalogue, when known.
    reason:
        One plain sentence: why this action.
    """

    rank: int
    kind: str
    touchpoint: str
    gain: Interval
    risk: Interval
    journeys: int
    owner: str | None
    cost: float | None
    reason: str

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "rank": self.rank,
            "kind": self.kind,
            "touchpoint": self.touchpoint,
            "gain": self.gain.to_dict(),
            "risk": self.risk.to_dict(),
            "journeys": self.journeys,
            "owner": self.owner,
            "cost": self.cost,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class FocusPlan:
    """Ranked actions for one outcome."""

    outcome: str
    outcome_kind: str
    n_journeys: int
    actions: tuple[FocusAction, ...]

    def first(self, kind: str) -> FocusAction | None:
        """The highest-ranked action of ``kind``."""
        return next((a for a in self.actions if a.kind == kind), None)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "outcome": self.outcome,
            "outcome_kind": self.outcome_kind,
            "n_journeys": self.n_journeys,
            "actions": [a.to_dict() for a in self.actions],
        }


#: Extra share of low scores used to express the risk of letting a touchpoint slip.
SLIP_SHARE = 0.10


def focus_plan(
    moments: MomentsResult, dataset: Dataset | None = None, extra: Sequence[FocusAction] = ()
) -> FocusPlan:
    """Rank the moments' recommendations by the outcome they can win back.

    ``extra`` are further actions on the same scale, ranked with them: the
    proactive contacts of the hidden moments
    (:func:`peakend.models.hidden.actions.proactive_actions`).
    """
    catalogue = _catalogue(dataset)
    unranked = [_action(m, moments.n_journeys, catalogue) for m in moments.touchpoints]
    unranked += list(extra)
    ordered = sorted(
        unranked, key=lambda a: (-a.gain.value, KIND_ORDER.index(a.kind), a.risk.value)
    )
    actions = tuple(
        FocusAction(i, a.kind, a.touchpoint, a.gain, a.risk, a.journeys, a.owner, a.cost, a.reason)
        for i, a in enumerate(ordered, start=1)
    )
    return FocusPlan(moments.outcome, moments.outcome_kind, moments.n_journeys, actions)


def _action(
    moment: TouchpointMoment,
    n_journeys: int,
    catalogue: dict[str, tuple[str | None, float | None]],
) -> FocusAction:
    owner, cost = catalogue.get(moment.touchpoint, (None, None))
    counts = moment.counts
    scored = counts.get("low", 0) + counts.get("middle", 0) + counts.get("high", 0)
    zero = Interval(0.0, 0.0, 0.0, scored)
    kind = moment.recommendation
    if kind == "fix":
        gain = _scaled(moment.penalty, -counts["low"] / n_journeys)
        reason = (
            f"a moment of truth: a low score costs {-moment.penalty.value:.2f} on the "
            f"outcome, and {moment.low_share:.0%} of its journeys score it low"
        )
        return FocusAction(
            0, kind, moment.touchpoint, gain, zero, counts["low"], owner, cost, reason
        )
    if kind == "excel":
        gain = _scaled(moment.reward, counts["middle"] / n_journeys)
        reason = (
            f"an excel moment: a high score adds {moment.reward.value:.2f} to the outcome, "
            f"and {counts['middle']:,} journeys now score it in the middle"
        )
        return FocusAction(
            0, kind, moment.touchpoint, gain, zero, counts["middle"], owner, cost, reason
        )
    risk = _scaled(moment.penalty, -SLIP_SHARE * scored / n_journeys)
    reasons = {
        "maintain": "it matters and performs well: keep it as it is",
        "allow": "a standard moment: a low score barely moves the outcome, budget can move",
        "collect_data": "too few low, middle or high scores to say what kind of moment it is",
    }
    return FocusAction(
        0, kind, moment.touchpoint, zero, risk, scored, owner, cost, reasons.get(kind, kind)
    )


def _scaled(effect: Interval, share: float) -> Interval:
    low, high = sorted((effect.low * share, effect.high * share))
    return Interval(effect.value * share, low, high, effect.n)


def _catalogue(dataset: Dataset | None) -> dict[str, tuple[str | None, float | None]]:
    if dataset is None:
        return {}
    table = dataset.touchpoints
    names = table["touchpoint"].to_pylist()
    owners = table["owner"].to_pylist() if "owner" in table.column_names else [None] * len(names)
    costs = table["cost"].to_pylist() if "cost" in table.column_names else [None] * len(names)
    return {n: (o, c) for n, o, c in zip(names, owners, costs, strict=True)}
