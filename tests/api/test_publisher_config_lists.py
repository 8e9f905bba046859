"""publisher_config accepts a list of strings (WordPress `categories`, as the README shows),
and still refuses lists of anything else, too long ones and secrets that are not strings."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from inkline.accounts.models import Site

pytestmark = pytest.mark.django_db


def owner_api() -> APIClient:
    user = get_user_model().objects.get(username="owner")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return api


def test_categories_as_a_list_are_stored_and_shown(site: Site) -> None:
    config = {"url": "https://wp.example.com", "username": "ed", "categories": ["Guides", "Tea"]}
    response = owner_api().patch(
        f"/api/v1/sites/{site.pk}/", {"publisher": "wordpress", "publisher_config": config},
        format="json",
    )  # fmt: skip
    assert response.status_code == 200
    assert response.json()["publisher_config"] == config
    site.refresh_from_db()
    assert site.publisher_config["categories"] == ["Guides", "Tea"]


@pytest.mark.parametrize(
    "config",
    [
        {"categories": [1, 2]},
        {"categories": [["nested"]]},
        {"categories": ["x"] * 51},
        {"categories": ["x" * 2001]},
        {"categories": ["bad\x00"]},
        {"categories": {"a": "b"}},
        {"application_password": ["not", "a", "string"]},
    ],
    ids=repr,
)
def test_other_shapes_are_400_naming_publisher_config(site: Site, config: dict[str, Any]) -> None:
    response = owner_api().patch(
        f"/api/v1/sites/{site.pk}/", {"publisher_config": config}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["publisher_config"]
    site.refresh_from_db()
    assert site.publisher_config == {}


@pytest.mark.parametrize("url", ["not an address", "ftp://wp.example.com", "javascript:alert(1)"])
def test_a_publisher_url_must_be_an_http_address(site: Site, url: str) -> None:
    response = owner_api().patch(
        f"/api/v1/sites/{site.pk}/",
        {"publisher": "wordpress", "publisher_config": {"url": url, "username": "ed"}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"publisher_config": ["'url' must be an http(s) address."]}
    site.refresh_from_db()
    assert site.publisher_config == {}
