"""Publishing to WordPress through its REST API, against a real local HTTP server speaking it:
media, terms, posts at their slot times, 500s, a timeout after the post was accepted (no
duplicate), bad credentials, and the SSRF guard."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine

from inkline.accounts.models import Account, Site
from inkline.ai.local import LocalProvider
from inkline.automation.sites import site_create
from inkline.core.installation import install_id
from inkline.publishing.delivery import backoff
from inkline.publishing.services import content_schedule
from inkline.publishing.tasks import publish_due
from inkline.writer.models import Content
from tests.factories import add_tasks, only_stages, run_now
from tests.publishing.builders import approved, publishing
from tests.publishing.wp_server import WordPress

pytestmark = pytest.mark.django_db
UTC = dt.UTC
NOW = dt.datetime(2026, 6, 1, 6, 0, tzinfo=UTC)


@pytest.fixture
def wp(settings: Any) -> Iterator[WordPress]:
    settings.INKLINE_ALLOW_PRIVATE_TARGETS = True  # the test server is on loopback
    with WordPress() as server:
        yield server


def wp_site(account: Account, wp: WordPress, **config: Any) -> Site:
    return site_create(
        account=account,
        name="wp",
        publisher="wordpress",
        publisher_config={
            "url": wp.url,
            "username": wp.username,
            "application_password": wp.password,
            "timeout": 0.5,
            **config,
        },
    )


def tick(at: dt.datetime) -> int:
    with time_machine.travel(at, tick=False):
        return int(publish_due.apply().get())


def test_a_runs_articles_are_posted_at_their_slots_once_despite_500s_and_a_lost_answer(
    account: Account, wp: WordPress, provider: LocalProvider
) -> None:
    site = wp_site(account, wp, categories=["Guides"])
    publishing(site, publish_time_slots=["09:00", "14:00"], publish_days=["mon"])
    add_tasks(site, 2)
    only_stages(site, 4, 5, 6, 7)
    with time_machine.travel(NOW, tick=False):
        run = run_now(site, provider)
    assert run.status == "completed", run.error_message
    first, second = Content.objects.filter(site=site).order_by("scheduled_publish_at")
    assert first.scheduled_publish_at == dt.datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    assert second.scheduled_publish_at == dt.datetime(2026, 6, 1, 14, 0, tzinfo=UTC)
    assert site.public_publisher_config().get("application_password_set") is True
    assert "application_password" not in site.publisher_config  # stored encrypted only

    # The first post: a 500, then the server accepts it but the answer never arrives in time.
    wp.faults["POST posts"] = ["500", "timeout_after_accept"]
    at = first.scheduled_publish_at
    assert tick(at) == 0
    first.refresh_from_db()
    assert (first.site_status, first.publish_attempts) == ("scheduled", 1)
    assert "500" in first.publish_error
    assert wp.posts == []

    at += backoff(1)
    assert tick(at) == 0
    first.refresh_from_db()
    assert (first.site_status, first.publish_attempts) == ("scheduled", 2)
    assert "in time" in first.publish_error
    assert len(wp.posts) == 1  # WordPress did create it

    at += backoff(2)
    assert tick(at) == 1
    first.refresh_from_db()
    assert first.site_status == "published"
    assert [p["slug"] for p in wp.posts] == [first.slug]  # still one post: found, not re-sent
    post = wp.posts[0]
    assert first.remote_id == str(post["id"])
    assert first.published_url == post["link"]
    assert first.lateness_seconds == int((at - first.scheduled_publish_at).total_seconds())

    assert tick(second.scheduled_publish_at) == 1
    second.refresh_from_db()
    assert second.site_status == "published"
    assert sorted(p["slug"] for p in wp.posts) == sorted([first.slug, second.slug])

    for content in (first, second):
        post = next(p for p in wp.posts if p["slug"] == content.slug)
        assert content.scheduled_publish_at is not None
        assert post["status"] == "publish"
        assert post["date_gmt"] == content.scheduled_publish_at.strftime("%Y-%m-%dT%H:%M:%S")
        assert post["title"]["raw"] == content.title
        marker = f"<!-- inkline:{install_id()}:{content.pk} -->"
        assert post["content"]["raw"].startswith(f"<!-- wp:html -->\n{marker}\n")
        featured = next(m for m in wp.media if m["id"] == post["featured_media"])
        assert featured["slug"] == f"{content.slug}-featured"
        assert featured["mime_type"] == "image/webp" and featured["format"] == "WEBP"
        assert featured["alt_text"]
        inline = [m for m in wp.media if m["slug"].startswith(content.slug + "-")]
        assert len(inline) == content.images.count()  # each image uploaded once
        for m in inline:
            if m is not featured:
                assert m["source_url"] in post["content"]["raw"]
        names = {t["id"]: t["name"] for kind in wp.terms.values() for t in kind}
        assert {names[i] for i in post["categories"]} == {"Guides", "Coffee"}
        assert [names[i] for i in post["tags"]] == [content.primary_keyword]
    assert len(wp.terms["categories"]) == 2  # created once, then found


def test_a_foreign_post_with_the_same_slug_is_not_taken_for_ours(
    account: Account, wp: WordPress
) -> None:
    site = wp_site(account, wp)
    (content_id,) = approved(site, 1)
    slug = Content.objects.get(pk=content_id).slug
    wp.posts.append({"id": 7, "slug": slug, "link": "x", "content": {"raw": "<p>Mine.</p>"}})
    content_schedule(site=site, now=NOW)
    assert tick(NOW + dt.timedelta(days=1)) == 0
    content = Content.objects.get(pk=content_id)
    assert content.site_status == "failed"
    assert "did not create" in content.publish_error
    assert len(wp.posts) == 1


def test_bad_credentials_fail_at_once_with_a_hint(account: Account, wp: WordPress) -> None:
    site = wp_site(account, wp, application_password="wrong")
    (content_id,) = approved(site, 1)
    content_schedule(site=site, now=NOW)
    assert tick(NOW + dt.timedelta(days=1)) == 0
    content = Content.objects.get(pk=content_id)
    assert content.site_status == "failed" and content.publish_attempts == 1
    assert "401" in content.publish_error and "application password" in content.publish_error


def test_private_targets_are_refused_unless_allowed(
    account: Account, wp: WordPress, settings: Any
) -> None:
    site = wp_site(account, wp)  # saved while allowed (refused at save time otherwise)
    settings.INKLINE_ALLOW_PRIVATE_TARGETS = False
    (content_id,) = approved(site, 1)
    content_schedule(site=site, now=NOW)
    assert tick(NOW + dt.timedelta(days=1)) == 0
    content = Content.objects.get(pk=content_id)
    assert content.site_status == "failed"
    assert "loopback" in content.publish_error
    assert wp.requests == []  # never contacted


def test_a_redirect_to_a_metadata_address_is_refused(account: Account, wp: WordPress) -> None:
    wp.redirect_to = "http://169.254.169.254/latest/meta-data/"
    site = wp_site(account, wp)
    (content_id,) = approved(site, 1)
    content_schedule(site=site, now=NOW)
    assert tick(NOW + dt.timedelta(days=1)) == 0
    content = Content.objects.get(pk=content_id)
    assert content.site_status == "failed"
    assert "metadata" in content.publish_error
    assert len(wp.requests) == 1  # the redirect was checked before following it
