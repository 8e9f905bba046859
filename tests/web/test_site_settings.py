"""The site settings page: name, URL, time zone and the publisher with its settings, checked
by the API's rules and saved by the same service; the application password is write-only."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from inkline.accounts.models import Account, Role, Site
from inkline.automation.sites import account_create, site_create, site_update
from tests.web.builders import member

pytestmark = pytest.mark.django_db

SECRET = "abcd EFGH 1234 ijkl MNOP 5678"


@pytest.fixture
def owner(client: Client, account: Account) -> Client:
    client.login(username="owner", password="pw")
    return client


def form_data(site: Site, **changes: Any) -> dict[str, Any]:
    data = {
        "name": site.name,
        "url": site.url,
        "timezone": site.timezone,
        "publisher": site.publisher,
        "wp_url": "",
        "wp_username": "",
        "wp_application_password": "",
        "static_layout": "hugo",
    }
    return data | changes


def error_of(html: str, field: str) -> str:
    match = re.search(rf'id="id_{field}_error">([^<]*)<', html)
    assert match, f"no error for {field}"
    return match.group(1)


def test_switch_to_wordpress_and_the_password_is_write_only(owner: Client, site: Site) -> None:
    url = f"/sites/{site.pk}/settings/"
    page = owner.get(url).content.decode()
    assert re.search(r'value="static"[^>]* checked>', page)
    assert "No application password is stored yet." in page

    data = form_data(
        site,
        publisher="wordpress",
        wp_url="https://wp.example.com",
        wp_username="editor",
        wp_application_password=SECRET,
    )
    response = owner.post(url, data, follow=True)
    assert response.redirect_chain == [(url, 302)]
    saved = response.content.decode()
    assert "Site settings saved." in saved
    assert "Nothing can be published yet" not in saved
    site.refresh_from_db()
    assert site.publisher == "wordpress"
    assert site.publisher_config == {"url": "https://wp.example.com", "username": "editor"}
    assert site.secrets() == {"application_password": SECRET}
    assert SECRET not in saved  # never shown back
    assert "An application password is stored" in saved and ">set<" in saved
    assert 'value="https://wp.example.com"' in saved

    # a blank password keeps the stored one; the URL changes
    data |= {"wp_url": "https://new.example.com", "wp_application_password": ""}
    owner.post(url, data)
    site.refresh_from_db()
    assert site.publisher_config["url"] == "https://new.example.com"
    assert site.secrets() == {"application_password": SECRET}

    # asking to forget it removes it, and the page says what is missing
    forgotten = owner.post(url, data | {"wp_forget_password": "on"}, follow=True)
    site.refresh_from_db()
    assert site.secrets() == {}
    assert "needs application_password" in forgotten.content.decode()


def test_other_publisher_settings_are_kept(owner: Client, site: Site) -> None:
    site_update(
        site=site,
        publisher="wordpress",
        publisher_config={"username": "ed", "categories": ["Guides"], "password": "old"},
    )
    owner.post(
        f"/sites/{site.pk}/settings/",
        form_data(site, publisher="wordpress", wp_username="editor"),
    )
    site.refresh_from_db()
    assert site.publisher_config == {"username": "editor", "categories": ["Guides"]}
    assert site.secrets() == {"password": "old"}  # the older secret key still counts as set
    page = owner.get(f"/sites/{site.pk}/settings/").content.decode()
    assert "An application password is stored" in page

    owner.post(
        f"/sites/{site.pk}/settings/", form_data(site, publisher="static", static_layout="jekyll")
    )
    site.refresh_from_db()
    assert site.publisher == "static"
    assert site.publisher_config["layout"] == "jekyll"
    assert site.publisher_config["username"] == "editor"  # kept for switching back


def test_bad_input_is_shown_next_to_the_field_and_nothing_is_saved(
    owner: Client, account: Account, site: Site
) -> None:
    site_create(account=account, name="shop")
    url = f"/sites/{site.pk}/settings/"
    cases = {
        "wp_url": form_data(site, publisher="wordpress", wp_url="not a url"),
        "timezone": form_data(site, timezone="Mars/Olympus"),
        "publisher": form_data(site, publisher="ftp"),
        "name": form_data(site, name="shop"),  # the service's rule: unique per account
        # the API's rule for publisher_config values, next to the field showing the key
        "wp_username": form_data(site, publisher="wordpress", wp_username="x" * 2001),
    }
    messages = {}
    for field, data in cases.items():
        response = owner.post(url, data)
        assert response.status_code == 200, field
        messages[field] = error_of(response.content.decode(), field)
    assert messages["wp_url"] == "Enter a valid URL."
    assert messages["name"] == "This account already has a site named &#x27;shop&#x27;."
    assert messages["wp_username"] == "&#x27;username&#x27; is longer than 2000."
    site.refresh_from_db()
    assert (site.name, site.publisher, site.timezone) == ("blog", "static", "UTC")
    assert site.publisher_config == {}
    # the page after a refused rename still names the site by its stored name
    assert "<title>blog · Site settings" in owner.post(url, cases["name"]).content.decode()


def test_viewers_see_no_form_and_cannot_post(client: Client, account: Account, site: Site) -> None:
    site_update(site=site, publisher="wordpress", publisher_config={"application_password": "s"})
    member(account, "vera", Role.VIEWER)
    client.login(username="vera", password="pw")
    url = f"/sites/{site.pk}/settings/"
    page = client.get(url).content.decode()
    assert "<form" not in page.split("<main", 1)[1] and "Save site settings" not in page
    assert re.search(r"<th>Application password</th><td data-password-state>set</td>", page)
    assert "Only owners and editors can change these settings." in page
    refused = client.post(url, form_data(site, name="taken over"))
    assert refused.status_code == 403
    site.refresh_from_db()
    assert site.name == "blog" and site.secrets() == {"application_password": "s"}


def test_an_editor_may_change_it_and_another_account_gets_404(
    client: Client, account: Account, site: Site
) -> None:
    member(account, "ed", Role.EDITOR)
    client.login(username="ed", password="pw")
    url = f"/sites/{site.pk}/settings/"
    assert client.post(url, form_data(site, name="Blog two")).status_code == 302
    site.refresh_from_db()
    assert site.name == "Blog two"

    other, _ = account_create(name="Other", username="mallory", password="pw")
    client.login(username="mallory", password="pw")
    assert client.get(url).status_code == 404
    assert client.post(url, form_data(site, name="mine")).status_code == 404
    theirs = site_create(account=other, name="theirs")
    assert client.get(f"/sites/{theirs.pk}/settings/").status_code == 200
