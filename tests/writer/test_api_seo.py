"""The SEO score, its checks and the held reason in the content API."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from inkline.accounts.models import Site
from inkline.writer.models import Content, SeoSettings
from tests.factories import only_stages, run_now
from tests.writer.test_quality_gate import SloppyWriter, tasks_with_keywords

pytestmark = pytest.mark.django_db


def api_for(site: Site) -> APIClient:
    user = get_user_model().objects.get(username="owner")
    api = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api


def test_content_detail_and_list_show_the_score_the_checks_and_why_it_was_held(
    site: Site,
) -> None:
    tasks_with_keywords(site, ["sloppy kettle", "cold brew ratio"])
    only_stages(site, 4, 5, 6, 7)
    SeoSettings.objects.create(site=site, approval_threshold=80)
    run_now(site, SloppyWriter())
    held = Content.objects.get(site=site, primary_keyword="sloppy kettle")
    api = api_for(site)

    body = api.get(f"/api/v1/content/{held.pk}/").json()
    assert body["status"] == "review"
    assert held.seo_score is not None
    assert body["seo_score"] == held.seo_score < 80
    assert body["held_reason"].startswith(f"SEO score {held.seo_score} is below 80.")
    failed = {c["check"]: c["message"] for c in body["seo_report"] if not c["passed"]}
    assert set(failed) == {"keyword_in_title", "meta_description_length"}
    assert failed["keyword_in_title"] == "Put the primary keyword 'sloppy kettle' in the title."
    assert all(set(c) == {"check", "passed", "message"} for c in body["seo_report"])

    listed = api.get(f"/api/v1/sites/{site.pk}/content/", {"status": "review"}).json()
    assert [(c["id"], c["seo_score"]) for c in listed["results"]] == [(held.pk, held.seo_score)]
    assert listed["results"][0]["held_reason"] == body["held_reason"]
