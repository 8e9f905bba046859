"""Handing scheduled posts to WordPress (`schedule_on_wordpress`), against the stand-in: a
scheduled article is held by WordPress as a `future` post at its slot (with its media), its
date moves when it is rescheduled, it is trashed when unscheduled, rejected or deleted; at the
slot Inkline marks it published once WordPress says so, and publishes it itself when
WordPress missed its schedule. The rules themselves (`handoff.sync_action`) are pure."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine

from inkline.accounts.models import Account, Site
from inkline.ai.local import LocalProvider
from inkline.automation.sites import site_create
from inkline.celery import app as celery_app
from inkline.publishing import selectors
from inkline.publishing.delivery import backoff
from inkline.publishing.handoff import HANDOFF_LEAD, sync_action
from inkline.publishing.models import RemoteSchedule
from inkline.publishing.services import (
    content_approve,
    content_delete,
    content_reject,
    content_schedule,
    content_unschedule,
    publishing_settings_update,
)
from inkline.publishing.tasks import publish_due
from inkline.writer.models import Content
from tests.factories import add_tasks, only_stages, run_now
from tests.publishing.builders import approved, publishing
from tests.publishing.wp_server import WordPress

pytestmark = pytest.mark.django_db
UTC = dt.UTC
NOW = dt.datetime(2026, 6, 1, 6, 0, tzinfo=UTC)  # a Monday
NINE = dt.datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
TWO = dt.datetime(2026, 6, 1, 14, 0, tzinfo=UTC)
ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


# --- the rules -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "site_status", "slot", "held", "remote_id", "expected"),
    [
        ("approved", "scheduled", NINE, None, "", "schedule"),  # new in a slot
        ("approved", "scheduled", NINE, NINE, "5", "none"),  # held at its slot
        ("approved", "scheduled", TWO, NINE, "5", "schedule"),  # rescheduled: move the date
        ("approved", "scheduled", NOW + HANDOFF_LEAD / 2, None, "", "none"),  # too close
        ("approved", "scheduled", NOW - dt.timedelta(hours=1), NINE, "5", "none"),  # overdue
        ("review", "not_published", None, NINE, "5", "withdraw"),  # unscheduled
        ("rejected", "not_published", None, None, "5", "withdraw"),  # id only (lost answer)
        ("rejected", "not_published", None, None, "", "none"),  # never handed over
        ("approved", "publishing", NINE, NINE, "5", "none"),  # the slot-time step's
        ("approved", "failed", NINE, NINE, "5", "none"),
        ("published", "published", NINE, None, "5", "none"),
    ],
)
def test_what_a_sync_does(
    status: str,
    site_status: str,
    slot: dt.datetime | None,
    held: dt.datetime | None,
    remote_id: str,
    expected: str,
) -> None:
    action = sync_action(
        status=status, site_status=site_status, slot=slot, held=held, remote_id=remote_id, now=NOW
    )
    assert action == expected


# --- against the stand-in --------------------------------------------------------------------
@pytest.fixture
def wp(settings: Any) -> Iterator[WordPress]:
    settings.INKLINE_ALLOW_PRIVATE_TARGETS = True  # the test server is on loopback
    with WordPress() as server:
        yield server


def wp_site(account: Account, wp: WordPress, *, hand_over: bool = True) -> Site:
    site = site_create(
        account=account,
        name="wp",
        publisher="wordpress",
        publisher_config={
            "url": wp.url,
            "username": wp.username,
            "application_password": wp.password,
            "timeout": 0.5,
        },
    )
    publishing(
        site,
        schedule_on_wordpress=hand_over,
        publish_time_slots=["09:00", "14:00"],
        publish_days=ALL_DAYS,
    )
    return site


def tick(at: dt.datetime) -> int:
    with time_machine.travel(at, tick=False):
        return int(publish_due.apply().get())


def gmt(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S")


def post_of(wp: WordPress, content: Content) -> dict[str, Any]:
    marker = re.compile(rf"<!-- inkline:[0-9a-f-]+:{content.pk} -->")
    (post,) = [p for p in wp.posts if marker.search(p["content"]["raw"])]
    return post


def test_a_scheduled_article_is_a_future_post_that_wordpress_publishes_itself(
    account: Account, wp: WordPress, provider: LocalProvider
) -> None:
    site = wp_site(account, wp)
    add_tasks(site, 1)
    only_stages(site, 4, 5, 6, 7)
    with time_machine.travel(NOW, tick=False):
        run = run_now(site, provider)
    assert run.status == "completed", run.error_message
    content = Content.objects.get(site=site)
    assert content.scheduled_publish_at == NINE

    tick(NOW)  # the publish tick hands it over (nothing is due yet)
    post = post_of(wp, content)
    assert (post["status"], post["date_gmt"]) == ("future", gmt(NINE))
    assert post["featured_media"] in {m["id"] for m in wp.media}  # its media went with it
    assert len(wp.media) == content.images.count()
    content.refresh_from_db()
    assert (content.status, content.site_status) == ("approved", "scheduled")
    (item,) = selectors.publishing_queue(site)["items"]
    assert (item["wordpress_scheduled_at"], item["wordpress_sync_error"]) == (NINE, "")

    # Inkline's beat is down at 09:00; a visitor at 09:00:30 runs WP-Cron.
    with time_machine.travel(NINE + dt.timedelta(seconds=30), tick=False):
        assert wp.run_cron() == [post["id"]]
    assert tick(NINE + dt.timedelta(hours=2)) == 1  # the beat is back
    content.refresh_from_db()
    assert (content.status, content.site_status) == ("published", "published")
    assert content.published_at == NINE  # when WordPress published it, not two hours later
    assert content.lateness_seconds == 0
    assert (content.remote_id, content.published_url) == (str(post["id"]), post["link"])
    assert len(wp.posts) == 1
    # Confirmed by reading it: no update asked WordPress to publish it.
    assert not [u for u in wp.updates if u.get("status") == "publish"]
    assert not RemoteSchedule.objects.exists()


def test_a_missed_schedule_is_published_by_inkline_at_the_slot(
    account: Account, wp: WordPress
) -> None:
    site = wp_site(account, wp)
    (content_id,) = approved(site, 1)
    content_schedule(site=site, now=NOW)
    tick(NOW)
    content = Content.objects.get(pk=content_id)
    post = post_of(wp, content)
    assert post["status"] == "future"
    # Nobody visited the blog: WordPress still holds it `future` past its date.
    at = NINE + dt.timedelta(minutes=3)
    assert tick(at) == 1
    content.refresh_from_db()
    assert content.site_status == "published"
    assert (post["status"], post["date_gmt"]) == ("publish", gmt(NINE))  # dated at its slot
    assert content.published_at == at
    assert content.lateness_seconds == 180
    assert len(wp.posts) == 1


def test_rescheduling_moves_the_post_and_rejecting_trashes_it(
    account: Account, wp: WordPress
) -> None:
    site = wp_site(account, wp)
    (first_id,) = approved(site, 1, prefix="x")
    content_schedule(site=site, now=NOW)
    tick(NOW)
    first = Content.objects.get(pk=first_id)
    post = post_of(wp, first)
    assert post["date_gmt"] == gmt(NINE)

    # Another article takes 09:00 while the first is out of the schedule; back, it gets 14:00.
    (second_id,) = approved(site, 1, prefix="y")
    later = NOW + dt.timedelta(minutes=10)
    with time_machine.travel(later, tick=False):
        content_unschedule(content=first)
        content_approve(content=first)
    first.refresh_from_db()
    assert first.scheduled_publish_at == TWO
    assert tick(later) == 0
    assert (post["status"], post["date_gmt"]) == ("future", gmt(TWO))  # the same post, moved
    second = Content.objects.get(pk=second_id)
    assert post_of(wp, second)["date_gmt"] == gmt(NINE)
    assert len(wp.posts) == 2

    with time_machine.travel(later, tick=False):
        content_reject(content=second, reason="Off topic.")
    tick(later)
    trashed = post_of(wp, second)
    assert trashed["status"] == "trash"
    assert trashed["slug"] == second.slug + "__trashed"
    assert post["status"] == "future"  # the other is left as it was
    assert RemoteSchedule.objects.get(pk=second_id).remote_id == ""

    # Approved again: a new future post (the trashed one stays restorable in WordPress).
    with time_machine.travel(later, tick=False):
        content_approve(content=second)
    tick(later)
    live = [p for p in wp.posts if p["slug"] == second.slug]
    assert [p["status"] for p in live] == ["future"]


def test_a_post_created_whose_answer_was_lost_is_found_not_duplicated(
    account: Account, wp: WordPress
) -> None:
    site = wp_site(account, wp)
    (content_id,) = approved(site, 1)
    content_schedule(site=site, now=NOW)
    wp.faults["POST posts"] = ["timeout_after_accept"]
    tick(NOW)
    row = RemoteSchedule.objects.get(pk=content_id)
    assert row.held_at is None and "in time" in row.error
    assert [p["status"] for p in wp.posts] == ["future"]  # WordPress did create it
    tick(NOW + backoff(1))
    row.refresh_from_db()
    assert len(wp.posts) == 1  # found by its slug and marker
    assert (row.remote_id, row.held_at, row.error) == (str(wp.posts[0]["id"]), NINE, "")


def test_unscheduling_trashes_and_a_slot_too_close_is_not_handed_over(
    account: Account, wp: WordPress
) -> None:
    site = wp_site(account, wp)
    (content_id,) = approved(site, 1)
    content_schedule(site=site, now=NOW)
    tick(NOW)
    content = Content.objects.get(pk=content_id)
    with time_machine.travel(NOW, tick=False):
        content_unschedule(content=content)
    tick(NOW)
    assert [p["status"] for p in wp.posts] == ["trash"]

    # Approved a minute before its slot: WordPress would publish a `future` post dated less
    # than a minute ahead at once, so Inkline keeps it and pushes it at the slot.
    close = NINE - dt.timedelta(minutes=1)
    with time_machine.travel(close, tick=False):
        content_approve(content=content)
    content.refresh_from_db()
    assert content.scheduled_publish_at == NINE
    tick(close)
    assert [p["status"] for p in wp.posts] == ["trash"]
    assert tick(NINE) == 1
    assert sorted(p["status"] for p in wp.posts) == ["publish", "trash"]


def test_turning_it_on_hands_over_what_is_scheduled_and_deleting_trashes(
    account: Account, wp: WordPress
) -> None:
    site = wp_site(account, wp, hand_over=False)
    ids = approved(site, 2)
    content_schedule(site=site, now=NOW)
    tick(NOW)
    assert wp.posts == []  # push mode: nothing before the slot
    with time_machine.travel(NOW, tick=False):
        publishing_settings_update(site=site, data={"schedule_on_wordpress": True})
    tick(NOW)
    assert sorted(p["date_gmt"] for p in wp.posts) == [gmt(NINE), gmt(TWO)]
    assert {p["status"] for p in wp.posts} == {"future"}

    with time_machine.travel(NOW, tick=False):
        content_delete(content=Content.objects.get(pk=ids[0]))
    assert sorted(p["status"] for p in wp.posts) == ["future", "trash"]


def test_without_wordpress_the_setting_changes_nothing(account: Account) -> None:
    site = site_create(account=account, name="static", publisher="static")
    publishing(site, schedule_on_wordpress=True, publish_days=ALL_DAYS)
    approved(site, 1)
    content_schedule(site=site, now=NOW)
    assert not RemoteSchedule.objects.exists()


def test_a_worker_is_woken_to_hand_it_over_right_away(
    account: Account,
    wp: WordPress,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)  # the woken task runs here
    site = wp_site(account, wp)
    (content_id,) = approved(site, 1)
    Content.objects.filter(pk=content_id).update(status="review")
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        content_approve(content=Content.objects.get(pk=content_id))
    assert [(p["status"], p["date_gmt"]) for p in wp.posts] == [("future", gmt(NINE))]


def test_new_publishing_settings_move_the_posts_wordpress_holds(
    account: Account, wp: WordPress
) -> None:
    # Issue 20's re-placement meets issue 18's hand-over: the same posts, new dates.
    site = wp_site(account, wp)
    first_id, second_id = approved(site, 2)
    content_schedule(site=site, now=NOW)
    tick(NOW)
    first, second = Content.objects.get(pk=first_id), Content.objects.get(pk=second_id)
    assert {post_of(wp, c)["date_gmt"] for c in (first, second)} == {gmt(NINE), gmt(TWO)}

    with time_machine.travel(NOW, tick=False):
        publishing_settings_update(site=site, data={"publish_time_slots": ["10:00", "16:00"]})
    ten, four = NINE + dt.timedelta(hours=1), TWO + dt.timedelta(hours=2)
    first.refresh_from_db()
    second.refresh_from_db()
    assert {first.scheduled_publish_at, second.scheduled_publish_at} == {ten, four}
    assert tick(NOW) == 0  # nothing due yet: the tick only syncs
    assert {post_of(wp, c)["date_gmt"] for c in (first, second)} == {gmt(ten), gmt(four)}
    assert [p["status"] for p in wp.posts] == ["future", "future"]  # moved, not re-created
