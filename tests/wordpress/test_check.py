"""The publisher connection check against a real WordPress: each problem a WordPress user
meets is named with its fix (wrong password, plain permalinks, an Author or a Contributor
account, a dropped Authorization header), through the CLI, the API and the site page."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from inkline import cli
from inkline.accounts.models import Account as DjangoAccount
from inkline.accounts.models import Site
from inkline.automation.sites import site_create
from inkline.publishing.checking import publisher_check
from tests.wordpress.server import PLAIN, Account, RealWordPress

pytestmark = pytest.mark.django_db


def wp_site(account: DjangoAccount, wp: RealWordPress, user: Account, **config: Any) -> Site:
    return site_create(
        account=account,
        name="wp",
        publisher="wordpress",
        publisher_config={
            "url": wp.url,
            "username": user.username,
            "application_password": user.password,
            **config,
        },
    )


def codes(check: dict[str, Any]) -> list[str]:
    return [p["code"] for p in check["problems"]]


def test_an_administrator_on_pretty_permalinks_is_ready(
    wordpress: RealWordPress, account: DjangoAccount
) -> None:
    check = publisher_check(wp_site(account, wordpress, wordpress.admin))
    assert check["ok"] is True and check["problems"] == []
    assert check["rest_root"] == f"{wordpress.url}/wp-json/"
    assert check["permalinks"] == "pretty"
    assert check["user"] == "admin" and check["roles"] == ["administrator"]
    assert check["can"] == {"publish_posts": True, "upload_files": True, "create_categories": True}


def test_plain_permalinks_are_found_through_the_link_header(
    wordpress: RealWordPress, account: DjangoAccount
) -> None:
    wordpress.set_permalinks(PLAIN)
    check = publisher_check(wp_site(account, wordpress, wordpress.admin))
    assert check["ok"] is True, check["problems"]
    assert check["rest_root"] == f"{wordpress.url}/index.php?rest_route=/"
    assert check["permalinks"] == "plain"


def test_a_wrong_password_is_named(wordpress: RealWordPress, account: DjangoAccount) -> None:
    site = wp_site(
        account, wordpress, wordpress.admin, application_password="aaaa bbbb cccc dddd eeee ffff"
    )
    check = publisher_check(site)
    assert check["ok"] is False and codes(check) == ["credentials"]
    (problem,) = check["problems"]
    assert "'admin'" in problem["message"]
    assert "Application Passwords" in problem["fix"]
    assert check["user"] is None and check["can"] is None


def test_a_dropped_authorization_header_is_named_with_its_fix(
    wordpress: RealWordPress, account: DjangoAccount
) -> None:
    site = wp_site(account, wordpress, wordpress.admin)
    with wordpress.authorization_stripped():
        check = publisher_check(site)
    assert check["ok"] is False and codes(check) == ["authorization_header"]
    (problem,) = check["problems"]
    assert "drops the Authorization header" in problem["message"]
    assert "SetEnvIf Authorization" in problem["fix"]
    assert "fastcgi_param HTTP_AUTHORIZATION" in problem["fix"]


def test_an_author_can_publish_with_existing_categories(
    wordpress: RealWordPress, account: DjangoAccount
) -> None:
    check = publisher_check(wp_site(account, wordpress, wordpress.author))
    assert check["ok"] is True and check["roles"] == ["author"]
    assert check["can"] == {
        "publish_posts": True,
        "upload_files": True,
        "create_categories": False,
    }
    (problem,) = check["problems"]
    assert problem["code"] == "cannot_create_categories" and problem["blocking"] is False
    assert "Editor" in problem["fix"]


def test_a_contributor_cannot_publish(wordpress: RealWordPress, account: DjangoAccount) -> None:
    contributor = wordpress.add_user("contributor", "contributor")
    check = publisher_check(wp_site(account, wordpress, contributor))
    assert check["ok"] is False
    assert codes(check) == ["cannot_publish", "cannot_upload", "cannot_create_categories"]
    assert all("Author role" in p["fix"] for p in check["problems"][:2])


def test_the_cli_api_and_site_page_answer_the_same(
    wordpress: RealWordPress, account: DjangoAccount, capsys: pytest.CaptureFixture[str]
) -> None:
    good = wp_site(account, wordpress, wordpress.author)
    bad = site_create(
        account=account,
        name="wrong",
        publisher="wordpress",
        publisher_config={
            "url": wordpress.url,
            "username": "admin",
            "application_password": "aaaa bbbb cccc dddd eeee ffff",
        },
    )
    assert cli.main(["check-publisher", str(good.pk), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["ok"] is True and answer["user"] == "author"
    assert cli.main(["check-publisher", "wrong"]) == 1
    out = capsys.readouterr().out
    assert "credentials" in out and "Cannot publish" in out
    assert cli.main(["check-publisher", "no such site"]) == 2

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get(user__username='owner')}")
    answer = api.get(f"/api/v1/sites/{bad.pk}/publisher/check/").json()
    assert answer["ok"] is False and [p["code"] for p in answer["problems"]] == ["credentials"]

    page = Client()
    page.login(username="owner", password="pw")
    panel = page.post(
        f"/sites/{bad.pk}/settings/publisher-check/", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'id="publisher-connection"' in panel and "cannot publish" in panel
    assert 'data-problem="credentials"' in panel and "Application Passwords" in panel
