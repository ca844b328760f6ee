"""Header rows of survey exports: column names from the first, question texts kept as labels.

Survey platforms write more than one header row: Qualtrics writes the column
names, then the question texts, then a row of ``{"ImportId": ...}``;
SurveyMonkey writes the question texts, then a second row naming the answer
options of matrix and open questions. With ``header_rows = N`` in [source] the
first N rows (after ``skip_rows``) form the header: the first non-empty text of
a column, top row first, is its name (a column blank in the top row, as
SurveyMonkey writes sub-answers, is named ``<question> | <sub-label>``); the texts
of the other rows are kept as the column's label, which ``peakend init`` reads to
recognise questions.
"""

from __future__ import annotations

from collections.abc import Sequence


def header_from_rows(rows: Sequence[Sequence[str]]) -> tuple[list[str], dict[str, str]]:
    """Column names and labels from the header rows (top row first).

    Returns the names (unique: a repeated name gets `` (2)``, `` (3)`` …) and, per
    name, the label: the other header rows' texts joined with `` | `` (rows that
    hold JSON, like Qualtrics' ImportId row, are left out).
    """
    width = max((len(r) for r in rows), default=0)
    cells = [[_cell(r, i) for i in range(width)] for r in rows]
    names: list[str] = []
    labels: dict[str, str] = {}
    last_top = ""
    for i in range(width):
        column = [row[i] for row in cells]
        top = column[0] if column else ""
        rest = [c for c in column[1:] if c and not c.startswith("{")]
        if top:
            name, last_top = top, top
        elif rest and last_top:
            name = f"{last_top} | {rest[-1]}"
        else:
            name = rest[0] if rest else f"column_{i + 1}"
        name = _unique(name, names)
        names.append(name)
        if rest and name != rest[-1]:
            labels[name] = " | ".join(dict.fromkeys(rest))
    return names, labels


def _cell(row: Sequence[str], i: int) -> str:
    return str(row[i]).strip().removeprefix("\ufeff") if i < len(row) else ""


def _unique(name: str, taken: list[str]) -> str:
    if name not in taken:
        return name
    n = 2
    while f"{name} ({n})" in taken:
        n += 1
    return f"{name} ({n})"
