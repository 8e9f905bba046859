"""Sites over the API: CRUD, IANA time zones, write-only publisher secrets."""

from __future__ import annotations

from typing import Any

import pytest

from inkline.accounts.models import Site
from inkline.automation.services import run_start
from tests.api.conftest import WP_PASSWORD, World, client

pytestmark = pytest.mark.django_db


def test_create_list_change_and_delete_a_site(world: World) -> None:
    api = client(world.owner)
    created = api.post(
        "/api/v1/sites/",
        {"name": "gamma", "url": "https://gamma.example.com", "timezone": "America/New_York"},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["timezone"] == "America/New_York"
    assert body["publisher"] == "static"
    site = Site.objects.get(pk=body["id"])
    assert site.account_id == world.account.pk

    listed = api.get("/api/v1/sites/").json()
    assert listed["count"] == 2
    assert [s["name"] for s in listed["results"]] == ["alpha-site", "gamma"]

    changed = api.patch(f"/api/v1/sites/{site.pk}/", {"timezone": "Asia/Kolkata"}, format="json")
    assert changed.status_code == 200
    assert changed.json()["timezone"] == "Asia/Kolkata"
    site.refresh_from_db()
    assert site.timezone == "Asia/Kolkata"
    assert site.name == "gamma"  # PATCH leaves other fields alone

    assert api.delete(f"/api/v1/sites/{site.pk}/").status_code == 204
    assert not Site.objects.filter(pk=site.pk).exists()
    assert api.get(f"/api/v1/sites/{site.pk}/").status_code == 404


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "x", "timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"name": "x", "timezone": "utc "}, "timezone"),
        ({"name": "x", "url": "not a url"}, "url"),
        ({"name": "x", "publisher": "ftp"}, "publisher"),
        ({"name": ""}, "name"),
        ({"name": "alpha-site"}, "name"),  # taken in this account
        ({"name": "x", "publisher_config": {"application_password": 7}}, "publisher_config"),
        ({"name": "x", "publisher_config": {"password_set": True}}, "publisher_config"),
        ({"name": "x", "publisher_config": {"url": "a\x00b"}}, "publisher_config"),
        ({"name": "x", "publisher_config": {"nested": {"a": 1}}}, "publisher_config"),
        ({"name": "x", "publisher_config": []}, "publisher_config"),
    ],
)
def test_bad_site_input_is_400_naming_the_field(
    world: World, payload: dict[str, Any], field: str
) -> None:
    response = client(world.owner).post("/api/v1/sites/", payload, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]
    assert Site.objects.filter(account=world.account).count() == 1


def test_a_name_another_account_uses_is_free(world: World) -> None:
    response = client(world.owner).post("/api/v1/sites/", {"name": "bravo-site"}, format="json")
    assert response.status_code == 201


def test_publisher_secrets_are_write_only_and_merge(world: World) -> None:
    api = client(world.owner)
    url = f"/api/v1/sites/{world.site.pk}/"
    shown = api.get(url).json()["publisher_config"]
    assert shown == {
        "url": "https://alpha.example.com",
        "username": "alpha-editor",
        "application_password_set": True,
    }
    assert WP_PASSWORD not in world.site.publisher_secrets  # encrypted at rest
    assert world.site.secrets()["application_password"] == WP_PASSWORD

    # Changing plain keys without the secret keeps the secret.
    kept = api.patch(
        url,
        {"publisher_config": {"url": "https://alpha.example.com", "username": "new-user"}},
        format="json",
    )
    assert kept.json()["publisher_config"]["application_password_set"] is True
    assert kept.json()["publisher_config"]["username"] == "new-user"
    # A new value replaces it; an empty string removes it.
    api.patch(url, {"publisher_config": {"application_password": "other pass"}}, format="json")
    assert Site.objects.get(pk=world.site.pk).secrets()["application_password"] == "other pass"
    removed = api.patch(url, {"publisher_config": {"application_password": ""}}, format="json")
    assert "application_password_set" not in removed.json()["publisher_config"]
    assert Site.objects.get(pk=world.site.pk).secrets() == {}


def test_deleting_a_site_with_an_active_run_is_a_409(world: World) -> None:
    run = run_start(site=world.site, wake=False)
    response = client(world.owner).delete(f"/api/v1/sites/{world.site.pk}/")
    assert response.status_code == 409
    assert response.json()["code"] == "run_active"
    assert response.json()["run_id"] == run.run_id
    assert Site.objects.filter(pk=world.site.pk).exists()


def test_only_the_owner_deletes_a_site(world: World) -> None:
    url = f"/api/v1/sites/{world.site.pk}/"
    assert client(world.editor).delete(url).status_code == 403
    assert client(world.viewer).delete(url).status_code == 403
    assert Site.objects.filter(pk=world.site.pk).exists()
    assert client(world.owner).delete(url).status_code == 204
    assert not Site.objects.filter(pk=world.site.pk).exists()


def test_an_editor_creates_sites_and_a_viewer_cannot(world: World) -> None:
    assert (
        client(world.viewer).post("/api/v1/sites/", {"name": "v"}, format="json").status_code == 403
    )
    assert (
        client(world.editor).post("/api/v1/sites/", {"name": "e"}, format="json").status_code == 201
    )
