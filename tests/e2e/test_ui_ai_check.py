"""The "AI connection" panel of the site settings page in a browser: never checked, then
"Test connection" checks the configured (local) provider in place, without leaving the page,
and the panel shows what the endpoint can do; the answer is stored for the site."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Live, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_test_connection_shows_what_the_endpoint_can_do(page: Any, live: Live) -> None:
    page.goto(f"{live.url}/sites/new/")
    page.get_by_label("Name").fill("Coffee Notes")
    page.get_by_label("URL").fill("https://coffee.example.com")
    page.get_by_role("button", name="Create site").click()
    match = re.search(r"/sites/(\d+)/$", page.url)
    assert match, page.url
    site_id = int(match.group(1))

    page.locator(".sitenav").get_by_role("link", name="Site", exact=True).click()
    panel = page.locator("#ai-connection")
    expect(panel.get_by_role("heading", name="AI connection")).to_be_visible()
    expect(panel).to_contain_text("has not been checked for this site yet")
    settings_url = page.url

    panel.get_by_role("button", name="Test connection").click()
    # A web process's first check loads the local provider's libraries (numpy, scikit-learn):
    # seconds on a busy machine, before the check itself.
    expect(panel.locator('[data-ai="model"]')).to_have_text("local-1", timeout=60_000)
    expect(panel.locator('[data-ai="structured_output"]')).to_contain_text("JSON schema")
    expect(panel.locator('[data-ai="images"]')).to_have_text("yes")
    expect(panel.locator('[data-ai="reachable"]')).to_have_text("yes")
    expect(panel.locator("[data-ai-verdict]")).to_contain_text("Runs can use this endpoint.")
    expect(panel.locator('[data-ai="checked_at"]')).to_contain_text("Checked")
    expect(panel.get_by_role("button", name="Test connection")).to_be_enabled()
    # swapped in place by htmx: no navigation, no page-level message
    assert page.url == settings_url
    expect(page.get_by_text("AI connection checked:")).to_have_count(0)
    shot(page, "ai-connection-checked")

    stored = live.one(
        "SELECT c.ai_check FROM automation_automationconfig c WHERE c.site_id=?", site_id
    )
    document = json.loads(stored)
    assert document["ok"] is True and document["model"] == "local-1"
    assert document["structured_output"] == "json_schema"

    # a reload shows the stored check; a second test replaces it
    page.reload()
    expect(panel.locator('[data-ai="model"]')).to_have_text("local-1")
    before = document["checked_at"]
    panel.get_by_role("button", name="Test connection").click()
    live.wait_for(
        "SELECT json_extract(ai_check, '$.checked_at') <> ? FROM automation_automationconfig "
        "WHERE site_id=?",
        before,
        site_id,
        expect=1,
    )
