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
* **assumed**: no such journeys; 25-75 % of the excess contacts are taken as
  prevented (:data:`ASSUMED_RANGE`, ``assumed_deflection`` = 50 % in the
  middle), and the score change as that share of the journeys moved (the
  excess share of journeys with a contact) times the outcome gap between
  journeys with and without a contact. These are ranges under an assumption
  to test (:class:`AssumedRange`), never sampling intervals.

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
from peakend.stats.resampling import Interval


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


#: Below this score a classic is not named: an anchor word alone with barely
#: overlapping days is no resemblance a process owner would accept.
MIN_SCORE = 0.6

#: The range of the share of excess contacts a proactive contact is assumed to prevent.
ASSUMED_RANGE = (0.25, 0.75)


@dataclass(frozen=True)
class AssumedRange:
    """A figure that follows from an assumption, over the assumption's range.

    ``value`` is at the central assumed share, ``low``/``high`` at the ends of
    the range; ``assumption`` says what was assumed. There is deliberately no
    sampling interval: precision would be pretended where the assumption decides.
    """

    value: float
    low: float
    high: float
    assumption: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``assumed`` marks it as a range, not an interval)."""
        return {"value": self.value, "low": self.low, "high": self.high,
                "assumed": self.assumption}  # fmt: skip


@dataclass(frozen=True)
class Intervention:
    """A suggested proactive contact for one hidden moment, with its expected effect.

    ``basis`` is ``"observed"`` (estimated from journeys that already received
    ``observed_touchpoint``: intervals) or ``"assumed"`` (ranges over the
    assumed prevented share, :class:`AssumedRange`).
    """

    anchor: str
    channel: str
    day: int
    goal: str
    basis: str
    contacts_deflected_per_1000: Interval | AssumedRange
    cost_saved_per_1000: Interval | AssumedRange | None
    score_change: Interval | AssumedRange | None
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


def _words(text: str) -> list[str]:
    """Lower-case words of a name or text (``A_SUBMITTED`` → ``a``, ``submitted``)."""
    return [w for w in re.split(r"[^a-z0-9\u00c0-\u024f]+", text.lower()) if w]


def stem_match(word: str, key: str) -> bool:
    """``word`` is ``key`` or ``key`` plus an ending: whole words, not substrings.

    ``invoices`` and ``invoiced`` match ``invoice``; Dutch compounds such as
    ``factuurbedrag`` match ``factuur`` (keys of six letters or more may take
    any ending); ``assigned`` never matches ``signed``.
    """
    if not word.startswith(key):
        return False
    return len(word) - len(key) <= (3 if len(key) < 6 else len(word))


def _vocabulary(c: Classic) -> set[str]:
    """The words that speak for a classic: its customer words and its own description's."""
    from peakend.models.hidden.words import tokens  # the same tokenizer as the windows

    return set(c.words) | set(tokens(c.description))


def match_classic(
    anchor: str,
    first_day: int,
    last_day: int,
    words: list[Word],
    classics: tuple[Classic, ...] | None = None,
) -> ClassicMatch | None:
    """The best-matching classic, or ``None`` when none scores :data:`MIN_SCORE` or more.

    Anchor words match whole words of the anchor's name, with endings
    (:func:`stem_match`), in English and Dutch. Score = 0.5 (anchor word) + 0.3
    × window overlap (intersection over union of the day ranges) + 0.2 × the
    share of the window's distinctive words that the classic's vocabulary (its
    customer words and its own description) contains. No text is no evidence:
    the text part is then 0, so a match without words scores at most 0.8. The
    scale is calibrated on the classics' own descriptions: a window whose words
    are a classic's description, at its anchor and days, scores exactly 1 for
    that classic (a test checks that each description picks its own classic).
    """
    parts = _words(anchor)
    found = {w.word for w in words}
    best = None
    for c in classics if classics is not None else load_classics():
        hit = next((a for a in c.anchors if any(stem_match(p, a) for p in parts)), None)
        if hit is None:
            continue
        inter = min(last_day, c.last_day) - max(first_day, c.first_day) + 1
        union = max(last_day, c.last_day) - min(first_day, c.first_day) + 1
        overlap = max(inter, 0) / union
        vocabulary = _vocabulary(c)
        shared = tuple(sorted(w for w in found if any(stem_match(w, v) for v in vocabulary)))
        text_part = len(shared) / len(found) if found else 0.0
        score = round(0.5 + 0.3 * overlap + 0.2 * text_part, 3)
        if score >= MIN_SCORE and (best is None or score > best.score):
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
    assumed_range: tuple[float, float] = ASSUMED_RANGE,
    share_affected: float | None = None,
) -> Intervention:
    """The proactive contact suggested for one hidden moment and its expected effect.

    With an ``observed`` estimate the figures are estimates with intervals.
    Otherwise they are :class:`AssumedRange` figures: the share of excess
    contacts prevented runs over ``assumed_range`` (``assumed_deflection`` in
    the middle) and no sampling interval is attached, because the assumption,
    not the sample, decides them. The score change is then the prevented share
    × the excess share of journeys with a contact (``share_affected``) × minus
    the outcome gap between journeys with and without a contact: the gap is
    per journey, so it is scaled by journeys moved, not by contacts.
    """
    classic = next((c for c in load_classics() if match and c.name == match.name), None)
    channel = classic.channel if classic else "email"
    day = max(min(classic.day, first_day), 0) if classic else max(first_day - 1, 0)
    goal = classic.goal if classic else "reach the customer before the question arises"
    usable = [e for e in observed if math.isfinite(e.contacts_per_1000.value) and not e.reactive]
    gap = next((g for g in gaps if g.outcome == score_outcome), None)
    deflected: Interval | AssumedRange
    score: Interval | AssumedRange | None
    cost: Interval | AssumedRange | None
    if usable:
        e = max(usable, key=lambda x: x.n_treated)
        c = e.contacts_per_1000
        deflected = Interval(-c.value, -c.high, -c.low, c.n)
        score = e.outcomes.get(score_outcome) if score_outcome else None
        basis, touchpoint = "observed", e.touchpoint
        note = (
            f"estimated from {e.n_treated:,} journeys that received {e.touchpoint} before the "
            f"window against {e.n_control:,} that did not, weighted on "
            f"{', '.join(e.covariates) or 'no covariates'}"
        )
        cost = _cost(deflected, contact_costs, proactive_cost)
    else:
        lo, hi = assumed_range
        label = f"assumed: {lo:.0%}-{hi:.0%} of the excess contacts prevented"
        excess = excess_per_1000.value
        deflected = AssumedRange(assumed_deflection * excess, lo * excess, hi * excess, label)
        score = None
        if gap is not None and share_affected is not None and math.isfinite(gap.difference.value):
            moved = -share_affected * gap.difference.value
            ends = sorted((lo * moved, hi * moved))
            score = AssumedRange(assumed_deflection * moved, ends[0], ends[1], label)
        cost = None
        if contact_costs is not None:
            k = contact_costs
            cost = AssumedRange(k * deflected.value, k * deflected.low, k * deflected.high, label)
        basis, touchpoint = "assumed", None
        note = (
            f"{label}; no journey in the data received a proactive company contact before "
            "this window, so these are not estimates but a range to test; cost saved is "
            "before the cost of the proactive contact itself"
        )
    if gap is not None and gap.difference.low > 0:
        note += (
            f". Journeys with a contact in this window have a higher {score_outcome} "
            f"({gap.difference.value:+.2f}): these contacts may be wanted replies rather "
            "than worry; check before deflecting them"
        )
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
