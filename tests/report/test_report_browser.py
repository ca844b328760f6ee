"""Open the report in a real headless Chromium: charts render, nothing is fetched, no errors.

Screenshots of the first screen and of the moment matrix (or the journey map
while the moment matrix is absent) are saved under ``test-artifacts/report/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, Request, sync_playwright

from peakend.generate import GeneratorConfig, generate
from peakend.report import Report, ReportFiles, analyze
from peakend.report.render import find_chromium

ARTIFACTS = Path(__file__).parents[2] / "test-artifacts" / "report"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Report, ReportFiles]:
    data = tmp_path_factory.mktemp("browser-data")
    spec = generate(data, replace(GeneratorConfig(), n_journeys=300, seed=3), name="web").spec_path
    return analyze(spec, tmp_path_factory.mktemp("browser-report"), pdf=False, image_formats=())


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    yield page
    page.close()


def test_charts_render_offline_without_errors(
    report: tuple[Report, ReportFiles], page: Page
) -> None:
    _, files = report
    errors: list[str] = []
    outside: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def block(request: Request) -> None:
        if not request.url.startswith(("file:", "data:", "blob:", "about:")):
            outside.append(request.url)

    page.on("request", block)
    page.route("http*://**", lambda route: route.abort())
    page.goto(files.html.resolve().as_uri())
    charts = page.locator("figure.chart")
    page.wait_for_function(
        "n => document.querySelectorAll('figure.chart .main-svg').length >= n",
        arg=charts.count(),
        timeout=30_000,
    )
    assert charts.count() >= 2
    for index in range(charts.count()):
        assert charts.nth(index).locator("svg.main-svg").count() >= 1
        assert charts.nth(index).locator(".point, .bars path").count() > 0
    assert errors == []
    assert outside == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "first-screen.png"))
    target = page.locator("#moments") if page.locator("#moments").count() else charts.first
    target.screenshot(path=str(ARTIFACTS / "moment-matrix.png"))


def test_tables_sort_by_clicked_column(report: tuple[Report, ReportFiles], page: Page) -> None:
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


def _column(table: Locator, index: int) -> list[float]:
    cells = table.locator(f"tbody tr td:nth-child({index + 1})")
    return [float(v) for v in cells.evaluate_all("cells => cells.map(c => c.dataset.sort)")]
