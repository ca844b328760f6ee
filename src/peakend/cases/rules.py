"""Alert rules: which answers open a case, read from a small TOML file.

Each ``[[rule]]`` has an ``id`` and a ``kind``:

* ``score_at_most``: the answer's ``field`` (``overall`` by default, or
  ``success``, ``effort``, ``emotion``) is at most ``cut``;
* ``negative_ending``: the comment *ends* negatively (peakend's default comment
  scorer, the same label as the interaction-ending analysis);
* ``repeated_negative``: the customer gave at least ``count`` answers with
  ``field`` ≤ ``cut`` within ``days`` days (this one included).

Optional on every rule: ``touchpoint`` (only answers at it), ``unit`` (the unit
the case belongs to; default the touchpoint), ``owner`` (a user name),
``due_hours`` (the response target; default 48).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peakend.errors import ConfigError

KINDS = ("score_at_most", "negative_ending", "repeated_negative")
FIELDS = ("overall", "success", "effort", "emotion")
DEFAULT_DUE_HOURS = 48.0


@dataclass(frozen=True)
class Rule:
    """One alert rule (see the module docs for the kinds)."""

    id: str
    kind: str
    field: str = "overall"
    cut: float | None = None
    touchpoint: str | None = None
    unit: str | None = None
    owner: str | None = None
    due_hours: float = DEFAULT_DUE_HOURS
    count: int = 3
    days: float = 30.0

    def applies_to(self, touchpoint: str) -> bool:
        """Whether an answer at ``touchpoint`` is looked at by this rule."""
        return self.touchpoint is None or self.touchpoint == touchpoint

    def unit_of(self, touchpoint: str) -> str:
        """The unit a case of this rule belongs to."""
        return self.unit or touchpoint

    def is_low(self, row: Any) -> bool:
        """Whether the answer's ``field`` is at most ``cut`` (False when unanswered)."""
        value = getattr(row, self.field, None)
        return value is not None and self.cut is not None and float(value) <= self.cut

    def describe(self) -> str:
        """A sentence saying what the rule looks for."""
        where = f" at {self.touchpoint}" if self.touchpoint else ""
        if self.kind == "score_at_most":
            return f"{self.field} ≤ {self.cut:g}{where}"
        if self.kind == "negative_ending":
            return f"comment ends negatively{where}"
        return f"{self.count} answers with {self.field} ≤ {self.cut:g} within {self.days:g} days"


def read_rules(path: str | Path) -> list[Rule]:
    """The rules of a TOML file; :class:`ConfigError` names the rule and key to fix."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such alert rules file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    raw = data.get("rule", [])
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{path}: add at least one [[rule]] table")
    rules = [parse_rule(item, f"{path}: rule {i + 1}") for i, item in enumerate(raw)]
    ids = [r.id for r in rules]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ConfigError(f"{path}: rule ids must be unique; repeated: {', '.join(duplicates)}")
    return rules


def parse_rule(item: Any, where: str) -> Rule:
    """One rule from its TOML table; ``where`` prefixes error messages."""
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: must be a table")
    known = {f for f in Rule.__dataclass_fields__}
    unknown = sorted(set(item) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {sorted(known)}")
    rule_id = item.get("id")
    if not isinstance(rule_id, str) or not rule_id.strip():
        raise ConfigError(f'{where}: give it an id, e.g. id = "low-overall"')
    where = f"{where} ({rule_id})"
    kind = item.get("kind")
    if kind not in KINDS:
        raise ConfigError(f"{where}: kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if item.get("field", "overall") not in FIELDS:
        raise ConfigError(f"{where}: field must be one of {', '.join(FIELDS)}")
    if kind != "negative_ending" and not isinstance(item.get("cut"), int | float):
        raise ConfigError(f"{where}: a {kind} rule needs a number `cut`, e.g. cut = 2")
    try:
        rule = Rule(**item)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    if rule.due_hours <= 0 or rule.count < 1 or rule.days <= 0:
        raise ConfigError(f"{where}: due_hours and days must be > 0 and count ≥ 1")
    return rule
