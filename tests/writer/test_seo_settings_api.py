"""GET/PATCH /api/v1/sites/{id}/seo-settings/: the SEO approval threshold of a site and its
minimum words per article."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from inkline.accounts.models import Account, Role, Site
from inkline.automation.sites import account_create, site_create
from inkline.writer.models import Content, SeoSettings
from tests.web.builders import member

pytestmark = pytest.mark.django_db


def api_as(username: str) -> APIClient:
    token, _ = Token.objects.get_or_create(user=get_user_model().objects.get(username=username))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api


def url(site: Site) -> str:
    return f"/api/v1/sites/{site.pk}/seo-settings/"


def test_the_default_is_70_and_an_owner_changes_it(site: Site) -> None:
    owner = api_as("owner")
    assert owner.get(url(site)).json() == {"approval_threshold": 70, "min_words": 0}
    assert not SeoSettings.objects.filter(site=site).exists()  # reading writes nothing

    response = owner.patch(url(site), {"approval_threshold": 85}, format="json")
    assert response.status_code == 200
    assert response.json() == {"approval_threshold": 85, "min_words": 0}
    assert SeoSettings.objects.get(site=site).approval_threshold == 85
    assert owner.get(url(site)).json() == {"approval_threshold": 85, "min_words": 0}
    # an empty PATCH changes nothing
    assert owner.patch(url(site), {}, format="json").json() == {
        "approval_threshold": 85,
        "min_words": 0,
    }


@pytest.mark.parametrize("value", [0, 1, 600, 10_000])
def test_the_minimum_words_is_set_alone_and_leaves_the_threshold(site: Site, value: int) -> None:
    owner = api_as("owner")
    owner.patch(url(site), {"approval_threshold": 65}, format="json")
    held = Content.objects.create(
        site=site, title="Held", html="<p>x</p>", slug="held", status="review",
        prompts_extracted=True, seo_score=55, held_reason="SEO score 55 is below 65.",
    )  # fmt: skip

    response = owner.patch(url(site), {"min_words": value}, format="json")

    assert response.status_code == 200
    assert response.json() == {"approval_threshold": 65, "min_words": value}
    row = SeoSettings.objects.get(site=site)
    assert (row.approval_threshold, row.min_words) == (65, value)
    held.refresh_from_db()
    assert held.held_reason  # only a new threshold sends held articles back to stage 7
    both = owner.patch(url(site), {"approval_threshold": 60, "min_words": 300}, format="json")
    assert both.json() == {"approval_threshold": 60, "min_words": 300}


def test_a_minimum_words_on_a_site_without_settings_keeps_the_default_threshold(
    site: Site,
) -> None:
    response = api_as("owner").patch(url(site), {"min_words": 900}, format="json")
    assert response.json() == {"approval_threshold": 70, "min_words": 900}


def test_a_new_threshold_sends_held_articles_back_to_stage_7(site: Site) -> None:
    held = Content.objects.create(
        site=site, title="Held", html="<p>x</p>", slug="held", status="review",
        prompts_extracted=True, seo_score=55, held_reason="SEO score 55 is below 70.",
    )  # fmt: skip
    api_as("owner").patch(url(site), {"approval_threshold": 50}, format="json")
    held.refresh_from_db()
    assert held.held_reason == ""


@pytest.mark.parametrize("value", [101, -1, "seventy", 50.5, None, True, [70], 2**70], ids=repr)
def test_bad_thresholds_are_400_naming_the_field(site: Site, value: Any) -> None:
    response = api_as("owner").patch(url(site), {"approval_threshold": value}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["approval_threshold"]
    assert not SeoSettings.objects.filter(site=site).exists()


@pytest.mark.parametrize(
    "value", [10_001, -1, "many", 500.5, None, False, [500], {"n": 1}, 2**70], ids=repr
)
def test_bad_minimum_words_are_400_naming_the_field(site: Site, value: Any) -> None:
    response = api_as("owner").patch(
        url(site), {"min_words": value, "approval_threshold": 50}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["min_words"]
    assert not SeoSettings.objects.filter(site=site).exists()  # nothing of it was saved


def test_the_service_checks_the_bounds_too(site: Site) -> None:
    from inkline.core.errors import ValidationFailed
    from inkline.writer.quality import seo_settings_update

    with pytest.raises(ValidationFailed) as refused:
        seo_settings_update(site=site, min_words=10_001)
    assert refused.value.field_errors == {"min_words": ["Must be between 0 and 10000."]}
    assert not SeoSettings.objects.filter(site=site).exists()


def test_members_read_editors_write_viewers_are_refused(account: Account, site: Site) -> None:
    member(account, "vera", Role.VIEWER)
    member(account, "ed", Role.EDITOR)
    viewer, editor = api_as("vera"), api_as("ed")
    assert viewer.get(url(site)).json() == {"approval_threshold": 70, "min_words": 0}
    refused = viewer.patch(url(site), {"approval_threshold": 10}, format="json")
    assert refused.status_code == 403
    assert viewer.patch(url(site), {"min_words": 10}, format="json").status_code == 403
    assert editor.patch(url(site), {"approval_threshold": 60}, format="json").status_code == 200
    assert SeoSettings.objects.get(site=site).approval_threshold == 60
    assert APIClient().get(url(site)).status_code == 401


def test_another_accounts_site_is_404(site: Site) -> None:
    other, _ = account_create(name="Other", username="mallory", password="pw")
    theirs = site_create(account=other, name="theirs")
    owner = api_as("owner")
    assert owner.get(url(theirs)).status_code == 404
    assert owner.patch(url(theirs), {"approval_threshold": 1}, format="json").status_code == 404
    assert not SeoSettings.objects.filter(site=theirs).exists()
    assert api_as("mallory").get(url(site)).status_code == 404


def test_the_endpoint_is_in_the_openapi_schema(site: Site) -> None:
    schema = api_as("owner").get("/api/schema/?format=json").json()
    operations = schema["paths"]["/api/v1/sites/{site_id}/seo-settings/"]
    assert set(operations) >= {"get", "patch"}
    assert set(operations["patch"]["responses"]) >= {"200", "400", "403", "404"}
    props = schema["components"]["schemas"]["SeoSettings"]["properties"]
    assert (props["approval_threshold"]["minimum"], props["approval_threshold"]["maximum"]) == (
        0,
        100,
    )
    assert (props["min_words"]["minimum"], props["min_words"]["maximum"]) == (0, 10_000)


def test_a_change_writes_only_its_own_field(site: Site) -> None:
    """Concurrent PATCHes of different fields all take effect: each UPDATE names only its
    field (and `updated_at`), so neither writes back a value it read before the other's."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from inkline.writer.quality import seo_settings_update

    seo_settings_update(site=site, approval_threshold=80)
    changes = [
        ({"min_words": 700}, "approval_threshold"),
        ({"approval_threshold": 75}, "min_words"),
    ]
    for change, other in changes:
        with CaptureQueriesContext(connection) as queries:
            seo_settings_update(site=site, **change)
        updates = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "writer_seosettings"')]
        assert len(updates) == 1 and other not in updates[0], updates
    row = SeoSettings.objects.get(site=site)
    assert (row.approval_threshold, row.min_words) == (75, 700)
