"""Contact-rate curves after company touchpoints, and the tests that find hidden moments.

The moments that customers remember often fall *between* the touchpoints an
organisation designed: doubt two days after signing, worry before the first
invoice. They show up as unsolicited contacts. For every company-initiated
touchpoint (an **anchor**) this module counts the customer-initiated contacts
by day (or hour) offset after it, and tests each offset against a modelled
baseline. Method (documented in ``docs/hidden.md``):

* **Anchor**: the first occurrence of the touchpoint in a journey.
* **Contacts**: customer-initiated events of touchpoints outside the designed
  journey (no ``stage``); when every customer-initiated touchpoint has a stage,
  all customer-initiated events count. A contact logged at the anchor's own
  timestamp is not a reaction to it: it is counted apart, as *logged together*.
* **Risk set**: a journey is at risk on offset *k* only while it is open through
  the whole unit: until its first closing touchpoint, or else its last event
  that is not a contact plus the grace period (``[journey_end]`` in the spec),
  and never past the end of the data.
* **Split**: customers are split at random into two halves. Windows are
  *detected* on one half and *measured* on the other, so the reported excess
  and its interval are not inflated by the selection.
* **Baseline**: a robust straight line through the offsets' rates (Siegel's
  repeated medians, so a window covering less than half of the horizon does
  not raise it) times the week rhythm (hour of week of all contacts), so that
  office hours and tenure drift are part of the baseline, not findings.
* **Test**: per offset, the excess of contacts over the baseline divided by its
  customer-level standard error (several contacts of one customer are not
  independent), further scaled by the spread of these z-scores across the
  anchor's offsets when it exceeds 1 (quasi-likelihood dispersion, robust
  MAD); one-sided normal p-values, Benjamini-Hochberg over all cells of all
  anchors at ``alpha``.

Everything up to the per-cell totals is an Ibis expression (DuckDB by default),
so ten million events stay within seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.selectors as s
import numpy as np
import pyarrow as pa
from numpy.typing import NDArray
from scipy.stats import norm

from peakend.engine.order import backend_name
from peakend.errors import ConfigError, DataError
from peakend.models.hidden.times import micros_between
from peakend.models.hidden.windows import (
    AnchorSample,
    HiddenMoment,
    LoggedTogether,
    find_windows,
    logged_with_anchor,
    observed_window_journeys,
    together_in,
    window_contact_counts,
    windows_table,
)
from peakend.stats.counts import benjamini_hochberg, weighted_line

__all__ = [
    "UNITS_S",
    "AnchorSample",
    "ContactCurves",
    "ContactRule",
    "HiddenMoment",
    "LoggedTogether",
    "anchor_events",
    "benjamini_hochberg",
    "contact_curves",
    "contact_pairs",
    "contact_rule",
    "observed_window_journeys",
    "window_contact_counts",
    "windows_table",
]

UNITS_S = {"day": 86_400, "hour": 3_600}
HOURS_OF_WEEK = 168
F64 = NDArray[np.float64]


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

    ``curves`` has one row per (anchor, offset) of the *detection* half:
    ``at_risk``, ``contacts``, ``rate_per_1000``, ``baseline_per_1000``,
    ``expected``, ``z``, ``p_value``, ``q_value``, ``rhythm`` (the week
    rhythm's multiplier), ``tested``, ``flagged``.
    ``channels`` has the contacts per (anchor, offset, channel) of all journeys.
    ``anchor_journeys`` counts journeys per anchor; ``data_end`` is the last
    timestamp in the data. ``anchors`` (with each journey's ``last_full``
    observed offset, ``customer`` and ``half``) and ``pairs`` are the
    materialised Ibis tables behind the curves, for further queries.
    ``samples`` holds the measuring half of every anchor with a window, as the
    arrays its bootstrap reads (:class:`AnchorSample`).
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
    logged_together: tuple[LoggedTogether, ...] = ()
    grace_days: float = 14.0
    closing: tuple[str, ...] = ()
    samples: dict[str, AnchorSample] = field(default_factory=dict)


# ---------------------------------------------------------------- which events
def contact_rule(
    catalogue: pa.Table,
    *,
    anchors: Sequence[str] | None = None,
    contacts: Sequence[str] | None = None,
    closing: Sequence[str] = (),
) -> ContactRule:
    """Decide the anchors and contacts from the touchpoint catalogue (or take them as given).

    Closing touchpoints end a journey and are never anchors.

    Raises
    ------
    DataError
        If the catalogue has no company- or no customer-initiated touchpoint and
        none were named: declare ``initiated_by`` in the spec's ``[[touchpoints]]``.
    """
    rows = catalogue.to_pylist()
    names = {r["touchpoint"] for r in rows}
    unknown = sorted((set(anchors or ()) | set(contacts or ()) | set(closing)) - names)
    if unknown:
        raise ConfigError(f"unknown touchpoints {unknown}; known: {sorted(names)}")
    company = [
        r["touchpoint"]
        for r in rows
        if r["initiated_by"] == "company" and r["touchpoint"] not in closing
    ]
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


def journey_ends(
    events: ibis.Table,
    rule: ContactRule,
    end: Any,
    *,
    grace_s: float,
    closing: Sequence[str] = (),
    anchors: Sequence[str] = (),
) -> ibis.Table:
    """When each journey stops being open: ``journey_id, customer, end_ts``.

    The first closing touchpoint if the journey has one, else its last event
    that is not a contact plus ``grace_s`` seconds, never past ``end``. A
    contact does not keep a journey open: that would let the contacts decide
    the very risk set they are counted in. ``customer`` is the customer id (the
    journey id when missing), the unit of the split and of the resampling.
    With ``anchors``, one more column per anchor touchpoint, ``anchor:NAME``:
    its first occurrence in the journey as a struct of ``anchor_ts`` and
    ``anchor_valence`` (:func:`anchor_events`), null without one.
    """
    e = events.filter(events.ts.notnull())
    # one pass over the events: each aggregate reads only the rows it is about
    found = {
        "customer": e.customer_id.max(),
        "last_ts": e.ts.max(where=~e.touchpoint.isin(list(rule.contacts))),
    }
    if closing:
        found["close_ts"] = e.ts.min(where=e.touchpoint.isin(list(closing)))
    for name in anchors:
        found[f"ts:{name}"] = e.ts.min(where=e.touchpoint == name)
        found[f"valence:{name}"] = _first_valence(e, e.touchpoint == name)
    t = e.group_by("journey_id").aggregate(**found)
    close = t.close_ts if closing else ibis.null().cast(t.last_ts.type())
    open_until = ibis.coalesce(close, t.last_ts + ibis.interval(seconds=1) * int(grace_s))
    open_until = ibis.least(open_until, end)
    first = {
        f"anchor:{name}": ibis.struct(
            {"anchor_ts": t[f"ts:{name}"], "anchor_valence": t[f"valence:{name}"]}
        )
        for name in anchors
    }
    return t.select(
        "journey_id",
        customer=ibis.coalesce(t.customer, t.journey_id),
        end_ts=open_until,
        **first,
    )


@ibis.udf.agg.builtin(name="arg_min_null")  # type: ignore[untyped-decorator]
def _arg_min_null(arg: dt.float64, key: dt.Timestamp(timezone="UTC")) -> dt.float64:  # type: ignore[valid-type, empty-body]
    """DuckDB's ``arg_min_null``: ``arg`` at the smallest ``key``, a missing ``arg`` included."""


def _first_valence(e: ibis.Table, where: ibis.Value) -> ibis.Value:
    """The valence of the first of ``e``'s rows ``where`` (by time), missing if that one's is.

    Ibis writes ``valence.argmin(ts)`` for DuckDB as ``first(valence ORDER BY ts)``,
    an ordered aggregate; DuckDB's ``arg_min_null`` gives the same value (the
    anchors table of the 10M log identical) for 0.25 of the query's 3.6 CPU s
    less. Other backends keep ``argmin``.
    """
    if backend_name(e) == "duckdb":
        return _arg_min_null(e.valence, e.ts, where=where)  # type: ignore[no-any-return]
    return e.valence.argmin(e.ts, where=where)


def journey_anchors(
    events: ibis.Table,
    rule: ContactRule,
    end: Any,
    *,
    grace_s: float,
    closing: Sequence[str],
    unit_s: int,
    horizon: int,
    seed: int,
) -> ibis.Table:
    """:func:`at_risk_anchors` of :func:`anchor_events` and :func:`journey_ends`, in one pass.

    The journeys' ends and their first anchors come from one aggregation of the
    events by journey (one anchor column each), turned into one row per anchor:
    the same table as the two aggregations and their join, for a quarter less work
    on ten million events. The half is drawn once per journey.
    """
    ends = journey_ends(events, rule, end, grace_s=grace_s, closing=closing, anchors=rule.anchors)
    t = customer_halves(ends, seed).pivot_longer(
        s.startswith("anchor:"), names_to="anchor", names_pattern="anchor:(.+)", values_to="_a"
    )
    t = t.filter(t._a.anchor_ts.notnull())
    return _at_risk(
        t.mutate(anchor_ts=t._a.anchor_ts, anchor_valence=t._a.anchor_valence), unit_s, horizon
    )


def at_risk_anchors(
    anchors: ibis.Table, ends: ibis.Table, unit_s: int, horizon: int, seed: int
) -> ibis.Table:
    """Anchors with ``customer``, ``last_full`` and ``half``.

    ``last_full`` is the last offset whose whole unit the journey was open
    (``-1``: none); ``half`` (0 detects, 1 measures) is drawn per customer from
    a hash of the customer id and ``seed`` (:func:`customer_halves`).
    """
    return _at_risk(customer_halves(anchors.join(ends, "journey_id"), seed), unit_s, horizon)


def _at_risk(j: ibis.Table, unit_s: int, horizon: int) -> ibis.Table:
    """The anchors' columns of :func:`at_risk_anchors`, ``last_full`` computed from ``end_ts``."""
    micros = micros_between(j.end_ts, j.anchor_ts).cast("float64")
    full = (micros / (unit_s * 1e6)).floor().cast("int64") - 1
    return j.select(
        "journey_id",
        "anchor",
        "anchor_ts",
        "anchor_valence",
        "customer",
        last_full=full.clip(lower=-1, upper=horizon - 1),
        half="half",
    )


def customer_halves(table: ibis.Table, seed: int) -> ibis.Table:
    """``table`` with ``half``: DuckDB's hash of the ``customer`` id and ``seed``, modulo 2.

    Each engine hashes differently, and the split must not depend on where the
    events are: on another backend (Spark) the distinct customer ids come to this
    process, DuckDB hashes them, and the halves go back as a small table.
    """
    backend = ibis.get_backend(table)
    if backend.name == "duckdb":
        return table.mutate(half=_half(table.customer, seed))
    keyed = table.mutate(customer_key=table.customer.cast("string"))
    ids = keyed.select("customer_key").distinct().to_pyarrow()
    local = ibis.duckdb.connect()
    customers = local.create_table("customers", ids)
    halves = customers.mutate(half=_half(customers.customer_key, seed)).to_pyarrow()
    # a temporary view (a table would be written to the session's warehouse)
    view = backend.create_view("peakend_customer_halves", ibis.memtable(halves), overwrite=True)
    return keyed.join(view, "customer_key").drop("customer_key")


def _half(customer: ibis.Value, seed: int) -> ibis.Value:
    hashed = (customer.cast("string") + ibis.literal(f"#{seed}")).hash() % 2
    return hashed.abs().cast("int64")


def contact_pairs(
    events: ibis.Table,
    rule: ContactRule,
    unit_s: int,
    horizon: int,
    anchors: ibis.Table,
) -> ibis.Table:
    """Every (anchor, contact) pair of a journey with the contact's offset after the anchor.

    ``offset`` is ``floor((contact ts - anchor ts) / unit)``; only contacts
    after the anchor's own timestamp and inside a unit the journey was open
    through (``offset <= last_full``) are kept. ``anchors`` comes from
    :func:`at_risk_anchors`.
    """
    pairs = _anchor_contacts(events, rule, unit_s, anchors)
    return pairs.filter(_counted(pairs))


def _anchor_contacts(
    events: ibis.Table, rule: ContactRule, unit_s: int, anchors: ibis.Table
) -> ibis.Table:
    """All (anchor, contact) pairs of a journey, with the contact's ``offset`` after the anchor."""
    joined = anchors.join(_contacts(events, rule), "journey_id")
    micros = micros_between(joined.contact_ts, joined.anchor_ts)
    offset = (micros.cast("float64") / (unit_s * 1e6)).floor().cast("int64")
    return joined.mutate(offset=offset)


def _counted(pairs: ibis.Table) -> ibis.Value:
    """The pairs the curves count: after the anchor, in a unit the journey was open through."""
    return (pairs.contact_ts > pairs.anchor_ts) & (pairs.offset <= pairs.last_full)


def _contacts(events: ibis.Table, rule: ContactRule) -> ibis.Table:
    c = events.filter(events.touchpoint.isin(list(rule.contacts)) & events.ts.notnull())
    return c.select(
        "journey_id",
        contact=c.touchpoint,
        channel=c.channel.fill_null("unknown"),
        contact_ts=c.ts,
        text=c.text,
    )


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
    grace_days: float = 14.0,
    closing: Sequence[str] = (),
    seed: int = 0,
    replicates: int = 200,
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
        Anchors seen in fewer journeys are skipped; offsets with fewer journeys
        at risk in the detection half are not tested.
    min_excess_per_1000:
        Practical significance: windows with fewer excess contacts per 1,000
        journeys, or whose interval (measured on the other half) includes
        zero, are not reported.
    grace_days, closing:
        When a journey stops being open (see :func:`journey_ends`).
    seed, replicates:
        The customer split and the cluster bootstrap of the window estimates.
    """
    unit_s = _check(unit, horizon, alpha)
    end = events.ts.max().to_pyarrow().as_py()
    if end is None:
        raise DataError("no event has a timestamp; hidden moments need times")
    end_lit = ibis.literal(end)
    anchors = journey_anchors(
        events, rule, end_lit, grace_s=grace_days * 86_400, closing=closing,
        unit_s=unit_s, horizon=horizon, seed=seed,
    ).cache()  # fmt: skip
    counts = anchors.group_by("anchor").aggregate(n=anchors.count()).to_pyarrow().to_pylist()
    anchor_journeys = {r["anchor"]: int(r["n"]) for r in counts if r["n"] >= min_journeys}
    if not anchor_journeys:
        found = ", ".join(f"{r['anchor']} ({r['n']})" for r in counts) or "none"
        raise DataError(
            f"no company-initiated touchpoint occurs in at least {min_journeys} journeys "
            f"(found: {found}); hidden moments need more journeys per anchor, or a lower "
            "min_journeys"
        )
    # one join of the anchors with the contacts, stored with the contacts logged
    # together with an anchor: the curves' pairs and those are read from it
    joined = _anchor_contacts(events, rule, unit_s, anchors)
    stored = joined.filter(_counted(joined) | logged_with_anchor(joined)).cache()
    pairs = stored.filter(_counted(stored))
    together = together_in(stored, anchor_journeys)
    channels = _channels(pairs, anchor_journeys)
    names = sorted(anchor_journeys)
    rhythm = _rhythm(events, rule, anchors, names, unit_s, horizon)
    cells = _cells(anchors, pairs, names, horizon)
    curves = _tests(cells, rhythm, names, horizon, alpha, min_journeys)
    windows, samples = find_windows(
        curves, pairs, anchors, rhythm, unit, list(rule.anchors), seed, replicates,
        min_excess_per_1000=min_excess_per_1000,
    )  # fmt: skip
    moments = tuple(
        m
        for m in windows
        if m.excess_per_1000.value >= min_excess_per_1000 and m.excess_per_1000.low > 0
    )
    return ContactCurves(
        rule, unit, horizon, alpha, curves, channels, anchor_journeys, moments, end,
        anchors, pairs, together, grace_days, tuple(closing), samples,
    )  # fmt: skip


def _check(unit: str, horizon: int, alpha: float) -> int:
    if unit not in UNITS_S:
        raise ConfigError(f"unit must be one of {sorted(UNITS_S)}, not {unit!r}")
    if not 2 <= horizon <= 1000:
        raise ConfigError(f"horizon must be between 2 and 1000 {unit}s, not {horizon}")
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha must lie in (0, 1), not {alpha}")
    return UNITS_S[unit]


def _channels(pairs: ibis.Table, anchors: dict[str, int]) -> pa.Table:
    p = pairs.filter(pairs.anchor.isin(list(anchors)))
    return (
        p.group_by(["anchor", "offset", "channel"])
        .aggregate(contacts=p.count())
        .order_by(["anchor", "offset", "channel"])
        .to_pyarrow()
    )


def _hour_of_week(ts: Any) -> Any:
    return ts.day_of_week.index().cast("int64") * 24 + ts.hour().cast("int64")


def _rhythm(
    events: ibis.Table,
    rule: ContactRule,
    anchors: ibis.Table,
    names: list[str],
    unit_s: int,
    horizon: int,
) -> dict[str, F64]:
    """Per anchor and offset, the week rhythm's multiplier of the contact rate (mean 1).

    The rhythm is the hour-of-week profile of all contacts in the data (a
    flat week gives 1 everywhere); an offset's multiplier averages it over the
    hours the offset covers, for the hours of week at which the anchor fell.
    With fewer than 2,000 contacts the week is taken as flat.
    """
    c = _contacts(events, rule)
    how = c.group_by(h=_hour_of_week(c.contact_ts)).aggregate(n=c.count()).to_pyarrow()
    profile = np.zeros(HOURS_OF_WEEK)
    profile[np.asarray(how["h"], dtype=np.int64)] = np.asarray(how["n"], dtype=np.float64)
    if profile.sum() < 2_000:
        return {a: np.ones(horizon) for a in names}
    r = HOURS_OF_WEEK * profile / profile.sum()
    hours = unit_s // 3_600
    spread = np.mean([np.roll(r, -t) for t in range(hours)], axis=0)  # mean over the unit
    t = anchors.group_by([anchors.anchor, _hour_of_week(anchors.anchor_ts).name("h")]).aggregate(
        n=anchors.count()
    )
    hist: dict[str, F64] = {name: np.zeros(HOURS_OF_WEEK) for name in names}
    for row in t.to_pyarrow().to_pylist():
        if row["anchor"] in hist:
            hist[row["anchor"]][int(row["h"])] += row["n"]
    offsets = np.arange(horizon)
    index = (np.arange(HOURS_OF_WEEK)[:, None] + offsets[None, :] * hours) % HOURS_OF_WEEK
    return {name: (h @ spread[index]) / max(h.sum(), 1.0) for name, h in hist.items()}


def _cells(
    anchors: ibis.Table, pairs: ibis.Table, names: list[str], horizon: int
) -> dict[str, F64]:
    """Per (anchor, half, offset): journeys at risk, contacts, sum of squared customer counts."""
    shape = (len(names), 2, horizon)
    at_risk, contacts, squares = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    index = {a: i for i, a in enumerate(names)}
    r = anchors.filter(anchors.last_full >= 0)
    r = r.group_by(["anchor", "half", "last_full"]).aggregate(n=r.count())
    for row in r.to_pyarrow().to_pylist():
        if row["anchor"] in index:
            at_risk[index[row["anchor"]], row["half"], row["last_full"]] += row["n"]
    at_risk = np.cumsum(at_risk[..., ::-1], axis=2)[..., ::-1]
    per = pairs.group_by(["anchor", "half", "customer", "offset"]).aggregate(k=pairs.count())
    per = per.group_by(["anchor", "half", "offset"]).aggregate(
        c=per.k.sum(), s2=(per.k * per.k).sum()
    )
    for row in per.to_pyarrow().to_pylist():
        if row["anchor"] in index:
            i = (index[row["anchor"]], row["half"], row["offset"])
            contacts[i], squares[i] = row["c"], row["s2"]
    return {"at_risk": at_risk, "contacts": contacts, "squares": squares}


def _tests(
    cells: dict[str, F64],
    rhythm: dict[str, F64],
    names: list[str],
    horizon: int,
    alpha: float,
    min_at_risk: int,
) -> pa.Table:
    """Per-offset tests on the detection half (half 0) against a robust baseline."""
    n, c, s2 = (cells[k][:, 0, :] for k in ("at_risk", "contacts", "squares"))
    base = np.zeros_like(n)
    z = np.zeros_like(n)
    tested = n >= min_at_risk
    for i, name in enumerate(names):
        base[i], z[i] = _baseline(n[i], c[i], s2[i], rhythm[name], tested[i])
    p = np.where(tested, norm.sf(z), 1.0)
    q = benjamini_hochberg(p.ravel()).reshape(p.shape)
    expected = base * n
    flagged = tested & (q <= alpha) & (c > expected)
    rate = np.divide(c, n, out=np.full(n.shape, np.nan), where=n > 0)
    flat = {
        "anchor": pa.array(np.repeat(np.array(names, dtype=object), horizon).tolist(), pa.string()),
        "offset": pa.array(np.tile(np.arange(horizon), len(names)), pa.int64()),
        "at_risk": pa.array(n.ravel().astype(np.int64)),
        "contacts": pa.array(c.ravel().astype(np.int64)),
        "rate_per_1000": pa.array(1000 * rate.ravel()),
        "baseline_per_1000": pa.array(1000 * base.ravel()),
        "expected": pa.array(expected.ravel()),
        "z": pa.array(z.ravel()),
        "p_value": pa.array(p.ravel()),
        "q_value": pa.array(q.ravel()),
        "rhythm": pa.array(np.concatenate([rhythm[a] for a in names]) if names else []),
        "tested": pa.array(tested.ravel()),
        "flagged": pa.array(flagged.ravel()),
    }
    return pa.table(flat)


def _baseline(
    n: F64, c: F64, s2: F64, m: F64, ok: NDArray[np.bool_], cut: float = 2.5
) -> tuple[F64, F64]:
    """Baseline contacts per journey per offset, and each offset's z-score against it.

    The baseline is a straight line in the offset through the rates divided by
    the week rhythm ``m``, times ``m``. It is fitted on the *quiet* offsets:
    starting from the median rate, offsets more than ``cut`` standard errors
    above the line — alone, or summed with their neighbours over a
    fourteenth of the horizon, so that a long window of many small hourly
    excesses is seen — are set aside and the line refitted (weighted least
    squares), until the set is stable. Only excess is looked for, so only high
    offsets are set aside.

    The variance of an offset's count under the baseline is quasi-Poisson: the
    expected count (at least 1) times the dispersion of the customers' counts,
    ``sum(k²) / sum(k)`` over the quiet offsets (1 when no customer contacts
    twice in one unit, more with repeat contacts), inflated for the line's own
    uncertainty. The z-scores are further divided by the robust spread (MAD)
    of the quiet offsets' z-scores when it exceeds 1: a curve the line does not
    fit then flags less.
    """
    offsets = np.arange(n.size, dtype=np.float64)
    rate = np.where(ok, c / np.where(n > 0, n, 1.0) / m, np.nan)
    line = np.full(n.size, np.nanmedian(rate) if ok.any() else 0.0)
    quiet = ok.copy()
    width = max(1, n.size // 14)
    kernel = np.ones(width)
    z = np.zeros(n.size)
    for _ in range(30):
        expected = np.maximum(line, 0.0) * m * n
        dispersion = max(1.0, float(s2[quiet].sum() / max(c[quiet].sum(), 1.0)))
        var = dispersion * np.maximum(expected, 1.0) * (1.0 + 3.0 / max(int(quiet.sum()), 1))
        z = np.where(ok, (c - expected) / np.sqrt(var), 0.0)
        near = np.convolve(np.where(ok, c - expected, 0.0), kernel, "same")
        near = near / np.sqrt(np.convolve(np.where(ok, var, 0.0), kernel, "same") + 1e-12)
        now = ok & (z <= cut) & (near <= cut)
        if now.sum() < 2:
            break
        intercept, slope = weighted_line(
            offsets, np.where(now, rate, np.nan), np.where(now, n, 0.0)
        )
        line = intercept[0] + slope[0] * offsets
        if np.array_equal(now, quiet):
            break
        quiet = now
    if quiet.sum() >= 5:
        spread = 1.4826 * float(np.median(np.abs(z[quiet] - np.median(z[quiet]))))
        z = z / max(spread, 1.0)
    return np.maximum(line, 0.0) * m, z
