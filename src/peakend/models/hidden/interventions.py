"""Known experience classics and the proactive contact suggested for each hidden moment.

The classics (post-purchase doubt, first-invoice worry, …) are data, in
``classics.toml`` next to this module: anchor words, usual window, customer
words and the usual preventive contact. A hidden moment matches a classic when
its anchor's name contains one of the classic's anchor words and its window
overlaps the classic's; the contacts' distinctive words add to the score.

A suggestion's expected effect comes from one of two sources, and says which:

* **observed**: journeys that already received a company touchpoint inside
  the window (:class:`~peakend.models.hidden.effects.ProactiveEffect`); the
  deflection and score change are the IPW estimates with their intervals;
* **assumed**: no such journeys; ``assumed_deflection`` (default 50 %) of the
  excess contacts is taken as prevented, and the score change as that share of
  the outcome gap between journeys with and without a contact. These are
  assumptions to test, not estimates.

Cost saved per 1,000 journeys = deflected contacts × the mean catalogue cost
of the window's contacts (weighted by the contact mix) − 1,000 × the cost of
the proactive contact, when the catalogue gives one.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from peakend.errors import ConfigError
from peakend.models.hidden.effects import OutcomeGap, ProactiveEffect
from peakend.models.hidden.words import Word
from peakend.models.resampling import Interval


@dataclass(frozen=True)
class Classic:
    """An experience classic: where it shows and what prevents it."""

    name: str
    description: str
    anchors: tuple[str, ...]
    first_day: int
    last_day: int
    words: tuple[str, ...]
    channel: str
    day: int
    goal: str


@dataclass(frozen=True)
class ClassicMatch:
    """How well a hidden moment matches a classic (0-1) and why."""

    name: str
    score: float
    anchor_word: str
    window_overlap: float
    shared_words: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "score": self.score,
            "anchor_word": self.anchor_word,
            "window_overlap": self.window_overlap,
            "shared_words": list(self.shared_words),
        }


@dataclass(frozen=True)
class Intervention:
    """A suggested proactive contact for one hidden moment, with its expected effect.

    ``basis`` is ``"observed"`` (estimated from journeys that already received
    ``observed_touchpoint``) or ``"assumed"`` (from ``assumed_deflection``).
    """

    anchor: str
    channel: str
    day: int
    goal: str
    basis: str
    contacts_deflected_per_1000: Interval
    cost_saved_per_1000: Interval | None
    score_change: Interval | None
    score_outcome: str | None
    observed_touchpoint: str | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "anchor": self.anchor,
            "channel": self.channel,
            "day": self.day,
            "goal": self.goal,
            "basis": self.basis,
            "contacts_deflected_per_1000": self.contacts_deflected_per_1000.to_dict(),
            "cost_saved_per_1000": (
                self.cost_saved_per_1000.to_dict() if self.cost_saved_per_1000 else None
            ),
            "score_change": self.score_change.to_dict() if self.score_change else None,
            "score_outcome": self.score_outcome,
            "observed_touchpoint": self.observed_touchpoint,
            "note": self.note,
        }


@cache
def load_classics() -> tuple[Classic, ...]:
    """The library of experience classics shipped with peakend (``classics.toml``)."""
    text = resources.files("peakend.models.hidden").joinpath("classics.toml").read_text("utf-8")
    return parse_classics(text)


def parse_classics(text: str) -> tuple[Classic, ...]:
    """Classics from TOML text with ``[[classic]]`` tables (see ``classics.toml``)."""
    try:
        raw = tomllib.loads(text)["classic"]
        return tuple(
            Classic(
                name=c["name"],
                description=c["description"],
                anchors=tuple(a.lower() for a in c["anchors"]),
                first_day=int(c["first_day"]),
                last_day=int(c["last_day"]),
                words=tuple(w.lower() for w in c["words"]),
                channel=c["channel"],
                day=int(c["day"]),
                goal=c["goal"],
            )
            for c in raw
        )
    except (KeyError, TypeError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(
            f"classics library is malformed ({exc!r}); each [[classic]] needs name, "
            "description, anchors, first_day, last_day, words, channel, day and goal"
        ) from exc


def match_classic(
    anchor: str,
    first_day: int,
    last_day: int,
    words: list[Word],
    classics: tuple[Classic, ...] | None = None,
) -> ClassicMatch | None:
    """The best-matching classic, or ``None`` when no classic's anchor words fit.

    Score = 0.5 (anchor word) + 0.3 × window overlap (intersection over union of
    the day ranges) + 0.2 × share of the window's distinctive words the classic
    lists (1 when the data have no text, so text never penalises).
    """
    parts = set(re.split(r"[^a-z0-9]+", anchor.lower()))
    found = {w.word for w in words}
    best = None
    for c in classics if classics is not None else load_classics():
        hit = next((a for a in c.anchors if a in parts or a in anchor.lower()), None)
        if hit is None:
            continue
        inter = min(last_day, c.last_day) - max(first_day, c.first_day) + 1
        union = max(last_day, c.last_day) - min(first_day, c.first_day) + 1
        overlap = max(inter, 0) / union
        shared = tuple(sorted(found & set(c.words)))
        text_part = len(shared) / len(found) if found else 1.0
        score = round(0.5 + 0.3 * overlap + 0.2 * text_part, 3)
        if best is None or score > best.score:
            best = ClassicMatch(c.name, score, hit, round(overlap, 3), shared)
    return best


def suggest(
    anchor: str,
    first_day: int,
    excess_per_1000: Interval,
    contact_costs: float | None,
    match: ClassicMatch | None,
    gaps: list[OutcomeGap],
    observed: list[ProactiveEffect],
    *,
    score_outcome: str | None,
    proactive_cost: float | None = None,
    assumed_deflection: float = 0.5,
) -> Intervention:
    """The proactive contact suggested for one hidden moment and its expected effect."""
    classic = next((c for c in load_classics() if match and c.name == match.name), None)
    channel = classic.channel if classic else "email"
    day = max(min(classic.day, first_day), 0) if classic else max(first_day - 1, 0)
    goal = classic.goal if classic else "reach the customer before the question arises"
    usable = [e for e in observed if math.isfinite(e.contacts_per_1000.value) and not e.reactive]
    if usable:
        e = max(usable, key=lambda x: x.n_treated)
        c = e.contacts_per_1000
        deflected = Interval(-c.value, -c.high, -c.low, c.n)
        score = e.outcomes.get(score_outcome) if score_outcome else None
        basis, touchpoint = "observed", e.touchpoint
        note = (
            f"estimated from {e.n_treated:,} journeys that received {e.touchpoint} in the "
            f"window against {e.n_control:,} that did not, weighted on "
            f"{', '.join(e.covariates) or 'no covariates'}"
        )
    else:
        s = assumed_deflection
        deflected = Interval(
            s * excess_per_1000.value,
            s * excess_per_1000.low,
            s * excess_per_1000.high,
            excess_per_1000.n,
        )
        gap = next((g for g in gaps if g.outcome == score_outcome), None)
        share = s * excess_per_1000.value / 1000
        score = (
            Interval(
                -share * gap.difference.value,
                -share * gap.difference.high,
                -share * gap.difference.low,
                gap.difference.n,
            )
            if gap is not None and math.isfinite(gap.difference.value)
            else None
        )
        basis, touchpoint = "assumed", None
        note = (
            f"assumption: {s:.0%} of the excess contacts prevented; no journey in the data "
            "received a proactive company contact inside this window, so this is not an "
            "estimate; "
            "cost saved is before the cost of the proactive contact itself"
        )
    gap = next((g for g in gaps if g.outcome == score_outcome), None)
    if gap is not None and gap.difference.low > 0:
        note += (
            f". Journeys with a contact in this window have a higher {score_outcome} "
            f"({gap.difference.value:+.2f}): these contacts may be wanted replies rather "
            "than worry; check before deflecting them"
        )
    cost = _cost(deflected, contact_costs, proactive_cost)
    return Intervention(
        anchor, channel, day, goal, basis, deflected, cost, score,
        score_outcome if score else None, touchpoint, note,
    )  # fmt: skip


def _cost(
    deflected: Interval, contact_costs: float | None, proactive_cost: float | None
) -> Interval | None:
    if contact_costs is None:
        return None
    spend = 1000 * (proactive_cost or 0.0)
    return Interval(
        deflected.value * contact_costs - spend,
        deflected.low * contact_costs - spend,
        deflected.high * contact_costs - spend,
        deflected.n,
    )
