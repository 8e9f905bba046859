"""A site's brand voice set in the browser: the panel on the site settings page saves it,
shows it back, and puts a wrong value's error next to its field."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, Live, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VOICE_SQL = (
    "SELECT voice, words_to_avoid, reading_ease, point_of_view FROM accounts_brandvoice "
    "WHERE site_id=?"
)


@pytest.fixture(scope="module")
def page(browser: Any, live: Live) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    tab.goto(f"{live.url}/login/")
    tab.get_by_label("Username").fill(live.username)
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Log in").click()
    tab.wait_for_url(lambda url: "/login/" not in url)
    yield tab
    context.close()


def test_set_the_brand_voice_of_a_site(page: Any, live: Live) -> None:
    page.goto(f"{live.url}/sites/new/")
    page.get_by_label("Name").fill("Voice Journal")
    page.get_by_role("button", name="Create site").click()
    match = re.search(r"/sites/(\d+)/$", page.url)
    assert match, page.url
    site_id = int(match.group(1))

    page.goto(f"{live.url}/sites/{site_id}/settings/")
    panel = page.locator("#brand-voice")
    expect(panel.get_by_role("heading", name="Brand voice")).to_be_visible()
    panel.get_by_label("Voice", exact=True).fill("Warm, practical, no hype.")
    panel.get_by_label("Words to avoid").fill("synergy\ngame changer, Synergy")
    panel.get_by_label("Point of view").select_option("we")
    panel.get_by_label("Target reading ease").fill("101")
    panel.get_by_role("button", name="Save brand voice").click()
    expect(page.locator("#id_reading_ease_error")).to_be_visible()
    assert live.one(VOICE_SQL, site_id) is None  # nothing saved

    page.locator("#brand-voice").get_by_label("Target reading ease").fill("60")
    page.locator("#brand-voice").get_by_role("button", name="Save brand voice").click()
    expect(page.get_by_text("Brand voice saved.")).to_be_visible()
    row = live.one(VOICE_SQL, site_id)
    assert row["voice"] == "Warm, practical, no hype."
    assert json.loads(row["words_to_avoid"]) == ["synergy", "game changer"]
    assert (row["reading_ease"], row["point_of_view"]) == (60, "we")
    panel = page.locator("#brand-voice")
    expect(panel.get_by_label("Words to avoid")).to_have_value("synergy\ngame changer")
    expect(panel.get_by_label("Point of view")).to_have_value("we")
    expect(panel.get_by_label("Target reading ease")).to_have_value("60")
    shot(page, "brand-voice")
