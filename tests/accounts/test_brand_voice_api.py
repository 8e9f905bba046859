"""GET/PUT/PATCH /api/v1/sites/{id}/voice/: a site's brand voice, bounded, for owners and
editors to change; and the same settings through the admin."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from inkline.accounts.models import Account, BrandVoice, Role, Site
from inkline.accounts.voice import WORD_MAX, WORDS_MAX
from inkline.automation.sites import account_create, site_create
from tests.web.builders import member

pytestmark = pytest.mark.django_db

EMPTY = {
    "voice": "",
    "audience": "",
    "words_to_use": [],
    "words_to_avoid": [],
    "reading_ease": None,
    "point_of_view": "",
    "example": "",
}


def api_as(username: str) -> APIClient:
    token, _ = Token.objects.get_or_create(user=get_user_model().objects.get(username=username))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api


def url(site: Site) -> str:
    return f"/api/v1/sites/{site.pk}/voice/"


def test_a_site_has_no_preference_until_an_owner_sets_one(site: Site) -> None:
    owner = api_as("owner")
    assert owner.get(url(site)).json() == EMPTY
    assert not BrandVoice.objects.exists()  # reading writes nothing

    body = {
        "voice": "  Warm, practical, no hype. ",
        "audience": "Home baristas",
        "words_to_use": ["ratio", " bloom "],
        "words_to_avoid": ["Synergy", "synergy", "game   changer", ""],
        "reading_ease": 60,
        "point_of_view": "you",
        "example": "You weigh the coffee first.",
    }
    response = owner.put(url(site), body, format="json")

    assert response.status_code == 200
    stored = {
        **body,
        "voice": "Warm, practical, no hype.",
        "words_to_use": ["ratio", "bloom"],
        "words_to_avoid": ["Synergy", "game changer"],  # cleaned: repeats and blanks dropped
    }
    assert response.json() == stored
    assert owner.get(url(site)).json() == stored
    row = BrandVoice.objects.get(site=site)
    assert (row.reading_ease, row.point_of_view) == (60, "you")


def test_patch_changes_only_what_is_sent_and_put_resets_what_is_left_out(site: Site) -> None:
    owner = api_as("owner")
    owner.put(url(site), {"voice": "Calm.", "words_to_avoid": ["hype"]}, format="json")

    patched = owner.patch(url(site), {"reading_ease": 70}, format="json").json()
    assert patched == EMPTY | {"voice": "Calm.", "words_to_avoid": ["hype"], "reading_ease": 70}
    assert owner.patch(url(site), {}, format="json").json() == patched
    cleared = owner.patch(url(site), {"reading_ease": None}, format="json").json()
    assert cleared["reading_ease"] is None

    replaced = owner.put(url(site), {"point_of_view": "we"}, format="json").json()
    assert replaced == EMPTY | {"point_of_view": "we"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"voice": "x" * 1001}, "voice"),
        ({"audience": "x" * 301}, "audience"),
        ({"example": "x" * 2001}, "example"),
        ({"words_to_avoid": [f"w{i}" for i in range(WORDS_MAX + 1)]}, "words_to_avoid"),
        ({"words_to_use": ["x" * (WORD_MAX + 1)]}, "words_to_use"),
        ({"words_to_avoid": "synergy"}, "words_to_avoid"),
        ({"words_to_avoid": [1]}, "words_to_avoid"),
        ({"reading_ease": 101}, "reading_ease"),
        ({"reading_ease": -1}, "reading_ease"),
        ({"reading_ease": "60"}, "reading_ease"),
        ({"point_of_view": "I"}, "point_of_view"),
        ({"voice": "nul\x00"}, "voice"),
    ],
)
def test_bad_input_is_400_naming_the_field_and_stores_nothing(
    site: Site, body: dict[str, Any], field: str
) -> None:
    response = api_as("owner").patch(url(site), body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not BrandVoice.objects.exists()


def test_viewers_read_but_cannot_change_and_other_accounts_see_nothing(
    site: Site, account: Account
) -> None:
    member(account, "viewer", Role.VIEWER)
    member(account, "editor", Role.EDITOR)
    assert api_as("viewer").get(url(site)).status_code == 200
    assert api_as("viewer").patch(url(site), {"voice": "x"}, format="json").status_code == 403
    assert api_as("editor").patch(url(site), {"voice": "x"}, format="json").status_code == 200

    other, _ = account_create(name="Other", username="other", password="pw")
    theirs = site_create(account=other, name="theirs")
    assert api_as("owner").get(url(theirs)).status_code == 404
    assert api_as("owner").put(url(theirs), {}, format="json").status_code == 404
    assert not BrandVoice.objects.filter(site=theirs).exists()


def test_the_admin_changes_a_voice_by_the_same_rules(site: Site) -> None:
    get_user_model().objects.create_superuser("root", "r@example.com", "pw")
    client = Client()
    client.login(username="root", password="pw")
    add = reverse("admin:accounts_brandvoice_add")
    form = {
        "site": site.pk,
        "voice": "Calm.",
        "audience": "",
        "words_to_use": "[]",
        "words_to_avoid": '["hype", "Hype", " game  changer "]',
        "reading_ease": "55",
        "point_of_view": "they",
        "example": "",
    }
    assert client.post(add, form).status_code == 302
    row = BrandVoice.objects.get(site=site)
    assert row.words_to_avoid == ["hype", "game changer"] and row.point_of_view == "they"

    change = reverse("admin:accounts_brandvoice_change", args=[row.pk])
    refused = client.post(change, form | {"words_to_avoid": '["x"]', "reading_ease": "101"})
    assert refused.status_code == 200 and b"errorlist" in refused.content
    too_many = client.post(
        change, form | {"words_to_avoid": json.dumps([f"w{i}" for i in range(51)])}
    )
    assert too_many.status_code == 200 and b"At most 50" in too_many.content
    row.refresh_from_db()
    assert row.words_to_avoid == ["hype", "game changer"] and row.reading_ease == 55
