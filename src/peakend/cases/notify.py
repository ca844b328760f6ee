"""Notification settings: who hears about a case, by e-mail or webhook (a TOML file).

``peakend serve --notify FILE`` reads a file like::

    [smtp]
    host = "mail.example.com"
    port = 587
    from = "cx@example.com"
    starttls = true                       # optional (default false)
    user = "cx"                           # optional login …
    password_env = "PEAKEND_SMTP_PASSWORD"   # … its password from this variable

    [email]
    events = ["opened", "escalated", "assigned"]
    owner = true                          # also the case owner's address (users add --email)
    [email.units]                         # recipients per unit; "*" hears about every unit
    logistics = ["ops@example.com"]

    [[webhook]]
    url = "https://hooks.example.com/peakend"
    secret_env = "PEAKEND_WEBHOOK_SECRET"   # HMAC-SHA256 key of the signature header
    events = ["opened", "escalated", "assigned", "closed", "followup"]

    [retry]
    attempts = 8          # deliveries tried before a notification is given up
    backoff_s = 30        # wait after the first failure, doubled after each next one
    max_backoff_s = 3600
    timeout_s = 10

    [followup]            # a follow-up question to the customer when a case closes
    questionnaire = "followup"
    field = "success"     # the answer's role column that says whether it was solved …
    positive_at_least = 1 # … positive at or above this value

    [summary]             # the report's first page as a PDF, mailed on a schedule
    every = "weekly"      # or "daily"
    day = "monday"        # weekly only (default monday)
    at = "08:00"          # local time of `timezone` (default UTC)
    timezone = "Europe/Amsterdam"
    recipients = ["director@example.com"]
    dataset = "journeys.toml"   # a dataset spec, relative to this file
    language = "en"       # or "nl"

Secrets are never written in the file: ``password_env`` and ``secret_env`` name
environment variables. Every mistake is a :class:`~peakend.errors.ConfigError`
that names the key and how to fix it.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from peakend.errors import ConfigError

EVENTS = ("opened", "escalated", "assigned", "closed", "followup")
"""Case events; ``followup`` carries the customer's follow-up link (for webhooks)."""
FOLLOWUP_FIELDS = ("overall", "success", "effort", "emotion")
_ADDRESS = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


@dataclass(frozen=True)
class Smtp:
    """How to reach the mail server."""

    host: str
    port: int = 25
    sender: str = ""
    starttls: bool = False
    user: str | None = None
    password: str | None = None


@dataclass(frozen=True)
class EmailRule:
    """Which case events are mailed, and to whom."""

    events: tuple[str, ...] = ("opened", "escalated", "assigned")
    owner: bool = True
    units: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def recipients(self, unit: str) -> list[str]:
        """The fixed addresses of ``unit`` (its own and those of ``*``)."""
        return [*self.units.get(unit, ()), *self.units.get("*", ())]


@dataclass(frozen=True)
class Webhook:
    """An HTTP endpoint that receives a signed JSON body per case event."""

    url: str
    secret: str
    events: tuple[str, ...] = EVENTS


@dataclass(frozen=True)
class Retry:
    """Delivery attempts and backoff."""

    attempts: int = 8
    backoff_s: float = 30.0
    max_backoff_s: float = 3600.0
    timeout_s: float = 10.0

    def wait_after(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failed delivery."""
        return float(min(self.max_backoff_s, self.backoff_s * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class Followup:
    """The follow-up questionnaire sent when a case closes, and what a positive answer is."""

    questionnaire: str
    field: str = "success"
    positive_at_least: float = 1.0


DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
EVERY = ("daily", "weekly")
SUMMARY_LANGUAGES = ("en", "nl")


@dataclass(frozen=True)
class SummarySchedule:
    """The mailed PDF summary: which dataset's report page 1 goes to whom, and when."""

    every: str
    at: time
    recipients: tuple[str, ...]
    dataset: Path
    language: str = "en"
    day: str = "monday"
    timezone: str = "UTC"

    def describe(self) -> str:
        """The schedule in words; stored with the next due time, so a changed
        schedule is noticed after a restart."""
        when = "daily" if self.every == "daily" else f"weekly on {self.day}"
        return f"{when} at {self.at.strftime('%H:%M')} {self.timezone}"


@dataclass(frozen=True)
class NotifyConfig:
    """Everything of the notify file; parts left out are ``None`` or empty."""

    smtp: Smtp | None = None
    email: EmailRule | None = None
    webhooks: tuple[Webhook, ...] = ()
    retry: Retry = field(default_factory=Retry)
    followup: Followup | None = None
    summary: SummarySchedule | None = None

    def emails(self, event: str) -> bool:
        return self.email is not None and event in self.email.events

    def hooks(self, event: str) -> list[Webhook]:
        return [w for w in self.webhooks if event in w.events]


def read_notify(path: str | Path, env: Mapping[str, str] | None = None) -> NotifyConfig:
    """The settings of a notify file; :class:`ConfigError` names the key to fix."""
    path = Path(path)
    env = os.environ if env is None else env
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such notify file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return parse_notify(data, str(path), env, base=path.parent)


def parse_notify(
    data: Mapping[str, Any], where: str, env: Mapping[str, str], *, base: Path | None = None
) -> NotifyConfig:
    """The settings from parsed TOML; ``where`` prefixes error messages and ``base``
    is the folder relative paths (the summary's dataset) are read from."""
    _known(data, ("smtp", "email", "webhook", "retry", "followup", "summary"), where)
    smtp = _smtp(_table(data, "smtp", where), f"{where} [smtp]", env) if "smtp" in data else None
    email = _email(_table(data, "email", where), f"{where} [email]") if "email" in data else None
    if email is not None and smtp is None:
        raise ConfigError(f"{where}: [email] needs an [smtp] table with host and from")
    hooks = data.get("webhook", [])
    if not isinstance(hooks, list):
        raise ConfigError(f"{where}: write webhooks as [[webhook]] tables")
    webhooks = tuple(_webhook(h, f"{where} [[webhook]] {i + 1}", env) for i, h in enumerate(hooks))
    retry = _retry(_table(data, "retry", where), f"{where} [retry]") if "retry" in data else Retry()
    followup = (
        _followup(_table(data, "followup", where), f"{where} [followup]")
        if "followup" in data
        else None
    )
    summary = None
    if "summary" in data:
        summary = _summary(_table(data, "summary", where), f"{where} [summary]", base)
        if smtp is None:
            raise ConfigError(f"{where}: [summary] is mailed; add an [smtp] table with host, from")
    return NotifyConfig(smtp, email, webhooks, retry, followup, summary)


def _known(table: Mapping[str, Any], keys: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(table) - set(keys))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(keys)}")


def _table(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = data[key]
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: `{key}` must be a table, written [{key}]")
    return value


def _text(table: Mapping[str, Any], key: str, where: str, example: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: `{key}` is required text, e.g. {key} = {example}")
    return value.strip()


def _number(table: Mapping[str, Any], key: str, default: float, where: str) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"{where}: `{key}` must be a number above 0, not {value!r}")
    return float(value)


def _secret(table: Mapping[str, Any], key: str, where: str, env: Mapping[str, str]) -> str:
    name = _text(table, key, where, '"PEAKEND_SECRET"')
    value = env.get(name)
    if not value:
        raise ConfigError(f"{where}: `{key}` names the variable {name}, which is not set; set it")
    return value


def _events(table: Mapping[str, Any], where: str, default: tuple[str, ...]) -> tuple[str, ...]:
    events = table.get("events", list(default))
    if not isinstance(events, list) or not events or any(e not in EVENTS for e in events):
        raise ConfigError(f"{where}: `events` is a list of {', '.join(EVENTS)}; got {events!r}")
    return tuple(events)


def _address(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _ADDRESS.match(value.strip()):
        raise ConfigError(f"{where}: {value!r} is not an e-mail address like ops@example.com")
    return value.strip()


def _smtp(table: Mapping[str, Any], where: str, env: Mapping[str, str]) -> Smtp:
    _known(table, ("host", "port", "from", "starttls", "user", "password_env"), where)
    port = table.get("port", 25)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ConfigError(f"{where}: `port` must be a whole number 1–65535, e.g. port = 587")
    starttls = table.get("starttls", False)
    if not isinstance(starttls, bool):
        raise ConfigError(f"{where}: `starttls` is true or false")
    user = table.get("user")
    if user is not None and (not isinstance(user, str) or not user):
        raise ConfigError(f'{where}: `user` is the login name, e.g. user = "cx"')
    password = _secret(table, "password_env", where, env) if user else None
    if user is None and "password_env" in table:
        raise ConfigError(f"{where}: `password_env` needs `user` (the login name)")
    return Smtp(
        host=_text(table, "host", where, '"mail.example.com"'),
        port=port,
        sender=_address(table.get("from"), f"{where} from"),
        starttls=starttls,
        user=user,
        password=password,
    )


def _email(table: Mapping[str, Any], where: str) -> EmailRule:
    _known(table, ("events", "owner", "units"), where)
    owner = table.get("owner", True)
    if not isinstance(owner, bool):
        raise ConfigError(f"{where}: `owner` is true or false")
    raw = table.get("units", {})
    if not isinstance(raw, dict):
        raise ConfigError(f'{where}: `units` is a table of unit = ["address", …]')
    units: dict[str, tuple[str, ...]] = {}
    for unit, addresses in raw.items():
        if isinstance(addresses, str):
            addresses = [addresses]
        if not isinstance(addresses, list) or not addresses:
            raise ConfigError(f'{where}.units: {unit} = ["ops@example.com"] (a list of addresses)')
        units[unit] = tuple(_address(a, f"{where}.units.{unit}") for a in addresses)
    if not units and not owner:
        raise ConfigError(f"{where}: nobody would be mailed; add [email.units] or owner = true")
    return EmailRule(_events(table, where, EmailRule.events), owner, units)


def _webhook(table: Any, where: str, env: Mapping[str, str]) -> Webhook:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table")
    _known(table, ("url", "secret_env", "events"), where)
    url = _text(table, "url", where, '"https://hooks.example.com/peakend"')
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{where}: `url` must start with http:// or https://, not {url!r}")
    return Webhook(url, _secret(table, "secret_env", where, env), _events(table, where, EVENTS))


def _retry(table: Mapping[str, Any], where: str) -> Retry:
    _known(table, ("attempts", "backoff_s", "max_backoff_s", "timeout_s"), where)
    attempts = table.get("attempts", Retry.attempts)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise ConfigError(f"{where}: `attempts` must be a whole number ≥ 1, e.g. attempts = 8")
    return Retry(
        attempts,
        _number(table, "backoff_s", Retry.backoff_s, where),
        _number(table, "max_backoff_s", Retry.max_backoff_s, where),
        _number(table, "timeout_s", Retry.timeout_s, where),
    )


def _followup(table: Mapping[str, Any], where: str) -> Followup:
    _known(table, ("questionnaire", "field", "positive_at_least"), where)
    name = _text(table, "questionnaire", where, '"followup"')
    column = table.get("field", "success")
    if column not in FOLLOWUP_FIELDS:
        raise ConfigError(f"{where}: `field` must be one of {', '.join(FOLLOWUP_FIELDS)}")
    cut = table.get("positive_at_least", 1.0)
    if isinstance(cut, bool) or not isinstance(cut, int | float):
        raise ConfigError(f"{where}: `positive_at_least` is a number, e.g. positive_at_least = 1")
    return Followup(name, column, float(cut))


def _summary(table: Mapping[str, Any], where: str, base: Path | None) -> SummarySchedule:
    keys = ("every", "day", "at", "timezone", "recipients", "dataset", "language")
    _known(table, keys, where)
    every = table.get("every", "weekly")
    if every not in EVERY:
        raise ConfigError(f'{where}: `every` is "daily" or "weekly", not {every!r}')
    day = table.get("day", "monday")
    if not isinstance(day, str) or day.lower() not in DAYS:
        raise ConfigError(f'{where}: `day` is a day of the week, e.g. day = "monday"; got {day!r}')
    if every == "daily" and "day" in table:
        raise ConfigError(f'{where}: `day` is for every = "weekly"; remove it or set every')
    zone = table.get("timezone", "UTC")
    try:
        ZoneInfo(str(zone))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f'{where}: `timezone` {zone!r} is unknown; use a name like "Europe/Amsterdam" or "UTC"'
        ) from exc
    language = table.get("language", "en")
    if language not in SUMMARY_LANGUAGES:
        raise ConfigError(f"{where}: `language` is one of {', '.join(SUMMARY_LANGUAGES)}")
    raw = table.get("recipients")
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f'{where}: `recipients` is a list of addresses, e.g. ["cx@example.com"]')
    dataset = Path(_text(table, "dataset", where, '"journeys.toml" (a dataset spec)'))
    if not dataset.is_absolute() and base is not None:
        dataset = base / dataset
    if not dataset.is_file():
        raise ConfigError(f"{where}: `dataset` {str(dataset)!r} is not a file; give a dataset spec")
    from peakend.spec import read_spec

    try:
        read_spec(dataset)
    except ConfigError as exc:
        raise ConfigError(f"{where} dataset: {exc}") from exc
    return SummarySchedule(
        every=every,
        at=_clock(table.get("at", "08:00"), where),
        recipients=tuple(dict.fromkeys(_address(a, f"{where} recipients") for a in raw)),
        dataset=dataset,
        language=language,
        day=day.lower(),
        timezone=str(zone),
    )


def _clock(value: Any, where: str) -> time:
    """``"HH:MM"`` as a time of day."""
    found = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value) if isinstance(value, str) else None
    if found is None:
        raise ConfigError(f'{where}: `at` is a time of day, e.g. at = "08:00"; got {value!r}')
    return time(int(found.group(1)), int(found.group(2)))
