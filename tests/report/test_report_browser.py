"""Open the report in a real headless Chromium: charts render, nothing is fetched, no errors.

Screenshots of the first screen and of the moment matrix (or the journey map
while the moment matrix is absent) are saved under ``test-artifacts/report/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from peakend.generate import GeneratorConfig, generate
from peakend.report import Report, ReportFiles, analyze

ARTIFACTS = Path(__file__).parents[2] / "test-artifacts" / "report"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Report, ReportFiles]:
    data = tmp_path_factory.mktemp("browser-data")
    spec = generate(data, replace(GeneratorConfig(), n_journeys=300, seed=3), name="web").spec_path
    return analyze(spec, tmp_path_factory.mktemp("browser-report"), pdf=False, image_formats=())


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A page of the machine's Chromium (tests/conftest.py finds it or skips)."""
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    yield page
    page.close()


def test_charts_render_offline_without_errors(
    report: tuple[Report, ReportFiles], page: Any
) -> None:
    _, files = report
    errors: list[str] = []
    outside: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def block(request: Any) -> None:
        if not request.url.startswith(("file:", "data:", "blob:", "about:")):
            outside.append(request.url)

    page.on("request", block)
    page.route("http*://**", lambda route: route.abort())
    page.goto(files.html.resolve().as_uri())
    charts = page.locator("figure.chart")
    page.wait_for_function(
        "n => document.querySelectorAll('figure.chart svg.marks').length >= n",
        arg=charts.count(),
        timeout=30_000,
    )
    assert charts.count() >= 2
    for index in range(charts.count()):
        assert charts.nth(index).locator("svg.marks").count() == 1
        assert charts.nth(index).locator("g.mark-symbol path, g.mark-rect path").count() > 0
    assert page.locator(".vega-actions").count() == 0  # no toolbar
    assert errors == []
    assert outside == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "first-screen.png"))
    target = page.locator("#moments") if page.locator("#moments").count() else charts.first
    target.screenshot(path=str(ARTIFACTS / "moment-matrix.png"))


def test_tables_sort_by_clicked_column(report: tuple[Report, ReportFiles], page: Any) -> None:
    page.goto(report[1].html.resolve().as_uri())
    table = page.locator("#table-touchpoints")
    volume_header = table.locator("th").nth(1)
    volume_header.click()
    first = _column(table, 1)
    assert first == sorted(first)
    volume_header.press("Enter")
    second = _column(table, 1)
    assert second == sorted(second, reverse=True)
    assert volume_header.get_attribute("aria-sort") == "descending"


def _column(table: Any, index: int) -> list[float]:
    cells = table.locator(f"tbody tr td:nth-child({index + 1})")
    return [float(v) for v in cells.evaluate_all("cells => cells.map(c => c.dataset.sort)")]
