"""Refreshing in the UI: the article page asks for a refresh and keeps the history, the
review page shows each refresh's diff beside the live version and approves it, a fixed
number of queries however many refreshes wait."""

from __future__ import annotations

import re
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from inkline.accounts.models import Account
from inkline.ai.local import LocalProvider
from inkline.automation.refresh import refresh_request, revision_write
from inkline.publishing.services import content_publish_due
from inkline.writer.models import Content, ContentRevision
from tests.publishing.test_refresh_static import LATER, published_site

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(client: Client, account: Account) -> Client:
    client.login(username="owner", password="pw")
    return client


def test_refresh_from_the_article_page_review_the_diff_and_approve(
    owner: Client, account: Account, provider: LocalProvider
) -> None:
    site = published_site(account, provider, n=1)
    content = Content.objects.get(site=site)
    page = owner.get(f"/content/{content.pk}/").content.decode()
    assert "Never refreshed." in page and 'id="refresh-article"' in page

    asked = owner.post(f"/content/{content.pk}/refresh/")
    assert asked.status_code == 302
    (revision,) = ContentRevision.objects.filter(content=content)
    assert (revision.status, revision.requested_by) == ("queued", "owner")
    with time_machine.travel(LATER, tick=False):
        revision_write(revision_id=revision.pk, provider=provider)

    review = owner.get(f"/sites/{site.pk}/review/").content.decode()
    assert f'id="revision-{revision.pk}"' in review
    assert "<ins>" in review and "<del>" in review  # the diff, server-rendered
    detail = owner.get(f"/revisions/{revision.pk}/").content.decode()
    assert "In review" in detail and "Approve and update the live article" in detail

    approved = owner.post(f"/revisions/{revision.pk}/approve/")
    assert approved.status_code == 302
    content_publish_due()
    revision.refresh_from_db()
    assert (revision.status, revision.decided_by) == ("published", "owner")
    history = owner.get(f"/content/{content.pk}/").content.decode()
    row = re.search(r'<table class="data" id="revision-history">(.*?)</table>', history, re.S)
    assert row is not None and "owner" in row.group(1) and "Live" in row.group(1)
    assert "Last refreshed" in history


def test_the_review_page_asks_for_refreshes_and_shows_them_in_fixed_queries(
    owner: Client, account: Account, provider: LocalProvider, django_assert_num_queries: Any
) -> None:
    site = published_site(account, provider, n=3)
    first, *rest = Content.objects.filter(site=site).order_by("pk")
    Content.objects.filter(pk=first.pk).update(seo_score=3)
    refused = owner.post(f"/sites/{site.pk}/refresh/", {"limit": "5"}, follow=True)
    assert "Give an age, an SEO score, or both." in refused.content.decode()
    owner.post(f"/sites/{site.pk}/refresh/", {"seo_below": "10", "limit": "5"})
    (one,) = ContentRevision.objects.filter(site=site)
    assert one.content_id == first.pk
    with time_machine.travel(LATER, tick=False):
        revision_write(revision_id=one.pk, provider=provider)
    owner.get(f"/sites/{site.pk}/review/")  # warm caches (the site switcher)
    with CaptureQueriesContext(connection) as counted:
        owner.get(f"/sites/{site.pk}/review/")
    single = len(counted.captured_queries)
    with time_machine.travel(LATER, tick=False):
        for made in refresh_request(site=site, by="t", ids=[c.pk for c in rest], wake=False):
            revision_write(revision_id=made.pk, provider=provider)
    with django_assert_num_queries(single):
        page = owner.get(f"/sites/{site.pk}/review/").content.decode()
    assert page.count('class="review-item" id="revision-') == 3


def test_the_automation_settings_page_saves_the_refresh_settings(
    owner: Client, account: Account
) -> None:
    from inkline.automation.models import STAGE_LIMIT_FIELDS, AutomationConfig
    from inkline.automation.sites import site_create

    site = site_create(account=account, name="cfg")
    url = f"/sites/{site.pk}/automation/"
    assert 'id="refresh-settings"' in owner.get(url).content.decode()
    form = {"frequency": "daily", "scheduled_time": "02:00", "day_of_week": "0",
            "day_of_month": "1", "max_credits_per_run": "0"}  # fmt: skip
    form |= dict.fromkeys(STAGE_LIMIT_FIELDS.values(), "0")
    bad = owner.post(url, form | {"refresh_older_than_days": "99999999"})
    assert bad.status_code == 200 and "refresh_older_than_days_error" in bad.content.decode()
    saved = owner.post(
        url,
        form
        | {"refresh_enabled": "on", "refresh_older_than_days": "180", "refresh_max_per_run": ""},
    )
    assert saved.status_code == 302
    config = AutomationConfig.objects.get(site=site)
    assert (config.refresh_enabled, config.refresh_older_than_days) == (True, 180)
    assert config.refresh_max_per_run == 5  # left empty: kept
