"""Tests for the CX report: results, skipped analyses, languages, HTML, PDF and the CLI."""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from pathlib import Path

import pypdf
import pytest
from typer.testing import CliRunner

from peakend import find_hidden_moments, load, remembered_experience, summarize_journeys
from peakend.cli import app
from peakend.errors import ConfigError
from peakend.generate import GeneratorConfig, generate
from peakend.models.focus import focus_plan
from peakend.models.moments import find_moments
from peakend.report import Report, ReportFiles, analyze, build_report
from peakend.report.i18n import LANGUAGES, TEXTS, interval, number, percent
from peakend.text import touchpoint_emotions
from peakend.views import chart_rows

DATA = Path(__file__).parents[1] / "data"
runner = CliRunner()


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic dataset with scores, timestamps and outcomes."""
    out = tmp_path_factory.mktemp("report-data")
    config = replace(GeneratorConfig(), n_journeys=400, seed=7, contact_texts=True)
    return generate(out, config, name="small").spec_path


@pytest.fixture(scope="module")
def full(spec: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Report, ReportFiles]:
    """The complete report (HTML, PDF, JSON, PNG/SVG charts) in English."""
    return analyze(spec, tmp_path_factory.mktemp("report"), lang="en")


# -- results -------------------------------------------------------------------


def test_results_json_holds_the_analysis_figures(
    spec: Path, full: tuple[Report, ReportFiles]
) -> None:
    report, files = full
    results = json.loads(files.json.read_text(encoding="utf-8"))
    summary = summarize_journeys(load(spec), outcome=report.outcome)
    journeys = results["sections"]["journey_map"]
    assert results["n_journeys"] == summary.n_journeys == 400
    assert journeys["n_events"] == summary.n_events
    assert journeys["mean_valence"]["value"] == pytest.approx(summary.mean_valence.value)
    expected = {r["touchpoint"]: r for r in summary.touchpoints.to_pylist()}
    for row in journeys["touchpoints"]:
        want = expected[row["touchpoint"]]
        assert row["volume"] == want["volume"]
        if want["mean_valence"] is not None:
            assert row["mean_valence"] == pytest.approx(want["mean_valence"])
            assert row["valence_low"] <= row["mean_valence"] <= row["valence_high"]
    assert results["sections"]["quality"]["events_loaded"] == summary.n_events


def test_moments_and_focus_match_the_models(spec: Path, full: tuple[Report, ReportFiles]) -> None:
    report, files = full
    results = json.loads(files.json.read_text(encoding="utf-8"))["sections"]
    expected = find_moments(load(spec), outcome=report.outcome)
    shown = {row["touchpoint"]: row for row in results["moments"]["touchpoints"]}
    assert set(shown) == {m.touchpoint for m in expected.touchpoints}
    for moment in expected.touchpoints:
        row = shown[moment.touchpoint]
        assert row["class"] == moment.moment_class
        if moment.penalty.value == moment.penalty.value:
            assert row["penalty"]["value"] == pytest.approx(moment.penalty.value)
            assert row["penalty"]["low"] <= row["penalty"]["value"] <= row["penalty"]["high"]
    plan = focus_plan(expected, load(spec))
    assert results["focus"]["effects"] == plan.effects
    actions = results["focus"]["actions"]
    gains = {(a.kind, a.touchpoint): a.gain.value for a in plan.actions}
    for shown_action in actions:
        key = (shown_action["kind"], shown_action["touchpoint"])
        if shown_action["kind"] in ("fix", "excel"):
            assert shown_action["gain"]["value"] == pytest.approx(gains[key])
    churn_kinds = {"prevent_negative", "recover_faster"}
    # the hidden moments add their proactive contacts, ranked among the moments' actions
    ranked = [a for a in actions if a["kind"] not in churn_kinds]
    assert [a["touchpoint"] for a in ranked if a["kind"] != "proactive_contact"] == [
        a.touchpoint for a in plan.actions
    ]
    proactive = [a for a in ranked if a["kind"] == "proactive_contact"]
    anchors = {m["anchor"] for m in results["hidden"]["moments"]}
    assert {a["touchpoint"] for a in proactive} <= anchors
    # then the churn actions (churners saved), when the spec declares churn
    assert [a["kind"] for a in actions[len(ranked) :]] == [
        a["kind"] for a in actions if a["kind"] in churn_kinds
    ]


def test_memory_and_hidden_match_the_models(spec: Path, full: tuple[Report, ReportFiles]) -> None:
    report, files = full
    results = json.loads(files.json.read_text(encoding="utf-8"))["sections"]
    data = load(spec)
    memory = remembered_experience(data, outcome=report.outcome)
    assert results["memory"]["comparison"]["chosen"] == memory.comparison.chosen
    assert results["memory"]["n_journeys"] == memory.n_journeys
    hidden = find_hidden_moments(data)
    labels = [m["label"] for m in results["hidden"]["moments"]]
    assert labels == [m.moment.label for m in hidden.moments]
    for row in results["hidden"]["moments"]:
        excess = row["excess_per_1000"]
        assert excess["low"] <= excess["value"] <= excess["high"]
    emotions = touchpoint_emotions(data)
    assert results["emotions"]["n_comments"] == emotions.n_comments > 0
    shown = {t["touchpoint"]: t for t in results["emotions"]["touchpoints"]}
    for tp in emotions.touchpoints:
        assert shown[tp.touchpoint]["ends_negative"]["value"] == pytest.approx(
            tp.ends_negative.value
        )


def test_every_analysis_is_either_shown_or_skipped_with_a_reason(
    full: tuple[Report, ReportFiles],
) -> None:
    report, _ = full
    shown = {s.key for s in report.sections}
    skipped = {s.key: s.reason for s in report.skipped}
    every = {
        "journey_map",
        "moments",
        "memory",
        "emotions",
        "hidden",
        "recovery",
        "churn",
        "focus",
        "quality",
    }
    assert shown == every
    assert shown | set(skipped) == every
    assert all(reason for reason in skipped.values())


def test_executive_summary_has_at_most_five_sentences(full: tuple[Report, ReportFiles]) -> None:
    report, _ = full
    assert 1 <= len(report.summary) <= 5
    assert report.summary[0].startswith("Fix first: ")


def test_analyses_that_cannot_run_are_skipped_with_the_reason() -> None:
    report = build_report(load(DATA / "good_long.toml"))
    reasons = {s.key: s.reason for s in report.skipped}
    assert reasons["moments"].startswith("the analysis failed: 4 journeys are too few")
    assert reasons["emotions"] == "no comments (text) in the data"
    assert "no company-initiated touchpoint occurs in at least 30 journeys" in reasons["hidden"]
    assert report.section("journey_map") is not None
    assert report.section("quality") is not None


def test_unknown_language_and_outcome_are_refused(spec: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="use one of: en, nl"):
        analyze(spec, tmp_path, lang="de", pdf=False, image_formats=())
    with pytest.raises(ConfigError, match="unknown outcome 'nps'"):
        build_report(load(spec), outcome="nps")


# -- language ------------------------------------------------------------------


def test_every_text_exists_in_every_language() -> None:
    for key, versions in TEXTS.items():
        assert set(versions) == set(LANGUAGES), key
        fields = {tuple(sorted(re.findall(r"{(\w+)}", v))) for v in versions.values()}
        assert len(fields) == 1, f"{key}: languages use different placeholders"


def test_numbers_follow_the_language() -> None:
    assert number(12345, "en") == "12,345"
    assert number(12345, "nl") == "12.345"
    assert number(0.515, "nl", digits=2) == "0,52" or number(0.515, "nl") == "0,51"
    assert percent(0.25, "en") == "25 %"
    assert percent(0.25, "nl") == "25%"
    assert interval(0.31, 0.28, 0.34, "nl") == "+0,31 [+0,28; +0,34]"
    assert interval(-0.5, None, None, "en") == "−0.50"
    assert number(math.nan, "en") == "–"


def test_dutch_charts_draw_dutch_words_and_numbers(spec: Path) -> None:
    report = build_report(load(spec), lang="nl")
    memory = report.section("memory")
    assert memory is not None
    journey = next(c for c in memory.charts if c.id == "memory_journey")
    texts = {str(r.get("text", "")) for r in chart_rows(journey.spec)}
    assert any(t.startswith("beleefd (gemiddelde) ") and "," in t for t in texts), texts
    moments = report.section("moments")
    assert moments is not None
    classes = {r["class"] for r in chart_rows(moments.charts[0].spec) if "class" in r}
    assert classes <= {
        "moment van de waarheid",
        "excelmoment",
        "prestatiemoment",
        "standaardmoment",
        "te weinig gegevens",
    }


def test_dutch_report_is_in_dutch(spec: Path, tmp_path: Path) -> None:
    report, files = analyze(spec, tmp_path, lang="nl", pdf=False, image_formats=())
    html = files.html.read_text(encoding="utf-8")
    assert '<html lang="nl">' in html
    assert "Klantreisrapport" in html
    assert report.summary[0].startswith("Eerst herstellen: ")
    assert "beleefd (gemiddelde)" in html  # legends drawn by the models are translated too
    assert "experienced (average)" not in html


# -- files ---------------------------------------------------------------------


def test_html_loads_nothing_from_the_network(full: tuple[Report, ReportFiles]) -> None:
    html = full[1].html.read_text(encoding="utf-8")
    # Plotly's bundle mentions URLs in strings (attribution links it never loads);
    # what matters is the markup outside the scripts and that no script has a src.
    markup = re.sub(r"<script>.*?</script>", "<script></script>", html, flags=re.S)
    external = re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", markup, re.I)
    assert external == []
    assert re.findall(r"<script[^>]+src", html, re.I) == []
    assert re.findall(r"@import|<link[^>]+stylesheet", html, re.I) == []
    assert html.count("vegaEmbed(") >= 2
    assert html.count("window.vegaEmbed=") == 1  # the Vega bundle is embedded once


def test_pdf_is_a4_with_a_page_per_section(full: tuple[Report, ReportFiles]) -> None:
    report, files = full
    assert files.pdf is not None
    pdf = pypdf.PdfReader(files.pdf)
    assert len(pdf.pages) >= len(report.sections) + 1
    width, height = (float(v) for v in pdf.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (595, 842)
    first = pdf.pages[0].extract_text()
    assert "Customer journey report" in first
    assert "Executive summary" in first


def test_charts_are_written_as_png_and_svg(full: tuple[Report, ReportFiles]) -> None:
    names = {p.name for p in full[1].charts}
    assert {"journey_map.png", "journey_map.svg"} <= names
    for path in full[1].charts:
        assert path.stat().st_size > 1000
    svg = (full[1].directory / "charts" / "journey_map.svg").read_text(encoding="utf-8")
    assert "<svg" in svg


def test_everything_is_written_without_a_browser(
    spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh machine: no Chromium anywhere, still HTML, PDF and every chart."""
    monkeypatch.delenv("PEAKEND_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    report, files = analyze(spec, tmp_path, image_formats=("png", "svg"))
    assert files.skipped == ()
    assert files.pdf is not None and files.pdf.read_bytes().startswith(b"%PDF")
    drawn = {p.stem for p in files.charts}
    assert drawn == {c.id for s in report.sections for c in s.charts}


def test_an_unwritable_chart_folder_is_skipped_not_fatal(spec: Path, tmp_path: Path) -> None:
    (tmp_path / "charts").write_text("a file where the chart folder should be")
    result = runner.invoke(app, ["analyze", str(spec), "--out", str(tmp_path), "--no-pdf"])
    assert result.exit_code == 0, result.output
    assert "skipped chart images" in result.stderr
    assert (tmp_path / "report.html").exists()


def test_the_pdf_is_typeset_when_the_chart_images_cannot_be_written(
    spec: Path, tmp_path: Path
) -> None:
    """Without its charts/ folder the PDF draws the charts itself; only the images are skipped."""
    (tmp_path / "charts").write_text("a file where the chart folder should be")
    _, files = analyze(spec, tmp_path, image_formats=("png", "svg"))
    assert files.charts == ()
    assert [s.split(":")[0] for s in files.skipped] == ["chart images"]
    assert files.pdf is not None and files.pdf.read_bytes().startswith(b"%PDF")


# -- CLI -----------------------------------------------------------------------


def test_cli_analyze_json(spec: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["analyze", str(spec), "--out", str(tmp_path), "--no-pdf", "--no-images", "--json"],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["n_journeys"] == 400
    assert payload["files"]["pdf"] is None
    assert Path(payload["files"]["html"]).exists()


def test_money_carries_the_spec_currency(full: tuple[Report, ReportFiles]) -> None:
    report, files = full
    results = json.loads(files.json.read_text(encoding="utf-8"))
    assert results["currency"] == "EUR" and results["sections"]["hidden"]["currency"] == "EUR"
    hidden = report.section("hidden")
    assert hidden is not None and hidden.tables
    saved = [
        cell.text
        for row in hidden.tables[0].rows
        for cell in row
        if "saves" in cell.text  # contacts prevented; saves €… when the costs are known
    ]
    assert saved and all("€" in s for s in saved)
    assert files.pdf is not None
    pdf_text = "".join(page.extract_text() for page in pypdf.PdfReader(files.pdf).pages)
    assert "saves\u00a0€" in pdf_text or "saves €" in pdf_text


def test_recovery_and_churn_built_beside_the_hidden_moments_are_the_same(
    spec: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On two cores they run on the second thread while the hidden moments run on the first."""
    import os
    import threading

    from peakend.report import build as build_module
    from peakend.report import churn, hidden, recovery

    if (os.cpu_count() or 1) < 2:
        pytest.skip("sections are built beside others only with a second core")
    data = load(spec)
    sequential = monkeypatch.context()
    with sequential as m:
        m.setattr(build_module, "_BESIDE", {})
        alone = build_report(data)
    threads: dict[str, str] = {}
    for module, name in ((hidden, "hidden_section"), (recovery, "recovery_section"),
                         (churn, "churn_section")):  # fmt: skip
        original = getattr(module, name)

        def recorded(ctx: object, _original: object = original, _name: str = name) -> object:
            threads[_name] = threading.current_thread().name
            return _original(ctx)  # type: ignore[operator]

        monkeypatch.setattr(module, name, recorded)
    beside = build_report(data)
    assert threads["hidden_section"] != threads["recovery_section"] == threads["churn_section"]
    for key in ("hidden", "recovery", "churn"):
        one, other = alone.section(key), beside.section(key)
        assert one is not None and other is not None
        # DuckDB sums floating-point numbers in parallel: the last digits may move
        first, second = _numbers(one.results), _numbers(other.results)
        assert first.keys() == second.keys()
        texts = [k for k, v in first.items() if isinstance(v, str)]
        assert {k: first[k] for k in texts} == {k: second[k] for k in texts}
        numbers = [k for k in first if k not in set(texts)]
        assert [second[k] for k in numbers] == pytest.approx(
            [first[k] for k in numbers], rel=1e-9, nan_ok=True
        )


def _numbers(value: object, path: str = "") -> dict[str, object]:
    """Every leaf of a JSON-like value by its path (numbers as floats), for comparing."""
    if isinstance(value, dict):
        items = [(f"{path}/{key}", item) for key, item in value.items()]
    elif isinstance(value, list | tuple):
        items = [(f"{path}[{i}]", item) for i, item in enumerate(value)]
    else:
        items = []
    if items or isinstance(value, dict | list | tuple):
        return {k: v for where, item in items for k, v in _numbers(item, where).items()}
    if isinstance(value, bool) or not isinstance(value, int | float):
        return {path: str(value)}
    return {path: float(value)}
