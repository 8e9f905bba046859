"""Handing scheduled posts to a real WordPress (`schedule_on_wordpress`, issue 18 item 6).

WordPress's clock cannot be moved, so the slots here are real: a few hours ahead of the real
time. A slot that has come is made by moving the post's date into the past inside WordPress,
with the article's slot alongside: exactly the state a missed schedule leaves (the post still
`future`, its date gone by). WP-Cron is off in this WordPress; its publishing step is run as
the cron event runs it (`check_and_publish_future_post`), never by waiting for a clock.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from inkline import clock
from inkline.accounts.models import Account, Site
from inkline.automation.sites import site_create
from inkline.publishing.delivery import article_of
from inkline.publishing.models import RemoteSchedule
from inkline.publishing.publishers import Article
from inkline.publishing.publishers.factory import get_publisher
from inkline.publishing.publishers.wordpress import WordPressPublisher
from inkline.publishing.schedule_sync import schedule_syncs_due
from inkline.publishing.services import (
    content_approve,
    content_publish_due,
    content_reject,
    content_schedule,
    content_unschedule,
)
from inkline.writer.models import Content
from tests.publishing.builders import approved, publishing
from tests.wordpress.server import RealWordPress

pytestmark = pytest.mark.django_db
ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def wp_site(account: Account, wordpress: RealWordPress, now: dt.datetime) -> Site:
    site = site_create(
        account=account,
        name="wp",
        publisher="wordpress",
        publisher_config={
            "url": wordpress.url,
            "username": wordpress.admin.username,
            "application_password": wordpress.admin.password,
        },
    )
    # Two slots a day, the first 2–3 hours from now, the other 4–5 (UTC, the site's zone).
    hours = sorted({(now + dt.timedelta(hours=h)).hour for h in (3, 5)})
    publishing(
        site,
        schedule_on_wordpress=True,
        publish_days=ALL_DAYS,
        publish_time_slots=[f"{h:02d}:00" for h in hours],
    )
    return site


def post(wordpress: RealWordPress, post_id: str | int) -> dict[str, Any]:
    return dict(
        wordpress.php_json(
            f"""
            $p = get_post({int(post_id)});
            echo json_encode(['status' => $p->post_status, 'date_gmt' => $p->post_date_gmt,
                              'slug' => $p->post_name]);
            """
        )
    )


def ours(wordpress: RealWordPress) -> list[dict[str, Any]]:
    """Every post in WordPress, any status."""
    return list(
        wordpress.php_json(
            """
            echo json_encode(array_map(fn($p) => ['id' => $p->ID, 'status' => $p->post_status],
                get_posts(['post_status' => array_keys(get_post_stati()), 'numberposts' => -1])));
            """
        )
    )


def sql(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def slot_passed(wordpress: RealWordPress, content: Content, at: dt.datetime) -> None:
    """The state a missed schedule leaves: the post still `future`, dated `at` (past); the
    article's slot is `at` too."""
    row = RemoteSchedule.objects.get(pk=content.pk)
    wordpress.php(
        f"""
        global $wpdb;
        $wpdb->update($wpdb->posts, ['post_date_gmt' => '{sql(at)}',
                                     'post_date' => get_date_from_gmt('{sql(at)}')],
                      ['ID' => {int(row.remote_id)}]);
        clean_post_cache({int(row.remote_id)});
        """
    )
    Content.objects.filter(pk=content.pk).update(scheduled_publish_at=at)
    RemoteSchedule.objects.filter(pk=content.pk).update(held_at=at)


def test_future_posts_are_created_moved_trashed_and_published(
    account: Account, wordpress: RealWordPress
) -> None:
    now = clock.now()
    site = wp_site(account, wordpress, now)
    first_id, second_id = approved(site, 2, prefix="s")
    content_schedule(site=site, now=now)
    first, second = (Content.objects.get(pk=pk) for pk in (first_id, second_id))
    assert first.scheduled_publish_at is not None and second.scheduled_publish_at is not None

    # Scheduled → a `future` post dated at its slot.
    assert set(schedule_syncs_due(now=now).values()) == {"scheduled"}
    rows = {row.pk: row for row in RemoteSchedule.objects.all()}
    for content in (first, second):
        row = rows[content.pk]
        held = post(wordpress, row.remote_id)
        assert (held["status"], held["date_gmt"]) == ("future", sql(content.scheduled_publish_at))
        assert row.held_at == content.scheduled_publish_at
    first_post = rows[first_id].remote_id

    # Rescheduled → the same post, its date moved: a third article takes the first's slot
    # while it is out of the schedule; approved again, it gets the next free one.
    (third_id,) = approved(site, 1, prefix="t")
    content_unschedule(content=first)
    content_approve(content=first)
    first.refresh_from_db()
    assert first.scheduled_publish_at is not None
    assert first.scheduled_publish_at > second.scheduled_publish_at
    schedule_syncs_due(now=clock.now())  # (the changes made the rows due at the real time)
    assert RemoteSchedule.objects.get(pk=first_id).remote_id == first_post
    moved = post(wordpress, first_post)
    assert (moved["status"], moved["date_gmt"]) == ("future", sql(first.scheduled_publish_at))

    # Rejected → trashed.
    third = Content.objects.get(pk=third_id)
    third_post = RemoteSchedule.objects.get(pk=third_id).remote_id
    assert post(wordpress, third_post)["status"] == "future"
    content_reject(content=third)
    assert schedule_syncs_due(now=clock.now()) == {third_id: "withdrawn"}
    trashed = post(wordpress, third_post)
    assert trashed["status"] == "trash"
    assert len(ours(wordpress)) == 3  # no duplicate along the way

    # The second's slot has come and WP-Cron ran (a visitor): Inkline only confirms it.
    second_slot = (now - dt.timedelta(minutes=10)).replace(microsecond=0)  # WordPress's precision
    slot_passed(wordpress, second, second_slot)
    second_post = RemoteSchedule.objects.get(pk=second_id).remote_id
    wordpress.php(f"check_and_publish_future_post({int(second_post)});")
    assert post(wordpress, second_post)["status"] == "publish"
    # The first's slot has come too but nobody visited: still `future`, its date gone by.
    first_slot = (now - dt.timedelta(minutes=5)).replace(microsecond=0)
    slot_passed(wordpress, first, first_slot)
    assert post(wordpress, first_post)["status"] == "future"

    now = clock.now()
    report = content_publish_due(now=now)
    assert report.outcomes == {second_id: "published", first_id: "published"}
    second.refresh_from_db()
    assert (second.status, second.site_status) == ("published", "published")
    assert second.published_at == second_slot  # when WordPress published it
    assert second.remote_id == second_post
    first.refresh_from_db()
    assert first.site_status == "published"
    assert first.published_at is not None and first.published_at >= now  # Inkline published
    published = post(wordpress, first_post)
    assert (published["status"], published["date_gmt"]) == ("publish", sql(first_slot))
    assert len(ours(wordpress)) == 3
    assert not RemoteSchedule.objects.exclude(pk=third_id).exists()


def test_a_future_post_is_found_again_after_a_lost_answer(
    account: Account, wordpress: RealWordPress
) -> None:
    now = clock.now()
    site = wp_site(account, wordpress, now)
    (content_id,) = approved(site, 1)
    content_schedule(site=site, now=now)
    content = Content.objects.get(pk=content_id)
    publisher = get_publisher(site)
    assert isinstance(publisher, WordPressPublisher)
    article = article_of(content)
    created = publisher.schedule(article)  # its answer "lost": no id recorded
    again = publisher.schedule(article)  # found by its slug and marker
    assert again == created
    assert created.status == "future"
    assert len(ours(wordpress)) == 1


def test_wordpress_publishes_at_once_a_future_post_dated_less_than_a_minute_ahead(
    account: Account, wordpress: RealWordPress
) -> None:
    """Why a slot closer than `HANDOFF_LEAD` is not handed over: WordPress would publish it
    now, ahead of its slot."""
    publisher = WordPressPublisher(
        base_url=wordpress.url,
        username=wordpress.admin.username,
        password=wordpress.admin.password,
        install_id=str(uuid.uuid4()),
    )
    article = Article(
        content_id=1,
        title="Soon",
        slug="soon",
        html="<p>Soon.</p>",
        description="",
        date=clock.now() + dt.timedelta(seconds=20),
    )
    assert publisher.schedule(article).status == "publish"
