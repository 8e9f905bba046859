"""The refresh endpoints: ask for refreshes, read a revision and its diff, approve, reject,
retry; the refresh settings of a site's automation; bad input is a 400 naming the field."""

from __future__ import annotations

import pytest
import time_machine
from rest_framework.authtoken.models import Token

from inkline.accounts.models import Account
from inkline.ai.local import LocalProvider
from inkline.automation.refresh import revision_write
from inkline.automation.sites import account_create
from inkline.core.api import MAX_INT
from inkline.writer.models import Content, ContentRevision
from tests.api.conftest import client
from tests.publishing.test_refresh_static import LATER, published_site

pytestmark = pytest.mark.django_db


def test_refresh_endpoints_from_request_to_approval(
    account: Account, provider: LocalProvider
) -> None:
    site = published_site(account, provider, n=2)
    first, second = Content.objects.filter(site=site).order_by("pk")
    owner = client(Token.objects.get_or_create(user__username="owner")[0].key)

    refused = owner.post(f"/api/v1/sites/{site.pk}/refresh/", {}, format="json")
    assert refused.status_code == 400 and "older_than_days" in refused.json()
    for body, field in (({"ids": [0]}, "ids"), ({"seo_below": 101}, "seo_below")):
        bad = owner.post(f"/api/v1/sites/{site.pk}/refresh/", body, format="json")
        assert bad.status_code == 400 and field in bad.json(), bad.json()

    asked = owner.post(f"/api/v1/sites/{site.pk}/refresh/", {"ids": [first.pk]}, format="json")
    assert asked.status_code == 201, asked.json()
    assert asked.json()["count"] == 1
    (shown,) = asked.json()["revisions"]
    assert (shown["content"], shown["status"], shown["requested_by"]) == (
        first.pk,
        "queued",
        "owner",
    )
    again = owner.post(f"/api/v1/content/{first.pk}/refresh/")
    assert again.status_code == 409 and again.json()["code"] == "refresh_refused"
    one = owner.post(f"/api/v1/content/{second.pk}/refresh/")
    assert one.status_code == 201 and one.json()["content"] == second.pk

    with time_machine.travel(LATER, tick=False):
        assert revision_write(revision_id=shown["id"], provider=provider) == "written"
    detail = owner.get(f"/api/v1/revisions/{shown['id']}/").json()
    assert detail["status"] == "review" and detail["base_html"] == first.html
    assert detail["diff"]["added"] > 0 and detail["diff"]["removed"] > 0
    kinds = {block["kind"] for block in detail["diff"]["blocks"]}
    assert kinds & {"changed", "added"}

    _, stranger = account_create(name="Other", username="other", password="pw", credits=10)
    assert client(stranger.key).get(f"/api/v1/revisions/{shown['id']}/").status_code == 404
    denied = client(stranger.key).post(f"/api/v1/revisions/{shown['id']}/approve/")
    assert denied.status_code == 404

    approved = owner.post(f"/api/v1/revisions/{shown['id']}/approve/")
    assert approved.status_code == 200, approved.json()
    assert (approved.json()["status"], approved.json()["decided_by"]) == ("approved", "owner")
    late = owner.post(f"/api/v1/revisions/{shown['id']}/reject/", {}, format="json")
    assert late.status_code == 409
    history = owner.get(f"/api/v1/content/{first.pk}/revisions/").json()
    assert [(r["number"], r["status"]) for r in history] == [(1, "approved")]

    # A failed one is retried: written again.
    ContentRevision.objects.filter(content=second).update(status="failed", last_error="boom")
    rid = one.json()["id"]
    retried = owner.post(f"/api/v1/revisions/{rid}/retry/")
    assert retried.status_code == 200 and retried.json()["status"] == "queued"
    assert owner.post(f"/api/v1/revisions/{rid}/retry/").status_code == 409


def test_the_refresh_settings_of_a_sites_automation(account: Account) -> None:
    from inkline.automation.sites import site_create

    site = site_create(account=account, name="cfg")
    owner = client(Token.objects.get_or_create(user__username="owner")[0].key)
    url = f"/api/v1/sites/{site.pk}/automation/config/"
    body = owner.get(url).json()
    assert (body["refresh_enabled"], body["refresh_max_per_run"]) == (False, 5)
    changed = owner.patch(
        url,
        {
            "refresh_enabled": True,
            "refresh_older_than_days": 180,
            "refresh_below_threshold": True,
            "refresh_max_per_run": 3,
        },
        format="json",
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["refresh_older_than_days"] == 180
    too_big = owner.patch(url, {"refresh_max_per_run": MAX_INT + 1}, format="json")
    assert too_big.status_code == 400 and "refresh_max_per_run" in too_big.json()
