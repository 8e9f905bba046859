"""The slot algorithm: pure functions, given the rules, `now` and what is taken, no database.

Local wall times are defined in the site's timezone and returned as UTC instants by the one
clock-change rule, `inkline.core.localtime.local_instant`, shared with the automation schedules
(invariant 7):
- a nonexistent local time (spring forward) moves forward by the length of the gap: 02:30 on
  New York's spring-forward night is 03:30 EDT;
- an ambiguous local time (fall back) takes its first occurrence;
- no two returned instants are equal, and none is already occupied. On a spring-forward night
  a time in the gap can land on another configured time (02:30 and 03:30 both on 03:30 EDT):
  that night they are one slot, at 03:30, holding one item.
There is no horizon: asking for N slots returns N slots.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from inkline.core.localtime import local_instant

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


def _candidates(rules: SlotRules, tz: ZoneInfo, now: dt.datetime) -> Iterator[dt.datetime]:
    """Every slot instant strictly after `now`, strictly ascending, forever."""
    if rules.mode == "immediate":
        instant = now
        while True:
            yield instant
            instant += IMMEDIATE_SPACING
    rules.check()
    times = rules.day_times()
    # Start a day early: a late-evening time moved forward out of a gap lands on the next
    # local day (Nuuk's clocks jump 23:00 -> 00:00, so Saturday 23:30 is Sunday 00:30).
    day = now.astimezone(tz).date() - dt.timedelta(days=1)
    carried: list[dt.datetime] = []  # instants of days gone that a later day may precede
    while True:
        allowed = day.weekday() in rules.days
        offset = _steady_offset(day, tz) if allowed and not carried else None
        if offset is not None:
            # The fast path: one offset for the whole day, ascending, before any later day.
            for time in times:
                instant = (dt.datetime.combine(day, time) - offset).replace(tzinfo=UTC)
                if instant > now:
                    yield instant
        elif allowed or carried:
            # The clocks change this day: a gap time may land on or past another time, even
            # into the next day. Yield, in order and once, what no later day can precede.
            instants = sorted({*carried, *(local_instant(day, t, tz) for t in times if allowed)})
            bound = _earliest_from(day + dt.timedelta(days=1), tz)
            carried = [i for i in instants if i >= bound]
            yield from (i for i in instants if now < i < bound)
        day += dt.timedelta(days=1)


def _steady_offset(day: dt.date, tz: ZoneInfo) -> dt.timedelta | None:
    """The UTC offset of every local time of `day` in `tz`, or None if the clocks change
    during it or a gap or overlap reaches either midnight (then each time goes through
    `local_instant`). Most days: one offset for every slot, a third of the cost per slot."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    offset = start.utcoffset()
    same = (
        start.replace(fold=1).utcoffset() == offset
        and end.utcoffset() == offset
        and end.replace(fold=1).utcoffset() == offset
    )
    return offset if same else None


def _earliest_from(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    """A lower bound of `local_instant` over the local times from `day` 00:00 on.

    Outside gaps `local_instant` grows with the wall time; a time in a gap lands on or after
    the jump. So the bound is midnight's own instant, or (midnight in a gap) the reading with
    the offset after the jump (fold=1), an instant before the jump."""
    midnight = dt.datetime.combine(day, dt.time(), tzinfo=tz)
    return min(midnight.astimezone(UTC), midnight.replace(fold=1).astimezone(UTC))


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
    # Each instant comes once, even where two local times meet in it on a clock-change night.
    for instant in _candidates(rules, tz, now.astimezone(UTC)):
        if instant in taken:
            continue
        result.append(instant)
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
        grid.append(instant)
    return grid
