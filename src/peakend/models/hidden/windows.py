"""Hidden-moment windows: runs of flagged offsets, their size measured on the other half.

A window is a run of consecutive (anchor, offset) cells flagged by the tests in
:mod:`peakend.models.hidden.curves` on the *detection* half of the customers.
Its excess contacts per 1,000 journeys and the share of customers affected are
measured on the *other* half (:func:`estimate_window`): the mean contacts in
the window of the journeys open through it, minus a baseline refitted on that
half's offsets that were not flagged (a weighted straight line times the week
rhythm), with a 95 % interval from a customer-level bootstrap. Because the
half that measures played no part in choosing the window, the interval is
honest after the selection. Windows of different anchors that share most of
their contacts are one moment seen twice (see :func:`distinct`). Contacts
logged at the anchor's own timestamp are no reaction to it:
:func:`logged_together` reports them apart.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray
from scipy import sparse

from peakend.models.hidden.times import micros_between
from peakend.stats.counts import (
    ClusterTotals,
    cluster_totals,
    cluster_weights,
    weighted_line,
    weighted_totals,
)
from peakend.stats.resampling import Interval

Z_95 = 1.959964
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
#: Bootstrap replicates whose weights are drawn at a time (:func:`estimate_window`).
BLOCK = 25

#: How each window was found and measured (``HiddenMoment.method``).
METHOD = {
    "test": "one-sided z-test per offset: excess contacts over the baseline divided by their "
    "customer-level standard error, scaled by the robust spread of the anchor's z-scores "
    "(quasi-likelihood); Benjamini-Hochberg over all cells of all anchors",
    "baseline": "robust straight line in the offset (Siegel repeated medians) times the "
    "hour-of-week rhythm of all contacts; refitted (weighted least squares) on the "
    "unflagged offsets of the measuring half",
    "risk_set": "journeys open through the whole unit: until a closing touchpoint, else the "
    "last non-contact event plus the grace period, never past the end of the data",
    "split": "customers split at random in two halves: detected on one, excess and interval "
    "measured on the other (customer-level Bayesian bootstrap, 95 % normal interval)",
}


@dataclass(frozen=True)
class LoggedTogether:
    """Contacts logged at an anchor's own timestamp: recorded together, not a reaction.

    A customer event stamped at exactly the time of the company event (a
    system writing both in one batch, an acceptance booked with the approval)
    is a property of the log, not a moment the customer lived after the anchor.
    """

    anchor: str
    journeys: int
    contacts: int
    per_1000: float
    contact_mix: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


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
        Journeys of the measuring half with the anchor, open through the whole window.
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
        Smallest Benjamini-Hochberg adjusted p-value among the window's offsets
        (detection half).
    contact_mix, channel_mix:
        Shares of contact touchpoints and channels in the window.
    method:
        How the window was found and measured: ``test``, ``baseline``,
        ``risk_set``, ``split`` (see :data:`METHOD`).
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
    method: dict[str, str] = field(default_factory=lambda: dict(METHOD))

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
def _runs(curves: pa.Table) -> list[tuple[str, int, int, float]]:
    """Runs of flagged offsets: (anchor, first, last, min q)."""
    by_anchor: dict[str, list[dict[str, Any]]] = {}
    for r in curves.to_pylist():
        by_anchor.setdefault(r["anchor"], []).append(r)
    runs: list[tuple[str, int, int, float]] = []
    for anchor, cells in by_anchor.items():
        _fill_holes(cells)
        start = None
        for r in [*cells, None]:
            if r is not None and r["flagged"]:
                start = r["offset"] if start is None else start
                continue
            if start is not None:
                last = (r["offset"] if r is not None else cells[-1]["offset"] + 1) - 1
                q = min(c["q_value"] for c in cells if start <= c["offset"] <= last)
                runs.append((anchor, start, last, q))
                start = None
    return runs


@dataclass(frozen=True)
class AnchorSample:
    """The measuring half's journeys of one anchor, as arrays for the bootstrap.

    ``customer`` numbers the customers 0..G-1; ``last_full`` is each journey's
    last fully observed offset; ``counts`` is a sparse (journeys × offsets)
    matrix of contacts; ``rhythm`` the week-rhythm multiplier per offset;
    ``quiet`` marks the offsets not flagged on the detection half.
    """

    journey_id: pa.Array
    customer: I64
    last_full: I64
    counts: sparse.csr_matrix
    rhythm: F64
    quiet: NDArray[np.bool_]


def anchor_sample(
    anchors: ibis.Table, pairs: ibis.Table, anchor: str, rhythm: F64, quiet: NDArray[np.bool_]
) -> AnchorSample:
    """Collect the measuring half (half 1) of one anchor from the backend."""
    return anchor_samples(anchors, pairs, {anchor: (rhythm, quiet)})[anchor]


def anchor_samples(
    anchors: ibis.Table, pairs: ibis.Table, curves: dict[str, tuple[F64, NDArray[np.bool_]]]
) -> dict[str, AnchorSample]:
    """The measuring half (half 1) of several anchors, in two queries for all of them.

    ``curves`` maps each anchor to its week rhythm and its quiet offsets.
    """
    names = sorted(curves)
    a = anchors.filter(anchors.anchor.isin(names) & (anchors.half == 1) & (anchors.last_full >= 0))
    # in no particular order: a sample's figures are sums of whole counts over its
    # journeys and customers (numbered by id), the same in any order of the journeys,
    # so the engine need not sort a million rows by journey id
    rows = a.select("anchor", "journey_id", "customer", "last_full").to_pyarrow()
    p = pairs.filter(pairs.anchor.isin(names) & (pairs.half == 1))
    per = p.group_by(["anchor", "journey_id", "offset"]).aggregate(k=p.count()).to_pyarrow()
    return {
        name: _sample(
            rows.filter(pc.equal(rows["anchor"], name)),
            per.filter(pc.equal(per["anchor"], name)),
            *curves[name],
        )
        for name in names
    }


def _sample(rows: pa.Table, per: pa.Table, rhythm: F64, quiet: NDArray[np.bool_]) -> AnchorSample:
    """One anchor's sample from its journeys (in any order) and its contacts per offset."""
    # the ids stay in Arrow: they are only looked up among the outcomes' ids
    ids = pc.cast(rows["journey_id"], pa.string()).combine_chunks()
    # customers numbered in the order of their ids (the order the weights are drawn in)
    rank = pc.rank(rows["customer"], sort_keys="ascending", tiebreaker="dense")
    customer = np.asarray(rank, dtype=np.int64) - 1
    row = np.asarray(pc.index_in(per["journey_id"], value_set=rows["journey_id"]), dtype=np.int64)
    counts = sparse.csr_matrix(
        (np.asarray(per["k"], dtype=np.float64), (row, np.asarray(per["offset"], dtype=np.int64))),
        shape=(len(ids), rhythm.size),
    )
    last_full = np.asarray(rows["last_full"], dtype=np.int64)
    return AnchorSample(ids, customer, last_full, counts, rhythm, quiet)


@dataclass(frozen=True)
class WindowEstimate:
    """A window measured on one sample: excess, share affected, baseline, journeys, contacts."""

    excess_per_1000: Interval
    share_affected: Interval
    baseline_per_unit: float
    n_journeys: int
    contacts: int


def estimate_window(
    sample: AnchorSample,
    first: int,
    last: int,
    *,
    keep: NDArray[np.bool_] | None = None,
    replicates: int = 200,
    seed: int = 0,
    scratch: F64 | None = None,
) -> WindowEstimate:
    """Excess contacts per 1,000 journeys in ``first..last`` with a cluster-bootstrap interval.

    Excess = mean contacts in the window of the journeys open through it, minus
    the baseline: a weighted straight line through the quiet offsets' rates
    (divided by the week rhythm), times the rhythm, summed over the window.
    ``keep`` restricts everything — the window's journeys *and* the baseline —
    to some journeys (a segment gets its own baseline). Each replicate
    reweights whole customers (exponential weights, the Bayesian bootstrap),
    refits the line and recomputes the excess; the interval is the estimate ±
    1.96 bootstrap standard errors. ``scratch`` (:func:`weight_scratch`), when
    given, holds each block of weights instead of a new array per window: a hundred
    megabytes of fresh memory per call on a million journeys.
    """
    keep = np.ones(sample.customer.size, dtype=np.bool_) if keep is None else keep
    customer, last_full = sample.customer[keep], sample.last_full[keep]
    counts = sample.counts[np.flatnonzero(keep)]
    customer = _renumbered(customer)
    in_window = np.asarray(counts[:, first : last + 1].sum(axis=1)).ravel()
    through = (last_full >= last).astype(np.float64)
    groups = int(customer.max()) + 1 if customer.size else 0
    totals = _customer_totals(customer, groups, last_full, counts, in_window, through)
    rng = np.random.default_rng(seed)
    results = [_excess(weighted_totals(totals, np.ones((1, groups))), sample, first, last)]
    if scratch is None or scratch.size < BLOCK * groups:
        scratch = np.empty(BLOCK * groups)
    w = scratch[: BLOCK * groups].reshape(BLOCK, groups)
    for _ in range(math.ceil(replicates / BLOCK)):  # BLOCK replicates' weights at a time
        cluster_weights(rng, BLOCK, groups, out=w)
        results.append(_excess(weighted_totals(totals, w), sample, first, last))
    stacked = np.concatenate(results, axis=1)
    point, boot = stacked[:, 0], stacked[:, 1 : replicates + 1]
    se = np.nanstd(boot, axis=1, ddof=1) if boot.shape[1] > 1 else np.full(3, np.nan)
    n = int(through.sum())
    excess = Interval(1000 * point[0], 1000 * (point[0] - Z_95 * se[0]),
                      1000 * (point[0] + Z_95 * se[0]), n)  # fmt: skip
    share = Interval(point[1], point[1] - Z_95 * se[1], point[1] + Z_95 * se[1], n)
    return WindowEstimate(excess, share, float(point[2]), n, int(in_window[through > 0].sum()))


def window_point(sample: AnchorSample, first: int, last: int) -> WindowEstimate:
    """:func:`estimate_window` of the whole sample without its bootstrap: NaN interval bounds.

    The same figures as the estimate's: its point sums are sums of whole counts
    (journeys, contacts), exact in any order, so they are added over the journeys
    here instead of over the customers' totals.
    """
    counts, last_full = sample.counts, sample.last_full
    horizon = counts.shape[1]
    in_window = np.asarray(counts[:, first : last + 1].sum(axis=1)).ravel()
    through = (last_full >= last).astype(np.float64)
    sums = np.concatenate(
        [
            np.bincount(last_full, minlength=horizon).astype(np.float64),
            np.asarray(counts.sum(axis=0), dtype=np.float64).ravel(),
            [through.sum(), (through * in_window).sum(), (through * (in_window > 0)).sum()],
        ]
    )
    point = _excess(sums[None, :], sample, first, last)[:, 0]
    n = int(through.sum())
    return WindowEstimate(
        Interval(1000 * point[0], math.nan, math.nan, n),
        Interval(point[1], math.nan, math.nan, n),
        float(point[2]),
        n,
        int(in_window[through > 0].sum()),
    )


def weight_scratch(samples: Iterable[AnchorSample]) -> F64:
    """Room for one block of bootstrap weights of the largest of ``samples``.

    Handed to every :func:`estimate_window` of these samples (whole or restricted
    to some journeys), so their weights are drawn into the same memory.
    """
    most = max((int(s.customer.max()) + 1 for s in samples if s.customer.size), default=0)
    return np.empty(BLOCK * most)


def _renumbered(customer: I64) -> I64:
    """Customer numbers 0..G-1 in the order of the given ones (``np.unique``'s inverse).

    Counting the numbers present instead of sorting them: the sample's customers are
    already numbered 0..G-1, so a segment's journeys need no sort of their numbers.
    """
    if customer.size == 0:
        return customer.astype(np.int64)
    present = np.zeros(int(customer.max()) + 1, dtype=np.int64)
    present[customer] = 1
    return (np.cumsum(present) - 1)[customer]


def _customer_totals(
    customer: I64,
    groups: int,
    last_full: I64,
    counts: sparse.csr_matrix,
    in_window: F64,
    through: F64,
) -> ClusterTotals:
    """Each customer's sums, the only figures of a journey a replicate's weights act on.

    A replicate weights every journey of a customer alike, so weighting the
    customers' sums gives the same totals as weighting their journeys, from a
    table as long as the customers rather than the journeys. Figures (``H``
    offsets): journeys whose last full offset is each offset (``0..H-1``),
    contacts per offset (``H..2H-1``), journeys open through the window, their
    contacts in it, and those with at least one (``2H..2H+2``); cut in blocks of
    customers for :func:`~peakend.stats.counts.weighted_totals`.
    """
    horizon = counts.shape[1]
    entries = counts.tocoo()
    # whole counts: their sums per customer are exact in any order of the journeys
    window = {2 * horizon: through, 2 * horizon + 1: through * in_window,
              2 * horizon + 2: through * (in_window > 0)}  # fmt: skip
    held = {figure: np.flatnonzero(v) for figure, v in window.items()}
    rows = [customer, customer[entries.row], *(customer[j] for j in held.values())]
    figures = [last_full, horizon + entries.col, *(np.full(j.size, f) for f, j in held.items())]
    values = [np.ones(customer.size), entries.data, *(window[f][j] for f, j in held.items())]
    per_customer = sparse.coo_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(figures))),
        shape=(groups, 2 * horizon + 3),
    )
    return cluster_totals(per_customer)


def _excess(sums: F64, sample: AnchorSample, first: int, last: int) -> F64:
    """(excess per journey, share affected, baseline per unit) for each row of weighted sums."""
    m = sample.rhythm
    horizon = m.size
    at_risk = np.cumsum(sums[:, horizon - 1 :: -1], axis=1)[:, ::-1]
    contacts = sums[:, horizon : 2 * horizon]
    exposed, in_window, hit = (sums[:, 2 * horizon + k] for k in range(3))
    offsets = np.arange(horizon, dtype=np.float64)
    rate = contacts / np.where(at_risk > 0, at_risk, 1.0) / m
    use = sample.quiet[None, :] & (at_risk > 0)
    use[:, first : last + 1] = False
    y, weight = np.where(use, rate, np.nan), np.where(use, at_risk, 0.0)
    intercept, slope = weighted_line(offsets, y, weight)
    window = np.arange(first, last + 1, dtype=np.float64)
    line = np.maximum(intercept[:, None] + slope[:, None] * window[None, :], 0.0)
    base = (line * m[first : last + 1]).sum(axis=1)
    safe = np.where(exposed > 0, exposed, np.nan)
    share = hit / safe - (1.0 - np.exp(-base))
    return np.vstack([in_window / safe - base, share, base / (last - first + 1)])


def find_windows(
    curves: pa.Table,
    pairs: ibis.Table,
    anchors: ibis.Table,
    rhythm: dict[str, F64],
    unit: str,
    order: list[str],
    seed: int = 0,
    replicates: int = 200,
    min_excess_per_1000: float = -math.inf,
) -> tuple[tuple[HiddenMoment, ...], dict[str, AnchorSample]]:
    """Windows from the flagged cells, measured on the other half, echoes dropped.

    Windows with fewer than ``min_excess_per_1000`` excess contacts per 1,000
    journeys are left out (after the echoes are dropped, which they may cause).
    Also returns the measuring half's sample of every anchor with a window, for
    the estimates by segment (collected once, from the same tables).
    """
    runs = _runs(curves)
    if not runs:
        return (), {}
    w = ibis.memtable(
        {
            "window_id": list(range(len(runs))),
            "anchor": [r[0] for r in runs],
            "first": [r[1] for r in runs],
            "last": [r[2] for r in runs],
        }
    )
    mixes = _window_mixes(pairs, w)
    flagged: dict[str, list[bool]] = {}
    for r in curves.select(["anchor", "flagged"]).to_pylist():  # ordered by anchor, offset
        flagged.setdefault(r["anchor"], []).append(bool(r["flagged"]))
    samples = anchor_samples(
        anchors, pairs, {a: (rhythm[a], ~np.array(flagged[a])) for a in {r[0] for r in runs}}
    )
    # each window's figures without their interval first: a window's bootstrap
    # (200 draws per customer) is run only when its interval is reported or
    # decides which of two windows is an echo (see :func:`distinct`)
    points = [window_point(samples[anchor], first, last) for anchor, first, last, _ in runs]
    scratch = weight_scratch(samples.values())
    measured: dict[int, WindowEstimate] = {}

    def estimate(i: int) -> WindowEstimate:
        if i not in measured:
            anchor, first, last, _ = runs[i]
            measured[i] = estimate_window(samples[anchor], first, last, replicates=replicates,
                                          seed=seed + i, scratch=scratch)  # fmt: skip
        return measured[i]

    def moment(i: int, est: WindowEstimate) -> HiddenMoment:
        anchor, first, last, q = runs[i]
        return HiddenMoment(
            anchor=anchor,
            first_offset=first,
            last_offset=last,
            unit=unit,
            n_journeys=est.n_journeys,
            contacts=est.contacts,
            excess_per_1000=est.excess_per_1000,
            share_affected=est.share_affected,
            baseline_per_1000=1000 * est.baseline_per_unit,
            q_value=q,
            contact_mix=mixes.get(i, ({}, {}))[0],
            channel_mix=mixes.get(i, ({}, {}))[1],
        )

    sketches = [moment(i, p) for i, p in enumerate(points)]
    keep = distinct(sketches, _shared_contacts(pairs, w), order,
                    interval=lambda i: estimate(i).excess_per_1000)  # fmt: skip
    kept = (i for i in range(len(runs)) if i in keep)
    # a window below the smallest excess reported is left out whatever its interval
    return tuple(
        moment(i, estimate(i))
        for i in kept
        if not sketches[i].excess_per_1000.value < min_excess_per_1000
    ), samples


def logged_together(
    anchors: ibis.Table, contacts: ibis.Table, anchor_journeys: dict[str, int]
) -> tuple[LoggedTogether, ...]:
    """Per anchor, contacts stamped within one second of it (at or after), with their mix.

    Reported when they reach 10 per 1,000 anchor journeys; they never enter the
    curves, so they can never become a hidden moment.
    """
    return together_in(anchors.join(contacts, "journey_id"), anchor_journeys)


def logged_with_anchor(pairs: ibis.Table) -> ibis.Value:
    """Pairs whose contact is stamped within one second of the anchor (at or after it)."""
    micros = micros_between(pairs.contact_ts, pairs.anchor_ts)
    return (pairs.contact_ts >= pairs.anchor_ts) & (micros < 1_000_000)


def together_in(pairs: ibis.Table, anchor_journeys: dict[str, int]) -> tuple[LoggedTogether, ...]:
    """:func:`logged_together` from anchor-contact pairs that hold at least those logged together.

    ``pairs`` has ``anchor``, ``anchor_ts``, ``contact`` and ``contact_ts``.
    """
    j = pairs.filter(logged_with_anchor(pairs))
    rows = j.group_by(["anchor", "contact"]).aggregate(n=j.count()).to_pyarrow().to_pylist()
    by_anchor: dict[str, dict[str, int]] = {}
    for r in rows:
        by_anchor.setdefault(r["anchor"], {})[r["contact"]] = int(r["n"])
    result = []
    for anchor, mix in sorted(by_anchor.items()):
        n = anchor_journeys.get(anchor, 0)
        total = sum(mix.values())
        if n and 1000 * total / n >= 10:
            shares = {k: round(v / total, 4) for k, v in sorted(mix.items(), key=lambda kv: -kv[1])}
            result.append(LoggedTogether(anchor, n, total, 1000 * total / n, shares))
    return tuple(sorted(result, key=lambda t: -t.per_1000))


def observed_window_journeys(anchors: ibis.Table, windows: ibis.Table) -> ibis.Table:
    """Journeys open through the whole window, one row per (window_id, journey_id).

    Columns: ``window_id, journey_id, anchor_ts, anchor_valence, half``.
    """
    j = anchors.join(windows, "anchor")
    return j.filter(j.last_full >= j["last"]).select(
        "window_id", "journey_id", "anchor_ts", "anchor_valence", "half"
    )


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
    moments: list[HiddenMoment],
    shared: dict[tuple[int, int], int],
    order: list[str],
    interval: Callable[[int], Interval] | None = None,
) -> set[int]:
    """Drop echoes: a window sharing most of its contacts with a larger one is the same moment.

    An anchor that closely follows another (a welcome mail minutes after the
    subscription) sees the same contacts at the same distance. Of two windows
    that share contacts, the weaker is the one with clearly fewer excess
    contacts per journey (intervals apart), else the one with fewer excess
    contacts in total (excess per journey times journeys); it is dropped when
    more than half of its excess contacts are also in the other window. On an
    exact tie (anchors logged together) the anchor later in ``order`` is kept.

    ``interval(i)`` gives window ``i``'s excess interval (default: its
    ``excess_per_1000``); it is asked for only when the intervals decide: a
    window with both less excess per journey and clearly fewer excess contacts
    in total is the weaker whether the intervals are apart or not (an interval
    lies around its value, so the one clearly above has the larger value).
    """
    bounds = interval or (lambda i: moments[i].excess_per_1000)

    def size(i: int) -> float:
        return moments[i].excess_per_1000.value * moments[i].n_journeys

    def weaker(a: int, b: int) -> int:
        va, vb = moments[a].excess_per_1000.value, moments[b].excess_per_1000.value
        same_order = va != vb and (va < vb) == (size(a) < size(b))
        if (same_order and math.isfinite(size(a)) and math.isfinite(size(b))
                and not math.isclose(size(a), size(b), rel_tol=1e-6)):  # fmt: skip
            return a if size(a) < size(b) else b
        ea, eb = bounds(a), bounds(b)
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


def window_contact_counts(pairs: ibis.Table, windows: ibis.Table) -> ibis.Table:
    """Contacts per (window_id, journey_id) inside each window."""
    j = pairs.join(windows, "anchor")
    j = j.filter((j.offset >= j["first"]) & (j.offset <= j["last"]))
    return j.group_by(["window_id", "journey_id"]).aggregate(k=j.count())


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
