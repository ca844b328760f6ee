"""What a hidden moment is about and what it does: words, outcome gaps, proactive-contact effects.

* **Distinctive words** of the contacts in a window against all other contacts:
  log-odds ratios with an informative Dirichlet prior (Monroe, Colaresi &
  Quinn 2008, "Fightin' Words"), ranked by their z-score.
* **Emotion** of those contacts through :func:`peakend.text.score_comments`
  (lexicon backend), when the text module is importable.
* **Outcome gap**: journeys with a contact in the window against journeys
  without one (both observed through the window): the difference of each
  outcome's mean with a 95 % Welch interval. An association, not a cause.
* **Proactive-contact effect**: where some journeys already received a
  company touchpoint between the anchor and the end of the window, its effect
  on contacts in the window and on every outcome is estimated by inverse
  probability weighting (Hajek estimator of the average treatment effect) on
  observed covariates: the spec's attributes, the anchor's valence and the
  contacts before the anchor. The propensity is a logistic regression, clipped
  to [0.01, 0.99]. Intervals use the influence-function variance with the
  propensity taken as known, which is conservative (Lunceford & Davidian 2004).
  The estimate is only as good as the assumption that nothing unobserved
  drives both the contact and the outcome.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray
from scipy import stats

from peakend.errors import PeakendError
from peakend.models.resampling import Interval
from peakend.summary import Estimate

Z_95 = 1.959964
F64 = NDArray[np.float64]

_STOPWORDS = frozenset(
    """de het een en van ik je u wij we mijn is dat die in op te met voor niet wel of
    er aan bij als om ook dan nog maar kan heb wat hoe waarom wanneer was zijn deze dit
    the a an and of to in is it i my me you we for on with that this be are was not or
    at as but can do have what how why when""".split()
)
_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)


@dataclass(frozen=True)
class Word:
    """A word that sets a window's contacts apart: its count there and log-odds z-score."""

    word: str
    count: int
    z: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"word": self.word, "count": self.count, "z": self.z}


@dataclass(frozen=True)
class OutcomeGap:
    """Mean outcome of journeys with a contact in the window minus those without."""

    outcome: str
    with_contact: float
    without_contact: float
    difference: Interval
    n_with: int
    n_without: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "outcome": self.outcome,
            "with_contact": self.with_contact,
            "without_contact": self.without_contact,
            "difference": self.difference.to_dict(),
            "n_with": self.n_with,
            "n_without": self.n_without,
        }


@dataclass(frozen=True)
class ProactiveEffect:
    """The estimated effect of a company touchpoint already given inside a window.

    ``contacts_per_1000`` is the change in window contacts per 1,000 journeys
    (negative: contacts deflected); ``outcomes`` the change in each outcome.
    ``naive_*`` are the unadjusted differences, for comparison. ``reactive``
    marks a touchpoint that mostly follows a low score at the anchor (a
    recovery, not a proactive contact): confounded by the failure it answers.
    """

    touchpoint: str
    n_treated: int
    n_control: int
    contacts_per_1000: Interval
    naive_contacts_per_1000: float
    outcomes: dict[str, Interval]
    naive_outcomes: dict[str, float]
    covariates: tuple[str, ...]
    method: str = "inverse probability weighting (Hajek), logistic propensity"
    reactive: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "touchpoint": self.touchpoint,
            "n_treated": self.n_treated,
            "n_control": self.n_control,
            "contacts_per_1000": self.contacts_per_1000.to_dict(),
            "naive_contacts_per_1000": self.naive_contacts_per_1000,
            "outcomes": {k: v.to_dict() for k, v in self.outcomes.items()},
            "naive_outcomes": self.naive_outcomes,
            "covariates": list(self.covariates),
            "method": self.method,
            "reactive": self.reactive,
        }


# ---------------------------------------------------------------- words
def tokens(text: str) -> list[str]:
    """Lower-case words of three letters or more, without common Dutch/English stop words."""
    return [w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS]


def distinctive_words(
    target: Counter[str], background: Counter[str], *, top: int = 8, prior: float = 1000.0
) -> list[Word]:
    """Words over-represented in ``target`` against ``background`` (texts with counts).

    Log-odds ratio with an informative Dirichlet prior whose mean is the pooled
    word distribution and whose strength is ``prior`` tokens; words with z > 1.96.
    """
    t = _word_counts(target)
    b = _word_counts(background)
    pooled = t + b
    n_t, n_b, n_all = sum(t.values()), sum(b.values()), sum(pooled.values())
    if not n_t or not n_b:
        return []
    words = []
    for w, total in pooled.items():
        a = prior * total / n_all
        yt, yb = t.get(w, 0), b.get(w, 0)
        delta = math.log((yt + a) / (n_t + prior - yt - a)) - math.log(
            (yb + a) / (n_b + prior - yb - a)
        )
        z = delta / math.sqrt(1 / (yt + a) + 1 / (yb + a))
        if z > Z_95 and yt > 0:
            words.append(Word(w, yt, round(z, 2)))
    return sorted(words, key=lambda x: -x.z)[:top]


def _word_counts(texts: Counter[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for text, n in texts.items():
        for w in tokens(text):
            counts[w] += n
    return counts


def window_texts(
    pairs: ibis.Table, windows: ibis.Table
) -> tuple[dict[int, Counter[str]], Counter[str]]:
    """Verbatims (with counts) of each window's contacts, and of every contact in the pairs.

    The background is every contact that lies within the horizon after some
    anchor, each counted once (pairs repeat a contact for each anchor).
    """
    with_text = pairs.filter(pairs.text.notnull() & (pairs.text != ""))
    j = with_text.join(windows, "anchor")
    j = j.filter((j.offset >= j["first"]) & (j.offset <= j["last"]))
    inside = j.group_by(["window_id", "text"]).aggregate(n=j.count()).to_pyarrow().to_pylist()
    if not inside:
        return {}, Counter()
    once = with_text.select("journey_id", "contact", "contact_ts", "text").distinct()
    rows = once.group_by("text").aggregate(n=once.count()).to_pyarrow().to_pylist()
    everything = Counter({r["text"]: int(r["n"]) for r in rows})
    per_window: dict[int, Counter[str]] = {}
    for r in inside:
        per_window.setdefault(int(r["window_id"]), Counter())[r["text"]] += int(r["n"])
    return per_window, everything


def window_words(
    per_window: dict[int, Counter[str]], everything: Counter[str], *, top: int = 8
) -> dict[int, list[Word]]:
    """Distinctive words of each window's contacts against all other contact texts."""
    return {i: distinctive_words(c, everything - c, top=top) for i, c in per_window.items()}


@dataclass(frozen=True)
class WindowEmotion:
    """How the contacts in a window feel: mean valence and the most common emotions.

    From :func:`peakend.text.score_comments` (lexicon backend) on the window's
    verbatims; ``emotions`` holds the three most frequent top emotions with
    Wilson intervals.
    """

    backend: str
    n: int
    valence: Estimate
    emotions: dict[str, Estimate]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "backend": self.backend,
            "n": self.n,
            "valence": self.valence.to_dict(),
            "emotions": {k: v.to_dict() for k, v in self.emotions.items()},
        }


def window_emotions(
    per_window: dict[int, Counter[str]], *, max_texts: int = 5_000
) -> dict[int, WindowEmotion]:
    """Emotion of each window's verbatims, when :mod:`peakend.text` is available.

    Counts above ``max_texts`` are scaled down proportionally (each distinct
    text kept at least once), which keeps the shares and bounds the work.
    Returns an empty mapping when the text module cannot be imported.
    """
    try:
        from peakend.text import score_comments
    except ImportError:  # the text extra is optional: the words stand in
        return {}
    result = {}
    for i, texts in per_window.items():
        total = sum(texts.values())
        factor = min(1.0, max_texts / total) if total else 1.0
        batch = [t for t, n in texts.items() for _ in range(max(1, round(n * factor)))]
        try:
            scores = score_comments(batch, backend="lexicon")
        except PeakendError:
            continue
        shares = scores.emotion_shares()
        top = sorted(shares, key=lambda e: -(shares[e].value or 0.0))[:3]
        result[i] = WindowEmotion(
            scores.backend, scores.n, scores.valence(), {e: shares[e] for e in top}
        )
    return result


# ---------------------------------------------------------------- outcome gaps
def outcome_gaps(
    per_journey: pa.Table, outcomes: pa.Table, names: list[str]
) -> dict[int, list[OutcomeGap]]:
    """Outcome gaps per window from ``per_journey`` (window_id, journey_id, k contacts)."""
    if not names or per_journey.num_rows == 0:
        return {}
    joined = per_journey.join(same_keys(outcomes.select(["journey_id", *names])), "journey_id")
    window = joined["window_id"].to_numpy()
    hit = joined["k"].to_numpy() > 0
    result: dict[int, list[OutcomeGap]] = {}
    for w in np.unique(window):
        rows = window == w
        gaps = []
        for name in names:
            y = joined[name].to_numpy(zero_copy_only=False).astype(np.float64)
            ok = rows & np.isfinite(y)
            gaps.append(_gap(name, y[ok & hit], y[ok & ~hit]))
        result[int(w)] = gaps
    return result


def same_keys(table: pa.Table) -> pa.Table:
    """``journey_id`` as plain strings, so Arrow joins with engine output line up."""
    i = table.schema.get_field_index("journey_id")
    return table.set_column(i, "journey_id", table["journey_id"].cast(pa.string()))


def _gap(name: str, a: F64, b: F64) -> OutcomeGap:
    diff = float(a.mean() - b.mean()) if a.size and b.size else math.nan
    if a.size > 1 and b.size > 1:
        half = Z_95 * math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    else:
        half = math.nan
    return OutcomeGap(
        name,
        float(a.mean()) if a.size else math.nan,
        float(b.mean()) if b.size else math.nan,
        Interval(diff, diff - half, diff + half, int(a.size + b.size)),
        int(a.size),
        int(b.size),
    )


def segment_excess(
    per_journey: pa.Table,
    outcomes: pa.Table,
    segments: list[str],
    baselines: dict[int, float],
    widths: dict[int, int],
    *,
    min_journeys: int = 30,
) -> dict[int, dict[str, dict[str, Interval]]]:
    """Excess contacts per 1,000 journeys of each window, per group of each segment attribute.

    The same estimator as the window's own (mean contacts in the window minus
    the anchor's baseline × width, normal interval from the per-journey
    counts), on each group's journeys; groups with fewer than ``min_journeys``
    journeys are left out. ``baselines`` is per window, in contacts per journey
    per unit.
    """
    segments = [s for s in segments if s in outcomes.column_names]
    if not segments or per_journey.num_rows == 0:
        return {}
    joined = per_journey.join(same_keys(outcomes.select(["journey_id", *segments])), "journey_id")
    window = joined["window_id"].to_numpy()
    k = joined["k"].to_numpy().astype(np.float64)
    result: dict[int, dict[str, dict[str, Interval]]] = {}
    for seg in segments:
        groups = np.array([str(v) for v in joined[seg].to_pylist()], dtype=object)
        for w in np.unique(window):
            for g in sorted(set(groups[window == w])):
                y = k[(window == w) & (groups == g)]
                if y.size < min_journeys:
                    continue
                excess = 1000 * (y.mean() - baselines[int(w)] * widths[int(w)])
                half = 1000 * Z_95 * y.std(ddof=1) / math.sqrt(y.size)
                iv = Interval(float(excess), float(excess - half), float(excess + half), y.size)
                result.setdefault(int(w), {}).setdefault(seg, {})[g] = iv
    return result


# ---------------------------------------------------------------- proactive effects
def covariate_matrix(table: pa.Table, columns: list[str]) -> tuple[F64, list[str]]:
    """Covariates as a numeric matrix, and the names of its columns.

    Numbers — and text columns whose every value reads as a number, such as an
    amount exported as text — are used as they are (missing: 0 plus an
    indicator); other text columns are one-hot coded (first level as reference,
    at most 30 levels).
    """
    blocks: list[F64] = []
    names: list[str] = []
    for col in columns:
        x = _as_numbers(table[col])
        if x is not None:
            missing = ~np.isfinite(x)
            blocks.append(np.where(missing, 0.0, x)[:, None])
            names.append(col)
            if missing.any():
                blocks.append(missing.astype(np.float64)[:, None])
                names.append(f"{col} missing")
            continue
        text = np.array([str(v) for v in table[col].to_pylist()], dtype=object)
        levels = sorted(set(text))[1:]  # first level is the reference
        for level in levels[:30]:
            blocks.append((text == level).astype(np.float64)[:, None])
            names.append(f"{col}={level}")
    if not blocks:
        return np.zeros((table.num_rows, 0)), []
    return np.hstack(blocks), names


def _as_numbers(values: pa.ChunkedArray) -> F64 | None:
    if pa.types.is_integer(values.type) or pa.types.is_floating(values.type):
        return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return None
    try:
        numbers = pc.cast(values, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return np.asarray(numbers.to_numpy(zero_copy_only=False), dtype=np.float64)


def proactive_effect(
    touchpoint: str,
    treated: NDArray[np.bool_],
    contacts: F64,
    outcomes: dict[str, F64],
    x: F64,
    covariates: list[str],
) -> ProactiveEffect:
    """IPW effect of ``treated`` on window contacts and outcomes, adjusted for ``x``."""
    e = _propensity(treated, x)
    w = np.where(treated, 1.0 / e, 1.0 / (1.0 - e))
    contact_effect = _ipw(contacts, treated, w)
    effects = {}
    naive = {}
    for name, y in outcomes.items():
        ok = np.isfinite(y)
        effects[name] = _ipw(y[ok], treated[ok], w[ok])
        naive[name] = float(y[ok & treated].mean() - y[ok & ~treated].mean())
    scaled = Interval(
        1000 * contact_effect.value,
        1000 * contact_effect.low,
        1000 * contact_effect.high,
        contact_effect.n,
    )
    return ProactiveEffect(
        touchpoint=touchpoint,
        n_treated=int(treated.sum()),
        n_control=int((~treated).sum()),
        contacts_per_1000=scaled,
        naive_contacts_per_1000=1000 * float(contacts[treated].mean() - contacts[~treated].mean()),
        outcomes=effects,
        naive_outcomes=naive,
        covariates=tuple(covariates),
    )


def _propensity(treated: NDArray[np.bool_], x: F64) -> F64:
    """Logistic regression by Newton-Raphson on standardised covariates.

    A tiny ridge (1e-6) keeps it defined under separation; a handful of
    iterations converge on a million rows in well under a second.
    """
    if x.shape[1] == 0:
        return np.full(treated.size, float(treated.mean()))
    scale = x.std(axis=0)
    z = (x - x.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
    design = np.hstack([np.ones((z.shape[0], 1)), z])
    y = treated.astype(np.float64)
    beta = np.zeros(design.shape[1])
    ridge = 1e-6 * np.eye(design.shape[1])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ beta, -30, 30)))
        hessian = (design * (p * (1 - p))[:, None]).T @ design / y.size + ridge
        step = np.linalg.solve(hessian, design.T @ (y - p) / y.size - ridge @ beta)
        beta += step
        if np.abs(step).max() < 1e-8:
            break
    p = 1.0 / (1.0 + np.exp(-np.clip(design @ beta, -30, 30)))
    return np.asarray(np.clip(p, 0.01, 0.99), dtype=np.float64)


def _ipw(y: F64, treated: NDArray[np.bool_], w: F64) -> Interval:
    """Hajek IPW difference of means with its influence-function interval."""
    n = y.size
    wt, wc = w * treated, w * ~treated
    mt = float((wt * y).sum() / wt.sum())
    mc = float((wc * y).sum() / wc.sum())
    inf = wt * (y - mt) / wt.mean() - wc * (y - mc) / wc.mean()
    half = Z_95 * math.sqrt(float((inf**2).mean()) / n)
    diff = mt - mc
    return Interval(diff, diff - half, diff + half, n)


def welch_p(a: F64, b: F64) -> float:
    """Two-sided Welch p-value of a difference in means (nan with fewer than two each)."""
    if a.size < 2 or b.size < 2:
        return math.nan
    return float(stats.ttest_ind(a, b, equal_var=False).pvalue)
