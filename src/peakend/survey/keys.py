"""The service key: a secret kept outside the survey database, and private files.

Whoever can read the survey database must not be able to mint links or undo
the pseudonyms in the audit log. So the database holds only a *seed* per
link-signing generation; the key that signs links is ``HMAC(service key, seed)``,
and the audit tag of an erased customer is ``HMAC(service key, customer id)``.
The service key comes from, in this order:

1. ``PEAKEND_SURVEY_KEY``: the key itself (at least 32 characters);
2. ``PEAKEND_SURVEY_KEY_FILE``: a file holding it;
3. beside a SQLite database ``survey.db``: ``survey.db.key``; for PostgreSQL:
   ``~/.config/peakend/survey.key``.

A missing key file is created (256 random bits) with mode 0600; every worker and
command on the same database must see the same key (several hosts: set
``PEAKEND_SURVEY_KEY`` or ``PEAKEND_SURVEY_KEY_FILE``).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from peakend.errors import ConfigError

KEY_ENV = "PEAKEND_SURVEY_KEY"
KEY_FILE_ENV = "PEAKEND_SURVEY_KEY_FILE"
MIN_KEY_CHARS = 32
PRIVATE = 0o600


def key_path(sqlite_file: Path | None) -> Path:
    """Where the service key file is: the variable, beside the SQLite file, or per user."""
    configured = os.environ.get(KEY_FILE_ENV)
    if configured:
        return Path(configured).expanduser()
    if sqlite_file is not None:
        return sqlite_file.with_name(sqlite_file.name + ".key")
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config / "peakend" / "survey.key"


def service_key(sqlite_file: Path | None) -> bytes:
    """The service key (see the module docs); makes the key file when there is none."""
    value = os.environ.get(KEY_ENV)
    if value:
        if len(value) < MIN_KEY_CHARS:
            raise ConfigError(f"{KEY_ENV} must be at least {MIN_KEY_CHARS} characters long")
        return value.encode()
    path = key_path(sqlite_file)
    if not path.exists():
        _create_key_file(path)
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the survey key file {path}: {exc}") from exc
    if len(text) < MIN_KEY_CHARS:
        raise ConfigError(
            f"the survey key file {path} holds no key of at least {MIN_KEY_CHARS} characters; "
            "delete it to make a new one (links made with the old key stop working)"
        )
    return text.encode()


def _create_key_file(path: Path) -> None:
    """Write a fresh key with mode 0600; another process making it first is fine."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    except FileExistsError:
        return
    except OSError as exc:
        raise ConfigError(
            f"cannot create the survey key file {path}: {exc}; "
            f"set {KEY_FILE_ENV} to a writable place or {KEY_ENV} to a key"
        ) from exc
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(secrets.token_urlsafe(32) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def derive(key: bytes, purpose: str, value: str) -> str:
    """HMAC-SHA256 of ``value`` for one ``purpose`` (``link``, ``audit``), as hex."""
    message = f"{purpose}:{value}".encode("utf-8", "surrogatepass")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def make_private(path: Path) -> None:
    """Create ``path`` empty with mode 0600 if missing, or take away others' access."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
        os.close(descriptor)
        return
    except FileExistsError:
        pass
    except OSError:
        return  # a folder we cannot write: SQLite reports that itself
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(mode & 0o700)
    except OSError:
        pass  # not our file: the owner decides
