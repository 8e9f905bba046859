"""A publisher address the outbound guard would refuse (loopback, private, link-local, cloud
metadata) is refused when it is saved, through the API and the site pages, 400 naming the
field with the reason, unless INKLINE_ALLOW_PRIVATE_TARGETS (never for metadata addresses).
Publishing checks again (tests/publishing/test_wordpress.py): a name may change what it
resolves to."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from inkline.accounts.models import Account, Site

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_refused(settings: Any) -> None:
    settings.INKLINE_ALLOW_PRIVATE_TARGETS = False


def owner_api() -> APIClient:
    user = get_user_model().objects.get(username="owner")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return api


def wordpress(url: str) -> dict[str, Any]:
    return {"publisher": "wordpress", "publisher_config": {"url": url, "username": "ed"}}


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:8080", "127.0.0.1, a loopback address"),
        ("http://localhost/", "a loopback address"),
        ("http://10.1.2.3/wp", "10.1.2.3, a private address"),
        ("https://192.168.0.10", "192.168.0.10, a private address"),
        ("http://[::1]:9000", "::1, a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254, a cloud metadata address"),
    ],
)
def test_a_private_publisher_url_is_refused_when_saved(
    account: Account, site: Site, url: str, why: str
) -> None:
    answer = owner_api().patch(f"/api/v1/sites/{site.pk}/", wordpress(url), format="json")
    assert answer.status_code == 400
    (message,) = answer.json()["publisher_config"]
    assert message.startswith("'url' cannot be a publisher's address: it resolves to ")
    assert why in message
    site.refresh_from_db()
    assert site.publisher == "static" and site.publisher_config == {}

    created = owner_api().post("/api/v1/sites/", {"name": "new", **wordpress(url)}, format="json")
    assert created.status_code == 400 and list(created.json()) == ["publisher_config"]
    assert not Site.objects.filter(name="new").exists()


def test_the_sites_own_url_is_checked_when_it_is_the_publishers(site: Site) -> None:
    api = owner_api()
    url = f"/api/v1/sites/{site.pk}/"
    assert api.patch(url, {"url": "http://10.0.0.8"}, format="json").status_code == 200  # static
    switched = api.patch(url, {"publisher": "wordpress"}, format="json")
    assert switched.status_code == 400
    assert switched.json()["url"][0].startswith("The URL cannot be a publisher's address")
    created = api.post(
        "/api/v1/sites/",
        {"name": "wp", "url": "http://127.0.0.1:1", "publisher": "wordpress"},
        format="json",
    )
    assert created.status_code == 400 and list(created.json()) == ["url"]


def test_allowed_private_targets_are_saved_but_metadata_never(site: Site, settings: Any) -> None:
    settings.INKLINE_ALLOW_PRIVATE_TARGETS = True
    api = owner_api()
    url = f"/api/v1/sites/{site.pk}/"
    assert api.patch(url, wordpress("http://127.0.0.1:8080"), format="json").status_code == 200
    metadata = api.patch(url, wordpress("http://169.254.169.254/"), format="json")
    assert metadata.status_code == 400
    assert "INKLINE_ALLOW_PRIVATE_TARGETS" not in metadata.json()["publisher_config"][0]


@pytest.mark.parametrize(
    "url",
    [
        "https://8.8.8.8",  # public, needs no name lookup
        "https://blog.does-not-exist.invalid",  # resolves to nothing now: checked when publishing
    ],
)
def test_public_and_unresolved_addresses_are_saved(site: Site, url: str) -> None:
    answer = owner_api().patch(f"/api/v1/sites/{site.pk}/", wordpress(url), format="json")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["publisher_config"]["url"] == url


def test_an_unchanged_target_saved_before_is_not_checked_again(site: Site) -> None:
    Site.objects.filter(pk=site.pk).update(
        publisher="wordpress", publisher_config={"url": "http://127.0.0.1:8080"}
    )
    renamed = owner_api().patch(f"/api/v1/sites/{site.pk}/", {"name": "renamed"}, format="json")
    assert renamed.status_code == 200
    assert Site.objects.get(pk=site.pk).name == "renamed"


def error_of(html: str, field: str) -> str:
    match = re.search(rf'id="id_{field}_error">([^<]*)<', html)
    assert match, f"no error for {field}"
    return match.group(1)


def test_the_settings_page_shows_the_reason_at_the_wordpress_address(
    client: Client, site: Site
) -> None:
    client.login(username="owner", password="pw")
    data = {
        "name": site.name,
        "url": site.url,
        "timezone": site.timezone,
        "publisher": "wordpress",
        "wp_url": "http://192.168.1.20",
        "wp_username": "ed",
        "wp_application_password": "",
        "static_layout": "hugo",
    }
    page = client.post(f"/sites/{site.pk}/settings/", data)
    assert page.status_code == 200
    message = error_of(page.content.decode(), "wp_url")
    assert "192.168.1.20, a private address" in message
    site.refresh_from_db()
    assert site.publisher == "static"


def test_the_new_site_page_refuses_a_private_wordpress_url(
    client: Client, account: Account
) -> None:
    client.login(username="owner", password="pw")
    page = client.post(
        "/sites/new/",
        {"name": "wp", "url": "http://127.0.0.1:8080", "timezone": "UTC", "publisher": "wordpress"},
    )
    assert page.status_code == 200
    assert "a loopback address" in error_of(page.content.decode(), "url")
    assert not Site.objects.filter(name="wp").exists()
