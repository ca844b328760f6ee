"""Operations on the distinct values of a text column give the element-wise result."""

from __future__ import annotations

import numpy as np
import pandas as pd

from peakend.distinct import MIN_CELLS, on_distinct
from peakend.validate import parse_numbers


def _strip(cells: pd.Series) -> pd.Series:
    text = cells.astype("string").str.strip()
    return text.mask(text == "")


def _column(values: list[object], dtype: str = "object") -> pd.Series:
    repeats = MIN_CELLS // len(values) + 2
    index = pd.RangeIndex(7, 7 + repeats * len(values))  # not starting at 0
    return pd.Series(values * repeats, index=index, dtype=dtype, name="answer")


def test_repeated_text_with_blanks_and_missing_matches_the_cell_by_cell_result() -> None:
    for dtype in ("object", "string"):
        column = _column([" 4", "5 ", None, "  ", "n/a", "3"], dtype)
        pd.testing.assert_series_equal(on_distinct(column, _strip), _strip(column))


def test_numbers_parse_the_same_way_including_the_decimal_comma() -> None:
    column = _column(["4", " 2,5", "x", None, "1.000,5"])
    for decimal in (".", ","):
        values, bad = parse_numbers(column, decimal=decimal)
        text = column.astype("string").str.strip()
        if decimal == ",":
            text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        expected = pd.to_numeric(text, errors="coerce").astype("float64")
        pd.testing.assert_series_equal(values, expected)
        pd.testing.assert_series_equal(bad, column.notna() & expected.isna())


def test_mixed_objects_and_unique_values_take_the_plain_path() -> None:
    calls: list[int] = []

    def counted(cells: pd.Series) -> pd.Series:
        calls.append(len(cells))
        return _strip(cells)

    mixed = _column([1, 1.0, True, "1"])  # equal hashes, different text
    pd.testing.assert_series_equal(on_distinct(mixed, counted), _strip(mixed))
    unique = pd.Series([f"id{i}" for i in range(MIN_CELLS * 2)], dtype=object)
    pd.testing.assert_series_equal(on_distinct(unique, counted), _strip(unique))
    assert calls == [len(mixed), len(unique)]
    assert np.array_equal(on_distinct(pd.Series([" a"] * 3), _strip).to_numpy(), ["a"] * 3)
