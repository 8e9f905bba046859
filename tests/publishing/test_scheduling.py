"""Scheduling approved content: the seed's Publishing checklist, reasons for every item left
out, freed slots, and a constant number of queries."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inkline.accounts.models import Account, Site
from inkline.automation.sites import site_create
from inkline.core.errors import InvalidTransition
from inkline.publishing import selectors
from inkline.publishing.services import (
    content_approve,
    content_reject,
    content_schedule,
    content_unschedule,
    sites_schedule,
)
from inkline.writer.models import Content
from tests.publishing.builders import approved, publishing

pytestmark = pytest.mark.django_db
UTC = dt.UTC
NOW = dt.datetime(2026, 6, 1, 6, 0, tzinfo=UTC)  # Monday


def slots_of(site: Site) -> list[dt.datetime]:
    rows = Content.objects.filter(site=site, site_status="scheduled").order_by(
        "scheduled_publish_at"
    )
    return [at for at in rows.values_list("scheduled_publish_at", flat=True) if at is not None]


def test_stagger_mode_spreads_items_every_interval_in_the_window(site: Site) -> None:
    publishing(
        site,
        scheduling_mode="stagger",
        stagger_start_time=dt.time(9),
        stagger_end_time=dt.time(12),
        stagger_interval_minutes=30,
        publish_days=["mon", "tue"],
    )
    approved(site, 10)
    report = content_schedule(site=site, now=NOW)
    assert report.scheduled == 10 and report.unscheduled == []
    got = [s.strftime("%a %H:%M") for s in slots_of(site)]
    assert got == [
        "Mon 09:00", "Mon 09:30", "Mon 10:00", "Mon 10:30", "Mon 11:00", "Mon 11:30",
        "Mon 12:00", "Tue 09:00", "Tue 09:30", "Tue 10:00",
    ]  # fmt: skip


def test_time_slot_mode_uses_the_exact_local_times(account: Account) -> None:
    site = site_create(account=account, name="syd", timezone="Australia/Sydney")
    publishing(site, publish_time_slots=["07:45", "19:00"], publish_days=["sat"])
    approved(site, 4)
    content_schedule(site=site, now=NOW)
    local = [s.astimezone(site.tz) for s in slots_of(site)]
    assert [t.strftime("%Y-%m-%d %a %H:%M") for t in local] == [
        "2026-06-06 Sat 07:45", "2026-06-06 Sat 19:00",
        "2026-06-13 Sat 07:45", "2026-06-13 Sat 19:00",
    ]  # fmt: skip


def test_oldest_approval_gets_the_earliest_slot(site: Site) -> None:
    ids = approved(site, 5)
    Content.objects.filter(pk=ids[0]).update(approved_at=NOW)  # the newest now
    content_schedule(site=site, now=NOW)
    by_slot = Content.objects.filter(site=site).order_by("scheduled_publish_at")
    order = list(by_slot.values_list("pk", flat=True))
    assert order == [*ids[1:], ids[0]]


def test_no_item_is_missed_every_approved_item_gets_a_slot_beyond_any_horizon(site: Site) -> None:
    publishing(site, publish_time_slots=["09:00"], publish_days=["wed"], queue_limit=5000)
    approved(site, 400)  # one a week: nearly eight years ahead
    report = content_schedule(site=site, now=NOW)
    assert report.scheduled == 400
    assert report.unscheduled == []
    slots = slots_of(site)
    assert len(set(slots)) == 400
    assert slots[-1] > NOW + dt.timedelta(days=7 * 399)
    assert not selectors.unscheduled_approved(site.pk).exists()


def test_queue_limit_leaves_the_rest_with_a_reason_then_fills_as_items_leave(site: Site) -> None:
    publishing(site, queue_limit=3)
    ids = approved(site, 5)
    report = content_schedule(site=site, now=NOW)
    assert report.scheduled == 3
    assert [u["content_id"] for u in report.unscheduled] == ids[3:]
    assert all("queue is full (3 of 3" in u["reason"] for u in report.unscheduled)
    queue = selectors.publishing_queue(site)
    assert queue["scheduled_count"] == 3 == Content.objects.filter(site_status="scheduled").count()
    assert queue["queue_limit"] == 3
    assert [i["content_id"] for i in queue["items"]] == ids[:3]
    assert [u["content_id"] for u in queue["unscheduled"]] == ids[3:]
    first_slot = Content.objects.get(pk=ids[0]).scheduled_publish_at

    # Rejecting a scheduled item frees its slot: the next waiting item takes it at once.
    with time_machine.travel(NOW, tick=False):
        content_reject(content=Content.objects.get(pk=ids[0]))
    assert Content.objects.get(pk=ids[0]).scheduled_publish_at is None
    assert Content.objects.get(pk=ids[3]).scheduled_publish_at == first_slot
    assert Content.objects.filter(site_status="scheduled").count() == 3


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"auto_publish_enabled": False}, "Auto-publish is off"),
        ({"publish_days": []}, "no publish days"),
        ({"publish_time_slots": []}, "no publish time slots"),
    ],
)
def test_items_that_cannot_be_scheduled_carry_the_reason(
    site: Site, change: dict[str, Any], reason: str
) -> None:
    publishing(site, **change)
    ids = approved(site, 3)
    report = content_schedule(site=site, now=NOW)
    assert report.scheduled == 0
    assert [u["content_id"] for u in report.unscheduled] == ids
    assert all(reason in u["reason"] for u in report.unscheduled)
    stored = set(Content.objects.filter(pk__in=ids).values_list("unscheduled_reason", flat=True))
    assert len(stored) == 1 and reason in stored.pop()
    assert [u["reason"] for u in selectors.publishing_queue(site)["unscheduled"]] == [
        u["reason"] for u in report.unscheduled
    ]


def test_a_site_without_a_publisher_or_with_an_incomplete_one_says_so(account: Account) -> None:
    none = site_create(account=account, name="none", publisher="none")
    wp = site_create(account=account, name="wp", publisher="wordpress", publisher_config={})
    approved(none, 1)
    approved(wp, 1)
    assert "No publisher" in content_schedule(site=none, now=NOW).unscheduled[0]["reason"]
    reason = content_schedule(site=wp, now=NOW).unscheduled[0]["reason"]
    assert "url, username, application_password" in reason


def test_approving_through_the_service_schedules_at_once(site: Site) -> None:
    content = Content.objects.create(site=site, title="T", slug="t", status="review")
    with time_machine.travel(NOW, tick=False):
        content = content_approve(content=content)
    assert content.site_status == "scheduled"
    assert content.scheduled_publish_at == dt.datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def test_unschedule_sends_back_to_review_and_the_slot_goes_to_the_next_item(site: Site) -> None:
    publishing(site, queue_limit=1)
    first, second = approved(site, 2)
    with time_machine.travel(NOW, tick=False):
        content_schedule(site=site)
        slot = Content.objects.get(pk=first).scheduled_publish_at
        content = content_unschedule(content=Content.objects.get(pk=first))
    assert (content.status, content.site_status, content.scheduled_publish_at) == (
        "review",
        "not_published",
        None,
    )
    assert Content.objects.get(pk=second).scheduled_publish_at == slot
    with pytest.raises(InvalidTransition):
        content_unschedule(content=content)


def test_existing_occupancy_is_respected_and_rescheduling_is_stable(site: Site) -> None:
    approved(site, 3, prefix="x")
    content_schedule(site=site, now=NOW)
    before = slots_of(site)
    approved(site, 3, prefix="y")
    content_schedule(site=site, now=NOW)
    after = slots_of(site)
    assert after[:3] == before and len(set(after)) == 6
    assert content_schedule(site=site, now=NOW).scheduled == 0  # nothing left to place


def test_the_scheduling_tick_covers_every_site(account: Account, site: Site) -> None:
    other = site_create(account=account, name="other", timezone="Asia/Kolkata")
    approved(site, 2)
    approved(other, 2)
    with time_machine.travel(NOW, tick=False):
        assert sites_schedule() == 4
        assert sites_schedule() == 0


def test_scheduling_a_thousand_items_takes_as_many_queries_as_ten(
    account: Account, django_assert_num_queries: Any
) -> None:
    small = site_create(account=account, name="small")
    large = site_create(account=account, name="large")
    for site in (small, large):
        publishing(site, scheduling_mode="stagger", queue_limit=5000)
    approved(small, 10)
    approved(large, 1000)
    with CaptureQueriesContext(connection) as ten:
        assert content_schedule(site=small, now=NOW).scheduled == 10
    # The settings' lock, one read of the site's queue, one UPDATE (besides the transaction).
    queries = [q["sql"] for q in ten.captured_queries]
    control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT")
    reads_and_writes = [q for q in queries if not q.upper().startswith(control)]
    assert len(reads_and_writes) == 3, [q[:80] for q in queries]
    with django_assert_num_queries(len(ten)):
        assert content_schedule(site=large, now=NOW).scheduled == 1000
    assert len(set(slots_of(large))) == 1000


def test_a_long_wait_list_behind_a_full_queue_all_carry_the_reason(site: Site) -> None:
    publishing(site, queue_limit=10)
    approved(site, 3000)
    report = content_schedule(site=site, now=NOW)
    assert report.scheduled == 10 and len(report.unscheduled) == 2990
    waiting = Content.objects.filter(site=site, site_status="not_published")
    assert waiting.count() == 2990
    assert not waiting.filter(unscheduled_reason="").exists()
