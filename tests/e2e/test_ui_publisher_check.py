"""The "Publisher connection" panel of the site settings page in a browser: "Test connection"
asks the site's publisher in place, without leaving the page, and shows what it found."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Live, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_test_connection_checks_the_publisher_in_place(page: Any, live: Live) -> None:
    page.goto(f"{live.url}/sites/new/")
    page.get_by_label("Name").fill("Tea Notes")
    page.get_by_label("URL").fill("https://tea.example.com")
    page.get_by_role("button", name="Create site").click()
    match = re.search(r"/sites/(\d+)/$", page.url)
    assert match, page.url
    site_id = match.group(1)

    page.locator(".sitenav").get_by_role("link", name="Site", exact=True).click()
    panel = page.locator("#publisher-connection")
    expect(panel.get_by_role("heading", name="Publisher connection")).to_be_visible()
    settings_url = page.url

    panel.get_by_role("button", name="Test connection").click()
    expect(panel.locator("[data-publisher-verdict]")).to_contain_text("Articles can be published.")
    expect(panel.locator('[data-publisher="publisher"]')).to_have_text("static")
    expect(panel.locator('[data-publisher="target"]')).to_contain_text(f"sites/{site_id}")
    expect(panel.get_by_role("button", name="Test connection")).to_be_enabled()
    assert page.url == settings_url  # swapped in place by htmx
    shot(page, "publisher-connection-checked")
