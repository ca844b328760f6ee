"""Charts without a browser: every format from vl-convert, offline HTML, clear errors."""

from __future__ import annotations

from pathlib import Path

import altair as alt
import pytest
from typer.testing import CliRunner

from peakend.cli import app
from peakend.errors import ConfigError, SourceError
from peakend.views import chart_rows, render, save_chart
from peakend.views.style import configure, data
from peakend.views.words import WORDS, signed

runner = CliRunner()


def _chart() -> alt.TopLevelMixin:
    rows = [{"x": 1.5, "y": 2}, {"x": 2.5, "y": 1}]
    base = alt.Chart(data(rows))
    layered = alt.layer(
        base.mark_point().encode(x="x:Q", y="y:Q"), base.mark_line().encode(x="x:Q", y="y:Q")
    )
    return configure(layered, "A chart")


def test_every_format_is_drawn_without_a_browser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    written = save_chart(_chart(), tmp_path / "chart", ("html", "png", "svg", "pdf"))
    assert [p.suffix for p in written] == [".svg", ".html", ".png", ".pdf"]
    assert (tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "chart.pdf").read_bytes().startswith(b"%PDF")
    assert "<svg" in (tmp_path / "chart.svg").read_text(encoding="utf-8")
    html = (tmp_path / "chart.html").read_text(encoding="utf-8")
    assert "window.vegaEmbed=" in html and "<script src" not in html


def test_numbers_in_dutch_charts_use_a_decimal_comma() -> None:
    chart = alt.Chart(data([{"x": 0.25, "y": 1.5}])).mark_point().encode(x="x:Q", y="y:Q")
    svg = render(chart, "svg", lang="nl").decode("utf-8")
    assert "0,2" in svg and "0.2" not in svg
    assert signed(-0.5, "nl") == "−0,50" and signed(0.5, "en") == "+0.50"


def test_shared_data_is_counted_once() -> None:
    assert len(chart_rows(_chart())) == 2


def test_unknown_format_and_unwritable_folder_are_explained(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="use one of html, png, svg, pdf"):
        save_chart(_chart(), tmp_path / "chart", ("gif",))
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(SourceError, match="could not write"):
        save_chart(_chart(), blocker / "chart", ("svg",))


def test_every_chart_word_has_both_languages() -> None:
    for key, versions in WORDS.items():
        assert set(versions) == {"en", "nl"}, key


def test_a_plot_that_cannot_be_written_does_not_stop_the_command(tmp_path: Path) -> None:
    spec = Path(__file__).parents[1] / "data" / "good_long.toml"
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = runner.invoke(app, ["emotions", "--help"])
    assert result.exit_code == 0
    result = runner.invoke(app, ["memory", str(spec), "--out", str(blocker / "figures"), "--json"])
    # good_long is too small for the memory models: the data error exits 1 before any chart;
    # what matters here is that no chart problem turns into a usage error (exit 2)
    assert result.exit_code in (0, 1), result.output


def test_charts_drawn_ahead_are_written_once_and_as_drawn_now(tmp_path: Path) -> None:
    """draw_ahead keeps the images for the next save_charts of the same chart, once."""
    from peakend.views import save as saving

    chart = alt.Chart(alt.Data(values=[{"x": 1, "y": 2}, {"x": 2, "y": 3}])).mark_bar()
    chart = chart.encode(x="x:Q", y="y:Q")
    saving.draw_ahead([chart], ("svg", "png"))
    assert len(saving._AHEAD) == 1
    ahead = saving.save_charts([(chart, tmp_path / "a" / "c")], ("svg", "png"))
    assert not saving._AHEAD  # used, then forgotten
    now = saving.save_charts([(chart, tmp_path / "b" / "c")], ("svg", "png"))
    assert [p.read_bytes() for p in ahead] == [p.read_bytes() for p in now]
