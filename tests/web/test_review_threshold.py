"""The SEO settings on the review page (approval threshold, minimum words per article): shown,
validated on the server, saved through the service; viewers see them but cannot change them."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from inkline.accounts.models import Account, Role, Site
from inkline.publishing.models import PublishingSettings
from inkline.writer.models import Content, SeoSettings
from tests.web.builders import member

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(client: Client, account: Account) -> Client:
    client.login(username="owner", password="pw")
    return client


def threshold_input(html: str, name: str = "approval_threshold") -> str:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    assert match, f"no {name} field"
    return match.group(0)


def test_the_page_shows_the_threshold_and_saves_a_new_one(owner: Client, site: Site) -> None:
    held = Content.objects.create(
        site=site, title="Held", html="<p>x</p>", slug="held", status="review",
        prompts_extracted=True, seo_score=60, held_reason="SEO score 60 is below 70.",
    )  # fmt: skip
    html = owner.get(f"/sites/{site.pk}/review/").content.decode()
    assert 'value="70"' in threshold_input(html)
    assert 'value="0"' in threshold_input(html, "min_words")
    assert "Minimum words per article" in html
    assert "Save SEO settings" in html

    response = owner.post(f"/sites/{site.pk}/review/", {"approval_threshold": "55"}, follow=True)
    assert response.redirect_chain == [(f"/sites/{site.pk}/review/", 302)]
    page = response.content.decode()
    assert "SEO settings saved." in page
    assert 'value="55"' in threshold_input(page)
    assert SeoSettings.objects.get(site=site).approval_threshold == 55
    held.refresh_from_db()
    assert held.held_reason == ""  # back in stage 7's pending set


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("101", "Ensure this value is less than or equal to 100."),
        ("-5", "Ensure this value is greater than or equal to 0."),
        ("high", "Enter a whole number."),
        ("", "This field is required."),
    ],
)
def test_bad_values_are_refused_next_to_the_field(
    owner: Client, site: Site, value: str, error: str
) -> None:
    response = owner.post(f"/sites/{site.pk}/review/", {"approval_threshold": value})
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(rf'id="id_approval_threshold_error">{re.escape(error)}<', html)
    assert not SeoSettings.objects.filter(site=site).exists()


def test_the_page_saves_the_minimum_words_and_a_blank_keeps_it(owner: Client, site: Site) -> None:
    page = f"/sites/{site.pk}/review/"
    response = owner.post(page, {"approval_threshold": "70", "min_words": "1200"}, follow=True)
    assert "SEO settings saved." in response.content.decode()
    assert 'value="1200"' in threshold_input(response.content.decode(), "min_words")
    assert SeoSettings.objects.get(site=site).min_words == 1200

    owner.post(page, {"approval_threshold": "60", "min_words": ""})
    row = SeoSettings.objects.get(site=site)
    assert (row.approval_threshold, row.min_words) == (60, 1200)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("10001", "Ensure this value is less than or equal to 10000."),
        ("-1", "Ensure this value is greater than or equal to 0."),
        ("lots", "Enter a whole number."),
    ],
)
def test_bad_minimum_words_are_refused_next_to_the_field(
    owner: Client, site: Site, value: str, error: str
) -> None:
    response = owner.post(
        f"/sites/{site.pk}/review/", {"approval_threshold": "70", "min_words": value}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(rf'id="id_min_words_error">{re.escape(error)}<', html)
    assert not SeoSettings.objects.filter(site=site).exists()


def test_the_page_says_whether_auto_approval_is_on(owner: Client, site: Site) -> None:
    PublishingSettings.objects.filter(site=site).update(auto_approval_enabled=False)
    html = owner.get(f"/sites/{site.pk}/review/").content.decode()
    assert "Auto-approval is off" in html
    PublishingSettings.objects.filter(site=site).update(auto_approval_enabled=True)
    SeoSettings.objects.create(site=site, approval_threshold=80)
    html = owner.get(f"/sites/{site.pk}/review/").content.decode()
    assert "SEO score is at least 80" in html


def test_a_viewer_sees_the_threshold_but_cannot_change_it(
    client: Client, account: Account, site: Site
) -> None:
    member(account, "vera", Role.VIEWER)
    client.login(username="vera", password="pw")
    html = client.get(f"/sites/{site.pk}/review/").content.decode()
    assert 'value="70"' in threshold_input(html)
    assert "Save SEO settings" not in html
    assert 'value="0"' in threshold_input(html, "min_words")
    assert re.search(r'<section class="card" id="seo-threshold">.*?<fieldset disabled>', html, re.S)
    refused = client.post(f"/sites/{site.pk}/review/", {"approval_threshold": "5"})
    assert refused.status_code == 403
    assert not SeoSettings.objects.filter(site=site).exists()


def test_another_accounts_site_is_404(owner: Client) -> None:
    from inkline.automation.sites import account_create, site_create

    other, _ = account_create(name="Other", username="mallory", password="pw")
    theirs = site_create(account=other, name="theirs")
    response = owner.post(f"/sites/{theirs.pk}/review/", {"approval_threshold": "5"})
    assert response.status_code == 404
    assert not SeoSettings.objects.filter(site=theirs).exists()
