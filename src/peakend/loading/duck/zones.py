"""The dates on which a time zone's clocks change, to check local times only there.

A local time without an offset is read in the source's zone, and one that falls in
a daylight-saving gap or overlap is unreadable (as for the pandas loader). That
check costs several time-zone conversions per value: ten million times took 6.4 s
with it on every value and 3.1 s with it on those days only. It can only fail on
the few days a zone's offset changes, so :func:`changing_dates` lists those days,
and the SQL converts every other time once
(:meth:`~peakend.loading.duck.columns.ColumnValues._local_time_sql`).
"""

from __future__ import annotations

import datetime as dt
import functools

FIRST_YEAR, LAST_YEAR = 1900, 2100
"""The years :func:`changing_dates` looks at; a time outside them is always checked."""
_STEP = dt.timedelta(hours=12)
"""How often the offset is looked at: every change is between two looks (zones do
not change twice within twelve hours and back)."""


@functools.lru_cache(maxsize=16)
def changing_dates(zone: str) -> tuple[dt.date, ...] | None:
    """The local dates in :data:`FIRST_YEAR`-:data:`LAST_YEAR` on which the UTC offset
    of ``zone`` may change, with the day before and after each; None when Python
    does not know the zone (every time is then checked)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        info = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    at = dt.datetime(FIRST_YEAR, 1, 1, tzinfo=dt.UTC) - dt.timedelta(days=2)
    end = dt.datetime(LAST_YEAR + 1, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=2)
    dates: set[dt.date] = set()
    offset = at.astimezone(info).utcoffset()
    while at < end:
        after = at + _STEP
        changed = after.astimezone(info).utcoffset()
        if changed != offset:
            first = at.astimezone(info).date() - dt.timedelta(days=1)
            last = after.astimezone(info).date() + dt.timedelta(days=1)
            dates.update(first + dt.timedelta(days=n) for n in range((last - first).days + 1))
            offset = changed
        at = after
    return tuple(sorted(dates))
