"""When a site's automation schedule fires next: a pure function of the schedule and `now`.

Local times are defined in the site's timezone and resolved to UTC instants by the one
clock-change rule, `inkline.core.localtime.local_instant` (invariant 7), shared with the
publishing slots: a local time that does not exist (the clocks jump over it) moves forward by
the length of the jump, e.g. 02:30 on a spring-forward night in New York is 03:30 EDT; a local
time that happens twice (the clocks fall back) takes its first occurrence.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from inkline.core.localtime import local_instant


def _month_start(day: dt.date, months_ahead: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months_ahead
    return dt.date(index // 12, index % 12 + 1, 1)


def _candidate_days(
    frequency: str, start: dt.date, day_of_week: int, day_of_month: int
) -> list[dt.date]:
    """Days the schedule fires on, from `start` (local date) on, enough to find the next."""
    if frequency == "daily":
        return [start + dt.timedelta(days=i) for i in range(3)]
    if frequency == "weekly":
        offset = (day_of_week - start.weekday()) % 7
        first = start + dt.timedelta(days=offset)
        return [first, first + dt.timedelta(days=7)]
    if frequency == "monthly":
        return [_month_start(start, i).replace(day=day_of_month) for i in range(3)]
    raise ValueError(f"unknown frequency {frequency!r}")


def next_run_at(
    *,
    frequency: str,
    scheduled_time: dt.time,
    timezone: str,
    now: dt.datetime,
    day_of_week: int = 0,
    day_of_month: int = 1,
) -> dt.datetime:
    """The first instant strictly after `now` (aware) at which the schedule fires, in UTC.

    `frequency` is "daily", "weekly" (on `day_of_week`, 0 = Monday) or "monthly" (on
    `day_of_month`, 1–28); `scheduled_time` is a local time of day in `timezone`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not 0 <= day_of_week <= 6:
        raise ValueError("day_of_week must be 0 (Monday) to 6 (Sunday)")
    if not 1 <= day_of_month <= 28:
        raise ValueError("day_of_month must be 1 to 28")
    tz = ZoneInfo(timezone)
    # Start a day early: the local date of `now` may lag the instant's date in UTC.
    start = now.astimezone(tz).date() - dt.timedelta(days=1)
    for day in _candidate_days(frequency, start, day_of_week, day_of_month):
        instant = local_instant(day, scheduled_time, tz)
        if instant > now:
            return instant
    raise AssertionError("unreachable: the candidate days always reach past now")
