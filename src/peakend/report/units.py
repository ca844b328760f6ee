"""Units a manager can read: what one point of an effect means for each outcome.

"Costs up to 1.75 on overall" tells a reader nothing; "1.75 points (scale 1–10)
on overall" does. Binary outcomes are shown in percentage points. The scale is
the one declared for the outcome in the dataset spec, else the range observed
in the data.
"""

from __future__ import annotations

import math

import pyarrow.compute as pc

from peakend.load import Dataset
from peakend.report.i18n import Language, number, text


def outcome_unit(dataset: Dataset, outcome: str, lang: Language) -> str:
    """The unit of effects on ``outcome``: percentage points, or points on its scale."""
    declared = next((o for o in dataset.spec.outcomes if o.name == outcome), None)
    if declared is None or declared.kind == "binary":
        return text("unit_pp", lang)
    bounds = _scale(dataset, outcome, declared.scale)
    if bounds is None:
        return text("unit_points", lang)
    low, high = bounds
    return text("unit_points_on", lang, low=number(low, lang), high=number(high, lang))


def axis_unit(dataset: Dataset, outcome: str, lang: Language) -> str:
    """The unit for a chart axis: ``overall, points, scale 1–10`` or ``satisfied, pp``."""
    declared = next((o for o in dataset.spec.outcomes if o.name == outcome), None)
    if declared is None or declared.kind == "binary":
        return f"{outcome}, {text('unit_pp', lang)}"
    bounds = _scale(dataset, outcome, declared.scale)
    if bounds is None:
        return f"{outcome}, {text('unit_points', lang)}"
    low, high = (number(b, lang) for b in bounds)
    return f"{outcome}, {text('unit_points', lang)}, {text('scale', lang)} {low}–{high}"


def _scale(dataset: Dataset, outcome: str, scale: str | None) -> tuple[int, int] | None:
    declared = dataset.spec.scales.get(scale) if scale else None
    if declared is not None:
        return _whole(declared.low), _whole(declared.high)
    table = dataset.outcomes
    if table is None or outcome not in table.column_names:
        return None
    extremes = pc.min_max(table[outcome]).as_py()
    low, high = extremes["min"], extremes["max"]
    if low is None or high is None or not (float(low).is_integer() and float(high).is_integer()):
        return None
    return _whole(low), _whole(high)


def _whole(value: float) -> int:
    return int(math.floor(value))
