"""What one column of a sample looks like: ids, times, scores on a scale, text, groups.

Every guess carries its evidence as a short sentence (``98 % of 2,000 values in
1..5``), which ``peakend init`` writes next to the key it sets. A column is read
as text, exactly as the loader reads it, so a guess that holds on the sample
holds when the spec is validated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from peakend.text.language import detect_language

SCALES: tuple[tuple[int, int], ...] = ((1, 5), (1, 7), (1, 10), (0, 10), (0, 5))
"""Score scales recognised from the values, in order of preference."""

TIMESTAMP_FORMATS: tuple[str | None, ...] = (
    None,  # ISO 8601
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %I:%M:%S %p",
    "%Y/%m/%d %I:%M:%S %p",
    "%d-%m-%Y",
    "%d/%m/%Y",
)
_NUMBER = re.compile(r"^-?\d+(?:[.,]\d+)?$")


@dataclass(frozen=True)
class ScaleGuess:
    """A scale read from the values: bounds, not-applicable codes and the evidence."""

    low: int
    high: int
    not_applicable: tuple[float | str, ...]
    evidence: str


@dataclass(frozen=True)
class ColumnProfile:
    """The facts about one column that the guesses rest on."""

    name: str
    label: str
    n: int
    n_present: int
    n_distinct: int
    unique: bool
    numbers: pd.Series
    text: pd.Series

    @property
    def present_share(self) -> float:
        return self.n_present / self.n if self.n else 0.0


def profile_column(
    name: str, values: pd.Series, label: str = "", *, decimal: str = "."
) -> ColumnProfile:
    """Profile ``values`` (read as text) of column ``name``."""
    text = values.astype("string").str.strip()
    text = text.mask(text == "").dropna()
    digits = text.where(text.str.match(_NUMBER))
    if decimal == ",":
        digits = digits.str.replace(",", ".", regex=False)
    numbers = pd.to_numeric(digits, errors="coerce")
    numbers = numbers.astype("float64")
    return ColumnProfile(
        name=name,
        label=label,
        n=len(values),
        n_present=len(text),
        n_distinct=int(text.nunique()),
        unique=bool(len(text) == len(values) and text.is_unique),
        numbers=numbers,
        text=text,
    )


def numeric_share(col: ColumnProfile) -> float:
    """Share of present values that are numbers."""
    return float(col.numbers.notna().mean()) if col.n_present else 0.0


def guess_scale(col: ColumnProfile) -> ScaleGuess | None:
    """A score scale when the column holds whole numbers on one, with n/a codes aside.

    At least 90 % of the present values must be whole numbers inside the scale;
    numbers outside it (0 on 1..5, 99) and texts ("N/A", "Weet niet") that make up
    the rest become not-applicable codes.
    """
    if col.n_present < 3:
        return None
    numbers = col.numbers.dropna()
    if numbers.empty or not np.all(numbers == np.round(numbers)):
        return None
    shares = numbers.value_counts(normalize=True)
    if len(shares) < 3 or shares.iloc[0] > 0.8:
        return None  # a flag or a count that is mostly 0, not answers on a scale
    for low, high in SCALES:
        inside = numbers.between(low, high)
        share = float(inside.sum()) / col.n_present
        seen = set(numbers[inside].astype(int))
        if share < 0.9 or max(seen, default=low) < high - (high - low) // 2:
            continue
        if high == 5 and low == 1 and seen <= {1, 2, 3}:
            continue
        if (low, high) == (1, 10) and 0 in set(numbers.astype(int)):
            continue  # 0 seen: a 0-10 scale (NPS), not 1-10 with 0 as a code
        if (low, high) == (0, 5) and 0 not in seen:
            continue
        codes: list[float | str] = sorted({float(v) for v in numbers[~inside]})
        codes += sorted(set(col.text[col.numbers.isna()]))
        if len(codes) > 3:
            return None
        evidence = f"{100 * share:.0f} % of {col.n_present:,} values in {low}..{high}"
        if codes:
            evidence += "; " + ", ".join(map(_code, codes)) + " read as not applicable"
        return ScaleGuess(low, high, tuple(codes), evidence)
    return None


def _code(value: float | str) -> str:
    return f"{value:g}" if isinstance(value, float) else repr(value)


def guess_timestamp(col: ColumnProfile) -> tuple[str | None, str] | None:
    """(format, evidence) when at least 98 % of the values parse as times; None otherwise.

    ``None`` as format means ISO 8601. Day-first and month-first formats that both
    fit (every day <= 12) are reported in the evidence as ambiguous.
    """
    if col.n_present < 1 or numeric_share(col) > 0.5:
        return None
    sample = col.text.head(2_000)
    fits: list[tuple[str | None, float]] = []
    for fmt in TIMESTAMP_FORMATS:
        parsed = pd.to_datetime(
            sample, format=fmt or "ISO8601", errors="coerce", utc=bool(fmt is None)
        )
        share = float(pd.Series(parsed).notna().mean())
        if share >= 0.98:
            fits.append((fmt, share))
    if not fits:
        return None
    fmt, share = fits[0]
    evidence = f"{100 * share:.0f} % of {len(sample):,} values are times"
    evidence += f" ({fmt})" if fmt else " (ISO 8601)"
    if fmt and "%d/%m" in fmt and any(f and "%m/%d" in f for f, _ in fits):
        evidence += "; TODO: day/month order is ambiguous (every day <= 12), check"
    return fmt, evidence


def mean_length(col: ColumnProfile) -> float:
    """Mean number of characters of the present values."""
    return float(col.text.str.len().mean()) if col.n_present else 0.0


def is_text(col: ColumnProfile) -> bool:
    """Free text: mostly non-numeric, not times, and sentences rather than labels."""
    if col.n_present < 2 or numeric_share(col) > 0.2 or guess_timestamp(col) is not None:
        return False
    length = mean_length(col)
    return length >= 25 or (length >= 15 and col.n_distinct >= 0.5 * col.n_present)


def is_group(col: ColumnProfile, *, max_groups: int = 20) -> bool:
    """A grouping (segment, channel, class): few distinct short values, each repeated."""
    if col.n_present < 4 or numeric_share(col) > 0.5 or mean_length(col) >= 25:
        return False
    return 2 <= col.n_distinct <= max_groups and col.n_distinct <= col.n_present / 3


def language(col: ColumnProfile) -> str:
    """Evidence about the language of a text column (Dutch or English)."""
    found = [detect_language(t) for t in col.text.head(200)]
    counts = pd.Series([f for f in found if f]).value_counts()
    if counts.empty:
        return "language unknown"
    top = str(counts.index[0])
    name = {"nl": "Dutch", "en": "English"}.get(top, top)
    return f"{100 * counts.iloc[0] / counts.sum():.0f} % of {counts.sum()} comments look {name}"
