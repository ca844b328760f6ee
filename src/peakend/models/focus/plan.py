"""The focus plan: what to change first, ranked by the outcome it can win back.

The moments analysis says *what kind* of moment each touchpoint is; the focus
plan turns that into actions with an expected effect, so a CX team can compare
them on one scale:

* **fix** a moment of truth that performs below expectation: if the journeys
  that now score it low scored it in the middle instead, the outcome would rise
  by ``share_low × −penalty`` per journey;
* **excel** at a brand-relevant excel moment: if the journeys that now score it
  in the middle scored it high, the outcome would rise by ``share_middle × reward``;
* **maintain** what works, **allow** some pain at standard moments shown to
  barely matter and of low brand relevance (the budget can move elsewhere: the
  risk of letting it slip is shown), **collect data** where the class is
  inconclusive or the bands too small (with the journeys that would settle it);
* extra actions from other analyses, e.g. **proactive contact** in a hidden
  moment, passed in as ``extra`` (their figures may rest on assumptions: then
  ``gain_basis`` is ``"assumed"`` and the gain is a range, not a sampling interval).

Shares are those observed in the data (journeys with the touchpoint over all
journeys with the outcome). The penalty and reward behind a gain are averaged
over the journeys the action moves (those scoring low for fix, in the middle for
excel), not over all journeys. Where the moments carry total effects by
intervention (an experienced order), they are the g-computation's average change
over those journeys (:mod:`.gains`; for a binary outcome in probability); without
an order, the band regression's effects over them (for a binary outcome the
average marginal effects: on the airline survey the average over all journeys
overstated the effect behind a gain by 1–18 %, ``docs/focus.md``).
``FocusPlan.effects`` says which. The interval of a gain is that effect's
interval scaled by the share. A risk that is not defined (no penalty estimate,
or an action that is not about slipping) is NaN and shown as "–". The gains
assume the effect is causal and that the action moves journeys one band; they
rank the options, they do not promise a number (see ``docs/focus.md``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from peakend.load import Dataset
from peakend.models.focus.gains import BY_INTERVENTION, moved_effects
from peakend.models.moments.analysis import MomentsResult, TouchpointMoment
from peakend.stats.resampling import Interval

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
    gain_basis:
        ``"sampling"`` when ``gain`` carries a sampling interval, ``"assumed"``
        when it is a range from assumed figures (e.g. a contact's cost).
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
    gain_basis: str = "sampling"

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
            "gain_basis": self.gain_basis,
        }


@dataclass(frozen=True)
class FocusPlan:
    """Ranked actions for one outcome.

    ``effects`` names the effects the fix and excel gains rest on:
    :data:`MOVED_BY_INTERVENTION` (averages by intervention over the journeys
    each action moves, :mod:`.gains`), else the moments' own estimand
    (``"total_regression_weighted"``: the band regression's effects over the
    journeys moved; ``"direct"``: adjusted for journey features;
    ``"total_by_intervention"``: the moments table's total effects over every
    journey that scored the touchpoint, when no dataset was given).
    """

    outcome: str
    outcome_kind: str
    n_journeys: int
    actions: tuple[FocusAction, ...]
    effects: str = "total_regression_weighted"

    def first(self, kind: str) -> FocusAction | None:
        """The highest-ranked action of ``kind``."""
        return next((a for a in self.actions if a.kind == kind), None)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "outcome": self.outcome,
            "outcome_kind": self.outcome_kind,
            "n_journeys": self.n_journeys,
            "effects": self.effects,
            "actions": [a.to_dict() for a in self.actions],
        }


#: Extra share of low scores used to express the risk of letting a touchpoint slip.
SLIP_SHARE = 0.10

#: ``FocusPlan.effects`` when the gains are averages by intervention over the journeys moved.
MOVED_BY_INTERVENTION = "total_by_intervention_moved"

#: The effect behind an action's gain, by (kind, touchpoint).
Moved = dict[tuple[str, str], Interval]


def focus_plan(
    moments: MomentsResult,
    dataset: Dataset | None = None,
    extra: Sequence[FocusAction] = (),
    *,
    weight_col: str | None = None,
) -> FocusPlan:
    """Rank the moments' recommendations, and any ``extra`` actions, by the outcome they win.

    With the ``dataset`` the moments were estimated on, and total effects by
    intervention in ``moments``, the gains are averages by intervention over the
    journeys each action moves (:mod:`.gains`; ``weight_col`` as in
    :func:`~peakend.models.moments.find_moments`). ``extra`` takes actions of
    other analyses (e.g. proactive contacts in hidden moments) with their own
    gain on the same outcome scale; they are ranked with the rest (their
    ``rank`` is replaced). When ``moments`` kept its inputs
    (``find_moments(..., keep_total_inputs=True)``) the gains start from them
    instead of the events: the same figures, without building the design again.
    """
    catalogue = _catalogue(dataset)
    moved, effects = _moved(moments, dataset, weight_col)
    own = tuple(_action(m, moments.n_journeys, catalogue, moved) for m in moments.touchpoints)
    plan = FocusPlan(moments.outcome, moments.outcome_kind, moments.n_journeys, own, effects)
    return with_actions(plan, extra)


def with_actions(plan: FocusPlan, extra: Sequence[FocusAction]) -> FocusPlan:
    """``plan`` with the ``extra`` actions ranked among its own, ranks renumbered.

    ``with_actions(focus_plan(moments, dataset), extra)`` is
    ``focus_plan(moments, dataset, extra)``: the moments' actions can be ranked as
    soon as the moments are known, the actions of later analyses added afterwards.
    """
    ordered = sorted((*plan.actions, *extra), key=_order)
    actions = tuple(replace(a, rank=i) for i, a in enumerate(ordered, start=1))
    return replace(plan, actions=actions)


def _moved(
    moments: MomentsResult, dataset: Dataset | None, weight_col: str | None
) -> tuple[Moved, str]:
    """The effects by intervention over the journeys moved, and the plan's ``effects``."""
    if dataset is None or moments.estimand != BY_INTERVENTION:
        return {}, moments.estimand
    actions = [(m.recommendation, m.touchpoint) for m in moments.touchpoints]
    found = moved_effects(dataset, moments, actions, weight_col=weight_col)
    return (found, MOVED_BY_INTERVENTION) if found is not None else ({}, moments.estimand)


def _action(
    moment: TouchpointMoment,
    n_journeys: int,
    catalogue: dict[str, tuple[str | None, float | None]],
    moved: Moved,
) -> FocusAction:
    owner, cost = catalogue.get(moment.touchpoint, (None, None))
    counts = moment.counts
    scored = counts.get("low", 0) + counts.get("middle", 0) + counts.get("high", 0)
    zero = Interval(0.0, 0.0, 0.0, scored)
    undefined = Interval(math.nan, math.nan, math.nan, scored)
    kind = moment.recommendation
    label = CLASS_NAMES.get(moment.moment_class, moment.moment_class)
    if kind == "fix":
        penalty = moved.get((kind, moment.touchpoint)) or moment.penalty_moved or moment.penalty
        gain = _scaled(penalty, -counts["low"] / n_journeys)
        reason = (
            f"a {label}: a low score costs {-penalty.value:.2f} on the "
            f"outcome, and {moment.low_share:.0%} of its journeys score it low"
        )
        return FocusAction(
            0, kind, moment.touchpoint, gain, undefined, counts["low"], owner, cost, reason
        )
    if kind == "excel":
        reward = moved.get((kind, moment.touchpoint)) or moment.reward_moved or moment.reward
        gain = _scaled(reward, counts["middle"] / n_journeys)
        reason = (
            f"an {label}: a high score adds {reward.value:.2f} to the outcome, "
            f"and {counts['middle']:,} journeys now score it in the middle"
        )
        return FocusAction(
            0, kind, moment.touchpoint, gain, undefined, counts["middle"], owner, cost, reason
        )
    if kind == "collect_data":
        reason = _collect_reason(moment)
        return FocusAction(0, kind, moment.touchpoint, zero, undefined, scored, owner, cost, reason)
    risk = _scaled(moment.penalty, -SLIP_SHARE * scored / n_journeys)
    reasons = {
        "maintain": f"a {label} that matters or performs well: keep it as it is",
        "allow": f"a {label}: both effects are shown to lie within the threshold and "
        "its brand relevance is low, so budget can move",
    }
    return FocusAction(
        0, kind, moment.touchpoint, zero, risk, scored, owner, cost, reasons.get(kind, kind)
    )


#: Class names in the reasons (the same vocabulary as the moments table).
CLASS_NAMES = {
    "moment_of_truth": "moment of truth",
    "excel": "excel moment",
    "performance": "performance moment",
    "standard": "standard moment",
    "inconclusive": "inconclusive moment",
    "not_enough_data": "touchpoint with too few scores",
}


def _collect_reason(moment: TouchpointMoment) -> str:
    """Why to collect data, and roughly how many more journeys would settle it."""
    if moment.moment_class == "not_enough_data":
        short = ", ".join(f"{n:,} {band}" for band, n in moment.more_journeys.items() if n)
        return "too few scores in a band to classify" + (f" (need {short} more)" if short else "")
    wanted = [
        f"about {n:,} more journeys with a {band} score"
        for band, n in moment.more_journeys.items()
        if n is not None
    ]
    tail = " and ".join(wanted) if wanted else "an effect on the threshold: more data will not help"
    return f"inconclusive: its intervals straddle the threshold; {tail} would settle it"


def _order(action: FocusAction) -> tuple[float, int, float]:
    risk = action.risk.value if math.isfinite(action.risk.value) else 0.0
    gain = action.gain.value if math.isfinite(action.gain.value) else 0.0
    return (-gain, KIND_ORDER.index(action.kind) if action.kind in KIND_ORDER else 99, risk)


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
