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
* **Windows**: consecutive flagged offsets. Their excess contacts per 1,000
  journeys and the share of customers affected come with 95 % intervals from
  the per-journey counts (normal approximation; journeys are independent).

Everything up to the per-window totals is an Ibis expression (DuckDB by
default), so ten million events stay within seconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import stats

from peakend.errors import ConfigError, DataError
from peakend.models.resampling import Interval

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
class HiddenMoment:
    """A window of excess customer contacts after an anchor touchpoint.

    Attributes
    ----------
    anchor:
        The company touchpoint the window follows.
    first_offset, last_offset:
        The window in ``unit`` after the anchor (inclusive; 0 = the anchor's own day).
    unit:
        ``"day"`` or ``"hour"``.
    n_journeys:
        Journeys with the anchor that were observed through the whole window.
    contacts:
        Contacts in the window in those journeys.
    excess_per_1000:
        Contacts above the baseline per 1,000 journeys with the anchor (95 % interval).
    share_affected:
        Share of journeys with at least one contact in the window above what
        the baseline rate gives (95 % interval).
    baseline_per_1000:
        Baseline contacts per 1,000 journeys per unit.
    q_value:
        Smallest Benjamini-Hochberg adjusted p-value among the window's offsets.
    contact_mix, channel_mix:
        Shares of contact touchpoints and channels in the window.
    """

    anchor: str
    first_offset: int
    last_offset: int
    unit: str
    n_journeys: int
    contacts: int
    excess_per_1000: Interval
    share_affected: Interval
    baseline_per_1000: float
    q_value: float
    contact_mix: dict[str, float] = field(default_factory=dict)
    channel_mix: dict[str, float] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``anchor +2..3 day`` style name."""
        return f"{self.anchor} +{self.first_offset}..{self.last_offset} {self.unit}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        d = asdict(self)
        d["label"] = self.label
        d["excess_per_1000"] = self.excess_per_1000.to_dict()
        d["share_affected"] = self.share_affected.to_dict()
        return d


@dataclass(frozen=True)
class ContactCurves:
    """Contact-rate curves of every anchor, the per-offset tests and the windows found.

    ``curves`` has one row per (anchor, offset): ``at_risk``, ``contacts``,
    ``rate_per_1000``, ``baseline_per_1000``, ``expected``, ``p_value``,
    ``q_value``, ``flagged``. ``channels`` has the contacts per (anchor, offset,
    channel). ``anchor_journeys`` counts journeys per anchor; ``data_end`` is
    the last timestamp in the data (offsets after it are censored).
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


def contact_pairs(events: ibis.Table, rule: ContactRule, unit_s: int, horizon: int) -> ibis.Table:
    """Every (anchor, contact) pair of a journey with the contact's offset after the anchor.

    ``offset`` is ``floor((contact ts - anchor ts) / unit)`` in ``[0, horizon)``;
    a contact at the anchor's own timestamp has offset 0.
    """
    anchors = anchor_events(events, rule)
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
    anchors = anchor_events(events, rule)
    end = events.ts.max().to_pyarrow().as_py()
    if end is None:
        raise DataError("no event has a timestamp; hidden moments need times")
    counts = anchors.group_by("anchor").aggregate(n=anchors.count()).to_pyarrow().to_pylist()
    anchor_journeys = {r["anchor"]: int(r["n"]) for r in counts if r["n"] >= min_journeys}
    risk = _at_risk(anchors, ibis.literal(end), unit_s, horizon)
    pairs = contact_pairs(events, rule, unit_s, horizon)
    by_channel = (
        pairs.group_by(["anchor", "offset", "channel"])
        .aggregate(contacts=pairs.count())
        .order_by(["anchor", "offset", "channel"])
        .to_pyarrow()
    )
    by_channel = by_channel.filter(pc.is_in(by_channel["anchor"], pa.array(list(anchor_journeys))))
    curves = _tests(_curve_table(risk, by_channel, anchor_journeys, horizon), alpha)
    moments = tuple(
        m
        for m in _windows(curves, pairs, anchors, end, unit, unit_s, list(rule.anchors))
        if m.excess_per_1000.value >= min_excess_per_1000 and m.excess_per_1000.low > 0
    )
    return ContactCurves(
        rule, unit, horizon, alpha, curves, by_channel, anchor_journeys, moments, end
    )


def windows_table(moments: Sequence[HiddenMoment]) -> ibis.Table:
    """The windows as a small Ibis table: ``window_id`` (position), anchor, first, last."""
    return ibis.memtable(
        {
            "window_id": list(range(len(moments))),
            "anchor": [m.anchor for m in moments],
            "first": [m.first_offset for m in moments],
            "last": [m.last_offset for m in moments],
        },
        schema={"window_id": "int64", "anchor": "string", "first": "int64", "last": "int64"},
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
    p = np.where(at_risk > 0, stats.poisson.sf(count - 1, np.maximum(expected, 1e-12)), 1.0)
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


# ---------------------------------------------------------------- windows
def _runs(curves: pa.Table) -> list[tuple[str, int, int, float, float]]:
    """Runs of flagged offsets: (anchor, first, last, min q, pooled baseline per unit)."""
    rows = curves.to_pylist()
    runs: list[tuple[str, int, int, float, float]] = []
    by_anchor: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_anchor.setdefault(r["anchor"], []).append(r)
    for anchor, cells in by_anchor.items():
        quiet = [r for r in cells if not r["flagged"] and r["at_risk"] > 0]
        exposure = sum(r["at_risk"] for r in quiet)
        base = sum(r["contacts"] for r in quiet) / exposure if exposure else 0.0
        start = None
        for r in [*cells, None]:
            if r is not None and r["flagged"]:
                start = r["offset"] if start is None else start
                continue
            if start is not None:
                last = (r["offset"] if r is not None else cells[-1]["offset"] + 1) - 1
                q = min(c["q_value"] for c in cells if start <= c["offset"] <= last)
                runs.append((anchor, start, last, q, base))
                start = None
    return runs


def _windows(
    curves: pa.Table,
    pairs: ibis.Table,
    anchors: ibis.Table,
    end: Any,
    unit: str,
    unit_s: int,
    order: list[str],
) -> tuple[HiddenMoment, ...]:
    runs = _runs(curves)
    if not runs:
        return ()
    w = ibis.memtable(
        {
            "window_id": list(range(len(runs))),
            "anchor": [r[0] for r in runs],
            "first": [r[1] for r in runs],
            "last": [r[2] for r in runs],
        }
    )
    stats_ = _window_counts(pairs, anchors, w, ibis.literal(end), unit_s)
    mixes = _window_mixes(pairs, w)
    moments = []
    for i, (anchor, first, last, q, base) in enumerate(runs):
        s = stats_.get(i, {"n": 0, "total": 0, "sq": 0, "hit": 0})
        moments.append(_moment(anchor, first, last, unit, q, base, s, mixes.get(i, ({}, {}))))
    keep = _distinct(moments, _shared_contacts(pairs, w), order)
    return tuple(m for i, m in enumerate(moments) if i in keep)


def _shared_contacts(pairs: ibis.Table, windows: ibis.Table) -> dict[tuple[int, int], int]:
    """Contacts that fall in two windows at once (same journey, same contact event)."""
    j = pairs.join(windows, "anchor")
    j = j.filter((j.offset >= j["first"]) & (j.offset <= j["last"]))
    m = j.select("window_id", "journey_id", "contact", "contact_ts")
    other = m.view()
    both = m.join(
        other,
        (m.journey_id == other.journey_id)
        & (m.contact == other.contact)
        & (m.contact_ts == other.contact_ts)
        & (m.window_id < other.window_id),
    )
    agg = both.group_by([m.window_id.name("a"), other.window_id.name("b")]).aggregate(
        n=both.count()
    )
    return {(int(r["a"]), int(r["b"])): int(r["n"]) for r in agg.to_pyarrow().to_pylist()}


def _distinct(
    moments: list[HiddenMoment], shared: dict[tuple[int, int], int], order: list[str]
) -> set[int]:
    """Drop echoes: a window sharing most of its contacts with a larger one is the same moment.

    An anchor that closely follows another (a welcome mail minutes after the
    subscription) sees the same contacts at the same distance. Of two windows
    that share contacts, the weaker is the one with clearly fewer excess
    contacts per journey (intervals apart), else the one with fewer excess
    contacts in total (excess per journey times journeys); it is dropped when
    more than half of its excess contacts are also in the other window. On an
    exact tie (anchors logged together) the anchor later in ``order`` is kept.
    """

    def size(i: int) -> float:
        return moments[i].excess_per_1000.value * moments[i].n_journeys

    def weaker(a: int, b: int) -> int:
        ea, eb = moments[a].excess_per_1000, moments[b].excess_per_1000
        if ea.low > eb.high or eb.low > ea.high:  # clearly more contacts per journey
            return b if ea.low > eb.high else a
        if math.isclose(size(a), size(b), rel_tol=1e-6):  # same events: the later anchor
            return a if order.index(moments[a].anchor) < order.index(moments[b].anchor) else b
        return a if size(a) < size(b) else b

    keep = set(range(len(moments)))
    for (a, b), n in sorted(shared.items(), key=lambda kv: -kv[1]):
        if a in keep and b in keep:
            w = weaker(a, b)
            if n > 0.5 * size(w) / 1000:
                keep.discard(w)
    return keep


def observed_window_journeys(
    anchors: ibis.Table, windows: ibis.Table, end: Any, unit_s: int
) -> ibis.Table:
    """Journeys observed through the whole window, one row per (window_id, journey_id).

    Columns: ``window_id, journey_id, anchor_ts, anchor_valence``.
    """
    j = anchors.join(windows, "anchor")
    close = j.anchor_ts + ibis.interval(seconds=1) * ((j["last"] + 1) * unit_s)
    return j.filter(close <= end).select("window_id", "journey_id", "anchor_ts", "anchor_valence")


def window_contact_counts(pairs: ibis.Table, windows: ibis.Table) -> ibis.Table:
    """Contacts per (window_id, journey_id) inside each window."""
    j = pairs.join(windows, "anchor")
    j = j.filter((j.offset >= j["first"]) & (j.offset <= j["last"]))
    return j.group_by(["window_id", "journey_id"]).aggregate(k=j.count())


def _window_counts(
    pairs: ibis.Table, anchors: ibis.Table, windows: ibis.Table, end: Any, unit_s: int
) -> dict[int, dict[str, float]]:
    observed = observed_window_journeys(anchors, windows, end, unit_s)
    counts = window_contact_counts(pairs, windows)
    j = observed.left_join(counts, ["window_id", "journey_id"])
    k = j.k.fill_null(0).cast("float64")
    agg = j.group_by("window_id").aggregate(
        n=j.count(), total=k.sum(), sq=(k * k).sum(), hit=(k > 0).cast("int64").sum()
    )
    return {int(r["window_id"]): r for r in agg.to_pyarrow().to_pylist()}


def _window_mixes(
    pairs: ibis.Table, windows: ibis.Table
) -> dict[int, tuple[dict[str, float], dict[str, float]]]:
    j = pairs.join(windows, "anchor")
    j = j.filter((j.offset >= j["first"]) & (j.offset <= j["last"]))
    result: dict[int, tuple[dict[str, float], dict[str, float]]] = {}
    for col, slot in (("contact", 0), ("channel", 1)):
        rows = j.group_by(["window_id", col]).aggregate(n=j.count()).to_pyarrow().to_pylist()
        for r in rows:
            mix = result.setdefault(int(r["window_id"]), ({}, {}))[slot]
            mix[r[col]] = float(r["n"])
    for mixes in result.values():
        for mix in mixes:
            total = sum(mix.values())
            for key in mix:
                mix[key] = round(mix[key] / total, 4)
    return {
        i: tuple(dict(sorted(m.items(), key=lambda kv: -kv[1])) for m in mixes)  # type: ignore[misc]
        for i, mixes in result.items()
    }


def _moment(
    anchor: str,
    first: int,
    last: int,
    unit: str,
    q: float,
    base: float,
    s: dict[str, Any],
    mixes: tuple[dict[str, float], dict[str, float]],
) -> HiddenMoment:
    n = int(s["n"])
    width = last - first + 1
    mean = s["total"] / n if n else math.nan
    var = max(s["sq"] / n - mean * mean, 0.0) if n else math.nan
    half = Z_95 * math.sqrt(var / n) if n > 1 else math.nan
    excess = 1000 * (mean - base * width)
    hit = s["hit"] / n if n else math.nan
    # chance of >= 1 contact in the window at the baseline rate alone (Poisson)
    hit0 = 1.0 - math.exp(-base * width)
    hit_half = Z_95 * math.sqrt(hit * (1 - hit) / n) if n > 1 else math.nan
    return HiddenMoment(
        anchor=anchor,
        first_offset=first,
        last_offset=last,
        unit=unit,
        n_journeys=n,
        contacts=int(s["total"]),
        excess_per_1000=Interval(excess, excess - 1000 * half, excess + 1000 * half, n),
        share_affected=Interval(hit - hit0, hit - hit0 - hit_half, hit - hit0 + hit_half, n),
        baseline_per_1000=1000 * base,
        q_value=q,
        contact_mix=mixes[0],
        channel_mix=mixes[1],
    )
