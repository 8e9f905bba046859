"""The one clock-change rule: which UTC instant a local date and time of day in a zone means.

Schedules (`automation.schedule`) and publishing slots (`publishing.slots`) both call
`local_instant`, so a local time means the same instant everywhere (invariant 7):

- a local time that does not exist (the clocks jump over it) moves forward by the length of
  the gap: 02:30 on a spring-forward night in New York is 03:30 EDT; on Lord Howe Island, whose
  clocks jump 30 minutes at 02:00, 02:15 is 02:45;
- a local time that happens twice (the clocks fall back) means its first occurrence;
- every other local time means the one instant it names.

This is exactly PEP 495's `fold=0`: in a gap it reads the wall time with the offset in force
before the change (which lands after the gap, later by the gap's length), in an overlap with
the offset of the first occurrence. Pure: no database, no Django.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

UTC = dt.UTC


def local_instant(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    """The UTC instant (aware) of wall-clock time `at` on `day` in `zone`, by the rule above.

    `at` is a time of day; any tzinfo or fold it carries is ignored."""
    wall = dt.datetime.combine(day, at.replace(tzinfo=None, fold=0), tzinfo=zone)
    return wall.astimezone(UTC)
