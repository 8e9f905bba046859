"""Screenshots of every page at a desktop and a phone width, for a person to look at:
`make screenshots` (not part of `make test`; the file name keeps pytest from collecting it
on its own). Each page is shot whole into test-artifacts/screens/review/<width>/."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import ARTIFACTS, PASSWORD, Live
from tests.e2e.test_ui_pages import every_page, page, populate  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WIDTHS = {1280: 900, 390: 844}


@pytest.mark.parametrize("width", list(WIDTHS))
def test_screenshots_of_every_page(browser: Any, page: Any, live: Live, width: int) -> None:  # noqa: F811
    populate(live)
    folder = ARTIFACTS / "review" / str(width)
    folder.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(
        viewport={"width": width, "height": WIDTHS[width]}, is_mobile=width < 600
    )
    context.set_default_timeout(15_000)
    tab = context.new_page()
    try:
        tab.goto(f"{live.url}/login/")
        tab.screenshot(path=str(folder / "login.png"), full_page=True)
        tab.get_by_label("Username").fill(live.username)
        tab.get_by_label("Password").fill(PASSWORD)
        tab.get_by_role("button", name="Log in").click()
        tab.wait_for_url(lambda url: "/login/" not in url)
        shots = []
        for name, path in every_page(live).items():
            tab.goto(f"{live.url}{path}")
            tab.wait_for_load_state("networkidle")
            target = folder / f"{name}.png"
            tab.screenshot(path=str(target), full_page=True)
            shots.append(target)
        assert all(p.stat().st_size > 0 for p in shots)
        print(f"\n{len(shots) + 1} screenshots in {folder}")
    finally:
        context.close()
