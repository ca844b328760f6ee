"""Signed, expiring invitation links and hashed API keys.

An invitation link carries ``<id>.<expires>.<signature>``: ``id`` is 128 random
bits (``secrets.token_urlsafe``), ``expires`` the Unix time after which the link
stops working, and ``signature`` an HMAC-SHA256 over both with the store's
secret. A forged or altered link fails the signature check before the database
is touched; ids are unguessable, and single use is enforced by the database (one
response per invitation).

API keys look like ``pk_<key id>_<secret>``. Only SHA-256 of the secret is
stored: the secret is 256 random bits, so a fast hash is enough (a slow password
hash guards low-entropy human passwords, which these are not). Comparisons use
:func:`hmac.compare_digest` so their time does not depend on where the strings
differ.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

TOKEN_ID_BYTES = 16
SIGNATURE_BYTES = 18
# The one spelling of a token: URL-safe base64 id, the expiry in ASCII digits
# without leading zeros, and the 24 characters of an 18-byte signature.
TOKEN_PATTERN = re.compile(
    r"([A-Za-z0-9_-]{1,64})\.([1-9][0-9]{0,11})\.([A-Za-z0-9_-]{24})", re.ASCII
)


@dataclass(frozen=True)
class LinkToken:
    """A verified invitation token: the invitation id and its expiry (Unix seconds)."""

    invitation_id: str
    expires: int


def new_secret() -> str:
    """A fresh signing secret (256 bits, URL-safe text)."""
    return secrets.token_urlsafe(32)


def new_invitation_id() -> str:
    return secrets.token_urlsafe(TOKEN_ID_BYTES)


def _signature(secret: str, invitation_id: str, expires: int) -> str:
    digest = hmac.new(
        secret.encode(), f"{invitation_id}.{expires}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest[:SIGNATURE_BYTES]).decode().rstrip("=")


def sign_token(secret: str, invitation_id: str, expires: int) -> str:
    """The link token for an invitation."""
    return f"{invitation_id}.{expires}.{_signature(secret, invitation_id, expires)}"


def verify_token(secret: str, token: str) -> LinkToken | None:
    """The token's content if its signature is valid, else None (expiry is not checked here)."""
    parsed = parse_token(token)
    if parsed is None:
        return None
    invitation_id, expires, signature = parsed
    expected = _signature(secret, invitation_id, expires)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return None
    return LinkToken(invitation_id=invitation_id, expires=expires)


def parse_token(token: str) -> tuple[str, int, str] | None:
    """(id, expiry, signature) of a token in its one canonical spelling, else None.

    Only ASCII digits without leading zeros are an expiry, so that no link has a
    second spelling (``id.0<expires>.sig``) and no other digit (``²``, ``٣``)
    reaches ``int``.
    """
    match = TOKEN_PATTERN.fullmatch(token) if len(token) <= 200 else None
    if match is None:
        return None
    return match[1], int(match[2]), match[3]


@dataclass(frozen=True)
class NewApiKey:
    """A freshly made API key: ``key`` is shown once; only ``key_id`` and ``hash`` are stored."""

    key_id: str
    key: str
    hash: str


def new_api_key() -> NewApiKey:
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return NewApiKey(key_id=key_id, key=f"pk_{key_id}_{secret}", hash=hash_secret(secret))


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


def split_api_key(key: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    prefix, _, rest = key.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != "pk" or not key_id or not secret or len(key) > 200:
        return None
    return key_id, secret


def same_hash(stored: str, secret: str) -> bool:
    """Constant-time check of a secret against its stored hash."""
    return hmac.compare_digest(stored.encode(), hash_secret(secret).encode())
