"""Passwords and session tokens of the dashboard's users.

Passwords are hashed with scrypt (``hashlib.scrypt``, RFC 7914) and a random
16-byte salt per user; the stored form is ``scrypt$n$r$p$salt$hash`` so the cost
can be raised later without breaking old hashes. Session tokens are random
(32 bytes); the database keeps only their SHA-256, so a copy of the database
cannot log anyone in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
ROLES = ("admin", "analyst", "case_owner", "viewer")
"""admin: everything, users included; analyst: read every case of its units;
case_owner: read and work the cases of its units; viewer: read only."""
WRITERS = ("admin", "case_owner")
MIN_PASSWORD = 10


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """The stored form of ``password`` (scrypt with a fresh random salt)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


DUMMY_HASH = hash_password("not a password", salt=b"\0" * 16)
"""Checked against when a user name is unknown, so timing does not reveal names."""


def check_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        found = hashlib.scrypt(
            password.encode(),
            salt=bytes.fromhex(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(digest) // 2,
        )
    except ValueError:
        return False
    return hmac.compare_digest(found.hex(), digest)


def new_token() -> str:
    """A random session or CSRF token (URL-safe text)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the database keeps of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()
