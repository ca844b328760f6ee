"""Filters of the dashboard: a period, a segment and units, applied to every widget.

A :class:`Filter` comes from a widget's options in the layout file and from the
query parameters of each fragment and JSON endpoint (``period``, ``segment``,
``unit``). Units only ever narrow: a row is shown when the user's role sees its
unit *and* the filter names it (or names no unit), so a filter can never widen
what a user may see.

* ``period``: ``30d`` or ``12w`` (the last days or weeks up to today, UTC) or
  ``2026-01-01..2026-03-31`` (both ends included; either end may be left out);
* ``segment``: ``key:value``; on survey answers the key is ``channel``, ``lang``
  or ``questionnaire`` of the invitation, on a dataset one of its spec's
  ``segments``;
* ``unit``: comma-separated unit (touchpoint) names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from peakend.cases.store import User
from peakend.errors import ConfigError

#: Segment keys of survey answers (columns of the invitation).
SURVEY_SEGMENTS = ("channel", "lang", "questionnaire")
_RELATIVE = re.compile(r"^(\d{1,4})([dw])$")
PERIOD_HELP = 'use "30d", "12w" or "2026-01-01..2026-03-31"'
#: The units of a filter whose parts have no unit in common: no touchpoint has this
#: name (names are letters, digits, "_" and "-"), so nothing is shown.
NO_UNIT = "(none)"


class FilterError(ConfigError):
    """A period, segment or unit that cannot be read; the message says how to write it."""


@dataclass(frozen=True)
class Filter:
    """What a widget shows: answers in ``period``, of ``segment``, at ``units``."""

    period: str = ""
    segment: str = ""
    units: tuple[str, ...] = ()

    def bounds(self, today: date | None = None) -> tuple[date | None, date | None]:
        """The first and last day of the period (both included; None: open)."""
        return parse_period(self.period, today)

    @property
    def segment_pair(self) -> tuple[str, str] | None:
        """``(key, value)`` of the segment, or None."""
        if not self.segment:
            return None
        key, _, value = self.segment.partition(":")
        return key, value

    def computation_key(self, today: date | None = None) -> tuple[object, ...]:
        """What changes the computed figures (units are applied to the computed rows)."""
        return (*self.bounds(today), self.segment)

    def shows(self, unit: str, user: User) -> bool:
        """Whether a row of ``unit`` is shown: the user's role sees it and the filter keeps it."""
        return user.sees(unit) and (not self.units or unit in self.units)

    def merged(self, other: Filter) -> Filter:
        """``other``'s period and segment when given, else ours; units of both (narrowing)."""
        if self.units and other.units:
            units = tuple(u for u in self.units if u in other.units) or (NO_UNIT,)
        else:
            units = self.units or other.units
        return Filter(other.period or self.period, other.segment or self.segment, units)

    def query(self) -> str:
        """The filter as a URL query string ("" when empty)."""
        values = {"period": self.period, "segment": self.segment, "unit": ",".join(self.units)}
        return urlencode({k: v for k, v in values.items() if v})

    def to_dict(self) -> dict[str, object]:
        return {"period": self.period, "segment": self.segment, "units": list(self.units)}


NO_FILTER = Filter()


def parse_period(text: str, today: date | None = None) -> tuple[date | None, date | None]:
    """``(first, last)`` day of a period; :class:`FilterError` says how to write one."""
    text = text.strip()
    if not text:
        return None, None
    today = today or datetime.now(UTC).date()
    relative = _RELATIVE.match(text)
    if relative:
        count = int(relative.group(1)) * (7 if relative.group(2) == "w" else 1)
        if count < 1:
            raise FilterError(f"period {text!r} is empty; {PERIOD_HELP}")
        return today - timedelta(days=count - 1), today
    if ".." not in text:
        raise FilterError(f"period {text!r} is not understood; {PERIOD_HELP}")
    start, _, end = text.partition("..")
    first, last = _day(start, text), _day(end, text)
    if first and last and first > last:
        raise FilterError(f"period {text!r} ends before it starts; swap the two dates")
    return first, last


def _day(text: str, period: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise FilterError(f"period {period!r}: {text!r} is not a date; {PERIOD_HELP}") from None


def parse_filter(
    period: str = "", segment: str = "", units: str | list[str] | tuple[str, ...] = ()
) -> Filter:
    """A checked :class:`Filter` from its text forms (query parameters or layout options)."""
    parse_period(period)
    segment = segment.strip()
    if segment and (":" not in segment or not all(segment.partition(":")[::2])):
        raise FilterError(f"segment {segment!r} needs the form key:value, e.g. channel:email")
    if isinstance(units, str):
        units = units.split(",")
    names = tuple(dict.fromkeys(u.strip() for u in units if u.strip()))
    return Filter(period.strip(), segment, names)


def from_query(params: Mapping[str, str]) -> Filter:
    """The filter of a request's query parameters ``period``, ``segment`` and ``unit``."""
    return parse_filter(params.get("period", ""), params.get("segment", ""), params.get("unit", ""))


def in_period(ts: datetime, bounds: tuple[date | None, date | None]) -> bool:
    """Whether ``ts`` (UTC) falls on a day of the period."""
    first, last = bounds
    day = ts.astimezone(UTC).date() if ts.tzinfo else ts.date()
    return (first is None or day >= first) and (last is None or day <= last)
