"""The publisher connection check without WordPress (tests/wordpress has those): the static
publisher's directory, a missing or incomplete configuration, the API's scoping and schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from inkline.accounts.models import Account
from inkline.automation.sites import account_create, site_create
from inkline.publishing.checking import publisher_check

pytestmark = pytest.mark.django_db
KEYS = {
    "ok", "publisher", "target", "rest_root", "permalinks", "user", "roles", "can",
    "problems", "checked_at",
}  # fmt: skip


def api_for(username: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get(user__username=username)}")
    return api


def test_the_static_publisher_needs_a_writable_directory(
    account: Account, settings: Any, tmp_path: Path
) -> None:
    site = site_create(account=account, name="files", publisher="static")
    check = publisher_check(site)
    assert check["ok"] is True and check["problems"] == []
    assert check["target"] == str(tmp_path / "sites" / str(site.pk))
    (tmp_path / "file").write_text("not a directory")
    settings.SITE_OUTPUT_DIR = tmp_path / "file"
    check = publisher_check(site)
    assert check["ok"] is False
    assert [p["code"] for p in check["problems"]] == ["output_not_writable"]


def test_no_publisher_or_a_missing_password_is_a_config_problem(account: Account) -> None:
    none = site_create(account=account, name="none", publisher="none")
    assert [p["code"] for p in publisher_check(none)["problems"]] == ["config"]
    wp = site_create(
        account=account,
        name="wp",
        publisher="wordpress",
        publisher_config={"url": "https://blog.example.com", "username": "me"},
    )
    check = publisher_check(wp)
    assert check["ok"] is False and check["publisher"] == "wordpress"
    (problem,) = check["problems"]
    assert problem["code"] == "config" and "application_password" in problem["message"]


def test_the_api_answers_members_of_the_site_only(account: Account) -> None:
    site = site_create(account=account, name="files", publisher="static")
    answer = api_for("owner").get(f"/api/v1/sites/{site.pk}/publisher/check/")
    assert answer.status_code == 200 and set(answer.json()) == KEYS
    assert answer.json()["ok"] is True and answer.json()["publisher"] == "static"
    account_create(name="Other", username="other", password="pw")
    assert api_for("other").get(f"/api/v1/sites/{site.pk}/publisher/check/").status_code == 404
    schema = api_for("owner").get("/api/schema/").content.decode()
    assert "/api/v1/sites/{site_id}/publisher/check/" in schema


def test_the_site_page_tests_the_connection_in_place(account: Account) -> None:
    site = site_create(account=account, name="nowhere", publisher="none")
    owner = Client()
    owner.login(username="owner", password="pw")
    page = owner.get(f"/sites/{site.pk}/settings/").content.decode()
    assert 'hx-post="/sites/' in page and "publisher-connection" in page
    panel = owner.post(
        f"/sites/{site.pk}/settings/publisher-check/", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert panel.startswith('<section class="card publisher-check"')
    assert 'data-problem="config"' in panel
    full = owner.post(f"/sites/{site.pk}/settings/publisher-check/")
    assert full.status_code == 200 and 'data-problem="config"' in full.content.decode()
