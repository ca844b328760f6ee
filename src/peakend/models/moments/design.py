"""The design of a moments analysis: one row per journey, one score band per touchpoint.

A journey's score at a touchpoint falls in one of four bands: the **middle**
(the reference), **low**, **high**, or **not scored** (the touchpoint was
skipped, answered "not applicable", or not rated). Keeping "not scored" as its
own band means a journey that skips a touchpoint still counts for every other
touchpoint instead of being dropped.

By default the bands follow the declared scale through the valence: below the
neutral point is low, above it is high (1-2 low and 4-5 high on a 1-5 scale
with neutral 3). :class:`Cuts` overrides this with cut-points on the raw score.
A touchpoint scored more than once in a journey is banded on its mean score.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from peakend.errors import ConfigError, DataError
from peakend.load import Dataset
from peakend.models.moments.inputs import CellGrid, design_inputs
from peakend.stats.resampling import cluster_codes

MIDDLE, LOW, HIGH, NOT_SCORED = 0, 1, 2, 3
BANDS: tuple[str, ...] = ("middle", "low", "high", "not_scored")


@dataclass(frozen=True)
class Cuts:
    """Cut-points on the raw score: ``score <= low_max`` is low, ``score >= high_min`` high.

    Scores strictly between the two are the middle band. Use this when the
    scale's neutral point is not the right split, e.g. ``Cuts(6, 9)`` for the
    detractor / promoter bands of a 0-10 recommendation question.
    """

    low_max: float
    high_min: float

    def __post_init__(self) -> None:
        if not self.low_max < self.high_min:
            raise ConfigError(
                f"cut-points need low_max < high_min (got {self.low_max} and "
                f"{self.high_min}); scores between them form the middle band"
            )


@dataclass(frozen=True)
class MomentDesign:
    """Score bands, outcome and weights of the journeys that have the outcome.

    Attributes
    ----------
    touchpoints:
        Touchpoint names in journey (stage) order; column ``t`` of ``bands``.
    journey_ids:
        The journeys, row ``i`` of every array.
    bands:
        ``(n, T)`` int8 band codes (:data:`MIDDLE`, :data:`LOW`, :data:`HIGH`,
        :data:`NOT_SCORED`).
    y:
        The outcome (0/1 for a binary outcome).
    weights:
        Respondent weights (all ones unless a weight column is given).
    binary:
        Whether the outcome is binary.
    dropped_no_outcome:
        Journeys with events but without the outcome (left out).
    controls, control_names:
        ``(n, c)`` journey-level covariates the effects are adjusted for
        (e.g. the remembered peak and end); ``(n, 0)`` when none.
    clusters:
        Customer code ``0..G-1`` per journey when some customer has several
        journeys (then whole customers are resampled and folds keep a
        customer's journeys together); ``None`` when every journey is its own
        customer.
    """

    touchpoints: tuple[str, ...]
    journey_ids: pa.Array
    bands: NDArray[np.int8]
    y: NDArray[np.float64]
    weights: NDArray[np.float64]
    binary: bool
    dropped_no_outcome: int
    controls: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 0)))
    control_names: tuple[str, ...] = ()
    clusters: NDArray[np.int64] | None = None

    @property
    def n(self) -> int:
        """Number of journeys in the design."""
        return int(self.y.size)

    def subset(self, rows: NDArray[np.int64]) -> MomentDesign:
        """The design restricted to ``rows`` (for segments and cross-validation)."""
        return MomentDesign(
            touchpoints=self.touchpoints,
            journey_ids=self.journey_ids.take(pa.array(rows)),
            bands=self.bands[rows],
            y=self.y[rows],
            weights=self.weights[rows],
            binary=self.binary,
            dropped_no_outcome=0,
            controls=self.controls[rows] if self.control_names else self.controls,
            control_names=self.control_names,
            clusters=None if self.clusters is None else cluster_codes(self.clusters[rows]),
        )


def build_design(
    dataset: Dataset,
    outcome: str,
    *,
    cuts: Cuts | None = None,
    weight_col: str | None = None,
    touchpoints: Sequence[str] | None = None,
    adjust_for: Sequence[str] = (),
) -> MomentDesign:
    """Band every journey's scores per touchpoint and line them up with the outcome.

    Parameters
    ----------
    dataset:
        A loaded dataset.
    outcome:
        A declared outcome; journeys without it are left out (and counted).
    cuts:
        Raw-score cut-points; by default the bands follow the declared scale.
    weight_col:
        A numeric outcome or attribute column holding a weight per respondent.
    touchpoints:
        The touchpoints to analyse; by default every touchpoint with a score,
        in catalogue order.
    adjust_for:
        Journey features of :func:`peakend.engine.journey_features` to adjust
        for, e.g. ``("peak_valence", "end_valence")``: the effects then measure
        a touchpoint's direct effect beyond what the journey's remembered peak
        and end carry. Missing values (journeys without scores) become 0.

    Raises
    ------
    ConfigError
        Unknown outcome, touchpoint or weight column.
    DataError
        No journey has the outcome, the outcome does not vary, no touchpoint has
        scores, or weights are negative or missing.
    """
    kind = _outcome_kind(dataset, outcome)
    table = dataset.outcomes.filter(pc.is_valid(dataset.outcomes[outcome]))
    if table.num_rows == 0:
        raise DataError(f"no journey has a value for outcome {outcome!r}; check its column")
    inputs = design_inputs(dataset, cuts)
    names = _touchpoints(dataset, inputs.scored, touchpoints)
    bands = _bands(inputs.cells, table["journey_id"], names, cuts)
    y = table[outcome].to_numpy(zero_copy_only=False).astype(np.float64)
    if np.ptp(y) == 0:
        raise DataError(
            f"outcome {outcome!r} has the same value ({y[0]:g}) for all {y.size:,} journeys; "
            "nothing can explain it: pick an outcome that varies"
        )
    if kind == "binary" and not np.isin(y, (0.0, 1.0)).all():
        raise DataError(f"binary outcome {outcome!r} must be 0/1; check `positive`/`negative`")
    journeys_with_events = inputs.n_journeys
    ids = table["journey_id"].combine_chunks()
    return MomentDesign(
        touchpoints=names,
        journey_ids=ids,
        bands=bands,
        y=y,
        weights=_weights(table, weight_col),
        binary=kind == "binary",
        dropped_no_outcome=max(0, int(journeys_with_events) - table.num_rows),
        controls=_controls(inputs.features, ids, tuple(adjust_for)),
        control_names=tuple(adjust_for),
        clusters=_clusters(inputs.customers, ids),
    )


def _clusters(pairs: pa.Table | None, ids: pa.Array) -> NDArray[np.int64] | None:
    """Customer codes aligned to ``ids``; ``None`` when no customer has two journeys.

    ``pairs``: each journey's (smallest) customer id, ``journey_id`` and ``customer_id_min``.
    """
    if pairs is None:
        return None
    index = pc.index_in(ids, value_set=pairs["journey_id"].combine_chunks())
    customers = pc.cast(pairs["customer_id_min"].combine_chunks().take(index), pa.string())
    filled = pc.coalesce(customers, pc.cast(ids, pa.string()))
    codes = pc.dictionary_encode(filled).indices.to_numpy(zero_copy_only=False)
    return cluster_codes(codes)


def _controls(
    journey_features: Callable[[], pa.Table], ids: pa.Array, names: tuple[str, ...]
) -> NDArray[np.float64]:
    """Journey features aligned to ``ids`` as an ``(n, c)`` matrix (missing = 0)."""
    if not names:
        return np.zeros((len(ids), 0))
    features = journey_features()
    numeric = [
        f.name
        for f in features.schema
        if pa.types.is_floating(f.type) or pa.types.is_integer(f.type)
    ]
    unknown = [n for n in names if n not in numeric]
    if unknown:
        raise ConfigError(
            f"cannot adjust for {', '.join(unknown)}: not a numeric journey feature; "
            f"choose from {', '.join(numeric)}"
        )
    index = pc.index_in(ids, value_set=features["journey_id"].combine_chunks())
    out = np.zeros((len(ids), len(names)))
    for j, name in enumerate(names):
        column = pc.cast(features[name], pa.float64()).combine_chunks().take(index)
        out[:, j] = np.nan_to_num(column.to_numpy(zero_copy_only=False), nan=0.0)
    return out


def _outcome_kind(dataset: Dataset, outcome: str) -> str:
    for declared in dataset.spec.outcomes:
        if declared.name == outcome:
            return declared.kind
    names = ", ".join(dataset.outcome_names) or "none declared"
    raise ConfigError(f"unknown outcome {outcome!r}; the spec declares: {names}")


def _touchpoints(
    dataset: Dataset, with_scores: set[str], chosen: Sequence[str] | None
) -> tuple[str, ...]:
    ordered = [t for t in dataset.touchpoints["touchpoint"].to_pylist() if t in with_scores]
    ordered += sorted(with_scores - set(ordered))
    if chosen is None:
        if not ordered:
            raise DataError("no touchpoint has a score; a moments analysis needs scores")
        return tuple(ordered)
    unknown = [t for t in chosen if t not in with_scores]
    if unknown:
        raise ConfigError(
            f"touchpoints without any score: {', '.join(unknown)}; "
            f"scored touchpoints are: {', '.join(ordered)}"
        )
    return tuple(dict.fromkeys(chosen))


def _bands(
    cells: CellGrid, journey_ids: pa.ChunkedArray, names: tuple[str, ...], cuts: Cuts | None
) -> NDArray[np.int8]:
    """``(n, T)`` band codes from the mean score (or valence) of each journey x touchpoint.

    ``cells`` holds the count and sum of the values of every journey x touchpoint
    (:class:`~.inputs.CellGrid`): the design's journeys and touchpoints are looked
    up in it by code, and their rows and columns taken in one step.
    """
    ids = journey_ids.combine_chunks()
    row = pc.index_in(ids, value_set=pc.cast(cells.journeys, ids.type))
    col = pc.index_in(
        pa.array(names, pa.string()), value_set=pc.cast(cells.touchpoints, pa.string())
    )
    rows = pc.fill_null(row, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    cols = pc.fill_null(col, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    take = np.ix_(np.maximum(rows, 0), np.maximum(cols, 0))
    count, total = cells.count[take], cells.total[take]
    count[rows < 0], count[:, cols < 0] = 0, 0  # not in the grid: not scored
    mean = np.divide(total, count, out=np.zeros(count.shape), where=count > 0)
    low_max, high_min = (cuts.low_max, cuts.high_min) if cuts else (None, None)
    is_low = mean <= low_max if low_max is not None else mean < 0
    is_high = mean >= high_min if high_min is not None else mean > 0
    bands = np.full(count.shape, MIDDLE, dtype=np.int8)
    bands[is_high] = HIGH
    bands[is_low] = LOW  # low first where both hold (cut-points never overlap)
    bands[count == 0] = NOT_SCORED
    return bands


def _weights(table: pa.Table, weight_col: str | None) -> NDArray[np.float64]:
    if weight_col is None:
        return np.ones(table.num_rows)
    if weight_col not in table.column_names:
        raise ConfigError(
            f"weight column {weight_col!r} is not an outcome or attribute; "
            f"declare it in the spec (available: {', '.join(table.column_names[1:])})"
        )
    try:
        weights = pc.cast(table[weight_col], pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid as exc:
        raise DataError(f"weight column {weight_col!r} is not numeric: {exc}") from exc
    bad = int(np.sum(~np.isfinite(weights) | (weights < 0)))
    if bad:
        raise DataError(
            f"weight column {weight_col!r} has {bad:,} missing or negative weights; "
            "give every respondent a weight >= 0"
        )
    if weights.sum() <= 0:
        raise DataError(f"weight column {weight_col!r} sums to zero")
    return np.asarray(weights, dtype=np.float64)
