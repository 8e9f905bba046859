"""The one clock-change rule (`inkline.core.localtime.local_instant`), over automation
schedules and publishing slots alike: five zones, both directions.

A local time that does not exist (spring forward) moves forward by the length of the gap; an
ambiguous one (fall back) means its first occurrence. The zones: New York and Berlin (northern,
1 hour at 02:00), Sydney (southern: the opposite season), Lord Howe (a 30-minute change) and
Santiago (southern, at midnight: the gap eats 00:00-01:00, the overlap repeats 23:00-24:00 of
the day before). Every expected instant is written out by hand from the zone's offsets.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
import time_machine

from inkline.accounts.models import Account
from inkline.automation.schedule import next_run_at
from inkline.automation.services import config_update
from inkline.automation.sites import site_create
from inkline.core.localtime import local_instant
from inkline.publishing.models import PublishingSettings
from inkline.publishing.services import content_schedule
from inkline.publishing.slots import DAY_NAMES, SlotRules, next_slots, slot_grid
from inkline.writer.models import Content

UTC = dt.UTC
H = dt.timedelta(hours=1)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    zone: str
    day: dt.date  # the local date of the clock change
    at: dt.time  # a local time in the gap or in the overlap
    expected: dt.datetime  # the instant the rule gives
    wall: str  # the local wall clock (and offset) at that instant
    gap: dt.timedelta = dt.timedelta(0)  # spring forward: the length of the gap

    @property
    def id(self) -> str:
        return f"{self.zone}-{'spring' if self.gap else 'fall'}"


SPRING = [  # the local time does not exist: it moves forward by the gap
    # 02:00 EST -> 03:00 EDT: 02:30 read with EST (-5) is 07:30 UTC, 03:30 EDT.
    Case("America/New_York", dt.date(2026, 3, 8), dt.time(2, 30), utc(2026, 3, 8, 7, 30),
         "03:30-04:00", H),
    # 02:00 CET -> 03:00 CEST: 02:30 read with CET (+1) is 01:30 UTC, 03:30 CEST.
    Case("Europe/Berlin", dt.date(2026, 3, 29), dt.time(2, 30), utc(2026, 3, 29, 1, 30),
         "03:30+02:00", H),
    # 02:00 AEST -> 03:00 AEDT in October: 02:30 read with AEST (+10) is 03:30 AEDT.
    Case("Australia/Sydney", dt.date(2026, 10, 4), dt.time(2, 30), utc(2026, 10, 3, 16, 30),
         "03:30+11:00", H),
    # 02:00 +10:30 -> 02:30 +11: 02:15 read with +10:30 is 15:45 UTC, 02:45 +11.
    Case("Australia/Lord_Howe", dt.date(2026, 10, 4), dt.time(2, 15), utc(2026, 10, 3, 15, 45),
         "02:45+11:00", H / 2),
    # 00:00 -04 -> 01:00 -03: 00:30 read with -04 is 04:30 UTC, 01:30 -03.
    Case("America/Santiago", dt.date(2026, 9, 6), dt.time(0, 30), utc(2026, 9, 6, 4, 30),
         "01:30-03:00", H),
]  # fmt: skip
FALL = [  # the local time happens twice: its first occurrence, with the summer offset
    Case("America/New_York", dt.date(2026, 11, 1), dt.time(1, 30), utc(2026, 11, 1, 5, 30),
         "01:30-04:00"),
    Case("Europe/Berlin", dt.date(2026, 10, 25), dt.time(2, 30), utc(2026, 10, 25, 0, 30),
         "02:30+02:00"),
    Case("Australia/Sydney", dt.date(2026, 4, 5), dt.time(2, 30), utc(2026, 4, 4, 15, 30),
         "02:30+11:00"),
    # 02:00 +11 -> 01:30 +10:30: 01:30-02:00 happens twice.
    Case("Australia/Lord_Howe", dt.date(2026, 4, 5), dt.time(1, 45), utc(2026, 4, 4, 14, 45),
         "01:45+11:00"),
    # 24:00 -03 -> 23:00 -04 on Saturday 4 April: 23:00-24:00 of that Saturday happens twice.
    Case("America/Santiago", dt.date(2026, 4, 4), dt.time(23, 30), utc(2026, 4, 5, 2, 30),
         "23:30-03:00"),
]  # fmt: skip
CASES = SPRING + FALL
by_id = pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])


def one_day_rules(case: Case, *times: dt.time) -> SlotRules:
    """Time slots on the weekday of the clock change only."""
    return SlotRules(
        mode="time_slots", days=frozenset({case.day.weekday()}), time_slots=times or (case.at,)
    )


def wall(instant: dt.datetime, zone: str) -> str:
    """ "03:30-04:00": the local wall clock and offset of `instant` in `zone`."""
    return instant.astimezone(ZoneInfo(zone)).isoformat(timespec="minutes")[11:]


# --- the rule itself ------------------------------------------------------------------------
@by_id
def test_the_rule_gives_the_hand_computed_instant(case: Case) -> None:
    got = local_instant(case.day, case.at, ZoneInfo(case.zone))
    assert got == case.expected
    assert got.tzinfo is UTC
    assert wall(got, case.zone) == case.wall


@pytest.mark.parametrize("case", SPRING, ids=[c.id for c in SPRING])
def test_a_nonexistent_time_moves_forward_by_exactly_the_gap(case: Case) -> None:
    local = case.expected.astimezone(ZoneInfo(case.zone)).replace(tzinfo=None)
    assert local - dt.datetime.combine(case.day, case.at) == case.gap


@pytest.mark.parametrize("case", FALL, ids=[c.id for c in FALL])
def test_an_ambiguous_time_is_its_first_occurrence_of_two(case: Case) -> None:
    tz = ZoneInfo(case.zone)
    second = dt.datetime.combine(case.day, case.at, tzinfo=tz).replace(fold=1).astimezone(UTC)
    assert second > case.expected  # the time really happens twice
    assert second.astimezone(tz).time() == case.expected.astimezone(tz).time() == case.at


# --- schedules and slots give the rule's instant ------------------------------------------
@by_id
def test_a_schedule_and_a_slot_at_the_same_local_time_are_the_same_instant(case: Case) -> None:
    tz = ZoneInfo(case.zone)
    before = case.expected - 12 * H
    run = next_run_at(frequency="daily", scheduled_time=case.at, timezone=case.zone, now=before)
    weekly = next_run_at(
        frequency="weekly",
        scheduled_time=case.at,
        timezone=case.zone,
        now=before,
        day_of_week=case.day.weekday(),
    )
    slots = next_slots(rules=one_day_rules(case), tz=tz, now=before, count=2)
    assert run == weekly == slots[0] == case.expected
    # A week later the time exists once: the next slot is that plain instant, not a second
    # occurrence the same night.
    assert slots[1] == local_instant(case.day + dt.timedelta(days=7), case.at, tz)
    assert slots[1] - slots[0] > dt.timedelta(days=6)


@pytest.mark.parametrize("case", FALL, ids=[c.id for c in FALL])
def test_an_ambiguous_time_fires_and_holds_a_slot_once(case: Case) -> None:
    tz = ZoneInfo(case.zone)
    # From the first occurrence on, the second one (later that night) is not another run.
    after_first = next_run_at(
        frequency="daily", scheduled_time=case.at, timezone=case.zone, now=case.expected
    )
    assert after_first == local_instant(case.day + dt.timedelta(days=1), case.at, tz)
    night = slot_grid(
        rules=one_day_rules(case), tz=tz, start=case.expected - 6 * H, end=case.expected + 6 * H
    )
    assert night == [case.expected]


@pytest.mark.parametrize("case", SPRING, ids=[c.id for c in SPRING])
def test_a_gap_time_and_the_time_it_moves_to_are_one_slot_that_night(case: Case) -> None:
    tz = ZoneInfo(case.zone)
    moved_to = (dt.datetime.combine(case.day, case.at) + case.gap).time()  # 02:30 -> 03:30
    rules = one_day_rules(case, case.at, moved_to)
    slots = next_slots(rules=rules, tz=tz, now=case.expected - 12 * H, count=3)
    # That night: one slot, at the instant both name. A week later: two again.
    next_week = case.day + dt.timedelta(days=7)
    assert slots == [
        case.expected,
        local_instant(next_week, case.at, tz),
        local_instant(next_week, moved_to, tz),
    ]
    assert slot_grid(rules=rules, tz=tz, start=case.expected - 12 * H, end=case.expected + H) == [
        case.expected
    ]
    # The schedule at either time fires at that same instant.
    for at in (case.at, moved_to):
        run = next_run_at(
            frequency="daily", scheduled_time=at, timezone=case.zone, now=case.expected - 12 * H
        )
        assert run == case.expected


def test_a_gap_time_late_on_saturday_lands_after_sundays_first_slot() -> None:
    # America/Nuuk jumps 23:00 -02 -> 00:00 -01 on Saturday 28 March 2026: Saturday 23:30 is
    # Sunday 00:30, after Sunday's own 00:15. Slots stay in time order and each is kept once.
    tz = ZoneInfo("America/Nuuk")
    rules = SlotRules(
        mode="time_slots", days=frozenset({5, 6}), time_slots=(dt.time(0, 15), dt.time(23, 30))
    )
    saturday_2330 = utc(2026, 3, 29, 1, 30)  # Sunday 00:30 -01
    sunday_0015 = utc(2026, 3, 29, 1, 15)
    now = utc(2026, 3, 28, 12)
    assert local_instant(dt.date(2026, 3, 28), dt.time(23, 30), tz) == saturday_2330
    assert next_slots(rules=rules, tz=tz, now=now, count=3) == [
        sunday_0015, saturday_2330, utc(2026, 3, 30, 0, 30)  # Sunday 23:30 -01
    ]  # fmt: skip
    # Asked from Sunday 00:20 local, Saturday's moved slot is still ahead.
    assert next_slots(rules=rules, tz=tz, now=utc(2026, 3, 29, 1, 20), count=1) == [saturday_2330]
    run = next_run_at(
        frequency="daily", scheduled_time=dt.time(23, 30), timezone="America/Nuuk", now=now
    )
    assert run == saturday_2330


# --- through the services: the stored schedule and the stored slot ---------------------------
@pytest.mark.django_db
@by_id
def test_the_stored_next_run_and_the_stored_slot_follow_the_rule(
    case: Case, account: Account
) -> None:
    site = site_create(account=account, name=case.id, timezone=case.zone)
    PublishingSettings.objects.filter(site=site).update(
        scheduling_mode="time_slots",
        publish_time_slots=[case.at.strftime("%H:%M")],
        publish_days=[DAY_NAMES[case.day.weekday()]],
    )
    Content.objects.create(
        site=site,
        title="Clock change",
        slug="clock-change",
        status=Content.Status.APPROVED,
        approved_at=case.expected - 24 * H,
    )
    with time_machine.travel(case.expected - 12 * H, tick=False):
        config = config_update(
            site=site,
            data={"is_enabled": True, "frequency": "daily", "scheduled_time": case.at},
        )
        assert content_schedule(site=site).scheduled == 1
    assert config.next_run_at == case.expected
    assert Content.objects.get(site=site).scheduled_publish_at == case.expected
