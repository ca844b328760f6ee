"""The PDF report as a director reads it: page 1, tables that fit, Dutch that is Dutch,
and the data behind it (with a warning when many rows were quarantined)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pypdf
import pytest
from typer.testing import CliRunner

from peakend import load
from peakend.cli import app
from peakend.generate import GeneratorConfig, generate
from peakend.report import Report, ReportFiles, analyze

runner = CliRunner()

#: Words that only an English sentence would contain (touchpoint names in the test data
#: are English on purpose: a reader's own names are data, not the report's language).
ENGLISH = (
    "the",
    "and",
    "with",
    "costs",
    "adds",
    "barely",
    "customers",
    "journeys",
    "worry",
    "doubt",
    "assumption",
    "estimated",
    "affected",
    "points",
    "day",
    "days",
    "after",
    "neutral",
    "uncertainty",
    "experienced",
    "remembered",
    "higher",
    "lower",
    "better",
)


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pdf-data")
    config = replace(GeneratorConfig(), n_journeys=400, seed=7, contact_texts=True)
    return generate(out, config, name="small").spec_path


@pytest.fixture(scope="module")
def english(spec: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Report, ReportFiles]:
    return analyze(spec, tmp_path_factory.mktemp("pdf-en"), lang="en", image_formats=("svg",))


@pytest.fixture(scope="module")
def dutch(spec: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Report, ReportFiles]:
    return analyze(spec, tmp_path_factory.mktemp("pdf-nl"), lang="nl", image_formats=())


def _pages(files: ReportFiles) -> list[pypdf.PageObject]:
    assert files.pdf is not None
    return list(pypdf.PdfReader(files.pdf).pages)


def _plain(text: str) -> str:
    return text.replace("\u00a0", " ")


def test_page_one_holds_the_summary_three_charts_and_the_data(
    english: tuple[Report, ReportFiles],
) -> None:
    report, files = english
    first = _plain(_pages(files)[0].extract_text())
    assert "Executive summary" in first
    for sentence in report.summary[:2]:
        assert sentence.split(" — ")[0] in " ".join(first.split())
    drawn = [
        "moment, in journey order",  # the journey curve with its peak and end
        "Penalty of a low score",  # the moment matrix
        "customer contacts per 1,000 journeys",  # the biggest hidden moment
        "Expected gain in",  # the focus plan
    ]
    assert sum(label in first for label in drawn) >= 3
    assert "Top of the focus plan" in first
    assert "rows read" in first and "quarantined" in first
    assert "Warning" not in first  # nothing was quarantined


def test_tables_fit_the_page_and_intervals_never_wrap(
    english: tuple[Report, ReportFiles],
) -> None:
    report, files = english
    pages = _pages(files)
    lines = {_plain(line) for page in pages for line in page.extract_text().splitlines()}
    text = "\n".join(lines)
    intervals = {
        _plain(cell.text)
        for section in report.sections
        for table in section.tables
        for row in table.rows
        for cell in row
        if re.match(r"^[+−-]?\d[\d.,]* \[", cell.text)
    }
    assert intervals, "the report has interval cells"
    for shown in intervals:
        assert shown in text, f"interval {shown!r} is wrapped or missing"
    for number, page in enumerate(pages, start=1):
        outside = _beyond_edge(page)
        assert outside == [], f"page {number}: cells beyond the page edge: {outside[:3]}"


def _beyond_edge(page: pypdf.PageObject) -> list[str]:
    """Interval cells whose text starts left of the page or runs past its right edge."""
    width = float(page.mediabox.width)
    outside: list[str] = []

    def visit(body: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        if "[" not in body:
            return
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        if x < 0 or x + 0.45 * size * len(body.strip()) > width:
            outside.append(body)

    page.extract_text(visitor_text=visit)
    return outside


def test_pdf_pages_are_numbered_and_the_jargon_is_in_the_appendix(
    english: tuple[Report, ReportFiles],
) -> None:
    pages = _pages(english[1])
    total = len(pages)
    assert f"Page 1 / {total}" in pages[0].extract_text()
    assert f"Page {total} / {total}" in pages[-1].extract_text()
    assert "Appendix: method" in pages[-1].extract_text() or any(
        "Appendix: method" in p.extract_text() for p in pages[-3:]
    )
    first = pages[0].extract_text()
    for jargon in ("ols", "McFadden", "RMSE", "peak_end_trough"):
        assert not re.search(rf"\b{jargon}\b", first), jargon


def test_the_dutch_report_has_no_english_sentences(dutch: tuple[Report, ReportFiles]) -> None:
    report, files = dutch
    pages = _pages(files)
    # the literature at the end of the appendix keeps its original titles
    text_all = "\n".join(_plain(p.extract_text()) for p in pages)
    body = re.split(r"(?m)^Bronnen\n", text_all)[0]
    words = set(re.findall(r"[a-z]+", body.lower()))
    left = sorted(words & set(ENGLISH))
    assert left == [], f"English words in the Dutch PDF: {left}"
    html = files.html.read_text(encoding="utf-8")
    hidden = r"<script>.*?</script>|<style>.*?</style>|<ul class=\"references\">.*?</ul>"
    visible = re.sub(hidden, "", html, flags=re.S)
    visible = re.sub(r"<[^>]+>", " ", visible)
    left = sorted(set(re.findall(r"[a-z]+", visible.lower())) & set(ENGLISH))
    assert left == [], f"English words in the Dutch HTML: {left}"
    # English decimals ("1.80", "0.575"); "3.703" is a Dutch thousands separator
    decimals = r"\b\d+\.\d{1,2}\b|\b0\.\d+"
    assert all(not re.search(decimals, s) for s in report.summary), report.summary


# -- the data behind the report -------------------------------------------------


@pytest.fixture(scope="module")
def misdeclared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Scores exported on 0-10 while the spec still declares 1-5 (a real-life mistake)."""
    out = tmp_path_factory.mktemp("misdeclared")
    config = replace(GeneratorConfig(), n_journeys=300, seed=5)
    spec = generate(out, config, name="misdeclared").spec_path
    events = pq.read_table(out / "events.parquet")
    scores = events["score"]
    rescaled = pc.round(pc.multiply(pc.subtract(pc.cast(scores, "float64"), 1.0), 2.5))
    index = events.column_names.index("score")
    events = events.set_column(index, "score", pc.cast(rescaled, scores.type))
    pq.write_table(events, out / "events.parquet")
    return spec


def test_quarantined_rows_are_said_prominently_everywhere(
    misdeclared: Path, tmp_path: Path
) -> None:
    data = load(misdeclared)
    share = data.report.quarantined_rows / data.report.rows_read
    assert share > 0.01
    report, files = analyze(misdeclared, tmp_path, image_formats=())
    assert report.warning.startswith("Warning: ")
    results = json.loads(files.json.read_text(encoding="utf-8"))
    assert results["data_quality"]["quarantine_warning"] is True
    assert results["data_quality"]["top_reasons"][0]["reason"] == "score_out_of_scale"
    assert report.warning in files.html.read_text(encoding="utf-8")
    first = " ".join(_plain(_pages(files)[0].extract_text()).split())
    assert "Warning:" in first and "score outside the declared scale" in first
    table = runner.invoke(app, ["moments", str(misdeclared), "--resamples", "10", "--no-segments"])
    assert table.exit_code == 0, table.output
    assert "Warning:" in table.stderr and "quarantined" in table.stderr
    as_json = runner.invoke(app, ["memory", str(misdeclared), "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)["data_quality"]["quarantine_warning"] is True
