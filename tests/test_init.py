"""``peakend init``: a drafted spec validates on every export shape with no hand edit.

The exports in ``tests/data/exports`` are written by ``make_exports.py`` in the
shapes the platforms and tools really write. For each: ``peakend init`` drafts a
spec, loading it quarantines no row, and the guesses that matter are right (layout,
id, header rows, touchpoints in order, outcome, comments, not-applicable codes).
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

import pytest

from peakend.cli import main
from peakend.load import load
from peakend.profile import draft_spec, spec_path_for

EXPORTS = Path(__file__).parent / "data" / "exports"
SHARED_DATA = next(
    (p / "shared" / "data" for p in Path(__file__).resolve().parents if (p / "shared").is_dir()),
    Path("/nonexistent"),
)
FILES = (
    "qualtrics.csv",
    "surveymonkey.csv",
    "limesurvey.csv",
    "formbricks.csv",
    "google_forms.csv",
    "webshop.xlsx",
    "contact_log.csv",
    "reviews.csv.gz",
    "loan_log.xes",
)


def run(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["peakend", *args])
    try:
        main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def drafted(tmp_path: Path, name: str) -> tuple[Path, dict[str, object]]:
    out = tmp_path / spec_path_for(EXPORTS / name).name
    draft = draft_spec(EXPORTS / name, out=out)
    out.write_text(draft.text, encoding="utf-8")
    return out, tomllib.loads(draft.text)


@pytest.mark.parametrize("name", FILES)
def test_the_drafted_spec_loads_every_row_with_no_hand_edit(name: str, tmp_path: Path) -> None:
    spec_file, _ = drafted(tmp_path, name)
    data = load(spec_file)
    assert data.report.ok, [p.message() for p in data.report.errors]
    assert data.report.quarantined_rows == 0
    assert data.report.events_loaded > 0
    assert not [p for p in data.report.problems if p.reason == "unknown_column"]


def test_qualtrics_header_rows_question_texts_and_outcome(tmp_path: Path) -> None:
    spec_file, raw = drafted(tmp_path, "qualtrics.csv")
    text = spec_file.read_text(encoding="utf-8")
    assert "Recognised a Qualtrics export" in text
    assert (
        raw["source"]
        == {"path": "../../../" + str(EXPORTS / "qualtrics.csv")[1:]} | {"header_rows": 3}
        or raw["source"]["header_rows"] == 3
    )  # type: ignore[index]
    assert raw["columns"] == {"journey_id": "ResponseId", "text": "Q6"}
    names = [t["name"] for t in raw["touchpoints"]]  # type: ignore[attr-defined]
    assert names == ["ordering", "delivery", "installation", "customer_support"]
    assert raw["outcomes"]["recommend"]["column"] == "Q5"  # type: ignore[index]
    assert "StartDate" in raw["ignore_columns"]  # type: ignore[operator]


def test_surveymonkey_open_answer_is_the_comment_on_its_touchpoint(tmp_path: Path) -> None:
    _, raw = drafted(tmp_path, "surveymonkey.csv")
    assert raw["source"]["header_rows"] == 2  # type: ignore[index]
    check_in = raw["touchpoints"][1]  # type: ignore[index]
    assert check_in["name"] == "check_in"
    assert check_in["text_column"].endswith("| Open-Ended Response")
    assert raw["segments"] == ["What was the purpose of your trip?"]


def test_limesurvey_na_becomes_a_text_code(tmp_path: Path) -> None:
    spec_file, raw = drafted(tmp_path, "limesurvey.csv")
    scales = raw["scales"]
    assert any(s.get("not_applicable") == ["N/A"] for s in scales.values())  # type: ignore[attr-defined]
    data = load(spec_file)
    na = [p for p in data.report.problems if p.reason == "not_applicable"]
    assert na and na[0].column == "Q03 Support"


def test_google_forms_without_id_numbers_rows_and_maps_the_comment(tmp_path: Path) -> None:
    spec_file, raw = drafted(tmp_path, "google_forms.csv")
    assert raw["columns"]["journey_id"] == "@row"  # type: ignore[index]
    delivery = raw["touchpoints"][1]  # type: ignore[index]
    assert (delivery["name"], delivery["text_column"]) == ("levering", "Opmerking over de levering")
    data = load(spec_file)
    events = data.events.to_pandas()
    texts = events.loc[events["touchpoint"] == "levering", "text"].dropna().tolist()
    assert texts and any("levering" in t.lower() for t in texts)


def test_excel_picks_the_sheet_with_the_answers_and_the_id(tmp_path: Path) -> None:
    _, raw = drafted(tmp_path, "webshop.xlsx")
    assert raw["source"]["sheet"] == "Antwoorden"  # type: ignore[index]
    assert raw["columns"]["journey_id"] == "Klantnummer"  # type: ignore[index]
    assert raw["outcomes"]["overall"]["column"] == "Algemeen oordeel"  # type: ignore[index]
    scale = raw["outcomes"]["overall"]["scale"]  # type: ignore[index]
    assert (raw["scales"][scale]["low"], raw["scales"][scale]["high"]) == (1, 10)  # type: ignore[index]


def test_semicolon_cp1252_event_log_is_long_with_its_reader_options(tmp_path: Path) -> None:
    spec_file, raw = drafted(tmp_path, "contact_log.csv")
    source = raw["source"]
    assert (source["delimiter"], source["decimal"], source["encoding"]) == (";", ",", "cp1252")  # type: ignore[index]
    assert raw["layout"] == "long"
    assert raw["columns"] == {
        "journey_id": "klant",
        "touchpoint": "contactmoment",
        "ts": "tijdstip",
        "channel": "kanaal",
        "initiated_by": "initiatief",
        "score": "cijfer",
        "text": "opmerking",
    }
    data = load(spec_file)
    initiators = dict(
        zip(
            data.touchpoints["touchpoint"].to_pylist(),
            data.touchpoints["initiated_by"].to_pylist(),
            strict=True,
        )
    )
    assert initiators["Vraag over factuur"] == "customer" and initiators["Factuur"] == "company"


def test_xes_activity_and_lifecycle_make_one_touchpoint(tmp_path: Path) -> None:
    spec_file, raw = drafted(tmp_path, "loan_log.xes")
    assert raw["columns"]["touchpoint"] == ["concept:name", "lifecycle:transition"]  # type: ignore[index]
    data = load(spec_file)
    names = set(data.events["touchpoint"].to_pylist())
    assert {"W_Check application+start", "W_Check application+complete"} <= names
    assert any("TODO" in line for line in spec_file.read_text().splitlines())


@pytest.mark.parametrize("name", ["google_forms.csv", "contact_log.csv"])
def test_init_then_analyze_exits_zero(
    name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec_file = tmp_path / "spec.toml"
    assert run(monkeypatch, "init", str(EXPORTS / name), "--out", str(spec_file), "--json") == 0
    drafted_info = json.loads(capsys.readouterr().out)
    assert drafted_info["ok"] and drafted_info["spec"] == str(spec_file)
    args = ("analyze", str(spec_file), "--out", str(tmp_path / "report"), "--no-pdf")
    assert run(monkeypatch, *args, "--no-images", "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n_journeys"] == 120


def test_analyze_prints_skipped_sections_with_their_spec_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A reason such as "([recovery] section)" is printed as written, not read as markup."""
    spec_file = tmp_path / "spec.toml"
    assert run(monkeypatch, "init", str(EXPORTS / "qualtrics.csv"), "--out", str(spec_file)) == 0
    capsys.readouterr()
    args = ("analyze", str(spec_file), "--out", str(tmp_path / "report"), "--no-pdf")
    assert run(monkeypatch, *args, "--no-images") == 0
    printed = capsys.readouterr()
    text = " ".join((printed.out + printed.err).split())
    assert "([recovery] section)" in text and "([churn] section)" in text
    assert "1. Fix first:" in text


def test_init_refuses_to_overwrite_and_samples(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec_file = tmp_path / "spec.toml"
    spec_file.write_text("keep me", encoding="utf-8")
    assert run(monkeypatch, "init", str(EXPORTS / "formbricks.csv"), "--out", str(spec_file)) == 2
    assert spec_file.read_text(encoding="utf-8") == "keep me"
    draft = draft_spec(EXPORTS / "formbricks.csv", out=spec_file, sample_rows=50)
    assert draft.rows_sampled == 50 and draft.platform == "Formbricks"


@pytest.mark.skipif(
    not (SHARED_DATA / "airline_passenger_satisfaction").is_dir(), reason="shared data absent"
)
def test_airline_survey_draft_finds_its_touchpoints_outcome_and_zero_code(tmp_path: Path) -> None:
    path = SHARED_DATA / "airline_passenger_satisfaction" / "airline_passenger_satisfaction.csv.gz"
    draft = draft_spec(path, out=tmp_path / "airline.toml", sample_rows=5_000)
    raw = tomllib.loads(draft.text)
    assert raw["layout"] == "wide" and raw["columns"]["journey_id"] == "ID"
    assert len(raw["touchpoints"]) == 14
    assert raw["outcomes"]["overall"]["kind"] == "binary"
    assert any(s.get("not_applicable") == [0] for s in raw["scales"].values())


def test_a_second_file_becomes_the_outcome_source(tmp_path: Path) -> None:
    out = tmp_path / "contacts.toml"
    draft = draft_spec(
        EXPORTS / "contact_log.csv", outcome_file=EXPORTS / "contact_outcomes.csv", out=out
    )
    out.write_text(draft.text, encoding="utf-8")
    raw = tomllib.loads(draft.text)
    assert raw["outcome_source"]["journey_id"] == "klant"  # type: ignore[index]
    assert raw["outcomes"]["churned"] == {  # type: ignore[index]
        "column": "Opgezegd",
        "kind": "binary",
        "positive": ["ja"],
    }
    data = load(out)
    assert data.report.quarantined_rows == 0
    churned = data.outcomes.to_pandas().set_index("journey_id")["churned"]
    assert churned.notna().all() and 0 < churned.mean() < 1
