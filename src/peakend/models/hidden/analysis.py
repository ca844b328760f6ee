"""The hidden-moments analysis of a dataset, end to end, as one typed result.

:func:`find_hidden_moments` runs the contact-rate curves and window detection
(:mod:`peakend.models.hidden.curves`), then for each hidden moment: the distinctive
words of its contacts, the outcome gap between journeys with and without a
contact in it, the effect of company touchpoints some journeys already
received inside it (:mod:`peakend.models.hidden.effects`), the closest
experience classic and a suggested proactive contact
(:mod:`peakend.models.hidden.interventions`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from peakend import engine
from peakend.errors import ConfigError
from peakend.load import Dataset
from peakend.models.hidden.curves import (
    UNITS_S,
    ContactCurves,
    ContactRule,
    HiddenMoment,
    LoggedTogether,
    anchor_events,
    contact_curves,
    contact_rule,
    observed_window_journeys,
    windows_table,
)
from peakend.models.hidden.effects import (
    OutcomeGap,
    ProactiveEffect,
    categories,
    covariate_matrix,
    joined_outcome_gaps,
    proactive_effect,
    same_keys,
    with_outcomes,
)
from peakend.models.hidden.interventions import ClassicMatch, Intervention, match_classic, suggest
from peakend.models.hidden.times import micros_between
from peakend.models.hidden.windows import anchor_sample, estimate_window, weight_scratch
from peakend.models.hidden.words import (
    WindowEmotion,
    Word,
    window_emotions,
    window_texts,
    window_words,
)
from peakend.stats.resampling import Interval


@dataclass(frozen=True)
class HiddenMomentReport:
    """One hidden moment with what it is about, what it does and what to do about it.

    ``segments`` holds the excess contacts per 1,000 journeys per group of each
    segment attribute of the spec (``segments = [...]``), each group against its
    own baseline, with intervals. ``near_anchor`` is the share of the window's
    contacts within a minute of the anchor: near 1, the window is how the log
    records events rather than what customers do.
    """

    moment: HiddenMoment
    words: tuple[Word, ...]
    emotion: WindowEmotion | None
    segments: dict[str, dict[str, Interval]]
    outcome_gaps: tuple[OutcomeGap, ...]
    proactive_effects: tuple[ProactiveEffect, ...]
    classic: ClassicMatch | None
    intervention: Intervention
    near_anchor: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            **self.moment.to_dict(),
            "words": [w.to_dict() for w in self.words],
            "emotion": self.emotion.to_dict() if self.emotion else None,
            "segments": {
                seg: {g: iv.to_dict() for g, iv in groups.items()}
                for seg, groups in self.segments.items()
            },
            "outcome_gaps": [g.to_dict() for g in self.outcome_gaps],
            "proactive_effects": [e.to_dict() for e in self.proactive_effects],
            "classic": self.classic.to_dict() if self.classic else None,
            "intervention": self.intervention.to_dict(),
            "near_anchor": self.near_anchor,
        }


@dataclass(frozen=True)
class HiddenMomentsResult:
    """Everything ``peakend hidden`` reports.

    Attributes
    ----------
    dataset_name:
        The spec's ``name``.
    rule:
        Which touchpoints were anchors and contacts, and why.
    unit, horizon, alpha:
        Offsets in ``unit`` from 0 to ``horizon - 1``; false discovery rate.
    anchor_journeys:
        Journeys per anchor tested.
    curves, channels:
        Contact-rate curves with the per-offset tests, and contacts per channel
        (see :class:`~peakend.models.hidden.ContactCurves`).
    moments:
        The hidden moments, largest excess first.
    designed:
        Median offset (in ``unit``) of each designed touchpoint after each
        anchor with a hidden moment: ``anchor, touchpoint, median_offset, n``.
    logged_together:
        Contacts stamped at an anchor's own time, per anchor: a property of the
        log, reported apart and never a hidden moment.
    journey_end:
        How the risk set ends a journey: ``grace_days`` and ``closing`` touchpoints.
    """

    dataset_name: str
    rule: ContactRule
    unit: str
    horizon: int
    alpha: float
    anchor_journeys: dict[str, int]
    curves: pa.Table
    channels: pa.Table
    moments: tuple[HiddenMomentReport, ...]
    designed: pa.Table
    logged_together: tuple[LoggedTogether, ...] = ()
    journey_end: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (curves, channel counts and designed offsets as lists of rows)."""
        return {
            "dataset": self.dataset_name,
            "rule": self.rule.to_dict(),
            "unit": self.unit,
            "horizon": self.horizon,
            "alpha": self.alpha,
            "anchor_journeys": self.anchor_journeys,
            "moments": [m.to_dict() for m in self.moments],
            "logged_together": [t.to_dict() for t in self.logged_together],
            "journey_end": self.journey_end,
            "curves": self.curves.to_pylist(),
            "channels": self.channels.to_pylist(),
            "designed": self.designed.to_pylist(),
        }


def find_hidden_moments(
    data: Dataset,
    *,
    unit: str = "day",
    horizon: int = 14,
    alpha: float = 0.05,
    anchors: Sequence[str] | None = None,
    contacts: Sequence[str] | None = None,
    proactive: Sequence[str] | None = None,
    score_outcome: str | None = None,
    assumed_deflection: float = 0.5,
    min_journeys: int = 30,
    min_treated: int = 30,
    min_excess_per_1000: float = 10.0,
    seed: int = 0,
    replicates: int = 200,
) -> HiddenMomentsResult:
    """Find hidden moments in a dataset and suggest the proactive contact for each.

    Parameters
    ----------
    data:
        A loaded dataset (:func:`peakend.load`).
    unit, horizon, alpha, min_journeys, min_excess_per_1000:
        See :func:`peakend.models.hidden.contact_curves`.
    anchors, contacts:
        Touchpoint names; by default from the catalogue's ``initiated_by``
        (see :func:`peakend.models.hidden.contact_rule`).
    proactive:
        Company touchpoints whose effect inside a window is estimated; by default
        every company-initiated touchpoint outside the designed journey (no stage).
    score_outcome:
        The outcome used as "remembered score"; default the first continuous outcome.
    assumed_deflection:
        Share of excess contacts taken as prevented where no journey received a
        proactive contact (an assumption, reported as such).
    min_treated:
        Fewest journeys with and without a proactive contact to estimate its effect.
    seed, replicates:
        The random split of customers into a detecting and a measuring half,
        and the bootstrap replicates of the window estimates.

    Raises
    ------
    ConfigError
        On unknown touchpoints or outcomes, or parameters out of range.
    DataError
        When the data hold no anchors or contacts.

    Examples
    --------
    >>> import peakend
    >>> from peakend.datasets import demo_spec_path
    >>> result = find_hidden_moments(peakend.load(demo_spec_path()))
    >>> [m.moment.label for m in result.moments][:1]
    ['first_invoice +0..4 day']
    """
    if not 0 <= assumed_deflection <= 1:
        raise ConfigError(f"assumed_deflection must lie in [0, 1], not {assumed_deflection}")
    ends = data.spec.journey_end
    rule = contact_rule(data.touchpoints, anchors=anchors, contacts=contacts, closing=ends.closing)
    score = _score_outcome(data, score_outcome)
    _, events = engine.dataset_events(data, name="hidden_events")
    curves = contact_curves(
        events,
        rule,
        unit=unit,
        horizon=horizon,
        alpha=alpha,
        min_journeys=min_journeys,
        min_excess_per_1000=min_excess_per_1000,
        grace_days=ends.grace_days,
        closing=ends.closing,
        seed=seed,
        replicates=replicates,
    )
    moments = sorted(curves.moments, key=lambda m: -m.excess_per_1000.value)
    reports = _reports(data, events, curves, moments, proactive, score, assumed_deflection,
                       min_treated)  # fmt: skip
    return HiddenMomentsResult(
        dataset_name=data.spec.name,
        rule=rule,
        unit=unit,
        horizon=horizon,
        alpha=alpha,
        anchor_journeys=curves.anchor_journeys,
        curves=curves.curves,
        channels=curves.channels,
        moments=reports,
        designed=designed_offsets(
            events,
            data.touchpoints,
            [m.anchor for m in moments],
            unit,
            sample_every=max(1, max(curves.anchor_journeys.values(), default=0) // 20_000),
            found=curves.anchors,
        ),
        logged_together=curves.logged_together,
        journey_end={"grace_days": ends.grace_days, "closing": list(ends.closing)},
    )


def _score_outcome(data: Dataset, name: str | None) -> str | None:
    names = data.outcome_names
    if name is not None:
        if name not in names:
            raise ConfigError(f"unknown outcome {name!r}; the spec declares {names}")
        return name
    continuous = [o.name for o in data.spec.outcomes if o.kind == "continuous"]
    chosen = continuous or names
    return chosen[0] if chosen else None


def _reports(
    data: Dataset,
    events: ibis.Table,
    curves: ContactCurves,
    moments: list[HiddenMoment],
    proactive: Sequence[str] | None,
    score: str | None,
    assumed_deflection: float,
    min_treated: int,
) -> tuple[HiddenMomentReport, ...]:
    if not moments:
        return ()
    unit_s = UNITS_S[curves.unit]
    windows = windows_table(moments)
    pairs, anchors = curves.pairs, curves.anchors
    per_journey = _per_journey(events, curves.rule, anchors, pairs, windows, unit_s)
    texts, background = window_texts(pairs, windows)
    words = window_words(texts, background)
    emotions = window_emotions(texts)
    outcomes = _outcome_rows(data)
    # each window journey's outcomes are looked up once, for the gaps and the effects
    joined = with_outcomes(per_journey, outcomes)
    gaps = joined_outcome_gaps(joined, data.outcome_names)
    by_segment = _segment_excess(data, curves, moments)
    treated = _treated(events, data.touchpoints, anchors, windows, proactive, unit_s)
    costs = _costs(data.touchpoints)
    near = _near_anchor(pairs, windows)
    reports = []
    for i, m in enumerate(moments):
        effects = _effects(data, joined, treated, i, min_treated)
        match = match_classic(m.anchor, m.first_offset, m.last_offset, words.get(i, []))
        contact_cost = _mix_cost(m.contact_mix, costs)
        given = [e for e in effects if not e.reactive]
        observed_cost = costs.get(given[0].touchpoint) if given else None
        intervention = suggest(
            m.anchor,
            m.first_offset,
            m.excess_per_1000,
            contact_cost,
            match,
            gaps.get(i, []),
            list(effects),
            score_outcome=score,
            proactive_cost=observed_cost,
            assumed_deflection=assumed_deflection,
            share_affected=m.share_affected.value,
        )
        reports.append(
            HiddenMomentReport(
                m,
                tuple(words.get(i, [])),
                emotions.get(i),
                by_segment.get(i, {}),
                tuple(gaps.get(i, [])),
                effects,
                match,
                intervention,
                near.get(i, 0.0),
            )
        )
    return tuple(reports)


def _near_anchor(pairs: ibis.Table, windows: ibis.Table) -> dict[int, float]:
    """Per window, the share of its contacts within 60 seconds after the anchor."""
    j = pairs.join(windows, "anchor")
    j = j.filter((j.offset >= j["first"]) & (j.offset <= j["last"]))
    close = (j.contact_ts.delta(j.anchor_ts, unit="second") < 60).cast("float64")
    rows = j.group_by("window_id").aggregate(share=close.mean()).to_pyarrow().to_pylist()
    return {int(r["window_id"]): float(r["share"]) for r in rows}


def _cut(windows: ibis.Table, unit_s: int) -> Any:
    """Seconds after the anchor where a window's treatment period ends and its outcome starts.

    The window's first unit when it starts later than the anchor's own unit,
    else one 24th of a unit (an hour for days): a company contact counts as
    proactive only before this cut, and its effect is measured on the
    window's contacts after it, so no contact inside the outcome window (a
    same-day callback) is ever counted as the treatment.
    """
    return ibis.ifelse(windows["first"] > 0, windows["first"] * unit_s, unit_s // 24)


def _per_journey(
    events: ibis.Table,
    rule: ContactRule,
    anchors: ibis.Table,
    pairs: ibis.Table,
    windows: ibis.Table,
    unit_s: int,
) -> pa.Table:
    """Per (window, journey open through it): contacts in the window, after the cut, before.

    Columns: ``window_id, journey_id, anchor_valence, k`` (contacts in the
    window), ``k_after`` (those after the treatment cut, :func:`_cut`),
    ``contacts_before`` (contacts before the anchor).
    """
    observed = observed_window_journeys(anchors, windows)
    # the window's contacts and those after the cut, in one pass over the pairs
    w = windows.mutate(cut_s=_cut(windows, unit_s))
    inside = pairs.join(w, "anchor")
    inside = inside.filter((inside.offset >= inside["first"]) & (inside.offset <= inside["last"]))
    late = inside.contact_ts >= inside.anchor_ts + ibis.interval(seconds=1) * inside.cut_s
    counts = inside.group_by(["window_id", "journey_id"]).aggregate(
        k=inside.count(), k_after=inside.count(where=late)
    )
    c = events.filter(events.touchpoint.isin(list(rule.contacts)) & events.ts.notnull())
    before = observed.join(c.select("journey_id", c_ts=c.ts), "journey_id")
    before = before.filter(before.c_ts < before.anchor_ts)
    before = before.group_by(["window_id", "journey_id"]).aggregate(contacts_before=before.count())
    j = observed.left_join(counts, ["window_id", "journey_id"]).select(
        "window_id",
        "journey_id",
        "anchor_valence",
        k=ibis._.k.fill_null(0),
        k_after=ibis._.k_after.fill_null(0),
    )
    j = j.left_join(before, ["window_id", "journey_id"]).select(
        "window_id",
        "journey_id",
        "anchor_valence",
        "k",
        "k_after",
        contacts_before=ibis._.contacts_before.fill_null(0),
    )
    return j.order_by(["window_id", "journey_id"]).to_pyarrow()


def _treated(
    events: ibis.Table,
    catalogue: pa.Table,
    anchors: ibis.Table,
    windows: ibis.Table,
    proactive: Sequence[str] | None,
    unit_s: int,
) -> pa.Table:
    """(window_id, journey_id, touchpoint) for proactive touchpoints given in time.

    In time means from the anchor until the cut (:func:`_cut`): a contact
    inside the outcome window cannot have prevented its contacts, and is often
    a reaction to them (a callback).
    """
    rows = catalogue.to_pylist()
    if proactive is None:
        names = [
            r["touchpoint"] for r in rows if r["initiated_by"] == "company" and r["stage"] is None
        ]
    else:
        unknown = sorted(set(proactive) - {r["touchpoint"] for r in rows})
        if unknown:
            raise ConfigError(f"unknown proactive touchpoints {unknown}")
        names = list(proactive)
    if not names:
        return pa.table(
            {
                "window_id": pa.array([], pa.int64()),
                "journey_id": pa.array([], pa.string()),
                "touchpoint": pa.array([], pa.string()),
            }
        )
    observed = observed_window_journeys(anchors, windows)
    w = windows.select("window_id", "anchor", cut_s=_cut(windows, unit_s))
    observed = observed.join(w, "window_id")
    p = events.filter(events.touchpoint.isin(names) & events.ts.notnull())
    j = observed.join(p.select("journey_id", "touchpoint", p_ts=p.ts), "journey_id")
    close = j.anchor_ts + ibis.interval(seconds=1) * j.cut_s
    j = j.filter((j.p_ts >= j.anchor_ts) & (j.p_ts < close) & (j.touchpoint != j.anchor))
    return j.select("window_id", "journey_id", "touchpoint").distinct().to_pyarrow()


def _segment_excess(
    data: Dataset, curves: ContactCurves, moments: list[HiddenMoment], min_journeys: int = 30
) -> dict[int, dict[str, dict[str, Interval]]]:
    """Excess per group of each segment attribute, each group against its own baseline.

    The window's estimator (:func:`~peakend.models.hidden.windows.estimate_window`)
    on the measuring half restricted to the group's journeys, so the baseline
    is the group's own contact rate on the quiet offsets, not the anchor's.
    Groups with fewer than ``min_journeys`` journeys open through the window
    are left out.
    """
    segments = [s for s in data.spec.segments if s in data.outcomes.column_names]
    if not segments or not moments:
        return {}
    table = same_keys(data.outcomes.select(["journey_id", *segments]))
    table = table.take(pa.array(np.arange(table.num_rows)[::-1]))  # a repeated id: its last row
    result: dict[int, dict[str, dict[str, Interval]]] = {}
    samples = dict(curves.samples)
    for m in moments:
        if m.anchor not in samples:
            rows = curves.curves.filter(pc.equal(curves.curves["anchor"], m.anchor))
            quiet = ~np.asarray(rows["flagged"].to_pylist(), dtype=np.bool_)
            rhythm = _rhythm_of(rows)
            samples[m.anchor] = anchor_sample(curves.anchors, curves.pairs, m.anchor, rhythm, quiet)
    scratch = weight_scratch(samples.values())  # one block of bootstrap weights, for all
    where = journey_rows({m.anchor: samples[m.anchor].journey_id for m in moments}, table)
    for i, m in enumerate(moments):
        sample = samples[m.anchor]
        for seg in segments:
            # each journey's group as its text (a missing one "None"), coded by Arrow
            codes, found = categories(table[seg].take(where[m.anchor]))
            for g in sorted(found):
                keep = codes == found.index(g)
                if int((sample.last_full[keep] >= m.last_offset).sum()) < min_journeys:
                    continue
                est = estimate_window(
                    sample, m.first_offset, m.last_offset, keep=keep, seed=i, scratch=scratch
                )
                result.setdefault(i, {}).setdefault(seg, {})[g] = est.excess_per_1000
    return result


def journey_rows(ids: dict[str, pa.Array], table: pa.Table) -> dict[str, pa.Array]:
    """Each anchor's journeys' rows in ``table`` (null: not there), one lookup for all anchors.

    ``ids`` holds each anchor's journey ids; ``table`` has ``journey_id`` as text. One
    hash table of the table's ids serves every anchor, instead of one per moment
    (a million ids each).
    """
    names = list(ids)
    if not names:
        return {}
    every = pa.concat_arrays([pc.cast(ids[a], pa.string()) for a in names])
    at = pc.index_in(every, value_set=table["journey_id"])
    bounds = np.cumsum([0, *(len(ids[a]) for a in names)])
    return {
        a: at.slice(int(lo), int(hi - lo))
        for a, lo, hi in zip(names, bounds[:-1], bounds[1:], strict=True)
    }


def _rhythm_of(rows: pa.Table) -> np.ndarray:
    """The week-rhythm multiplier per offset, recovered from the curves' baseline columns."""
    return np.asarray(rows["rhythm"].to_pylist(), dtype=np.float64)


def _outcome_rows(data: Dataset) -> pa.Table:
    """The outcomes and attributes the proactive effects read, keyed by plain journey ids."""
    attributes = [a for a in data.spec.attributes if a in data.outcomes.column_names]
    return same_keys(data.outcomes.select(["journey_id", *data.outcome_names, *attributes]))


def _effects(
    data: Dataset,
    joined: pa.Table,
    treated: pa.Table,
    window: int,
    min_treated: int,
) -> tuple[ProactiveEffect, ...]:
    """The proactive effects in ``window`` from the per-journey rows with their outcomes
    (:func:`~peakend.models.hidden.effects.with_outcomes` of :func:`_per_journey`)."""
    rows = joined.filter(pc.equal(joined["window_id"], window))
    hits = treated.filter(pc.equal(treated["window_id"], window))
    if rows.num_rows == 0 or hits.num_rows == 0:
        return ()
    attributes = [a for a in data.spec.attributes if a in data.outcomes.column_names]
    names = data.outcome_names
    table = by_journey(rows)
    covariates = [*attributes, "anchor_valence", "contacts_before"]
    x, columns = covariate_matrix(table, covariates)
    ids = table["journey_id"]
    contacts = table["k_after"].to_numpy().astype(np.float64)
    valence = table["anchor_valence"].to_numpy(zero_copy_only=False).astype(np.float64)
    values = {n: table[n].to_numpy(zero_copy_only=False).astype(np.float64) for n in names}
    effects = []
    for tp in sorted(set(hits["touchpoint"].to_pylist())):
        who = hits.filter(pc.equal(hits["touchpoint"], tp))["journey_id"]
        is_treated = pc.is_in(ids, who).to_numpy(zero_copy_only=False)
        if min(is_treated.sum(), (~is_treated).sum()) < min_treated:
            continue
        effect = proactive_effect(tp, is_treated, contacts, values, x, covariates, columns=columns)
        if _reactive(valence[is_treated]):
            effect = dataclasses.replace(effect, reactive=True)
        effects.append(effect)
    return tuple(sorted(effects, key=lambda e: -e.n_treated))


def by_journey(rows: pa.Table) -> pa.Table:
    """``rows`` sorted by ``journey_id``; as they are when they already are.

    The per-journey table comes from the engine sorted by window and journey, and
    the outcomes are set beside it in its order, so a window's rows are usually in
    order already: checking it compares neighbouring ids once, where sorting them
    compares a million ids some twenty times each and copies every column.
    """
    ids = rows["journey_id"]
    if rows.num_rows < 2 or ids.null_count:
        return rows.sort_by("journey_id")
    ordered = pc.less(ids.slice(0, len(ids) - 1), ids.slice(1))  # distinct ids: strictly
    return rows if pc.all(ordered).as_py() else rows.sort_by("journey_id")


def _reactive(anchor_valence: np.ndarray) -> bool:
    """A touchpoint that mostly follows a low score at the anchor reacts to a failure.

    Such a "proactive" contact (a recovery call) is confounded by the failure it
    answers; its estimate is reported but never used for a suggestion.
    """
    scored = anchor_valence[np.isfinite(anchor_valence)]
    return scored.size >= 10 and float(np.mean(scored <= -0.5)) > 0.5


def _costs(catalogue: pa.Table) -> dict[str, float]:
    return {
        r["touchpoint"]: float(r["cost"])
        for r in catalogue.to_pylist()
        if r["cost"] is not None and math.isfinite(r["cost"])
    }


def _mix_cost(mix: dict[str, float], costs: dict[str, float]) -> float | None:
    known = {k: v for k, v in mix.items() if k in costs}
    if not known:
        return None
    return sum(costs[k] * v for k, v in known.items()) / sum(known.values())


def designed_offsets(
    events: ibis.Table,
    catalogue: pa.Table,
    anchors: Sequence[str],
    unit: str,
    *,
    sample_every: int = 1,
    found: ibis.Table | None = None,
) -> pa.Table:
    """Median offset of each designed (staged) touchpoint after each anchor, in ``unit``.

    With ``sample_every`` = *k* > 1 only journeys whose id hashes to 0 modulo *k*
    are used: a chart marker needs no more than some 20,000 journeys. The median
    is exact, so it does not depend on the order in which the engine reads the events.
    ``found`` is a table of the anchors already found (:func:`anchor_events`'s
    columns, such as the curves' materialised ``anchors``): used instead of a
    new pass over the events to find them.
    """
    staged = [r["touchpoint"] for r in catalogue.to_pylist() if r["stage"] is not None]
    if not anchors or not staged:
        return pa.table(
            {
                "anchor": pa.array([], pa.string()),
                "touchpoint": pa.array([], pa.string()),
                "median_offset": pa.array([], pa.float64()),
                "n": pa.array([], pa.int64()),
            }
        )
    rule = ContactRule(tuple(sorted(set(anchors))), (), "")
    if found is None:
        a = anchor_events(events, rule)
    else:
        a = found.filter(found.anchor.isin(list(rule.anchors))).select(
            "journey_id", "anchor", "anchor_ts"
        )
    if sample_every > 1:
        a = a.filter(a.journey_id.hash() % sample_every == 0)
    e = events.filter(events.touchpoint.isin(staged) & events.ts.notnull())
    j = a.join(e.select("journey_id", "touchpoint", e_ts=e.ts), "journey_id")
    micros = micros_between(j.e_ts, j.anchor_ts).cast("float64")
    j = j.mutate(offset=micros / (UNITS_S[unit] * 1e6))
    agg = j.group_by(["anchor", "touchpoint"]).aggregate(
        median_offset=j.offset.median(), n=j.count()
    )
    return agg.order_by(["anchor", "median_offset"]).to_pyarrow()
