"""The pure slot algorithm: the seed's modes, and properties over random settings, timezones,
`now` around DST changes and existing occupancy. The clock-change rule's exact answers, shared
with the schedules, are in tests/test_clock_change.py."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inkline.core.localtime import local_instant
from inkline.publishing.slots import NoSlots, SlotRules, next_slots

UTC = dt.UTC
# Lord Howe: a 30-minute change; Nuuk: a gap at 23:00 whose times land on the next day.
ZONES = [
    "America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kolkata", "UTC",
    "Australia/Lord_Howe", "America/Nuuk",
]  # fmt: skip
EVERY_DAY = frozenset(range(7))


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def test_stagger_spreads_every_interval_today_only_after_now_then_next_allowed_day() -> None:
    rules = SlotRules(
        mode="stagger",
        days=frozenset({0, 1, 2, 3, 4}),
        stagger_start=dt.time(9, 0),
        stagger_end=dt.time(18, 0),
        interval_minutes=15,
    )
    tz = ZoneInfo("Europe/London")
    now = utc(2026, 6, 5, 16, 7)  # Friday 17:07 in London (BST)
    slots = next_slots(rules=rules, tz=tz, now=now, count=40)
    local = [s.astimezone(tz) for s in slots]
    # Friday: 17:15, 17:30, 17:45, 18:00 (the end is a slot); then Monday from 09:00.
    assert [t.strftime("%a %H:%M") for t in local[:6]] == [
        "Fri 17:15", "Fri 17:30", "Fri 17:45", "Fri 18:00", "Mon 09:00", "Mon 09:15",
    ]  # fmt: skip
    monday = [t for t in local if t.strftime("%a") == "Mon"]
    assert len(monday) == 36  # 40 asked, 4 on Friday
    gaps = {b - a for a, b in itertools.pairwise(slots) if a.date() == b.date()}
    assert gaps == {dt.timedelta(minutes=15)}
    assert all(dt.time(9) <= t.time() <= dt.time(18) for t in local)


def test_time_slot_mode_uses_exact_times_on_allowed_days() -> None:
    rules = SlotRules(
        mode="time_slots",
        days=frozenset({1, 3}),  # Tuesday, Thursday
        time_slots=(dt.time(9, 0), dt.time(14, 0), dt.time(18, 30)),
    )
    tz = ZoneInfo("America/New_York")
    now = utc(2026, 6, 2, 18, 0)  # Tuesday 14:00 local: 14:00 itself is not after now
    slots = next_slots(rules=rules, tz=tz, now=now, count=5)
    assert [s.astimezone(tz).strftime("%a %H:%M") for s in slots] == [
        "Tue 18:30", "Thu 09:00", "Thu 14:00", "Thu 18:30", "Tue 09:00",
    ]  # fmt: skip


def test_immediate_mode_is_now_then_one_minute_apart_skipping_taken_instants() -> None:
    rules = SlotRules(mode="immediate", days=frozenset())
    now = utc(2026, 6, 6, 23, 59, 30)  # a Saturday: days do not apply to immediate
    taken = {now + dt.timedelta(minutes=1)}
    slots = next_slots(rules=rules, tz=ZoneInfo("UTC"), now=now, count=3, occupied=taken)
    assert slots == [now, now + dt.timedelta(minutes=2), now + dt.timedelta(minutes=3)]


def test_no_horizon_cap_ten_thousand_requested_ten_thousand_returned() -> None:
    rules = SlotRules(mode="time_slots", days=frozenset({6}), time_slots=(dt.time(12, 0),))
    slots = next_slots(rules=rules, tz=ZoneInfo("UTC"), now=utc(2026, 1, 1), count=10_000)
    assert len(slots) == len(set(slots)) == 10_000
    assert slots[-1] > utc(2200, 1, 1)  # one a week: far beyond any 90-day horizon


def test_rules_that_allow_nothing_say_why() -> None:
    with pytest.raises(NoSlots, match="no publish days"):
        next_slots(
            rules=SlotRules(mode="stagger", days=frozenset()),
            tz=ZoneInfo("UTC"),
            now=utc(2026, 1, 1),
            count=1,
        )
    with pytest.raises(NoSlots, match="time slots"):
        next_slots(
            rules=SlotRules(mode="time_slots", days=EVERY_DAY, time_slots=()),
            tz=ZoneInfo("UTC"),
            now=utc(2026, 1, 1),
            count=1,
        )


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_slots(
            rules=SlotRules(mode="immediate", days=EVERY_DAY),
            tz=ZoneInfo("UTC"),
            now=dt.datetime(2026, 1, 1),  # noqa: DTZ001
            count=1,
        )


# --- properties ---------------------------------------------------------------------------
TRANSITIONS = [  # DST changes of the zones under test, in 2026 and 2027
    utc(2026, 3, 8, 7), utc(2026, 11, 1, 6), utc(2026, 3, 29, 1), utc(2026, 10, 25, 1),
    utc(2026, 4, 4, 16), utc(2026, 10, 3, 16), utc(2027, 3, 14, 7), utc(2027, 3, 28, 1),
    utc(2026, 4, 4, 15), utc(2026, 10, 3, 15, 30),  # Lord Howe
]  # fmt: skip
minutes = st.integers(0, 24 * 60 - 1).map(lambda m: dt.time(m // 60, m % 60))
night_minutes = st.integers(0, 4 * 60).map(lambda m: dt.time(m // 60, m % 60))  # DST hours


@st.composite
def instants(draw: st.DrawFn) -> dt.datetime:
    if draw(st.booleans()):
        base = draw(st.sampled_from(TRANSITIONS))
        return base + dt.timedelta(seconds=draw(st.integers(-3 * 86400, 3 * 86400)))
    start, end = dt.datetime(2026, 1, 1), dt.datetime(2027, 12, 31)  # noqa: DTZ001 - hypothesis bounds
    return draw(st.datetimes(start, end, timezones=st.just(UTC)))


@st.composite
def rules_strategy(draw: st.DrawFn) -> SlotRules:
    days = frozenset(draw(st.sets(st.integers(0, 6), min_size=1)))
    if draw(st.booleans()):
        slots = draw(st.sets(st.one_of(minutes, night_minutes), min_size=1, max_size=6))
        return SlotRules(mode="time_slots", days=days, time_slots=tuple(sorted(slots)))
    start = draw(st.one_of(night_minutes, minutes.filter(lambda t: t < dt.time(23, 59))))
    start_min = start.hour * 60 + start.minute
    end_min = draw(st.integers(start_min + 1, 24 * 60 - 1))
    return SlotRules(
        mode="stagger",
        days=days,
        stagger_start=start,
        stagger_end=dt.time(end_min // 60, end_min % 60),
        interval_minutes=draw(st.integers(1, 240)),
    )


def configured_wall_times(rules: SlotRules) -> set[dt.time]:
    return set(rules.day_times())


def is_allowed_instant(instant: dt.datetime, rules: SlotRules, tz: ZoneInfo) -> bool:
    """Independent check: the instant's local wall time is a configured time on an allowed
    day, or a configured time of an allowed day that the clocks jumped over, moved forward by
    the length of the jump (read with the offset in force before it)."""
    local = instant.astimezone(tz)
    wall = local.replace(tzinfo=None)
    times = configured_wall_times(rules)
    if local.weekday() in rules.days and wall.time() in times:
        return True
    old = (instant - dt.timedelta(hours=3)).astimezone(tz).utcoffset()
    current = local.utcoffset()
    if old is None or current is None or old >= current:
        return False  # no jump forward in the last hours: a wall time that is not configured
    moved_from = (instant + old).replace(tzinfo=None)  # the wall time read with the old offset
    round_trip = moved_from.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)
    in_gap = round_trip.replace(tzinfo=None) != moved_from
    return in_gap and moved_from.weekday() in rules.days and moved_from.time() in times


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rules=rules_strategy(),
    zone=st.sampled_from(ZONES),
    now=instants(),
    count=st.integers(1, 60),
    taken_picks=st.lists(st.integers(0, 80), max_size=25),
)
def test_slots_are_allowed_after_now_unique_free_and_as_many_as_asked(
    rules: SlotRules, zone: str, now: dt.datetime, count: int, taken_picks: list[int]
) -> None:
    tz = ZoneInfo(zone)
    # Occupy some of the slots a free calendar would give, so they must be skipped.
    free_calendar = next_slots(rules=rules, tz=tz, now=now, count=81)
    occupied = {free_calendar[i] for i in taken_picks}
    slots = next_slots(rules=rules, tz=tz, now=now, count=count, occupied=occupied)

    assert len(slots) == count
    assert len(set(slots)) == count
    assert slots == sorted(slots)
    assert all(s.tzinfo is not None and s.utcoffset() == dt.timedelta(0) for s in slots)
    assert all(s > now for s in slots)
    assert not occupied & set(slots)
    assert all(is_allowed_instant(s, rules, tz) for s in slots), [
        s.astimezone(tz).isoformat() for s in slots if not is_allowed_instant(s, rules, tz)
    ]
    # Nothing free is skipped: the answer is the free calendar minus what is taken.
    expected = [s for s in free_calendar if s not in occupied][:count]
    if len(expected) == count:
        assert slots == expected


@settings(max_examples=100, deadline=None)
@given(zone=st.sampled_from(ZONES), now=instants(), count=st.integers(1, 50), data=st.data())
def test_immediate_slots_start_now_one_minute_apart_and_skip_occupied(
    zone: str, now: dt.datetime, count: int, data: st.DataObject
) -> None:
    steps = data.draw(st.sets(st.integers(0, count), max_size=10))
    occupied = {now + dt.timedelta(minutes=i) for i in steps}
    slots = next_slots(
        rules=SlotRules(mode="immediate", days=frozenset({0})),
        tz=ZoneInfo(zone),
        now=now,
        count=count,
        occupied=occupied,
    )
    assert len(slots) == len(set(slots)) == count
    assert all(s >= now for s in slots)
    assert not occupied & set(slots)
    assert all((b - a) >= dt.timedelta(minutes=1) for a, b in itertools.pairwise(slots))
    assert slots[0] == now + dt.timedelta(minutes=min(set(range(count + 11)) - steps))


@pytest.mark.parametrize(
    "zone",
    # Clocks that change at midnight (Havana, Santiago, Beirut), by half an hour (Lord Howe),
    # by two hours (Troll), at 01:00 UTC (London), at local 02:00 (New York), at local 23:00
    # (Nuuk: Saturday's late times land on Sunday) and 22:00 (Easter Island).
    ["America/Havana", "America/Santiago", "Asia/Beirut", "Australia/Lord_Howe",
     "Antarctica/Troll", "Europe/London", "America/New_York", "America/Nuuk", "Pacific/Easter"],
)  # fmt: skip
@pytest.mark.parametrize("days", [EVERY_DAY, frozenset({5})], ids=["every day", "saturdays"])
def test_the_fast_path_gives_exactly_the_rules_instants_in_order_once_each(
    zone: str, days: frozenset[int]
) -> None:
    """Days with one offset take the fast path; the others go through `local_instant` and are
    reordered (a gap time can land on or past a later one, even the next day's). The answer
    must be every configured local time's instant by the rule, sorted, each once."""
    tz = ZoneInfo(zone)
    rules = SlotRules(
        mode="stagger",
        days=days,
        stagger_start=dt.time(0, 0),
        stagger_end=dt.time(23, 45),
        interval_minutes=15,
    )
    start = utc(2026, 1, 1, 0)
    count = 96 * 730 * len(days) // 7
    fast = next_slots(rules=rules, tz=tz, now=start, count=count)
    exact = sorted(
        {
            local_instant(day, t, tz)
            for day in (start.date() + dt.timedelta(days=d) for d in range(-1, 740))
            if day.weekday() in days
            for t in rules.day_times()
        }
    )
    exact = [i for i in exact if i > start][: len(fast)]
    assert len(fast) == count
    assert fast == exact
