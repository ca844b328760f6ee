"""Questionnaire files: the examples load, mistakes are all reported, answers are checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from peakend.errors import ConfigError
from peakend.survey.questionnaire import (
    parse_questionnaire,
    read_questionnaire,
    read_questionnaires,
)

from .conftest import EXAMPLES


def minimal(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "touchpoint": "invoice",
        "title": {"nl": "Uw factuur", "en": "Your invoice"},
        "questions": [
            {
                "id": "overall",
                "role": "overall",
                "kind": "scale",
                "low": 1,
                "high": 5,
                "text": {"nl": "Tevreden?", "en": "Satisfied?"},
            }
        ],
    }
    raw.update(changes)
    return raw


def test_example_questionnaires_load_in_yaml_and_toml() -> None:
    found = read_questionnaires(EXAMPLES)
    assert set(found) == {"delivery", "first_invoice", "followup", "service_call"}
    delivery, call = found["delivery"], found["service_call"]
    assert delivery.languages == ("nl", "en") and call.overall.high == 10
    roles = {q.role for q in delivery.questions}
    assert {"success", "effort", "emotion", "overall", "comment"} <= roles


def test_every_problem_is_listed_with_its_key() -> None:
    raw = minimal(
        colour="blue",
        questions=[
            {"id": "a", "kind": "scale", "low": 5, "high": 1, "text": {"nl": "x", "en": "y"}},
            {"id": "a", "kind": "choice", "text": {"nl": "x"}, "options": [{"id": "o"}]},
            {"id": "c", "kind": "text", "role": "overall", "text": {"nl": "x", "en": "y"}},
            {"id": "d", "kind": "slider", "text": "x"},
        ],
    )
    with pytest.raises(ConfigError) as caught:
        parse_questionnaire(raw, where="bad.yaml")
    message = str(caught.value)
    for expected in (
        "bad.yaml",
        "unknown key `colour`",
        "questions[0]`: a scale needs whole numbers low < high",
        "`questions[1].text` has no text for en",
        "`questions[1].options` must list at least two options",
        "`questions[2].role` 'overall' does not fit kind 'text'",
        "questions[3].kind` must be one of",
        "question id 'a' is used twice",
    ):
        assert expected in message
    with pytest.raises(ConfigError, match="one question needs `role: overall`"):
        parse_questionnaire(
            minimal(questions=[{"id": "c", "kind": "text", "text": "x"}], languages=["en"])
        )


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("touchpoint: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="broken.yaml is not valid yaml"):
        read_questionnaire(broken)
    (tmp_path / "q.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ConfigError, match="use a .yaml, .yml or .toml file"):
        read_questionnaire(tmp_path / "q.json")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no questionnaire files"):
        read_questionnaires(tmp_path / "empty")
    with pytest.raises(ConfigError, match="does not exist"):
        read_questionnaires(tmp_path / "missing")
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("title: caf\xe9".encode("latin-1"))
    with pytest.raises(ConfigError, match="cannot read questionnaire"):
        read_questionnaire(latin1)


def test_language_comes_from_the_link_or_the_browser() -> None:
    questionnaire = parse_questionnaire(minimal())
    assert questionnaire.pick_language(None, None) == "nl"
    assert questionnaire.pick_language(None, "en-GB,en;q=0.9,nl;q=0.8") == "en"
    assert questionnaire.pick_language(None, "de-DE,nl;q=0.5,en;q=0.9") == "en"
    assert questionnaire.pick_language("nl", "en") == "nl"
    assert questionnaire.pick_language("fr", "xx;q=bad") == "nl"


def test_answers_are_checked_against_the_questions() -> None:
    delivery = read_questionnaire(EXAMPLES / "delivery.yaml")
    clean, errors = delivery.check_answers(
        {"success": "no", "effort": "7", "emotion": 1, "overall": 3, "feelings": ["happy", "happy"]}
    )
    assert errors == {} and clean["effort"] == 7 and clean["feelings"] == ["happy"]
    _, errors = delivery.check_answers(
        {"success": True, "effort": 0, "emotion": 2.5, "overall": None, "feelings": ["a", "b"]}
    )
    assert set(errors) == {"success", "effort", "emotion", "overall", "feelings"}
    _, errors = delivery.check_answers(
        {**clean, "feelings": ["happy", "relieved", "annoyed", "worried"], "comment": "a\x00b"}
    )
    assert errors == {
        "feelings": "choose at most 3",
        "comment": "text may not contain NUL characters",
    }


def test_unquoted_yes_and_no_in_yaml_get_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "q.yaml"
    path.write_text(
        "touchpoint: call\n"
        "title: {nl: Gesprek, en: Call}\n"
        "questions:\n"
        "  - {id: overall, role: overall, kind: scale, text: {nl: Cijfer, en: Score}}\n"
        "  - id: ok\n"
        "    kind: choice\n"
        "    text: {nl: Gelukt, en: Done}\n"
        "    options:\n"
        "      - {id: yes, label: {nl: Ja, en: Yes}}\n"
        "      - {id: 'no', label: {nl: Nee, en: 'No'}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        read_questionnaire(path)
    message = str(caught.value)
    assert "`questions[1].options[0].id` must be text (YAML reads yes" in message
    assert "`questions[1].options[0].label` has no text for en (YAML reads yes" in message


def test_the_example_in_the_docs_is_a_valid_questionnaire() -> None:
    import yaml

    docs = (EXAMPLES.parents[1] / "docs" / "survey.md").read_text(encoding="utf-8")
    example = docs.split("```yaml\n", 1)[1].split("```", 1)[0]
    questionnaire = parse_questionnaire(yaml.safe_load(example), where="docs/survey.md")
    assert questionnaire.overall.high == 5


def test_a_comma_in_an_unquoted_yaml_text_is_caught() -> None:
    import yaml

    raw = minimal(title=yaml.safe_load("{nl: Uw factuur, snel, en: Your invoice}"))
    with pytest.raises(ConfigError, match="`title` has key\\(s\\) 'snel', not a language"):
        parse_questionnaire(raw)
