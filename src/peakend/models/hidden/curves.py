"""Hidden moments: excess customer contacts in the days after a company touchpoint.

The moments that customers remember often fall *between* the touchpoints an
organisation designed: doubt two days after signing, worry before the first
invoice. They show up as unsolicited contacts. For every company-initiated
touchpoint (an **anchor**) this module counts the customer-initiated contacts
by day (or hour) offset after it, per 1,000 journeys at risk, and compares each
offset with a baseline rate. Runs of offsets with significant excess are the
hidden moments.

Method (documented in ``docs/hidden.md``):

* **Anchor**: the first occurrence of the touchpoint in a journey.
* **Contacts**: customer-initiated events of touchpoints outside the designed
  journey (no ``stage`` in the catalogue); when every customer-initiated
  touchpoint has a stage, all customer-initiated events count.
* **At risk** on offset *k*: journeys whose anchor plus *k* units lies before
  the end of the data (later offsets are censored, not counted as zero).
* **Baseline**: the median of the per-offset rates over the horizon, a robust
  "quiet day" rate that assumes a hidden moment covers less than half of the
  horizon. The reported excess uses the pooled rate of the offsets that were
  not flagged.
* **Test**: one-sided Poisson test of each (anchor, offset) count against
  ``baseline × at risk``; Benjamini-Hochberg over all cells of all anchors
  controls the false discovery rate at ``alpha``.
* **Windows**: consecutive flagged offsets (a single unflagged offset above
  baseline between two flagged ones is joined in). Their excess contacts per 1,000
  journeys and the share of customers affected come with 95 % intervals from
  the per-journey counts (normal approximation; journeys are independent).

Everything up to the per-window totals is an Ibis expression (DuckDB by
default), so ten million events stay within seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.special import pdtrc

from peakend.errors import ConfigError, DataError
from peakend.models.hidden.windows import (
    HiddenMoment,
    find_windows,
    observed_window_journeys,
    window_contact_counts,
    windows_table,
)

__all__ = [
    "UNITS_S",
    "ContactCurves",
    "ContactRule",
    "HiddenMoment",
    "anchor_events",
    "benjamini_hochberg",
    "contact_curves",
    "contact_pairs",
    "contact_rule",
    "observed_window_journeys",
    "window_contact_counts",
    "windows_table",
]

Z_95 = 1.959964
UNITS_S = {"day": 86_400, "hour": 3_600}


@dataclass(frozen=True)
class ContactRule:
    """Which events are anchors and which are contacts, and why."""

    anchors: tuple[str, ...]
    contacts: tuple[str, ...]
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "anchors": list(self.anchors),
            "contacts": list(self.contacts),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class ContactCurves:
    """Contact-rate curves of every anchor, the per-offset tests and the windows found.

    ``curves`` has one row per (anchor, offset): ``at_risk``, ``contacts``,
    ``rate_per_1000``, ``baseline_per_1000``, ``expected``, ``p_value``,
    ``q_value``, ``flagged``. ``channels`` has the contacts per (anchor, offset,
    channel). ``anchor_journeys`` counts journeys per anchor; ``data_end`` is
    the last timestamp in the data (offsets after it are censored).
    ``anchors`` (:func:`anchor_events`) and ``pairs`` (:func:`contact_pairs`)
    are the materialised Ibis tables behind the curves, for further queries.
    """

    rule: ContactRule
    unit: str
    horizon: int
    alpha: float
    curves: pa.Table
    channels: pa.Table
    anchor_journeys: dict[str, int]
    moments: tuple[HiddenMoment, ...]
    data_end: datetime
    anchors: ibis.Table
    pairs: ibis.Table


# ---------------------------------------------------------------- which events
def contact_rule(
    catalogue: pa.Table,
    *,
    anchors: Sequence[str] | None = None,
    contacts: Sequence[str] | None = None,
) -> ContactRule:
    """Decide the anchors and contacts from the touchpoint catalogue (or take them as given).

    Raises
    ------
    DataError
        If the catalogue has no company- or no customer-initiated touchpoint and
        none were named: declare ``initiated_by`` in the spec's ``[[touchpoints]]``.
    """
    rows = catalogue.to_pylist()
    names = {r["touchpoint"] for r in rows}
    unknown = sorted((set(anchors or ()) | set(contacts or ())) - names)
    if unknown:
        raise ConfigError(f"unknown touchpoints {unknown}; known: {sorted(names)}")
    company = [r["touchpoint"] for r in rows if r["initiated_by"] == "company"]
    customer = [r for r in rows if r["initiated_by"] == "customer"]
    reasons = []
    if anchors is None:
        anchors = company
        reasons.append("anchors: company-initiated touchpoints of the catalogue")
    else:
        reasons.append("anchors: as given")
    if contacts is None:
        undesigned = [r["touchpoint"] for r in customer if r["stage"] is None]
        contacts = undesigned or [r["touchpoint"] for r in customer]
        reasons.append(
            "contacts: customer-initiated touchpoints outside the designed journey (no stage)"
            if undesigned
            else "contacts: every customer-initiated touchpoint (all have a stage)"
        )
    else:
        reasons.append("contacts: as given")
    if not anchors or not contacts:
        raise DataError(
            "hidden moments need company-initiated anchors and customer-initiated contacts, "
            f"but the catalogue has {len(company)} company and {len(customer)} customer "
            "touchpoints; set initiated_by = 'company' / 'customer' in the spec's "
            "[[touchpoints]] or name them with --anchor / --contact"
        )
    overlap = sorted(set(anchors) & set(contacts))
    if overlap:
        raise ConfigError(f"touchpoints {overlap} cannot be both anchor and contact")
    return ContactRule(tuple(anchors), tuple(contacts), "; ".join(reasons))


def anchor_events(events: ibis.Table, rule: ContactRule) -> ibis.Table:
    """First occurrence of each anchor per journey.

    Columns: ``journey_id, anchor, anchor_ts, anchor_valence`` (valence of that event).
    """
    a = events.filter(events.touchpoint.isin(list(rule.anchors)) & events.ts.notnull())
    return a.group_by(["journey_id", a.touchpoint.name("anchor")]).aggregate(
        anchor_ts=a.ts.min(), anchor_valence=a.valence.argmin(a.ts)
    )


def contact_pairs(
    events: ibis.Table,
    rule: ContactRule,
    unit_s: int,
    horizon: int,
    anchors: ibis.Table | None = None,
) -> ibis.Table:
    """Every (anchor, contact) pair of a journey with the contact's offset after the anchor.

    ``offset`` is ``floor((contact ts - anchor ts) / unit)`` in ``[0, horizon)``;
    a contact at the anchor's own timestamp has offset 0. ``anchors`` defaults
    to :func:`anchor_events`.
    """
    anchors = anchor_events(events, rule) if anchors is None else anchors
    c = events.filter(events.touchpoint.isin(list(rule.contacts)) & events.ts.notnull())
    c = c.select(
        "journey_id",
        contact=c.touchpoint,
        channel=c.channel.fill_null("unknown"),
        contact_ts=c.ts,
        text=c.text,
    )
    joined = anchors.join(c, "journey_id")
    micros = joined.contact_ts.delta(joined.anchor_ts, unit="microsecond")
    offset = (micros.cast("float64") / (unit_s * 1e6)).floor().cast("int64")
    pairs = joined.mutate(offset=offset)
    return pairs.filter((pairs.contact_ts >= pairs.anchor_ts) & (pairs.offset < horizon))


# ---------------------------------------------------------------- curves and tests
def contact_curves(
    events: ibis.Table,
    rule: ContactRule,
    *,
    unit: str = "day",
    horizon: int = 14,
    alpha: float = 0.05,
    min_journeys: int = 30,
    min_excess_per_1000: float = 10.0,
) -> ContactCurves:
    """Contact-rate curves for every anchor, per-offset tests and the hidden windows.

    Parameters
    ----------
    events:
        Canonical events as an Ibis table (:func:`peakend.engine.events_table`).
    rule:
        Anchors and contacts (:func:`contact_rule`).
    unit, horizon:
        Offsets are counted in ``unit`` (``"day"`` or ``"hour"``) from 0 to ``horizon - 1``.
    alpha:
        False discovery rate over all (anchor, offset) cells.
    min_journeys:
        Anchors seen in fewer journeys are skipped.
    min_excess_per_1000:
        Practical significance: windows with fewer excess contacts per 1,000
        journeys, or whose interval includes zero, are not reported.
    """
    unit_s = _check(unit, horizon, alpha)
    # both are read several times below: materialised once on the backend
    anchors = anchor_events(events, rule).cache()
    end = events.ts.max().to_pyarrow().as_py()
    if end is None:
        raise DataError("no event has a timestamp; hidden moments need times")
    counts = anchors.group_by("anchor").aggregate(n=anchors.count()).to_pyarrow().to_pylist()
    anchor_journeys = {r["anchor"]: int(r["n"]) for r in counts if r["n"] >= min_journeys}
    if not anchor_journeys:
        found = ", ".join(f"{r['anchor']} ({r['n']})" for r in counts) or "none"
        raise DataError(
            f"no company-initiated touchpoint occurs in at least {min_journeys} journeys "
            f"(found: {found}); hidden moments need more journeys per anchor, or a lower "
            "min_journeys"
        )
    risk = _at_risk(anchors, ibis.literal(end), unit_s, horizon)
    pairs = contact_pairs(events, rule, unit_s, horizon, anchors).cache()
    by_channel = (
        pairs.group_by(["anchor", "offset", "channel"])
        .aggregate(contacts=pairs.count())
        .order_by(["anchor", "offset", "channel"])
        .to_pyarrow()
    )
    by_channel = by_channel.filter(
        pc.is_in(
            by_channel["anchor"],
            pa.array(list(anchor_journeys), by_channel.schema.field("anchor").type),
        )
    )
    curves = _tests(_curve_table(risk, by_channel, anchor_journeys, horizon), alpha)
    moments = tuple(
        m
        for m in find_windows(curves, pairs, anchors, end, unit, unit_s, list(rule.anchors))
        if m.excess_per_1000.value >= min_excess_per_1000 and m.excess_per_1000.low > 0
    )
    return ContactCurves(
        rule,
        unit,
        horizon,
        alpha,
        curves,
        by_channel,
        anchor_journeys,
        moments,
        end,
        anchors,
        pairs,
    )


def _check(unit: str, horizon: int, alpha: float) -> int:
    if unit not in UNITS_S:
        raise ConfigError(f"unit must be one of {sorted(UNITS_S)}, not {unit!r}")
    if not 2 <= horizon <= 1000:
        raise ConfigError(f"horizon must be between 2 and 1000 {unit}s, not {horizon}")
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha must lie in (0, 1), not {alpha}")
    return UNITS_S[unit]


def _at_risk(anchors: ibis.Table, end: Any, unit_s: int, horizon: int) -> dict[str, np.ndarray]:
    """Journeys observed at each offset: anchor + offset units before the end of the data."""
    micros = end.delta(anchors.anchor_ts, unit="microsecond").cast("float64")
    last = (micros / (unit_s * 1e6)).floor().cast("int64").clip(upper=horizon - 1)
    t = anchors.mutate(last=last)
    t = t.group_by(["anchor", "last"]).aggregate(n=t.count())
    rows = t.to_pyarrow().to_pylist()
    result: dict[str, np.ndarray] = {}
    for r in rows:
        hist = result.setdefault(r["anchor"], np.zeros(horizon))
        hist[int(r["last"])] += r["n"]
    # journeys observed through offset k: those whose last observable offset is >= k
    return {a: np.cumsum(h[::-1])[::-1] for a, h in result.items()}


def _curve_table(
    risk: dict[str, np.ndarray], by_channel: pa.Table, anchors: dict[str, int], horizon: int
) -> dict[str, np.ndarray]:
    names = sorted(anchors)
    n = len(names) * horizon
    count = np.zeros(n)
    index = {a: i for i, a in enumerate(names)}
    for a, o, c in zip(
        by_channel["anchor"].to_pylist(),
        by_channel["offset"].to_pylist(),
        by_channel["contacts"].to_pylist(),
        strict=True,
    ):
        count[index[a] * horizon + o] += c
    at_risk = np.concatenate([risk.get(a, np.zeros(horizon)) for a in names]) if names else count
    return {
        "anchor": np.repeat(np.array(names, dtype=object), horizon),
        "offset": np.tile(np.arange(horizon), len(names)),
        "at_risk": at_risk,
        "contacts": count,
    }


def _tests(c: dict[str, np.ndarray], alpha: float) -> pa.Table:
    at_risk, count = c["at_risk"], c["contacts"]
    rate = np.divide(count, at_risk, out=np.full(count.size, np.nan), where=at_risk > 0)
    horizon = int(c["offset"].max()) + 1 if count.size else 1
    baseline = np.full(count.size, np.nan)
    for i in range(0, count.size, horizon):
        block = rate[i : i + horizon]
        baseline[i : i + horizon] = np.nanmedian(block) if np.isfinite(block).any() else np.nan
    expected = np.nan_to_num(baseline) * at_risk
    # P(X >= count) for X ~ Poisson(expected); pdtrc(k, m) = P(X > k), and 1 for count 0
    sf = pdtrc(np.maximum(count - 1, 0), np.maximum(expected, 1e-12))
    p = np.where((at_risk > 0) & (count > 0), sf, 1.0)
    q = benjamini_hochberg(p)
    flagged = (q <= alpha) & (count > expected)
    return pa.table(
        {
            "anchor": pa.array(c["anchor"].tolist(), pa.string()),
            "offset": pa.array(c["offset"], pa.int64()),
            "at_risk": pa.array(at_risk.astype(np.int64)),
            "contacts": pa.array(count.astype(np.int64)),
            "rate_per_1000": pa.array(1000 * rate),
            "baseline_per_1000": pa.array(1000 * baseline),
            "expected": pa.array(expected),
            "p_value": pa.array(p),
            "q_value": pa.array(q),
            "flagged": pa.array(flagged),
        }
    )


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values), in the input order."""
    n = p.size
    if n == 0:
        return p.astype(np.float64)
    order = np.argsort(p)
    ranked = p[order] * n / np.arange(1, n + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(q, 1.0)
    return out
