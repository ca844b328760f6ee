"""Comments into the journey: text-derived valence and emotion as event columns.

Many interactions carry a comment but no score (a chat, a complaint, an e-mail).
:func:`add_text_emotions` scores every event's ``text`` and returns the events with
extra columns, so the journey engine and every model can use emotion where no score
was asked: ``valence_or_text`` is the scored valence where there is one and the text
valence elsewhere. :func:`touchpoint_emotions` summarises per touchpoint: how many
interactions *end* negatively (the last sentence of the comment), the top emotions,
and the pillar scores, each with an interval and its sample size.

Usage with the engine and the models::

    events = add_text_emotions(data)                 # a pyarrow Table, extra columns
    con = engine.connect()
    table = engine.events_table(con, events)         # the extra columns ride along
    data_with_text = with_text_valence(data)         # valence := score, else text valence
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from peakend.errors import MissingColumnError
from peakend.load import Dataset
from peakend.loading.events import commented_events
from peakend.stats.resampling import bootstrap_weights, percentile_interval
from peakend.summary import Estimate
from peakend.text.labels import EMOTIONS, PILLARS, VALENCE_CLASSES
from peakend.text.scoring import (
    Backend,
    CommentScore,
    LangOption,
    TextScorer,
    score_comments,
    wilson,
)

TEXT_COLUMNS = (
    "text_lang",
    "text_valence",
    "text_end_valence",
    "text_end_class",
    "text_ends_negative",
    "text_emotion",
    *(f"emotion_{e}" for e in EMOTIONS),
    *(f"pillar_{p}" for p in PILLARS),
    "effort_signals",
    "valence_or_text",
)
"""Columns :func:`add_text_emotions` adds, in order."""


def add_text_emotions(
    data: Dataset | pa.Table,
    *,
    backend: Backend = "embedding",
    lang: LangOption = "auto",
    text_col: str = "text",
    scorer: TextScorer | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pa.Table:
    """The events with text-derived valence, emotion, pillar and effort columns.

    Parameters
    ----------
    data:
        A loaded :class:`~peakend.load.Dataset` or an events table with a text column.
    backend, lang, scorer:
        As in :func:`~peakend.text.scoring.score_comments`.
    text_col:
        The column holding comments.
    progress:
        Called with (comments done, distinct comments) while scoring.

    Returns
    -------
    pyarrow.Table
        The input columns plus :data:`TEXT_COLUMNS`: ``text_lang``, ``text_valence``
        and ``text_end_valence`` (the ending: last sentence, or last two after a short
        closing) in [-1, 1], ``text_end_class`` (``negative``, ``neutral``,
        ``positive`` or ``undecided``, by the calibrated end rule),
        ``text_ends_negative`` (null when undecided), ``text_emotion`` (top
        emotion), ``emotion_<name>`` probabilities, ``pillar_<name>`` (valence of what
        the comment says about the pillar, null when it does not speak of it),
        ``effort_signals`` (count) and ``valence_or_text``. Rows without a comment get
        nulls. Each distinct comment is scored once.
    """
    events = data.events if isinstance(data, Dataset) else data
    if text_col not in events.column_names:
        raise MissingColumnError(
            f"the events have no {text_col!r} column; map your comment column to "
            f"'text' in the spec's [columns] or pass text_col=...",
            column=text_col,
            source="events",
        )
    texts = events.column(text_col).to_pylist()
    unique = sorted({t for t in texts if isinstance(t, str) and t.strip()})

    def report(done: int) -> None:
        if progress is not None:
            progress(done, len(unique))

    scores = score_comments(
        unique, backend=backend, lang=lang, scorer=scorer, progress=report
    ).comments
    by_text = dict(zip(unique, scores, strict=True))
    rows = [by_text.get(t) if isinstance(t, str) else None for t in texts]
    columns = _columns(rows)
    valence = events.column("valence") if "valence" in events.column_names else None
    if valence is not None:
        columns["valence_or_text"] = pc.coalesce(
            valence.cast(pa.float64()), columns["text_valence"]
        )
    else:
        columns["valence_or_text"] = columns["text_valence"]
    result = events
    for name in TEXT_COLUMNS:
        if name in result.column_names:
            result = result.drop_columns([name])
        result = result.append_column(name, columns[name])
    return result


def with_text_valence(
    data: Dataset,
    *,
    backend: Backend = "embedding",
    lang: LangOption = "auto",
    scorer: TextScorer | None = None,
) -> Dataset:
    """A copy of ``data`` whose events use the comment's valence where no score was given.

    The events gain :data:`TEXT_COLUMNS`; ``valence`` becomes ``valence_or_text`` and
    the scored valence is kept as ``score_valence``. Every model that reads
    ``data.events`` (journey features, moments, memory, hidden moments) then sees
    emotion from text where the customer was not asked for a score. Scores win
    where both exist.
    """
    events = add_text_emotions(data, backend=backend, lang=lang, scorer=scorer)
    position = events.column_names.index("valence")
    events = events.append_column("score_valence", events.column("valence"))
    events = events.set_column(
        position, pa.field("valence", pa.float64()), events.column("valence_or_text")
    )
    return replace(data, events=events)


def _columns(rows: list[CommentScore | None]) -> dict[str, Any]:
    def floats(values: list[float | None]) -> pa.Array:
        return pa.array(values, type=pa.float64())

    scored = [r if r is not None and r.valence is not None else None for r in rows]
    columns: dict[str, Any] = {
        "text_lang": pa.array([r.lang if r else None for r in scored], type=pa.string()),
        "text_valence": floats([r.valence if r else None for r in scored]),
        "text_end_valence": floats([r.end_valence if r else None for r in scored]),
        "text_end_class": pa.array([r.end_class if r else None for r in scored], type=pa.string()),
        "text_ends_negative": pa.array(
            [r.ends_negative if r else None for r in scored], type=pa.bool_()
        ),
        "text_emotion": pa.array([r.emotion if r else None for r in scored], type=pa.string()),
        "effort_signals": pa.array([len(r.effort) if r else None for r in scored], type=pa.int32()),
    }
    for emotion in EMOTIONS:
        columns[f"emotion_{emotion}"] = floats([r.emotions[emotion] if r else None for r in scored])
    for pillar in PILLARS:
        columns[f"pillar_{pillar}"] = floats([r.pillars.get(pillar) if r else None for r in scored])
    return columns


@dataclass(frozen=True)
class TouchpointEmotion:
    """Emotion at one touchpoint.

    Attributes
    ----------
    touchpoint:
        Touchpoint name.
    n_comments:
        Interactions at this touchpoint with a comment.
    valence:
        Mean text valence with its 95 % interval.
    ends_negative:
        Share of the interactions with a decided ending that end negatively (Wilson
        95 % interval; n = the decided endings).
    ends_undecided:
        Share of commented interactions whose ending could not be decided (mixed, or
        too short), 95 % interval: reported, not counted as neutral.
    ends_resampled:
        The unit behind the endings' intervals: ``"interactions"`` (Wilson) or
        ``"customers"`` (cluster bootstrap, when a customer has several endings here).
    emotions:
        Share of comments with each top emotion (Wilson 95 %), most frequent first.
    pillars:
        Mean valence of what comments say about each pillar (95 % interval, n = the
        comments that speak of it); pillars nobody mentions are left out.
    effort:
        Share of comments with at least one effort signal (Wilson 95 %).
    """

    touchpoint: str
    n_comments: int
    valence: Estimate
    ends_negative: Estimate
    emotions: dict[str, Estimate]
    pillars: dict[str, Estimate]
    effort: Estimate
    ends_undecided: Estimate = Estimate(None, None, None, 0)
    ends_resampled: str = "interactions"

    def top_emotions(self, k: int = 3) -> list[tuple[str, Estimate]]:
        """The ``k`` most frequent top emotions with their shares."""
        return list(self.emotions.items())[:k]

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for JSON."""
        return {
            "touchpoint": self.touchpoint,
            "n_comments": self.n_comments,
            "valence": self.valence.to_dict(),
            "ends_negative": self.ends_negative.to_dict(),
            "ends_undecided": self.ends_undecided.to_dict(),
            "ends_resampled": self.ends_resampled,
            "emotions": {k: v.to_dict() for k, v in self.emotions.items()},
            "pillars": {k: v.to_dict() for k, v in self.pillars.items()},
            "effort": self.effort.to_dict(),
        }


@dataclass(frozen=True)
class TouchpointEmotions:
    """Emotion per touchpoint, in the order of the catalogue (or by volume).

    Attributes
    ----------
    touchpoints:
        One :class:`TouchpointEmotion` per touchpoint with at least one comment.
    backend:
        The text backend used.
    n_comments:
        Commented events in all.
    """

    touchpoints: tuple[TouchpointEmotion, ...]
    backend: str
    n_comments: int

    def __repr__(self) -> str:
        return (
            f"TouchpointEmotions({len(self.touchpoints)} touchpoints, "
            f"{self.n_comments:,} comments, {self.backend} backend)"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for JSON."""
        return {
            "backend": self.backend,
            "n_comments": self.n_comments,
            "touchpoints": [t.to_dict() for t in self.touchpoints],
        }


def touchpoint_emotions(
    data: Dataset | pa.Table,
    *,
    backend: Backend = "embedding",
    lang: LangOption = "auto",
    scorer: TextScorer | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> TouchpointEmotions:
    """Per touchpoint: the share of interactions that end negatively, the top emotions,
    pillar scores and effort, from the comments attached to events.

    ``data`` may be a Dataset, raw events (scored here) or the output of
    :func:`add_text_emotions` (not scored again).
    """
    events = commented_events(data) if isinstance(data, Dataset) else data
    if "text_valence" not in events.column_names:
        events = add_text_emotions(
            events, backend=backend, lang=lang, scorer=scorer, progress=progress
        )
    commented = events.filter(pc.is_valid(events.column("text_valence")))
    order = _touchpoint_order(data, commented)
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(commented.column("touchpoint").to_pylist()):
        groups.setdefault(name, []).append(i)
    rows = tuple(_summarise(name, commented.take(groups[name])) for name in order)
    used = backend if scorer is None else scorer.backend
    return TouchpointEmotions(rows, used, commented.num_rows)


ENDING_RESAMPLES = 2_000
"""Cluster-bootstrap draws for an ending share when a customer has several endings."""


def ending_share(hits: list[bool], clusters: list[Any]) -> tuple[Estimate, str]:
    """The share of ``hits`` with its 95 % interval, and the unit resampled.

    When every cluster (customer, else journey) holds one row the rows are
    independent and the interval is Wilson's (``"interactions"``); when a customer
    has several endings in the group they are not, and the interval is a percentile
    cluster bootstrap over customers (``"customers"``; seeded, so it repeats).
    """
    n = len(hits)
    if n == 0:
        return Estimate(None, None, None, 0), "interactions"
    codes: dict[Any, int] = {}
    index = np.array([codes.setdefault(c, len(codes)) for c in clusters], dtype=np.int64)
    if len(codes) == n:
        return wilson(sum(hits), n), "interactions"
    k = len(codes)
    per_hits = np.bincount(index, weights=np.asarray(hits, dtype=float), minlength=k)
    per_rows = np.bincount(index, minlength=k).astype(float)
    draws = [
        (block @ per_hits) / np.maximum(block @ per_rows, 1e-12)
        for block in bootstrap_weights(k, ENDING_RESAMPLES, seed=0)
    ]
    interval = percentile_interval(sum(hits) / n, np.concatenate(draws), n)
    return Estimate(interval.value, interval.low, interval.high, n), "customers"


def _clusters(rows: pa.Table) -> list[Any]:
    """The customer of each row, else its journey (the unit of resampling)."""
    journeys = rows.column("journey_id").to_pylist()
    if "customer_id" not in rows.column_names:
        return list(journeys)
    customers = rows.column("customer_id").to_pylist()
    return [
        c if c is not None else f"journey:{j}" for c, j in zip(customers, journeys, strict=True)
    ]


def _touchpoint_order(data: Dataset | pa.Table, commented: pa.Table) -> list[str]:
    present = Counter(commented.column("touchpoint").to_pylist())
    if isinstance(data, Dataset) and data.touchpoints.num_rows:
        catalogue = [t for t in data.touchpoints.column("touchpoint").to_pylist() if t in present]
        return catalogue + [t for t, _ in present.most_common() if t not in catalogue]
    return [t for t, _ in present.most_common()]


def _summarise(name: str, rows: pa.Table) -> TouchpointEmotion:
    n = rows.num_rows
    valence = np.array(rows.column("text_valence").to_pylist(), dtype=float)
    ends = rows.column("text_end_class").to_pylist()
    clusters = _clusters(rows)
    ends_negative, unit = ending_share(
        [e == "negative" for e in ends if e in VALENCE_CLASSES],
        [c for c, e in zip(clusters, ends, strict=True) if e in VALENCE_CLASSES],
    )
    counts = Counter(rows.column("text_emotion").to_pylist())
    emotions = {e: wilson(c, n) for e, c in counts.most_common()}
    pillars = {}
    for pillar in PILLARS:
        values = [v for v in rows.column(f"pillar_{pillar}").to_pylist() if v is not None]
        if values:
            sd = float(np.std(values, ddof=1)) if len(values) > 1 else None
            pillars[pillar] = Estimate.of_mean(float(np.mean(values)), sd, len(values))
    effort_hits = sum(1 for v in rows.column("effort_signals").to_pylist() if v)
    return TouchpointEmotion(
        touchpoint=name,
        n_comments=n,
        valence=Estimate.of_mean(
            float(valence.mean()), float(valence.std(ddof=1)) if n > 1 else None, n
        ),
        ends_negative=ends_negative,
        emotions=emotions,
        pillars=pillars,
        effort=wilson(effort_hits, n),
        ends_undecided=ending_share([e not in VALENCE_CLASSES for e in ends], clusters)[0],
        ends_resampled=unit,
    )


@dataclass(frozen=True)
class EndingShare:
    """How the commented interactions of one group (touchpoint, team, agent …) ended.

    Attributes
    ----------
    group:
        The group's value.
    n_comments:
        Commented interactions in the group.
    negative, positive:
        Shares of the decided endings that are negative and positive (Wilson 95 %;
        n = the decided endings).
    undecided:
        Share of the commented interactions whose ending is undecided (95 %).
    resampled:
        ``"interactions"`` (Wilson intervals) or ``"customers"`` (cluster bootstrap,
        when a customer has several endings in the group).
    """

    group: str
    n_comments: int
    negative: Estimate
    positive: Estimate
    undecided: Estimate
    resampled: str = "interactions"

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for JSON."""
        return {
            "group": self.group,
            "n_comments": self.n_comments,
            "ends_negative": self.negative.to_dict(),
            "ends_positive": self.positive.to_dict(),
            "ends_undecided": self.undecided.to_dict(),
            "resampled": self.resampled,
        }


@dataclass(frozen=True)
class InteractionEndings:
    """How interactions ended, per group, largest group first.

    Attributes
    ----------
    by:
        The column grouped by.
    groups:
        One :class:`EndingShare` per group with at least one comment.
    backend:
        The text backend used.
    """

    by: str
    groups: tuple[EndingShare, ...]
    backend: str

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for JSON."""
        return {
            "by": self.by,
            "backend": self.backend,
            "groups": [g.to_dict() for g in self.groups],
        }


def interaction_endings(
    data: Dataset | pa.Table,
    *,
    by: str = "touchpoint",
    backend: Backend = "embedding",
    lang: LangOption = "auto",
    scorer: TextScorer | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> InteractionEndings:
    """Share of interactions that end negatively, per touchpoint, team or agent.

    Parameters
    ----------
    data:
        A Dataset, raw events, or the output of :func:`add_text_emotions`.
    by:
        An event column (``touchpoint``, ``channel`` …) or, for a Dataset, a journey
        attribute listed in the spec's ``attributes`` (``team``, ``agent`` …).
    backend, lang, scorer, progress:
        As in :func:`add_text_emotions`.

    Returns
    -------
    InteractionEndings
        Per group: negative and positive shares of the decided endings and the
        undecided share, each with its Wilson 95 % interval.
    """
    events = commented_events(data) if isinstance(data, Dataset) else data
    if "text_end_class" not in events.column_names:
        events = add_text_emotions(
            events, backend=backend, lang=lang, scorer=scorer, progress=progress
        )
    events = events.filter(pc.is_valid(events.column("text_end_class")))
    keys = _group_values(data, events, by)
    groups: dict[str, list[tuple[str, Any]]] = {}
    endings = events.column("text_end_class").to_pylist()
    for key, ending, cluster in zip(keys, endings, _clusters(events), strict=True):
        groups.setdefault("–" if key is None else str(key), []).append((ending, cluster))
    rows = []
    for key, pairs in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        decided = [(e, c) for e, c in pairs if e != "undecided"]
        negative, unit = ending_share(
            [e == "negative" for e, _ in decided], [c for _, c in decided]
        )
        positive, _ = ending_share([e == "positive" for e, _ in decided], [c for _, c in decided])
        undecided, _ = ending_share([e == "undecided" for e, _ in pairs], [c for _, c in pairs])
        rows.append(EndingShare(key, len(pairs), negative, positive, undecided, unit))
    used = backend if scorer is None else scorer.backend
    return InteractionEndings(by, tuple(rows), used)


def _group_values(data: Dataset | pa.Table, events: pa.Table, by: str) -> list[Any]:
    """The value of ``by`` for each event: an event column, else a journey attribute."""
    if by in events.column_names:
        return list(events.column(by).to_pylist())
    if isinstance(data, Dataset) and by in data.spec.attributes:
        lookup = dict(
            zip(
                data.outcomes.column("journey_id").to_pylist(),
                data.outcomes.column(by).to_pylist(),
                strict=True,
            )
        )
        return [lookup.get(j) for j in events.column("journey_id").to_pylist()]
    attributes = data.spec.attributes if isinstance(data, Dataset) else ()
    raise MissingColumnError(
        f"cannot group endings by {by!r}: it is neither an event column nor a journey "
        f"attribute (attributes: {', '.join(attributes) or 'none'}); list it in the "
        "spec's `attributes` or choose another column",
        column=by,
        source="events",
    )
