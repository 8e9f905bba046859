"""The site switcher's HTML is rendered once per process for each content (`{% cache %}`
keyed by everything it shows): it follows renames, new sites, the page's site and the
user's role at once, and equals a fresh rendering."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from inkline.accounts.models import Account, Role, Site
from inkline.automation.sites import site_create, site_update
from tests.web.builders import member

pytestmark = pytest.mark.django_db

SWITCHER = re.compile(r'<details class="switcher">.*?</details>', re.S)
ITEM = re.compile(r'<li><a href="([^"]+)"( aria-current="page")?>([^<]*)</a></li>')


def switcher(browser: Client, path: str) -> str:
    response = browser.get(path)
    assert response.status_code == 200
    found = SWITCHER.search(response.content.decode())
    assert found is not None
    return found.group(0)


def items(html: str) -> list[tuple[str, str, bool]]:
    return [(name, href, bool(current)) for href, current, name in ITEM.findall(html)]


@pytest.fixture
def owner(account: Account) -> Client:
    browser = Client()
    assert browser.login(username="owner", password="pw")
    return browser


def test_the_switcher_follows_new_sites_renames_and_the_pages_site(
    owner: Client, account: Account, site: Site
) -> None:
    other = site_create(account=account, name="alpha")
    first = switcher(owner, f"/sites/{site.pk}/")
    assert items(first) == [
        ("alpha", f"/sites/{other.pk}/", False),
        ("blog", f"/sites/{site.pk}/", True),
    ]
    assert "<summary>blog</summary>" in first and "+ New site" in first
    assert switcher(owner, f"/sites/{site.pk}/keywords/") == first  # the same, reused

    site_update(site=other, name="zulu")
    assert [i[0] for i in items(switcher(owner, f"/sites/{site.pk}/"))] == ["blog", "zulu"]
    on_other = switcher(owner, f"/sites/{other.pk}/")
    assert items(on_other)[1] == ("zulu", f"/sites/{other.pk}/", True)
    assert "<summary>zulu</summary>" in on_other
    site_create(account=account, name="mid")
    assert [i[0] for i in items(switcher(owner, f"/sites/{site.pk}/"))] == ["blog", "mid", "zulu"]


def test_a_viewer_gets_no_new_site_link_from_an_owners_cached_switcher(
    owner: Client, account: Account, site: Site
) -> None:
    assert "+ New site" in switcher(owner, f"/sites/{site.pk}/")
    member(account, "reader", Role.VIEWER)
    viewer = Client()
    assert viewer.login(username="reader", password="pw")
    html = switcher(viewer, f"/sites/{site.pk}/")
    assert "+ New site" not in html
    assert items(html) == [("blog", f"/sites/{site.pk}/", True)]


def test_the_reused_switcher_equals_a_fresh_rendering(
    owner: Client, account: Account, site: Site, settings: Any
) -> None:
    site_create(account=account, name='Café <&> "quotes"')
    switcher(owner, f"/sites/{site.pk}/")
    reused = switcher(owner, f"/sites/{site.pk}/")
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    fresh = switcher(owner, f"/sites/{site.pk}/")
    assert reused == fresh
    assert "Café &lt;&amp;&gt; &quot;quotes&quot;" in fresh
