"""A site's publisher settings changed in the browser after the site was created: switch to
WordPress, fill its address, user and application password, save; then change the address
with the password left blank, and the stored password is kept (shown as "set", never shown)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Live, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SECRET = "abcd EFGH 1234 ijkl MNOP 5678"
SITE_SQL = "SELECT publisher, publisher_config, publisher_secrets FROM accounts_site WHERE id=?"


def test_change_the_wordpress_url_of_an_existing_site(page: Any, live: Live) -> None:
    page.goto(f"{live.url}/sites/new/")
    page.get_by_label("Name").fill("Tea Journal")
    page.get_by_label("URL").fill("https://tea.example.com")
    page.get_by_role("button", name="Create site").click()
    match = re.search(r"/sites/(\d+)/$", page.url)
    assert match, page.url
    site_id = int(match.group(1))

    page.locator(".sitenav").get_by_role("link", name="Site", exact=True).click()
    expect(page.get_by_role("heading", name="Site settings")).to_be_visible()
    wordpress = page.locator("#wordpress-settings")
    expect(wordpress).to_be_hidden()  # the static publisher is chosen
    page.get_by_label("WordPress", exact=True).check()
    expect(wordpress).to_be_visible()
    expect(wordpress.locator("[data-password-state]")).to_contain_text("not set")
    page.get_by_label("WordPress address").fill("https://wp.example.com")
    page.get_by_label("WordPress username").fill("editor")
    page.get_by_label("Application password", exact=True).fill(SECRET)
    page.get_by_role("button", name="Save site settings").click()
    expect(page.get_by_text("Site settings saved.")).to_be_visible()
    row = live.one(SITE_SQL, site_id)
    assert row["publisher"] == "wordpress"
    assert json.loads(row["publisher_config"]) == {
        "url": "https://wp.example.com",
        "username": "editor",
    }
    assert row["publisher_secrets"] and SECRET not in row["publisher_secrets"]
    secrets_before = row["publisher_secrets"]

    # change only the address: the password box stays empty, the stored one is kept
    expect(page.get_by_label("WordPress address")).to_have_value("https://wp.example.com")
    expect(page.get_by_label("Application password", exact=True)).to_have_value("")
    expect(wordpress.locator("[data-password-state]")).to_contain_text("set")
    page.get_by_label("WordPress address").fill("https://blog.tea.example.com")
    page.get_by_role("button", name="Save site settings").click()
    expect(page.get_by_text("Site settings saved.")).to_be_visible()
    expect(page.get_by_label("WordPress address")).to_have_value("https://blog.tea.example.com")
    expect(wordpress.locator("[data-password-state]")).to_contain_text(
        "An application password is stored"
    )
    assert SECRET not in page.content()
    shot(page, "30-site-settings")
    row = live.one(SITE_SQL, site_id)
    assert json.loads(row["publisher_config"])["url"] == "https://blog.tea.example.com"
    assert row["publisher_secrets"]  # still stored (re-encrypted, never in clear)
    assert secrets_before and SECRET not in row["publisher_secrets"]

    # a bad address is refused next to the field and nothing changes
    page.get_by_label("WordPress address").fill("not a url")
    page.get_by_role("button", name="Save site settings").click()
    expect(page.locator("#id_wp_url_error")).to_have_text("Enter a valid URL.")
    row = live.one(SITE_SQL, site_id)
    assert json.loads(row["publisher_config"])["url"] == "https://blog.tea.example.com"
