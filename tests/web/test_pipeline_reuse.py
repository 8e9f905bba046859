"""Pages that poll the pipeline reuse a site's pending counts for a moment (issue #9): never
past INKLINE_PIPELINE_CACHE_SECONDS, never across a run's progress or a change made through
the services (an import, a review decision, a retry), and never at all when the setting
is 0."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from inkline.accounts.models import Account, Role, Site
from inkline.automation.models import RunStatus
from inkline.automation.selectors import pipeline_pending
from inkline.automation.sites import site_create
from inkline.planner.models import Keyword
from tests.factories import add_keywords, add_tasks, only_stages, run_now
from tests.web.builders import member

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def site(account: Account) -> Site:
    return site_create(account=account, name="Roastery")


@pytest.fixture
def api(account: Account) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get(user__username='owner')}")
    return client


def pending(api: APIClient, site: Site) -> dict[int, int]:
    response = api.get(f"/api/v1/sites/{site.pk}/automation/pipeline/")
    assert response.status_code == 200
    return {row["stage"]: row["pending"] for row in response.json()["stages"]}


def test_counts_changed_outside_the_services_are_reused_for_at_most_the_set_seconds(
    site: Site, api: APIClient, settings: Any
) -> None:
    settings.INKLINE_PIPELINE_CACHE_SECONDS = 2
    with time_machine.travel(START, tick=False) as traveller:
        add_keywords(site, ["v60 recipe", "chemex grind size"])
        assert pending(api, site)[1] == 2
        Keyword.objects.create(site=site, phrase="moka pot ratio")  # outside any run
        traveller.shift(1.9)
        assert pending(api, site)[1] == 2  # reused
        traveller.shift(0.2)
        assert pending(api, site)[1] == 3 == pipeline_pending(site.pk)[1]


def test_a_runs_progress_is_seen_at_once(site: Site, api: APIClient, settings: Any) -> None:
    settings.INKLINE_PIPELINE_CACHE_SECONDS = 60
    add_tasks(site, 4)
    only_stages(site, 4, max_tasks_per_run=3)
    with time_machine.travel(START, tick=False):
        assert pending(api, site)[4] == 4
        run = run_now(site)  # the clock stands still: only the run's state tells it moved
        assert run.status == RunStatus.COMPLETED
        assert pending(api, site)[4] == 1 == pipeline_pending(site.pk)[4]


def test_the_dashboard_shows_the_reused_counts_then_the_database_count(
    site: Site, settings: Any, django_assert_max_num_queries: Any
) -> None:
    settings.INKLINE_PIPELINE_CACHE_SECONDS = 1
    web = Client()
    web.login(username="owner", password="pw")
    with time_machine.travel(START, tick=False) as traveller:
        add_keywords(site, ["v60 recipe"])
        first = web.get(f"/sites/{site.pk}/").content.decode()
        assert "<strong data-pending>1</strong>" in first
        Keyword.objects.create(site=site, phrase="moka pot ratio")
        # Session, user, sites, newest run: the counts, estimates and runs are skipped.
        with django_assert_max_num_queries(4):
            again = web.get(f"/sites/{site.pk}/live/").content.decode()
        assert "<strong data-pending>1</strong>" in again
        traveller.shift(1.01)
        fresh = web.get(f"/sites/{site.pk}/live/").content.decode()
        assert "<strong data-pending>2</strong>" in fresh


def test_zero_seconds_turns_reuse_off(site: Site, api: APIClient, settings: Any) -> None:
    settings.INKLINE_PIPELINE_CACHE_SECONDS = 0
    with time_machine.travel(START, tick=False):
        add_keywords(site, ["v60 recipe"])
        assert pending(api, site)[1] == 1
        Keyword.objects.create(site=site, phrase="moka pot ratio")
        assert pending(api, site)[1] == 2


def test_an_import_a_review_decision_and_a_retry_are_seen_at_once(
    site: Site, api: APIClient, settings: Any
) -> None:
    from inkline.automation.retry import items_retry
    from inkline.writer.models import Content

    settings.INKLINE_PIPELINE_CACHE_SECONDS = 600
    with time_machine.travel(START, tick=False) as traveller:
        assert pending(api, site)[1] == 0
        csv = b"keyword\nv60 recipe\nchemex grind size\n"
        upload = SimpleUploadedFile("k.csv", csv, content_type="text/csv")
        imported = api.post(
            f"/api/v1/sites/{site.pk}/keywords/import/", {"file": upload}, format="multipart"
        )
        assert imported.status_code == 200, imported.content
        assert pending(api, site)[1] == 2  # the import raised the site's version

        Keyword.objects.filter(site=site).update(attempts=3)  # both failed three times
        assert pending(api, site)[1] == 2  # a write behind the services' back: reused...
        traveller.shift(601)
        assert pending(api, site)[1] == 0  # ...until the counts expire
        assert items_retry(site=site, stage=1) == 2
        assert pending(api, site)[1] == 2 == pipeline_pending(site.pk)[1]

        add_tasks(site, 1)
        only_stages(site, 4, 5, 6, 7)
        settings.INKLINE_PIPELINE_CACHE_SECONDS = 0
        run_now(site)
        settings.INKLINE_PIPELINE_CACHE_SECONDS = 600
        held = Content.objects.get(site=site)
        Content.objects.filter(pk=held.pk).update(status=Content.Status.REVIEW)
        assert pending(api, site)[7] == 1  # counted now, and kept for 600 s
        rejected = api.post(f"/api/v1/content/{held.pk}/reject/", {}, format="json")
        assert rejected.status_code == 200, rejected.content
        assert pending(api, site)[7] == 0 == pipeline_pending(site.pk)[7]


def _token_of(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, "the live part has no form token"
    return match.group(1)


def test_a_reused_live_part_carries_each_sessions_own_form_token(
    site: Site, account: Account, settings: Any
) -> None:
    settings.INKLINE_PIPELINE_CACHE_SECONDS = 60
    member(account, "editor", Role.EDITOR)
    owner, editor = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    owner.login(username="owner", password="pw")
    editor.login(username="editor", password="pw")
    with time_machine.travel(START, tick=False):
        first = owner.get(f"/sites/{site.pk}/").content.decode()
        reused = editor.get(f"/sites/{site.pk}/live/").content.decode()
        assert _token_of(first) != _token_of(reused)
        # The editor's form works with the token the reused HTML carries for them...
        started = editor.post(f"/sites/{site.pk}/runs/", {"csrfmiddlewaretoken": _token_of(reused)})
        assert started.status_code == 302
        assert site.runs.count() == 1
        # ...and a token meant for another session is refused.
        refused = owner.post(f"/sites/{site.pk}/runs/", {"csrfmiddlewaretoken": _token_of(reused)})
        assert refused.status_code == 403


def test_settings_changes_show_at_once_and_times_in_the_sites_zone(
    site: Site, settings: Any
) -> None:
    from inkline.automation.services import config_update, run_cancel, run_start

    settings.INKLINE_PIPELINE_CACHE_SECONDS = 600
    web = Client()
    web.login(username="owner", password="pw")
    with time_machine.travel(START, tick=False):
        add_keywords(site, ["v60 recipe"])
        assert "Per-run limit: unlimited" in web.get(f"/sites/{site.pk}/live/").content.decode()
        config_update(site=site, data={"max_keywords_per_run": 7})
        assert "Per-run limit: 7" in web.get(f"/sites/{site.pk}/live/").content.decode()
        site.timezone = "Asia/Kolkata"
        site.save(update_fields=["timezone"])
        run_cancel(run=run_start(site=site, by="owner", wake=False), by="owner")
        live = web.get(f"/sites/{site.pk}/live/").content.decode()
        page = web.get(f"/sites/{site.pk}/").content.decode()
        # 12:00 UTC is 17:30 in Kolkata, on the polled part as on the page.
        assert "ended 28 Nov, 17:30" in live
        assert "ended 28 Nov, 17:30" in page
