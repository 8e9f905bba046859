"""Screenshots of every page at a desktop and a phone width, for a person to look at:
`make screenshots` (not part of `make test`; the file name keeps pytest from collecting it
on its own). Each page is shot whole into test-artifacts/screens/review/<width>/."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import ARTIFACTS, Live, logged_in
from tests.e2e.test_ui_pages import every_page, page, populate  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WIDTHS = {1280: 900, 390: 844}


@pytest.mark.parametrize("width", list(WIDTHS))
def test_screenshots_of_every_page(browser: Any, page: Any, live: Live, width: int) -> None:  # noqa: F811
    populate(live)
    folder = ARTIFACTS / "review" / str(width)
    folder.mkdir(parents=True, exist_ok=True)
    with logged_in(
        browser,
        live,
        width=width,
        height=WIDTHS[width],
        on_login=lambda tab: tab.screenshot(path=str(folder / "login.png"), full_page=True),
    ) as tab:
        shots = []
        for name, path in every_page(live).items():
            tab.goto(f"{live.url}{path}")
            tab.wait_for_load_state("networkidle")
            target = folder / f"{name}.png"
            tab.screenshot(path=str(target), full_page=True)
            shots.append(target)
        assert all(p.stat().st_size > 0 for p in shots)
        print(f"\n{len(shots) + 1} screenshots in {folder}")
