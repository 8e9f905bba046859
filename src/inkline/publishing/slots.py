"""The slot algorithm: pure functions, given the rules, `now` and what is taken, no database.

Local wall times are defined in the site's timezone and returned as UTC instants (invariant 7):
- a nonexistent local time (spring forward) moves forward to the first valid instant, the
  moment the clocks jump;
- an ambiguous local time (fall back) takes its first occurrence;
- no two returned instants are equal, and none is already occupied.
There is no horizon: asking for N slots returns N slots.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

UTC = dt.UTC
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
IMMEDIATE_SPACING = dt.timedelta(minutes=1)


class NoSlots(Exception):
    """The rules allow no slot at all (no publish day, or no time slot): `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SlotRules:
    """What a site's publishing settings say about *when*; built by `from_settings`."""

    mode: str  # "time_slots" | "stagger" | "immediate"
    days: frozenset[int]  # weekday numbers, 0 = Monday
    time_slots: tuple[dt.time, ...] = ()
    stagger_start: dt.time = dt.time(9, 0)
    stagger_end: dt.time = dt.time(18, 0)
    interval_minutes: int = 15

    @classmethod
    def from_settings(cls, settings: object) -> SlotRules:
        days = frozenset(DAY_NAMES.index(d) for d in getattr(settings, "publish_days", []))
        slots = tuple(sorted({parse_hhmm(s) for s in getattr(settings, "publish_time_slots", [])}))
        return cls(
            mode=str(getattr(settings, "scheduling_mode", "time_slots")),
            days=days,
            time_slots=slots,
            stagger_start=getattr(settings, "stagger_start_time", dt.time(9, 0)),
            stagger_end=getattr(settings, "stagger_end_time", dt.time(18, 0)),
            interval_minutes=int(getattr(settings, "stagger_interval_minutes", 15)),
        )

    def day_times(self) -> tuple[dt.time, ...]:
        """The local times of day that hold one item each, ascending."""
        if self.mode == "time_slots":
            return self.time_slots
        times = []
        start = self.stagger_start.hour * 60 + self.stagger_start.minute
        end = self.stagger_end.hour * 60 + self.stagger_end.minute
        for minute in range(start, end + 1, max(1, self.interval_minutes)):
            times.append(dt.time(minute // 60, minute % 60))
        return tuple(times)

    def check(self) -> None:
        """Raise NoSlots when these rules can never place an item."""
        if self.mode == "immediate":
            return
        if not self.days:
            raise NoSlots("no publish days are selected")
        if not self.day_times():
            raise NoSlots("no publish time slots are configured")


def parse_hhmm(value: str) -> dt.time:
    """ "HH:MM" (24-hour) → time; ValueError otherwise."""
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        raise ValueError(f"'{value}' is not a time as HH:MM")
    return dt.datetime.strptime(value, "%H:%M").time()  # noqa: DTZ007 - a time of day


def local_to_utc(day: dt.date, time: dt.time, tz: ZoneInfo) -> dt.datetime:
    """The UTC instant of local wall time `day time` in `tz`.

    Ambiguous (fall back): the first occurrence (fold=0). Nonexistent (spring forward): the
    first valid instant after the gap, i.e. the instant the clocks jumped.
    """
    naive = dt.datetime.combine(day, time)
    first = naive.replace(tzinfo=tz, fold=0)
    instant = first.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) == naive:
        return instant
    # In a gap: fold=1 reads the wall time with the offset after the jump (an instant before
    # the jump), fold=0 with the offset before it (an instant after the jump). The jump lies
    # between them; find it to the second.
    lo = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    hi = instant
    if lo > hi:
        lo, hi = hi, lo
    before = lo.astimezone(tz).utcoffset()
    while hi - lo > dt.timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if mid.astimezone(tz).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return hi


def _candidates(rules: SlotRules, tz: ZoneInfo, now: dt.datetime) -> Iterator[dt.datetime]:
    """Every slot instant strictly after `now`, ascending, forever."""
    if rules.mode == "immediate":
        instant = now
        while True:
            yield instant
            instant += IMMEDIATE_SPACING
    rules.check()
    times = rules.day_times()
    day = now.astimezone(tz).date()
    while True:
        if day.weekday() in rules.days:
            offset = _steady_offset(day, tz)
            for time in times:
                if offset is None:  # the clocks change this day
                    instant = local_to_utc(day, time, tz)
                else:
                    instant = (dt.datetime.combine(day, time) - offset).replace(tzinfo=UTC)
                if instant > now:
                    yield instant
        day += dt.timedelta(days=1)


def _steady_offset(day: dt.date, tz: ZoneInfo) -> dt.timedelta | None:
    """The UTC offset in force all of `day` in `tz`, or None if the clocks change during it
    (then each time goes through `local_to_utc`). Most days: one offset for every slot,
    a third of the cost per slot."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=tz).utcoffset()
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz).utcoffset()
    return start if start == end else None


def next_slots(
    *,
    rules: SlotRules,
    tz: ZoneInfo,
    now: dt.datetime,
    count: int,
    occupied: Collection[dt.datetime] = (),
) -> list[dt.datetime]:
    """The next `count` free instants (UTC, ascending) after `now` (from `now` on for
    immediate). Raises NoSlots when the rules allow none."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if count <= 0:
        rules.check()
        return []
    taken = {o.astimezone(UTC) for o in occupied}
    result: list[dt.datetime] = []
    last: dt.datetime | None = None
    for instant in _candidates(rules, tz, now.astimezone(UTC)):
        # Two local times can meet in one instant (both in a DST gap): keep the first.
        if instant == last or instant in taken:
            continue
        result.append(instant)
        last = instant
        if len(result) == count:
            break
    return result


def slot_grid(
    *, rules: SlotRules, tz: ZoneInfo, start: dt.datetime, end: dt.datetime
) -> Sequence[dt.datetime]:
    """Every slot instant in (start, end], for checks and previews (not immediate mode)."""
    grid: list[dt.datetime] = []
    for instant in _candidates(rules, tz, start):
        if instant > end:
            break
        if not grid or grid[-1] != instant:
            grid.append(instant)
    return grid
