"""Invitation tokens and API keys."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from peakend.survey.tokens import new_api_key, sign_token, split_api_key, verify_token


def test_a_signed_token_verifies_and_any_change_breaks_it() -> None:
    token = sign_token("secret", "abc", 1_900_000_000)
    verified = verify_token("secret", token)
    assert verified is not None and verified.invitation_id == "abc"
    assert verify_token("other", token) is None
    for index in range(len(token)):
        changed = token[:index] + ("x" if token[index] != "x" else "y") + token[index + 1 :]
        assert verify_token("secret", changed) is None


@given(st.text(max_size=300))
def test_arbitrary_text_never_verifies_and_never_crashes(text: str) -> None:
    assert verify_token("secret", text) is None


def test_api_keys_split_into_id_and_secret() -> None:
    key = new_api_key()
    assert split_api_key(key.key) == (key.key_id, key.key.split("_", 2)[2])
    assert split_api_key("pk__") is None and split_api_key("sk_a_b") is None
