"""The site settings page's "AI connection" panel: the last check of the AI endpoint (what it
can do, its problems with their fixes, when), and "Test connection" for owners and editors,
which checks now, stores the answer and re-renders the panel (htmx) or the page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client

from inkline.accounts.models import Account, Role, Site
from inkline.ai import registry
from inkline.automation.models import AutomationConfig
from inkline.automation.sites import account_create, site_update
from tests.ai.fake_check import BASE_URL, UNREACHABLE, FakeCheckProvider
from tests.web.builders import member

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 12, 6, 12, 0, 5, tzinfo=dt.UTC)
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def owner(client: Client, account: Account) -> Client:
    client.login(username="owner", password="pw")
    return client


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeCheckProvider:
    provider = FakeCheckProvider()
    monkeypatch.setattr(registry, "get_provider", lambda name=None: provider)
    return provider


def cell(html: str, name: str) -> str:
    match = re.search(rf'<td data-ai="{name}">(.*?)</td>', html, re.S)
    assert match, f"no {name} in the panel"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def panel_of(html: str) -> str:
    match = re.search(r'<section class="card ai-check" id="ai-connection".*?</section>', html, re.S)
    assert match, "no AI connection panel"
    return match.group(0)


def test_never_checked_then_tested_with_htmx(
    owner: Client, site: Site, fake: FakeCheckProvider
) -> None:
    url = f"/sites/{site.pk}/settings/"
    panel = panel_of(owner.get(url).content.decode())
    assert "has not been checked for this site yet" in panel
    assert f'hx-post="/sites/{site.pk}/settings/ai-check/"' in panel
    assert "Test connection" in panel and "csrfmiddlewaretoken" in panel

    site_update(site=site, timezone="Europe/Paris")
    with time_machine.travel(NOON, tick=False):
        answer = owner.post(f"/sites/{site.pk}/settings/ai-check/", **HTMX)
    assert answer.status_code == 200
    html = answer.content.decode()
    assert html.lstrip().startswith('<section class="card ai-check" id="ai-connection"')
    assert "<html" not in html  # the panel alone, swapped in place
    assert fake.calls == 1
    assert cell(html, "provider") == "openai"
    assert cell(html, "endpoint") == BASE_URL
    assert cell(html, "reachable") == "yes" and cell(html, "auth") == "yes"
    assert cell(html, "model") == "gemma-3-270m-it [q4]"
    assert cell(html, "structured_output") == "JSON mode, with the schema in the prompt json_object"
    assert cell(html, "images").startswith("no: stage 6 is skipped")
    assert 'data-problem="no_images"' in html and "Fix: Turn stage 6 off" in html
    assert "ready" in html and "Runs can use this endpoint." in html
    assert "Sun 6 Dec 2026, 13:00:05" in html  # in the site's time zone
    assert 'datetime="2026-12-06T13:00:05+01:00"' in html
    assert "Test connection" in html  # the button stays, for the next test

    stored = AutomationConfig.objects.get(site=site).ai_check
    assert stored["structured_output"] == "json_object"
    assert stored["checked_at"] == NOON.isoformat()
    # the page shows the stored check from now on
    assert cell(owner.get(url).content.decode(), "model") == "gemma-3-270m-it [q4]"


def test_problems_are_shown_as_text_with_their_fixes(
    owner: Client, site: Site, fake: FakeCheckProvider
) -> None:
    fake.answer = UNREACHABLE
    html = owner.post(f"/sites/{site.pk}/settings/ai-check/", **HTMX).content.decode()
    assert "not usable" in html and "Runs would fail" in html
    assert cell(html, "reachable") == "no" and cell(html, "model") == "none"
    assert cell(html, "structured_output") == "none worked"
    assert 'data-problem="unreachable"' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert "Fix: Start the server or correct OPENAI_BASE_URL." in html


def test_without_javascript_the_button_posts_the_form_and_the_page_comes_back(
    owner: Client, site: Site, fake: FakeCheckProvider
) -> None:
    answer = owner.post(f"/sites/{site.pk}/settings/ai-check/", follow=True)
    assert answer.redirect_chain == [(f"/sites/{site.pk}/settings/", 302)]
    html = answer.content.decode()
    assert "AI connection checked: runs can use this endpoint." in html
    assert cell(panel_of(html), "structured_output").endswith("json_object")

    fake.answer = UNREACHABLE
    html = owner.post(f"/sites/{site.pk}/settings/ai-check/", follow=True).content.decode()
    assert "AI connection checked: runs would fail; see the problems." in html


def test_the_real_local_provider(owner: Client, site: Site) -> None:
    html = owner.post(f"/sites/{site.pk}/settings/ai-check/", **HTMX).content.decode()
    assert cell(html, "provider") == "local" and cell(html, "endpoint") == "built in"
    assert cell(html, "structured_output").endswith("json_schema")
    assert cell(html, "images") == "yes"
    assert "ai-problems" not in html


def test_the_form_needs_its_csrf_token(
    account: Account, site: Site, fake: FakeCheckProvider
) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.login(username="owner", password="pw")
    page = browser.get(f"/sites/{site.pk}/settings/").content.decode()
    url = f"/sites/{site.pk}/settings/ai-check/"
    assert browser.post(url, **HTMX).status_code == 403
    assert fake.calls == 0
    token = re.search(r"\"X-CSRFToken\": \"([^\"]+)\"", page)
    assert token, "the page gives htmx its token"
    assert browser.post(url, HTTP_X_CSRFTOKEN=token.group(1), **HTMX).status_code == 200
    assert fake.calls == 1


def test_viewers_see_the_last_check_without_the_button(
    client: Client, account: Account, site: Site, fake: FakeCheckProvider
) -> None:
    member(account, "vera", Role.VIEWER)
    client.login(username="vera", password="pw")
    url = f"/sites/{site.pk}/settings/ai-check/"
    assert client.post(url, **HTMX).status_code == 403
    assert fake.calls == 0
    assert AutomationConfig.objects.get(site=site).ai_check == {}
    panel = panel_of(client.get(f"/sites/{site.pk}/settings/").content.decode())
    assert "has not been checked for this site yet." in panel
    assert "Test connection" not in panel and "<form" not in panel

    editor = Client()
    member(account, "ed", Role.EDITOR)
    editor.login(username="ed", password="pw")
    assert editor.post(url, **HTMX).status_code == 200  # editors may
    panel = panel_of(client.get(f"/sites/{site.pk}/settings/").content.decode())
    assert cell(panel, "model") == "gemma-3-270m-it [q4]"
    assert "Test connection" not in panel


def test_only_post_and_never_another_accounts_site(
    client: Client, owner: Client, site: Site, fake: FakeCheckProvider
) -> None:
    url = f"/sites/{site.pk}/settings/ai-check/"
    assert owner.get(url).status_code == 405
    account_create(name="Other", username="mallory", password="pw")
    client.login(username="mallory", password="pw")
    assert client.post(url, **HTMX).status_code == 404
    assert fake.calls == 0
