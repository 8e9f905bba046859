"""Every page: renders for its account, hides and refuses changes for viewers, hides other
accounts' objects, and costs a fixed number of queries whatever the data size."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from inkline.accounts.models import Account, Site
from inkline.automation.models import AutomationRun
from inkline.automation.services import run_start
from inkline.automation.sites import account_create, site_create
from inkline.writer.models import Content
from tests.web.builders import member, populate

pytestmark = pytest.mark.django_db

# name → path builder (site, run, content); every page a user can open.
PAGES: dict[str, Callable[[Site, AutomationRun, Content], str]] = {
    "dashboard": lambda s, r, c: f"/sites/{s.pk}/",
    "live": lambda s, r, c: f"/sites/{s.pk}/live/",
    "automation": lambda s, r, c: f"/sites/{s.pk}/automation/",
    "keywords": lambda s, r, c: f"/sites/{s.pk}/keywords/",
    "clusters": lambda s, r, c: f"/sites/{s.pk}/clusters/",
    "ideas": lambda s, r, c: f"/sites/{s.pk}/ideas/",
    "tasks": lambda s, r, c: f"/sites/{s.pk}/tasks/",
    "review": lambda s, r, c: f"/sites/{s.pk}/review/",
    "run": lambda s, r, c: f"/runs/{r.run_id}/",
    "run_live": lambda s, r, c: f"/runs/{r.run_id}/live/",
    "publishing": lambda s, r, c: f"/sites/{s.pk}/publishing/",
    "preview": lambda s, r, c: f"/sites/{s.pk}/publishing/preview/?scheduling_mode=immediate",
    "budget": lambda s, r, c: f"/sites/{s.pk}/ai-budget/",
}
# name → (path builder, form data) of every change a user can post.
ACTIONS: dict[str, tuple[Callable[[Site, AutomationRun, Content], str], dict[str, Any]]] = {
    "run_start": (lambda s, r, c: f"/sites/{s.pk}/runs/", {}),
    "pause": (lambda s, r, c: f"/runs/{r.run_id}/pause/", {}),
    "resume": (lambda s, r, c: f"/runs/{r.run_id}/resume/", {}),
    "cancel": (lambda s, r, c: f"/runs/{r.run_id}/cancel/", {}),
    "approve": (lambda s, r, c: f"/content/{c.pk}/approve/", {}),
    "reject": (lambda s, r, c: f"/content/{c.pk}/reject/", {"reason": "no"}),
    "automation": (lambda s, r, c: f"/sites/{s.pk}/automation/", {"frequency": "daily"}),
    "keywords": (lambda s, r, c: f"/sites/{s.pk}/keywords/", {}),
    "publishing": (lambda s, r, c: f"/sites/{s.pk}/publishing/", {"queue_limit": "5"}),
    "budget": (lambda s, r, c: f"/sites/{s.pk}/ai-budget/", {"use_global_defaults": "false"}),
}


@pytest.fixture
def owner(client: Client, account: Account) -> Client:
    client.login(username="owner", password="pw")
    return client


@pytest.fixture
def data(site: Site) -> tuple[Site, AutomationRun, Content]:
    populate(site, 3)
    run = run_start(site=site, wake=False)
    content = Content.objects.filter(site=site, status="review").first()
    assert content is not None
    return site, run, content


@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_for_the_owner(
    owner: Client, data: tuple[Site, AutomationRun, Content], name: str
) -> None:
    response = owner.get(PAGES[name](*data))
    assert response.status_code == 200
    assert data[0].name in response.content.decode() or name in ("live", "run_live", "preview")


def test_anonymous_users_are_sent_to_the_login_page(client: Client, site: Site) -> None:
    response = client.get(f"/sites/{site.pk}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")
    assert client.get("/login/").status_code == 200


def test_login_lands_on_the_dashboard_of_the_first_site(client: Client, account: Account) -> None:
    second = site_create(account=account, name="zeta")
    first = site_create(account=account, name="alpha")
    response = client.post("/login/", {"username": "owner", "password": "pw"}, follow=True)
    assert response.redirect_chain[-1][0] == f"/sites/{first.pk}/"
    assert second.pk != first.pk
    bad = client.post("/logout/") and client.post("/login/", {"username": "owner", "password": "x"})
    assert bad.status_code == 200
    assert "Please enter a correct username and password" in bad.content.decode()


def test_home_without_a_site_invites_to_create_one(owner: Client) -> None:
    response = owner.get("/")
    assert response.status_code == 200
    assert "Create your first site" in response.content.decode()


def test_viewer_sees_no_action_buttons(
    client: Client, account: Account, data: tuple[Site, AutomationRun, Content]
) -> None:
    site, run, _ = data
    member(account, "watcher")
    client.login(username="watcher", password="pw")
    pages = {name: client.get(build(*data)).content.decode() for name, build in PAGES.items()}
    assert "/pause/" not in pages["dashboard"] and "/cancel/" not in pages["dashboard"]
    assert f"/runs/{run.run_id}/" in pages["dashboard"]  # the run is shown, not its controls
    run.status = "completed"
    run.save()
    dashboard = client.get(f"/sites/{site.pk}/").content.decode()
    assert "Run now" not in dashboard and '/runs/"' not in dashboard
    assert "/approve/" not in pages["review"] and "/reject/" not in pages["review"]
    assert "Review 0" in pages["review"]
    assert "Save settings" not in pages["automation"] and "disabled" in pages["automation"]
    assert "Import from CSV" not in pages["keywords"] and "keyword 1" in pages["keywords"]
    assert "New site" not in pages["dashboard"]
    assert "Save publishing settings" not in pages["publishing"]
    assert "Save budget" not in pages["budget"] and "budget-form" in pages["budget"]


@pytest.mark.parametrize("name", ACTIONS)
def test_viewer_changes_are_refused(
    client: Client, account: Account, data: tuple[Site, AutomationRun, Content], name: str
) -> None:
    member(account, "watcher")
    client.login(username="watcher", password="pw")
    build, form = ACTIONS[name]
    before = (AutomationRun.objects.count(), data[1].status, data[2].status)
    refused = client.post(build(*data), form)
    assert refused.status_code == 403
    assert "Viewers can look but not change anything." in refused.content.decode()
    data[1].refresh_from_db()
    data[2].refresh_from_db()
    assert (AutomationRun.objects.count(), data[1].status, data[2].status) == before
    assert client.post("/sites/new/", {"name": "x", "timezone": "UTC"}).status_code == 403


@pytest.fixture
def foreign() -> tuple[Site, AutomationRun, Content]:
    other, _ = account_create(name="Other", username="other", password="pw")
    site = site_create(account=other, name="theirs")
    populate(site, 1)
    run = run_start(site=site, wake=False)
    content = Content.objects.get(site=site, status="review")
    return site, run, content


@pytest.mark.parametrize("name", PAGES)
def test_another_accounts_pages_are_404(
    owner: Client, foreign: tuple[Site, AutomationRun, Content], name: str
) -> None:
    assert owner.get(PAGES[name](*foreign)).status_code == 404
    assert owner.get(f"/runs/{foreign[1].run_id}/log/").status_code == 404


@pytest.mark.parametrize("name", ACTIONS)
def test_another_accounts_objects_cannot_be_changed(
    owner: Client, foreign: tuple[Site, AutomationRun, Content], name: str
) -> None:
    build, form = ACTIONS[name]
    assert owner.post(build(*foreign), form).status_code == 404
    run, content = foreign[1], foreign[2]
    run.refresh_from_db()
    content.refresh_from_db()
    assert (run.status, content.status) == ("queued", "review")


@pytest.mark.parametrize("name", PAGES)
def test_each_page_makes_a_fixed_number_of_queries(
    owner: Client, account: Account, name: str, django_assert_max_num_queries: Any
) -> None:
    small = site_create(account=account, name="small")
    large = site_create(account=account, name="large")
    populate(small, 2)
    populate(large, 40)
    pairs = []
    for site in (small, large):
        run = AutomationRun.objects.filter(site=site).order_by("-id").first()
        content = Content.objects.filter(site=site, status="review").first()
        assert run is not None and content is not None
        pairs.append(PAGES[name](site, run, content))
    with CaptureQueriesContext(connection) as baseline:
        assert owner.get(pairs[0]).status_code == 200
    with django_assert_max_num_queries(len(baseline.captured_queries)):
        assert owner.get(pairs[1]).status_code == 200


def test_credits_page_makes_a_fixed_number_of_queries(client: Client) -> None:
    counts = []
    for name, n in (("small", 2), ("large", 60)):
        account, _ = account_create(name=name, username=name, password="pw", credits=10)
        populate(site_create(account=account, name=name), n)
        client.login(username=name, password="pw")
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/credits/").status_code == 200
        counts.append(len(queries.captured_queries))
    assert counts[1] <= counts[0]
