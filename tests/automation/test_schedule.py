"""`next_run_at`: a pure function, DST-safe in every zone the product is sold in."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inkline.automation.schedule import next_run_at

UTC = dt.UTC


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def daily(at: str, zone: str, now: dt.datetime) -> dt.datetime:
    return next_run_at(
        frequency="daily", scheduled_time=dt.time.fromisoformat(at), timezone=zone, now=now
    )


# (zone, local time, a moment the day before, the expected UTC instant, why)
TRANSITIONS = [
    # America/New_York 2026: 02:00 EST -> 03:00 EDT on 8 March; 02:00 EDT -> 01:00 EST on 1 Nov.
    ("America/New_York", "02:30", utc(2026, 3, 7, 17), utc(2026, 3, 8, 7, 30), "gap: 03:30 EDT"),
    ("America/New_York", "01:30", utc(2026, 10, 31, 17), utc(2026, 11, 1, 5, 30), "first: EDT"),
    # Europe/London 2026: 01:00 GMT -> 02:00 BST on 29 March; 02:00 BST -> 01:00 GMT on 25 Oct.
    ("Europe/London", "01:30", utc(2026, 3, 28, 12), utc(2026, 3, 29, 1, 30), "gap: 02:30 BST"),
    ("Europe/London", "01:30", utc(2026, 10, 24, 12), utc(2026, 10, 25, 0, 30), "first: BST"),
    # Australia/Sydney 2026: 03:00 AEDT -> 02:00 AEST on 5 April; 02:00 AEST -> 03:00 AEDT 4 Oct.
    ("Australia/Sydney", "02:30", utc(2026, 4, 4, 2), utc(2026, 4, 4, 15, 30), "first: AEDT"),
    ("Australia/Sydney", "02:30", utc(2026, 10, 3, 2), utc(2026, 10, 3, 16, 30), "gap: 03:30"),
    # Asia/Kolkata has no DST: 02:30 IST is 21:00 UTC the day before, on every one of those days.
    ("Asia/Kolkata", "02:30", utc(2026, 3, 7, 12), utc(2026, 3, 7, 21, 0), "IST +05:30"),
    ("Asia/Kolkata", "02:30", utc(2026, 10, 31, 12), utc(2026, 10, 31, 21, 0), "IST +05:30"),
    ("Asia/Kolkata", "02:30", utc(2026, 4, 4, 2), utc(2026, 4, 4, 21, 0), "IST +05:30"),
]


@pytest.mark.parametrize(("zone", "at", "now", "expected", "why"), TRANSITIONS)
def test_next_run_across_dst_transitions(
    zone: str, at: str, now: dt.datetime, expected: dt.datetime, why: str
) -> None:
    assert daily(at, zone, now) == expected, why


def test_a_nonexistent_local_time_moves_forward_by_the_gap() -> None:
    got = daily("02:30", "America/New_York", utc(2026, 3, 7, 17))
    local = got.astimezone(ZoneInfo("America/New_York"))
    assert (local.hour, local.minute, local.utcoffset()) == (3, 30, dt.timedelta(hours=-4))
    # the day after, 02:30 exists again and is used as is
    assert daily("02:30", "America/New_York", got) == utc(2026, 3, 9, 6, 30)


NY_FALL = (utc(2026, 10, 31, 17), utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30))
LONDON_FALL = (utc(2026, 10, 24, 12), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30))


@pytest.mark.parametrize(
    ("zone", "now", "first", "next_day"),
    [("America/New_York", *NY_FALL), ("Europe/London", *LONDON_FALL)],
)
def test_an_ambiguous_local_time_fires_once_on_its_first_occurrence(
    zone: str, now: dt.datetime, first: dt.datetime, next_day: dt.datetime
) -> None:
    assert daily("01:30", zone, now) == first
    # From the first occurrence, the second one (an hour later) is not a new slot.
    assert daily("01:30", zone, first) == next_day
    assert daily("01:30", zone, first + dt.timedelta(minutes=59)) == next_day


def test_sydney_ambiguous_and_gap_times_in_both_directions() -> None:
    fall_back_first = utc(2026, 4, 4, 15, 30)  # 02:30 AEDT, the first of two 02:30s
    assert daily("02:30", "Australia/Sydney", fall_back_first) == utc(2026, 4, 5, 16, 30)
    spring = daily("02:30", "Australia/Sydney", utc(2026, 10, 3, 2))
    local = spring.astimezone(ZoneInfo("Australia/Sydney"))
    assert (local.hour, local.minute) == (3, 30)


def test_weekly_fires_on_its_weekday() -> None:
    wednesday = utc(2026, 6, 3, 12)
    got = next_run_at(
        frequency="weekly",
        scheduled_time=dt.time(9, 0),
        timezone="Europe/London",
        now=wednesday,
        day_of_week=0,
    )
    assert got == utc(2026, 6, 8, 8, 0)  # Monday 09:00 BST
    same_day_later = next_run_at(
        frequency="weekly",
        scheduled_time=dt.time(9, 0),
        timezone="Europe/London",
        now=got,
        day_of_week=0,
    )
    assert same_day_later == utc(2026, 6, 15, 8, 0)


def test_monthly_fires_on_its_day_and_rolls_into_next_year() -> None:
    got = next_run_at(
        frequency="monthly",
        scheduled_time=dt.time(6, 0),
        timezone="Asia/Kolkata",
        now=utc(2026, 12, 28, 1),  # 06:30 IST on the 28th: today's slot has passed
        day_of_month=28,
    )
    assert got == utc(2027, 1, 28, 0, 30)
    across_dst = next_run_at(
        frequency="monthly",
        scheduled_time=dt.time(2, 30),
        timezone="America/New_York",
        now=utc(2026, 2, 20),
        day_of_month=8,
    )
    assert across_dst == utc(2026, 3, 8, 7, 30)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_run_at(
            frequency="daily",
            scheduled_time=dt.time(1),
            timezone="UTC",
            now=dt.datetime(2026, 1, 1),  # noqa: DTZ001 - the point of the test
        )
    with pytest.raises(ValueError, match="frequency"):
        next_run_at(
            frequency="hourly", scheduled_time=dt.time(1), timezone="UTC", now=utc(2026, 1, 1)
        )


ZONES = ["America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kolkata", "UTC"]


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    at=st.times(),
    now=st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2028, 1, 1)),  # noqa: DTZ001
    frequency=st.sampled_from(["daily", "weekly", "monthly"]),
    day_of_week=st.integers(0, 6),
    day_of_month=st.integers(1, 28),
)
def test_next_run_is_the_first_matching_instant_after_now(
    zone: str,
    at: dt.time,
    now: dt.datetime,
    frequency: str,
    day_of_week: int,
    day_of_month: int,
) -> None:
    now = now.replace(tzinfo=UTC)
    kwargs = {
        "frequency": frequency,
        "scheduled_time": at,
        "timezone": zone,
        "day_of_week": day_of_week,
        "day_of_month": day_of_month,
    }
    got = next_run_at(now=now, **kwargs)  # type: ignore[arg-type]
    assert got > now and got.tzinfo is not None
    horizon = {"daily": 1, "weekly": 7, "monthly": 31}[frequency]
    assert got - now <= dt.timedelta(days=horizon, hours=2)
    local = got.astimezone(ZoneInfo(zone))
    # the local wall time is the scheduled one, or (in a gap) later by at most the gap
    wall = dt.datetime.combine(local.date(), at)
    shift = local.replace(tzinfo=None) - wall
    assert dt.timedelta(0) <= shift <= dt.timedelta(hours=1)
    if frequency == "weekly":
        assert local.weekday() == day_of_week
    if frequency == "monthly":
        assert local.day == day_of_month
    # stable: asking just before the answer gives the same answer
    assert next_run_at(now=got - dt.timedelta(microseconds=1), **kwargs) == got  # type: ignore[arg-type]
