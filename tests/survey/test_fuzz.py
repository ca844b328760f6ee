"""Fuzz the JSON API from its OpenAPI description (schemathesis): no request gets a 500.

Generated requests go to the app in-process, half of them valid by the schema and
half deliberately not (schemathesis's negative mode). Half of them carry a valid
invitation link and an admin key, so that generated bodies reach the answer
checks and the database instead of stopping at the signature or the key check.
The examples are derandomised so that the suite gives the same verdict on every
run; it found the unreadable-CSV error now covered in test_app.py.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from peakend.survey.app import SurveySettings, create_app
from peakend.survey.questionnaire import read_questionnaires
from peakend.survey.store import SurveyStore

from .conftest import EXAMPLES, invitation_request


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    db = tmp_path_factory.mktemp("fuzz") / "survey.db"
    store = SurveyStore.open(db, read_questionnaires(EXAMPLES))
    app = create_app(
        SurveySettings(db=str(db), questionnaires=EXAMPLES, failure_limit=10**9), store=store
    )
    tokens = [i.token for i in store.invite([invitation_request(n) for n in range(20)], actor="t")]
    key = store.add_api_key("fuzz")
    return {
        "schema": schemathesis.openapi.from_asgi("/openapi.json", app),
        "tokens": tokens,
        "key": key,
    }


def test_no_generated_request_gets_a_server_error(fuzz_target: dict[str, Any]) -> None:
    operations = [result.ok() for result in fuzz_target["schema"].get_all_operations()]
    assert len(operations) >= 10
    seen: set[str] = set()

    @given(st.data())
    @settings(
        max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    def run(data: st.DataObject) -> None:
        operation = data.draw(st.sampled_from(operations))
        mode = data.draw(st.sampled_from([GenerationMode.POSITIVE, GenerationMode.NEGATIVE]))
        case = data.draw(operation.as_strategy(generation_mode=mode))
        inside = data.draw(st.booleans())
        if inside and "token" in (case.path_parameters or {}):
            case.path_parameters["token"] = data.draw(st.sampled_from(fuzz_target["tokens"]))
        headers = {"Authorization": f"Bearer {fuzz_target['key']}"} if inside else {}
        case.call_and_validate(headers=headers, checks=[not_a_server_error])
        seen.add(operation.label)

    run()
    assert len(seen) == len(operations)  # every operation was exercised
