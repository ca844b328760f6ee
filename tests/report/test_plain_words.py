"""The memory section speaks plain words: model jargon stays in the method appendix.

A manager reads "peak and end" and "a separation score of 0.87 (0.5 is chance,
1 is perfect)", not ``peak_end_trough`` and "AUC 0.870". Checked on the demo
data and, when present, a sample of the real airline survey, in both languages:
the section's paragraphs, tables, chart texts and its summary sentence; the
method notes (the appendix) may name the models.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path

import pyarrow.compute as pc
import pytest

import peakend
from peakend.datasets import demo_spec_path
from peakend.load import Dataset
from peakend.report.i18n import Language
from peakend.report.memory import memory_section
from peakend.report.section import ReportContext, Section
from peakend.spec import read_spec
from peakend.summary import summarize_journeys

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("PEAKEND_SHARED_DATA", ROOT.parent / "shared" / "data"))

#: Words a manager should not meet outside the method appendix.
JARGON = re.compile(r"\b(AUC|RMSE|McFadden|OLS|ols)\b|peak_end|_trough|_mean\b|log_")


def _airline(journeys: int = 3_000) -> Dataset:
    spec = read_spec(ROOT / "examples" / "airline_passenger_satisfaction.toml")
    path = spec.source.path
    assert path is not None
    if not path.is_file():
        path = SHARED / path.parent.name / path.name
    if not path.is_file():
        pytest.skip(f"the real dataset {path.name} is not present (set PEAKEND_SHARED_DATA)")
    data = peakend.load(
        dataclasses.replace(spec, source=dataclasses.replace(spec.source, path=path))
    )
    outcomes = data.outcomes.slice(0, journeys)
    keep = pc.is_in(data.events["journey_id"], value_set=outcomes["journey_id"])
    return dataclasses.replace(data, outcomes=outcomes, events=data.events.filter(keep))


@pytest.fixture(scope="module", params=["demo", "airline"])
def dataset(request: pytest.FixtureRequest) -> Dataset:
    if request.param == "demo":
        return peakend.load(demo_spec_path())
    return _airline()


def _section(dataset: Dataset, lang: Language) -> Section:
    outcome = dataset.choose_outcome(None)
    summary = summarize_journeys(dataset, outcome=outcome)
    return memory_section(ReportContext(dataset, summary, lang, outcome))


def _reader_text(section: Section) -> list[str]:
    """Everything a reader sees of the section except its method notes."""
    texts = [*section.paragraphs, *section.summary, section.title]
    for table in section.tables:
        texts += [*table.columns, table.caption]
        texts += [cell.text for row in table.rows for cell in row]
    for chart in section.charts:
        texts.append(chart.title)
        texts.append(json.dumps(chart.spec, ensure_ascii=False))
    return texts


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_memory_section_has_no_model_jargon(dataset: Dataset, lang: Language) -> None:
    section = _section(dataset, lang)
    found = {m.group(0) for t in _reader_text(section) for m in JARGON.finditer(t)}
    assert not found, f"jargon outside the appendix: {sorted(found)}"
    assert any(JARGON.search(m) or "regress" in m for m in section.methods)  # the appendix keeps it
