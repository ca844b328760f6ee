"""Property-based fuzz of every public route: whatever a client sends, never a 5xx.

Hypothesis draws link tokens (valid, altered, respelled, other scripts' digits,
arbitrary text), answer values (integers of any size, floats, booleans, digits
of every script, text with NUL and lone surrogates, lists, nesting), raw bodies
(broken JSON, bytes that are not UTF-8) and sizes around the body limit, and
sends them to the form page, the form post, the JSON form, the submission and
the draft. Each reply must be below 500, carry the security headers, and when
it is a JSON refusal name a reason. Derandomised, so every run sends the same
requests; each server error of the audit falls inside these strategies.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peakend.survey.app import SurveySettings, create_app
from peakend.survey.questionnaire import Questionnaire
from peakend.survey.store import SurveyStore

from .conftest import ANSWERS, EXAMPLES, AppClient, invitation_request

MAX_BODY = 8 * 1024
OTHER_DIGITS = "²³¹٠١٢٣٤٥٦٧٨٩０１２３４５６７８９۳३৩௩"


@pytest.fixture(scope="module")
def target(
    tmp_path_factory: pytest.TempPathFactory, questionnaires: dict[str, Questionnaire]
) -> Iterator[dict[str, Any]]:
    db = tmp_path_factory.mktemp("fuzz-public") / "survey.db"
    store = SurveyStore.open(db, questionnaires)
    app = create_app(
        SurveySettings(
            db=str(db), questionnaires=EXAMPLES, max_body_bytes=MAX_BODY, failure_limit=10**9
        ),
        store=store,
    )
    tokens = [i.token for i in store.invite([invitation_request(n) for n in range(40)], actor="t")]
    client = AppClient(app)
    yield {"client": client, "tokens": tokens}
    client.close()
    store.engine.dispose()


def tokens(valid: list[str]) -> st.SearchStrategy[str]:
    """Valid links, and every way of getting one slightly or wholly wrong."""
    good = st.sampled_from(valid)

    def respell(token: str, expiry: str) -> str:
        invitation_id, _, signature = token.split(".")
        return f"{invitation_id}.{expiry}.{signature}"

    expiries = st.one_of(
        st.text(alphabet=string.digits + OTHER_DIGITS + "+-. ", min_size=1, max_size=20),
        st.integers(min_value=-(10**30), max_value=10**30).map(str),
        st.just("0" * 3 + "1900000000"),
    )
    return st.one_of(
        good,
        st.builds(respell, good, expiries),
        st.builds(
            lambda t, i, c: t[:i] + c + t[i + 1 :], good, st.integers(0, 60), st.characters()
        ),
        st.text(max_size=300),
        st.text(alphabet=string.ascii_letters + string.digits + "._-" + OTHER_DIGITS, max_size=80),
    )


def scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**40), max_value=10**40),
        st.integers(min_value=-3, max_value=12),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=30),
        st.text(alphabet=OTHER_DIGITS + string.digits + "-+ .", max_size=8),
        st.text(alphabet=st.characters(codec=None, categories=["Cs", "Cc", "Lo"]), max_size=20),
        st.just("9" * 5000),
        st.sampled_from(["yes", "no", "3", "5", "²", "--3", "٣", "３", "\ud800", "\x00"]),
        st.text(min_size=900, max_size=1500),
    )


def answer_sets() -> st.SearchStrategy[Any]:
    questions = st.sampled_from(
        ["success", "effort", "emotion", "overall", "comment", "feelings", "x", "\ud800", ""]
    )
    values = st.one_of(
        scalars(),
        st.lists(scalars(), max_size=5),
        st.dictionaries(st.text(max_size=3), scalars(), max_size=2),
    )
    return st.one_of(
        st.dictionaries(questions, values, max_size=8),
        st.builds(
            lambda extra: {**ANSWERS, **extra}, st.dictionaries(questions, values, max_size=2)
        ),
    )


def json_bytes(value: Any) -> bytes:
    """JSON as a client may send it: lone surrogates escaped, huge numbers spelt out."""
    return json.dumps(value, ensure_ascii=True, allow_nan=True).encode()


def bodies() -> st.SearchStrategy[bytes]:
    wrapped = st.builds(
        lambda answers, lang: {"answers": answers, **({"lang": lang} if lang else {})},
        answer_sets(),
        st.one_of(st.none(), st.sampled_from(["nl", "en", "de", ""])),
    )
    return st.one_of(
        wrapped.map(json_bytes),
        st.one_of(answer_sets(), scalars(), st.lists(scalars())).map(json_bytes),
        st.binary(max_size=200),
        st.integers(MAX_BODY - 50, MAX_BODY + 200).map(
            lambda n: b'{"answers": {"comment": "' + b"x" * n + b'"}}'
        ),
        st.sampled_from(
            [
                b"",
                b"{",
                b'{"answers": {"overall": 1e400}}',
                b'{"answers": {"overall": 9' + b"9" * 5000 + b"}}",
                b'{"answers": {"overall": NaN}}',
            ]
        ),
    )


def form_bodies() -> st.SearchStrategy[bytes]:
    fields = st.dictionaries(
        st.sampled_from(
            ["success", "effort", "emotion", "overall", "comment", "feelings", "_lang", "x"]
        ),
        st.one_of(scalars().map(lambda v: "" if v is None else str(v)), st.text(max_size=20)),
        max_size=8,
    )
    return st.one_of(
        fields.map(
            lambda f: "&".join(
                f"{quote(k)}={quote(v, errors='surrogatepass')}" for k, v in f.items()
            ).encode()
        ),
        st.binary(max_size=200),
    )


def check(reply: Any) -> None:
    assert reply.status_code < 500, (reply.status_code, reply.text[:300])
    assert "content-security-policy" in reply.headers
    if reply.status_code >= 400 and reply.headers.get("content-type", "").startswith(
        "application/json"
    ):
        body = reply.json()
        assert body["ok"] is False and body["error"]


@given(data=st.data())
@settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_public_request_gets_a_server_error(target: dict[str, Any], data: st.DataObject) -> None:
    client: AppClient = target["client"]
    token = data.draw(tokens(target["tokens"]), label="token")
    path_token = quote(token, safe="", errors="surrogatepass")
    route = data.draw(st.sampled_from(["page", "form", "json", "submit", "draft", "static"]))
    if route == "page":
        lang = data.draw(st.text(max_size=20))
        reply = client.get(
            f"/s/{path_token}",
            params={"lang": lang.encode("utf-8", "surrogatepass").decode("utf-8", "replace")},
            headers={"accept-language": data.draw(st.text(alphabet=string.printable, max_size=40))},
        )
    elif route == "form":
        reply = client.post(
            f"/s/{path_token}",
            content=data.draw(form_bodies()),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    elif route == "json":
        reply = client.get(f"/api/v1/forms/{path_token}")
    elif route == "static":
        name = data.draw(st.text(alphabet=string.ascii_letters + "./%", max_size=30))
        reply = client.get(f"/static/{quote(name, safe='/.%')}")
    else:
        method, suffix = ("POST", "responses") if route == "submit" else ("PUT", "draft")
        reply = client.request(
            method,
            f"/api/v1/forms/{path_token}/{suffix}",
            content=data.draw(bodies()),
            headers={"content-type": "application/json"},
        )
    check(reply)


def test_the_health_route_answers_with_security_headers(target: dict[str, Any]) -> None:
    check(target["client"].get("/api/v1/health"))
    assert Path(EXAMPLES).exists()
