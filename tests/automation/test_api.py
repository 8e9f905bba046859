"""The Automation endpoints of API.md: validation, scoping, roles, ordering, schema."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from inkline.accounts.models import Account, Membership, Role, Site
from inkline.automation import services
from inkline.automation.events import event_record
from inkline.automation.models import AutomationConfig
from inkline.automation.selectors import pending_queryset
from inkline.automation.sites import account_create, site_create
from tests.factories import add_keywords, add_tasks

pytestmark = pytest.mark.django_db


def client_for(username: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get(user__username=username)}")
    return client


@pytest.fixture
def api(account: Account) -> APIClient:
    return client_for("owner")


@pytest.fixture
def viewer(account: Account) -> APIClient:
    user = get_user_model().objects.create_user(username="viewer", password="pw")
    Membership.objects.create(user=user, account=account, role=Role.VIEWER)
    Token.objects.create(user=user)
    return client_for("viewer")


@pytest.fixture
def stranger(db: Any) -> APIClient:
    other, _ = account_create(name="Other", username="stranger", password="pw", credits=10)
    site_create(account=other, name="theirs")
    return client_for("stranger")


def test_config_round_trip_and_next_run_at_is_read_only(api: APIClient, site: Site) -> None:
    base = f"/api/v1/sites/{site.pk}/automation/config/"
    config = api.get(base).json()
    assert config["is_enabled"] is False and config["next_run_at"] is None
    assert config["scheduled_time"] == "02:00"
    assert {f"stage_{n}_enabled" for n in range(1, 8)} <= config.keys()
    with time_machine.travel(dt.datetime(2026, 1, 10, 12, tzinfo=dt.UTC), tick=False):
        answer = api.patch(
            base,
            {
                "is_enabled": True,
                "frequency": "weekly",
                "day_of_week": 4,
                "scheduled_time": "07:15",
                "max_tasks_per_run": 5,
                "stage_6_enabled": False,
                "next_run_at": "2000-01-01T00:00:00Z",
            },
            format="json",
        )
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert body["next_run_at"] == "2026-01-16T07:15:00Z"  # Friday, UTC site
    assert body["max_tasks_per_run"] == 5 and body["stage_6_enabled"] is False
    row = AutomationConfig.objects.get(site=site)
    assert row.frequency == "weekly" and row.stage_limit(4) == 5
    # turning it off clears the next run
    assert api.patch(base, {"is_enabled": False}).json()["next_run_at"] is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("scheduled_time", "25:00"),
        ("scheduled_time", "7am"),
        ("frequency", "hourly"),
        ("day_of_week", 7),
        ("day_of_month", 29),
        ("day_of_month", 0),
        ("max_tasks_per_run", -1),
        ("max_credits_per_run", 10**12),
        ("is_enabled", "perhaps"),
    ],
)
def test_bad_config_is_400_naming_the_field(
    api: APIClient, site: Site, field: str, value: Any
) -> None:
    answer = api.patch(f"/api/v1/sites/{site.pk}/automation/config/", {field: value}, format="json")
    assert answer.status_code == 400
    assert list(answer.json()) == [field]
    assert AutomationConfig.objects.get(site=site).is_enabled is False


def test_pipeline_counts_are_the_database_counts(api: APIClient, site: Site) -> None:
    add_keywords(site, ["a b", "c d", "e f"])
    add_tasks(site, 2)
    AutomationConfig.objects.filter(site=site).update(max_keywords_per_run=2)
    body = api.get(f"/api/v1/sites/{site.pk}/automation/pipeline/").json()
    assert [s["stage"] for s in body["stages"]] == [1, 2, 3, 4, 5, 6, 7]
    for stage in body["stages"]:
        assert stage["pending"] == pending_queryset(stage["stage"], site.pk).count()
    assert body["stages"][0]["runs_needed"] == 2 and body["stages"][3]["pending"] == 2
    assert body["active_run"] is None
    run = services.run_start(site=site, wake=False)
    assert api.get(f"/api/v1/sites/{site.pk}/automation/pipeline/").json()["active_run"] == (
        run.run_id
    )


def test_runs_list_is_newest_first_and_paginated(api: APIClient, site: Site) -> None:
    made = []
    with time_machine.travel(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), tick=False) as t:
        for _ in range(3):
            run = services.run_start(site=site, wake=False)
            services.run_cancel(run=run)
            made.append(run.run_id)
            t.shift(dt.timedelta(minutes=1))
    page = api.get(f"/api/v1/sites/{site.pk}/automation/runs/?page_size=2").json()
    assert page["count"] == 3 and page["next"] is not None
    assert [r["run_id"] for r in page["results"]] == made[::-1][:2]
    detail = api.get(f"/api/v1/automation/runs/{made[0]}/").json()
    assert detail["status"] == "cancelled" and detail["site"] == site.pk
    assert set(detail) >= {
        "run_id", "site", "status", "trigger_type", "current_stage", "started_at", "paused_at",
        "resumed_at", "cancelled_at", "completed_at", "initial_snapshot", "stage_results",
        "progress_percent", "items_remaining", "total_credits_used", "stopped_reason",
        "error_message",
    }  # fmt: skip


def test_site_events_newest_first_include_events_outside_runs(api: APIClient, site: Site) -> None:
    with time_machine.travel(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), tick=False) as t:
        run = services.run_start(site=site, wake=False)
        t.shift(dt.timedelta(seconds=5))
        event_record(site_id=site.pk, code="schedule_skipped", message="Skipped.")
    events = api.get(f"/api/v1/sites/{site.pk}/automation/events/").json()["results"]
    assert [e["code"] for e in events] == ["schedule_skipped", "started"]
    assert events[0]["run_id"] is None and events[1]["run_id"] == run.run_id
    run_events = api.get(f"/api/v1/automation/runs/{run.run_id}/events/").json()
    assert [e["code"] for e in run_events] == ["started"]


def test_another_accounts_site_and_runs_are_404(
    api: APIClient, stranger: APIClient, site: Site
) -> None:
    run = services.run_start(site=site, wake=False)
    for path in ("config/", "pipeline/", "runs/", "events/"):
        assert stranger.get(f"/api/v1/sites/{site.pk}/automation/{path}").status_code == 404
    assert stranger.post(f"/api/v1/sites/{site.pk}/automation/runs/").status_code == 404
    for tail in ("", "events/"):
        assert stranger.get(f"/api/v1/automation/runs/{run.run_id}/{tail}").status_code == 404
    for verb in ("pause", "resume", "cancel"):
        assert stranger.post(f"/api/v1/automation/runs/{run.run_id}/{verb}/").status_code == 404
    assert services.selectors.active_run(site.pk) == run


def test_a_viewer_reads_but_cannot_act(viewer: APIClient, site: Site) -> None:
    run = services.run_start(site=site, wake=False)
    assert viewer.get(f"/api/v1/sites/{site.pk}/automation/config/").status_code == 200
    assert viewer.get(f"/api/v1/automation/runs/{run.run_id}/").status_code == 200
    assert viewer.post(f"/api/v1/sites/{site.pk}/automation/runs/").status_code == 403
    answer = viewer.patch(f"/api/v1/sites/{site.pk}/automation/config/", {"is_enabled": True})
    assert answer.status_code == 403
    for verb in ("pause", "cancel"):
        assert viewer.post(f"/api/v1/automation/runs/{run.run_id}/{verb}/").status_code == 403
    run.refresh_from_db()
    assert run.status == "queued"


def test_without_credentials_is_401(site: Site) -> None:
    assert APIClient().get(f"/api/v1/sites/{site.pk}/automation/config/").status_code == 401


def test_the_schema_documents_every_automation_endpoint(api: APIClient) -> None:
    schema = api.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    start = paths["/api/v1/sites/{site_id}/automation/runs/"]["post"]["responses"]
    assert {"201", "409"} <= start.keys()
    for verb in ("pause", "resume", "cancel"):
        assert "409" in paths[f"/api/v1/automation/runs/{{run_id}}/{verb}/"]["post"]["responses"]
    config = paths["/api/v1/sites/{site_id}/automation/config/"]
    assert {"get", "patch"} <= config.keys()
    for path in ("pipeline/", "events/"):
        assert f"/api/v1/sites/{{site_id}}/automation/{path}" in paths
    assert "/api/v1/automation/runs/{run_id}/events/" in paths
