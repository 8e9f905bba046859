"""A paused or cancelled run tells the truth while the AI calls in flight settle: the API says
`settling` until the worker has recorded them and let go; then its figures are final and equal
the database, and the stage it left says so (a cancelled stage ends with a status and an
event)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db.models import Sum
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from inkline import clock
from inkline.accounts.models import Account, Site
from inkline.ai.local import LocalProvider
from inkline.ai.types import ArticleIn, ArticleResult
from inkline.automation import engine, services
from inkline.automation.models import AutomationRun
from inkline.billing.models import CreditTransaction
from inkline.writer.models import Content
from tests.factories import add_tasks, only_stages

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(account: Account) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get(user__username='owner')}")
    return client


class ClickingProvider(LocalProvider):
    """Does `action` inside its n-th article's call: a user clicking while a call is in
    flight; the call then finishes and must be recorded."""

    def __init__(self, n: int, action: Any) -> None:
        super().__init__()
        self.n, self.action, self.calls = n, action, 0

    def write_content(self, brief: ArticleIn) -> ArticleResult:
        self.calls += 1
        if self.calls == self.n:
            self.action()
        return super().write_content(brief)


def run_url(run_id: str, tail: str = "") -> str:
    return f"/api/v1/automation/runs/{run_id}/{tail}"


def run_credits_in_ledger(run: AutomationRun) -> int:
    captured = CreditTransaction.objects.filter(run_id=run.pk, kind="capture")
    return -int(captured.aggregate(s=Sum("amount"))["s"] or 0)


@pytest.fixture
def one_at_a_time(settings: Any) -> None:
    settings.INKLINE_AI_CONCURRENCY = 1


@pytest.mark.usefixtures("one_at_a_time")
@pytest.mark.django_db(transaction=True)  # the click comes from the engine's AI thread
def test_a_cancel_with_a_call_in_flight_settles_then_is_final(api: APIClient, site: Site) -> None:
    add_tasks(site, 6)
    only_stages(site, 4)
    run_id = api.post(f"/api/v1/sites/{site.pk}/automation/runs/").json()["run_id"]
    answers: list[dict[str, Any]] = []

    def cancel() -> None:
        answer = api.post(run_url(run_id, "cancel/"))
        assert answer.status_code == 200
        answers.append(answer.json())

    engine.execute_slice(run_id=run_id, provider=ClickingProvider(2, cancel))
    at_cancel = answers[0]
    # The status is the contract's; the worker still holds the run with a call in flight.
    assert at_cancel["status"] == "cancelled" and at_cancel["settling"] is True
    # The first article may still be committing (it overlaps the second call): at most 1.
    assert at_cancel["stage_results"]["4"]["processed"] <= 1
    assert at_cancel["estimated_seconds_remaining"] is None

    run = AutomationRun.objects.get(run_id=run_id)
    detail = api.get(run_url(run_id)).json()
    assert detail["settling"] is False and run.lease_owner == ""
    result = detail["stage_results"]["4"]
    assert result["processed"] == 2 == Content.objects.filter(site=site).count()  # recorded
    assert result["status"] == "cancelled" and result["seconds"] > 0
    assert detail["total_credits_used"] == result["credits_used"] == run_credits_in_ledger(run)
    assert detail["total_credits_used"] > at_cancel["total_credits_used"]
    assert detail["progress_percent"] >= at_cancel["progress_percent"]
    events = api.get(run_url(run_id, "events/")).json()
    codes = [e["code"] for e in events]
    assert codes.index("cancelled") < codes.index("stage_end")
    end = events[codes.index("stage_end")]
    assert end["stage"] == 4 and "cancelled: 2 processed" in end["message"]
    assert f"{result['credits_used']} credits" in end["message"]
    # Nothing changes afterwards: the figures are final.
    assert engine.execute_slice(run_id=run_id).outcome == "busy"
    assert api.get(run_url(run_id)).json() == detail


@pytest.mark.usefixtures("one_at_a_time")
@pytest.mark.django_db(transaction=True)  # the click comes from the engine's AI thread
def test_a_pause_settles_says_where_it_stopped_and_resumes(api: APIClient, site: Site) -> None:
    add_tasks(site, 4)
    only_stages(site, 4)
    run_id = api.post(f"/api/v1/sites/{site.pk}/automation/runs/").json()["run_id"]
    answers: list[dict[str, Any]] = []

    def pause() -> None:
        answers.append(api.post(run_url(run_id, "pause/")).json())

    engine.execute_slice(run_id=run_id, provider=ClickingProvider(3, pause))
    assert answers[0]["status"] == "paused" and answers[0]["settling"] is True
    detail = api.get(run_url(run_id)).json()
    assert detail["status"] == "paused" and detail["settling"] is False
    assert detail["stage_results"]["4"]["processed"] == 3
    assert "status" not in detail["stage_results"]["4"]  # the stage goes on after resume
    events = api.get(run_url(run_id, "events/")).json()
    paused = [e for e in events if e["code"] == "stage_paused"]
    assert len(paused) == 1 and "paused: 3 processed" in paused[0]["message"]

    api.post(run_url(run_id, "resume/"))
    run = engine.run_to_end(run_id=run_id, provider=LocalProvider())
    assert run.status == "completed"
    assert run.stage_results["4"]["status"] == "done" and run.stage_results["4"]["processed"] == 4


@pytest.mark.usefixtures("one_at_a_time")
@pytest.mark.django_db(transaction=True)  # the click comes from the engine's AI thread
def test_cancelling_a_paused_run_ends_its_stage(api: APIClient, site: Site) -> None:
    add_tasks(site, 4)
    only_stages(site, 4)
    run_id = api.post(f"/api/v1/sites/{site.pk}/automation/runs/").json()["run_id"]
    engine.execute_slice(
        run_id=run_id, provider=ClickingProvider(2, lambda: api.post(run_url(run_id, "pause/")))
    )
    answer = api.post(run_url(run_id, "cancel/")).json()
    assert answer["status"] == "cancelled" and answer["settling"] is False  # no worker holds it
    assert answer["stage_results"]["4"]["status"] == "cancelled"
    events = api.get(run_url(run_id, "events/")).json()
    assert [e["stage"] for e in events if e["code"] == "stage_end"] == [4]


def test_a_lease_left_by_a_dead_worker_stops_settling_when_it_expires(site: Site) -> None:
    run = services.run_start(site=site, wake=False)
    run = services.run_cancel(run=run)
    assert run.settling is False
    now = clock.now()
    AutomationRun.objects.filter(pk=run.pk).update(
        lease_owner="w1", lease_expires_at=now + dt.timedelta(minutes=1)
    )
    run.refresh_from_db()
    assert run.settling is True
    AutomationRun.objects.filter(pk=run.pk).update(lease_expires_at=now - dt.timedelta(seconds=1))
    run.refresh_from_db()
    assert run.settling is False


@pytest.mark.usefixtures("one_at_a_time")
@pytest.mark.django_db(transaction=True)  # the look comes from the engine's AI thread
def test_a_running_run_estimates_its_time_left(api: APIClient, site: Site) -> None:
    add_tasks(site, 5)
    only_stages(site, 4)
    run_id = api.post(f"/api/v1/sites/{site.pk}/automation/runs/").json()["run_id"]
    seen: list[Any] = []
    engine.execute_slice(
        run_id=run_id,
        provider=ClickingProvider(
            3, lambda: seen.append(api.get(run_url(run_id)).json()["estimated_seconds_remaining"])
        ),
    )
    assert isinstance(seen[0], int) and seen[0] >= 0  # two of five done: measured
    done = api.get(run_url(run_id)).json()
    assert done["status"] == "completed" and done["estimated_seconds_remaining"] is None
