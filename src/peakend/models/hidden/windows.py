"""Hidden-moment windows: runs of flagged offsets, their size with intervals, and echoes.

A window is a run of consecutive (anchor, offset) cells flagged by the tests in
:mod:`peakend.models.hidden.curves`. Its excess contacts per 1,000 journeys and the
share of customers affected come with 95 % intervals from the per-journey
counts of the journeys observed through the whole window (normal
approximation; journeys are independent). Windows of different anchors that
share most of their contacts are one moment seen twice (see :func:`distinct`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import ibis
import pyarrow as pa

from peakend.models.resampling import Interval

Z_95 = 1.959964


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


# ---------------------------------------------------------------- windows
def _runs(curves: pa.Table) -> list[tuple[str, int, int, float, float]]:
    """Runs of flagged offsets: (anchor, first, last, min q, pooled baseline per unit)."""
    rows = curves.to_pylist()
    runs: list[tuple[str, int, int, float, float]] = []
    by_anchor: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_anchor.setdefault(r["anchor"], []).append(r)
    for anchor, cells in by_anchor.items():
        _fill_holes(cells)
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


def _fill_holes(cells: list[dict[str, Any]]) -> None:
    """Join two runs split by one offset that is above baseline but not significant.

    One window of doubt should not be reported as two because a single day in
    its middle missed the threshold (more likely with hours than with days).
    """
    flags = [c["flagged"] for c in cells]
    for i in range(1, len(cells) - 1):
        hole = not flags[i] and flags[i - 1] and flags[i + 1]
        if hole and cells[i]["contacts"] > cells[i]["expected"]:
            cells[i]["flagged"] = True


def find_windows(
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
    keep = distinct(moments, _shared_contacts(pairs, w), order)
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


def distinct(
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
