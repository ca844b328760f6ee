"""An intervention schedule: which proactive contacts are due on a given date.

A rule reads "``day`` days after ``anchor``, contact the customer by ``channel``
about ``goal``", written as ``anchor+DAYd:channel[:goal]`` (e.g.
``subscription_started+2d:phone:confirm the choice``). For a date, every
journey whose first ``anchor`` fell ``day`` days earlier (UTC calendar days)
gets a due action, unless the journey already has an event of the rule's
``skip_if`` touchpoint after the anchor (the contact was made already).
The query is Ibis, so it runs on the whole event log at once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import ibis
import pyarrow as pa

from peakend import engine
from peakend.errors import ConfigError
from peakend.load import Dataset

_RULE = re.compile(
    r"^\s*(?P<anchor>[^+]+?)\s*\+\s*(?P<day>\d+)\s*d\s*:\s*(?P<channel>[^:]+?)\s*(:\s*(?P<goal>.*))?$"
)


@dataclass(frozen=True)
class ProactiveRule:
    """Contact the customer ``day`` days after ``anchor`` by ``channel`` about ``goal``."""

    anchor: str
    day: int
    channel: str
    goal: str = ""
    skip_if: str | None = None

    @classmethod
    def parse(cls, text: str) -> ProactiveRule:
        """Read ``anchor+2d:phone:goal`` (the goal is optional)."""
        m = _RULE.match(text)
        if m is None:
            raise ConfigError(
                f"cannot read rule {text!r}; write ANCHOR+DAYSd:CHANNEL[:GOAL], e.g. "
                "'subscription_started+2d:call:confirm the choice'"
            )
        return cls(m["anchor"], int(m["day"]), m["channel"], (m["goal"] or "").strip())


def due_actions(
    data: Dataset, rules: Sequence[ProactiveRule], on: date | datetime | str
) -> pa.Table:
    """The proactive contacts due on ``on`` (a date, UTC), one row per journey and rule.

    Columns: ``journey_id, customer_id, anchor, anchor_ts, day, due_date,
    channel, goal``, ordered by rule and journey.

    Raises
    ------
    ConfigError
        If a rule names a touchpoint that is not in the data, or the date cannot be read.
    """
    day0 = _as_date(on)
    known = set(data.touchpoints["touchpoint"].to_pylist())
    for r in rules:
        missing = {r.anchor} - known | ({r.skip_if} - known if r.skip_if else set())
        if missing:
            raise ConfigError(f"rule {r.anchor}+{r.day}d: unknown touchpoint(s) {sorted(missing)}")
    _, events = engine.dataset_events(data, name="schedule_events")
    parts = [_due(events, r, i, day0) for i, r in enumerate(rules)]
    if not parts:
        return _empty()
    table = parts[0]
    for p in parts[1:]:
        table = table.union(p)
    return engine.utc_times(table.order_by(["rule", "journey_id"]).drop("rule").to_pyarrow())


def _due(events: ibis.Table, rule: ProactiveRule, index: int, day0: date) -> ibis.Table:
    a = events.filter((events.touchpoint == rule.anchor) & events.ts.notnull())
    a = a.group_by("journey_id").aggregate(
        customer_id=a.customer_id.argmin(a.ts), anchor_ts=a.ts.min()
    )
    a = a.filter(a.anchor_ts.date() == ibis.literal(day0 - timedelta(days=rule.day)))
    if rule.skip_if:
        done = events.filter(events.touchpoint == rule.skip_if).select(
            "journey_id", done_ts=events.ts
        )
        j = a.join(done, "journey_id")
        already = j.filter(j.done_ts >= j.anchor_ts).select("journey_id").distinct()
        a = a.anti_join(already, "journey_id")
    return a.select(
        rule=ibis.literal(index),
        journey_id=a.journey_id,
        customer_id=a.customer_id,
        anchor=ibis.literal(rule.anchor),
        anchor_ts=a.anchor_ts,
        day=ibis.literal(rule.day),
        due_date=ibis.literal(day0),
        channel=ibis.literal(rule.channel),
        goal=ibis.literal(rule.goal),
    )


def _as_date(on: date | datetime | str) -> date:
    if isinstance(on, datetime):
        return on.date()
    if isinstance(on, date):
        return on
    try:
        return date.fromisoformat(on)
    except ValueError as exc:
        raise ConfigError(f"cannot read date {on!r}; use YYYY-MM-DD") from exc


def _empty() -> pa.Table:
    return pa.table(
        {
            "journey_id": pa.array([], pa.string()),
            "customer_id": pa.array([], pa.string()),
            "anchor": pa.array([], pa.string()),
            "anchor_ts": pa.array([], pa.timestamp("us", tz="UTC")),
            "day": pa.array([], pa.int64()),
            "due_date": pa.array([], pa.date32()),
            "channel": pa.array([], pa.string()),
            "goal": pa.array([], pa.string()),
        }
    )
