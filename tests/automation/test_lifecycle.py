"""The seed's "Automation Flow" checklist, through the public API and the beat tick.

- manual run starts, pauses, resumes, completes
- manual run cancels, the site is free, a new run starts at once
- a scheduled run starts on time
- a scheduled run is skipped while a manual run is paused
- resume after a 7+ hour pause works
- per-run limits are respected; the rest is done by the next run
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.db.models import Count, Sum
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from inkline.accounts.models import Account, Site
from inkline.ai.local import LocalProvider
from inkline.ai.types import ArticleIn, ArticleResult
from inkline.automation import engine, scheduler, services
from inkline.automation.events import RunEventAlerts, run_log_path
from inkline.automation.models import AutomationConfig, AutomationRun
from inkline.automation.scheduler import automation_tick
from inkline.automation.sites import site_create
from inkline.billing.models import CreditHold, CreditTransaction
from inkline.billing.services import credit_reserve
from inkline.writer.models import Content, WritingTask
from tests.factories import add_tasks, only_stages

pytestmark = pytest.mark.django_db

UTC = dt.UTC


@pytest.fixture
def api(account: Account) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get(user__username='owner')}")
    return client


def url(site: Site, tail: str) -> str:
    return f"/api/v1/sites/{site.pk}/automation/{tail}"


def run_url(run_id: str, tail: str = "") -> str:
    return f"/api/v1/automation/runs/{run_id}/{tail}"


def assert_books_balance(account: Account, site: Site) -> None:
    """Nothing written twice, nothing charged twice, every credit explained."""
    account.refresh_from_db()
    ledger = CreditTransaction.objects.filter(account=account)
    assert account.credits == ledger.aggregate(s=Sum("amount"))["s"]
    assert account.credits_held == (
        CreditHold.objects.filter(account=account, status="open").aggregate(s=Sum("amount"))["s"]
        or 0
    )
    keys = ledger.filter(kind="capture").values("idempotency_key").annotate(n=Count("id"))
    assert all(row["n"] == 1 for row in keys)
    writes = ledger.filter(kind="capture", operation_type="content_generation").count()
    assert writes == Content.objects.filter(site=site).count()
    assert Content.objects.filter(site=site).values("task").distinct().count() == writes


class CallingProvider(LocalProvider):
    """Does `action` just before its n-th article (a user clicking while the run works)."""

    def __init__(self, n: int, action: Any) -> None:
        super().__init__()
        self.n, self.action, self.calls = n, action, 0

    def write_content(self, brief: ArticleIn) -> ArticleResult:
        self.calls += 1
        if self.calls == self.n:
            self.action()
        return super().write_content(brief)


def execute(run_id: str, provider: LocalProvider | None = None) -> AutomationRun:
    engine.execute_slice(run_id=run_id, provider=provider or LocalProvider())
    return AutomationRun.objects.get(run_id=run_id)


@pytest.fixture
def one_at_a_time(settings: Any) -> None:
    settings.INKLINE_AI_CONCURRENCY = 1


# --- manual runs ------------------------------------------------------------------------------
@pytest.mark.usefixtures("one_at_a_time")
@pytest.mark.django_db(transaction=True)  # the clicks come from the engine's AI thread
def test_manual_run_starts_pauses_resumes_and_completes(
    api: APIClient, site: Site, account: Account
) -> None:
    add_tasks(site, 5)
    only_stages(site, 4)
    started = api.post(url(site, "runs/"))
    assert started.status_code == 201, started.json()
    run_id = started.json()["run_id"]
    assert started.json()["status"] == "queued"
    assert started.json()["trigger_type"] == "manual"
    assert started.json()["initial_snapshot"]["stage_4"] == 5

    def pause() -> None:
        assert api.post(run_url(run_id, "pause/")).json()["status"] == "paused"

    run = execute(run_id, CallingProvider(3, pause))
    assert run.status == "paused"
    assert run.stage_results["4"]["processed"] == 3  # the call in flight finishes, no more
    assert run.paused_at is not None and run.lease_owner == ""

    # a paused run is not executable: a stray wake-up does nothing
    assert engine.execute_slice(run_id=run_id).outcome == "busy"
    resumed = api.post(run_url(run_id, "resume/"))
    assert resumed.status_code == 200 and resumed.json()["status"] == "running"
    run = engine.run_to_end(run_id=run_id, provider=LocalProvider())

    assert run.status == "completed" and run.progress_percent == 100
    detail = api.get(run_url(run_id)).json()
    assert detail["status"] == "completed"
    assert detail["stage_results"]["4"]["processed"] == 5
    assert detail["items_remaining"]["stage_4"] == 0
    events = api.get(run_url(run_id, "events/")).json()
    codes = [e["code"] for e in events]
    assert codes[0] == "started" and codes[-1] == "completed"
    assert codes.index("paused") < codes.index("resumed")
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    assert set(events[0]) >= {"at", "stage", "level", "message"}
    lines = run_log_path(run_id).read_text().splitlines()
    assert len(lines) == len(events)
    assert any("paused by owner" in line for line in lines)
    assert WritingTask.objects.filter(site=site, status="queued").count() == 0
    assert_books_balance(account, site)


@pytest.mark.usefixtures("one_at_a_time")
@pytest.mark.django_db(transaction=True)  # the clicks come from the engine's AI thread
def test_cancel_keeps_the_work_frees_the_site_and_a_new_run_starts_at_once(
    api: APIClient, site: Site, account: Account
) -> None:
    add_tasks(site, 6)
    only_stages(site, 4)
    run_id = api.post(url(site, "runs/")).json()["run_id"]
    refused = api.post(url(site, "runs/"))
    assert refused.status_code == 409
    assert refused.json()["code"] == "run_active" and refused.json()["run_id"] == run_id

    def cancel() -> None:
        assert api.post(run_url(run_id, "cancel/")).status_code == 200

    run = execute(run_id, CallingProvider(2, cancel))
    assert run.status == "cancelled" and run.cancelled_at is not None
    assert "Cancelled by owner" in run.stopped_reason
    assert Content.objects.filter(site=site).count() == 2  # what was produced is kept
    assert api.get(url(site, "pipeline/")).json()["active_run"] is None

    again = api.post(url(site, "runs/"))
    assert again.status_code == 201
    assert again.json()["initial_snapshot"]["stage_4"] == 4
    run = engine.run_to_end(run_id=again.json()["run_id"], provider=LocalProvider())
    assert run.status == "completed" and run.stage_results["4"]["processed"] == 4
    assert_books_balance(account, site)


def test_invalid_transitions_are_409_and_change_nothing(api: APIClient, site: Site) -> None:
    run_id = api.post(url(site, "runs/")).json()["run_id"]
    answer = api.post(run_url(run_id, "resume/"))
    assert answer.status_code == 409
    assert answer.json()["code"] == "invalid_transition" and answer.json()["status"] == "queued"
    assert api.post(run_url(run_id, "cancel/")).status_code == 200
    for verb in ("pause", "resume", "cancel"):
        answer = api.post(run_url(run_id, f"{verb}/"))
        assert answer.status_code == 409, verb
        assert answer.json()["code"] == "invalid_transition"
    assert AutomationRun.objects.get(run_id=run_id).status == "cancelled"


def test_a_run_paused_before_it_started_gets_its_start_time_on_resume(site: Site) -> None:
    run = services.run_start(site=site, wake=False)
    services.run_pause(run=run)
    run = services.run_resume(run=run, wake=False)
    assert run.status == "running" and run.started_at is not None


@pytest.mark.usefixtures("one_at_a_time")
@pytest.mark.django_db(transaction=True)  # the clicks come from the engine's AI thread
def test_resume_after_a_seven_hour_pause_completes(
    api: APIClient, site: Site, account: Account
) -> None:
    add_tasks(site, 4)
    only_stages(site, 4, 5, 6, 7)
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as traveller:
        run_id = api.post(url(site, "runs/")).json()["run_id"]

        def pause() -> None:
            api.post(run_url(run_id, "pause/"))

        run = execute(run_id, CallingProvider(2, pause))
        assert run.status == "paused"
        # A dead worker's lease, holds that outlived it: seven and a half hours pass.
        traveller.shift(dt.timedelta(hours=7, minutes=30))
        report = automation_tick(wake=False)
        assert run_id not in report.recovered + report.requeued + report.failed  # paused
        assert api.post(run_url(run_id, "resume/")).status_code == 200
        run = engine.run_to_end(run_id=run_id, provider=LocalProvider())
        assert run.status == "completed", run.error_message
        assert run.resumed_at == start + dt.timedelta(hours=7, minutes=30)
    assert Content.objects.filter(site=site, status="approved").count() == 4
    assert run.stage_results["4"]["processed"] == 4
    assert_books_balance(account, site)


def test_per_run_limits_through_the_api_and_the_next_run_takes_the_rest(
    api: APIClient, site: Site, account: Account
) -> None:
    add_tasks(site, 7)
    only_stages(site, 4)
    assert api.patch(url(site, "config/"), {"max_tasks_per_run": 3}).status_code == 200
    stage_4 = api.get(url(site, "pipeline/")).json()["stages"][3]
    assert (stage_4["pending"], stage_4["limit"], stage_4["runs_needed"]) == (7, 3, 3)
    processed = []
    for _ in range(3):
        run_id = api.post(url(site, "runs/")).json()["run_id"]
        run = engine.run_to_end(run_id=run_id, provider=LocalProvider())
        processed.append(run.stage_results["4"]["processed"])
    assert processed == [3, 3, 1]
    assert api.get(url(site, "pipeline/")).json()["stages"][3]["pending"] == 0
    assert_books_balance(account, site)


# --- scheduled runs ---------------------------------------------------------------------------
def enable_schedule(api: APIClient, site: Site, **fields: Any) -> dict[str, Any]:
    answer = api.patch(url(site, "config/"), {"is_enabled": True, **fields}, format="json")
    assert answer.status_code == 200, answer.json()
    return dict(answer.json())


def test_a_scheduled_run_starts_on_time_in_the_site_timezone(api: APIClient, site: Site) -> None:
    Site.objects.filter(pk=site.pk).update(timezone="Europe/London")
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, 0, tzinfo=UTC), tick=False) as t:
        config = enable_schedule(api, site, scheduled_time="06:30", next_run_at="2000-01-01")
        assert config["scheduled_time"] == "06:30"
        due = dt.datetime(2026, 6, 2, 5, 30, tzinfo=UTC)  # 06:30 BST
        assert dt.datetime.fromisoformat(config["next_run_at"]) == due
        t.move_to(due - dt.timedelta(seconds=1))
        assert automation_tick(wake=False).started == []
        t.move_to(due + dt.timedelta(seconds=5))
        report = automation_tick(wake=False)
        assert len(report.started) == 1
        run = AutomationRun.objects.get(run_id=report.started[0])
        assert run.trigger_type == "scheduled" and run.status == "queued"
        assert "2026-06-02 06:30 BST" in run.events.get(code="started").message
        assert automation_tick(wake=False).started == []  # the slot is taken once
    config_row = AutomationConfig.objects.get(site=site)
    assert config_row.next_run_at == due + dt.timedelta(days=1)


def test_a_scheduled_run_is_skipped_while_a_manual_run_is_paused(
    api: APIClient, site: Site
) -> None:
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, 0, tzinfo=UTC), tick=False) as t:
        enable_schedule(api, site, scheduled_time="02:00")
        manual = api.post(url(site, "runs/")).json()["run_id"]
        api.post(run_url(manual, "pause/"))
        t.move_to(dt.datetime(2026, 6, 2, 2, 0, 30, tzinfo=UTC))
        report = automation_tick(wake=False)
        assert report.started == [] and report.skipped == [site.pk]
        assert AutomationRun.objects.filter(site=site).count() == 1
        events = api.get(url(site, "events/")).json()["results"]
        assert events[0]["code"] == "schedule_skipped"  # newest first
        assert manual in events[0]["message"] and "paused" in events[0]["message"]
        assert events[0]["run_id"] is None
        next_run = AutomationConfig.objects.get(site=site).next_run_at
        assert next_run == dt.datetime(2026, 6, 3, 2, 0, tzinfo=UTC)
        # once the manual run is over, the next slot starts normally
        api.post(run_url(manual, "cancel/"))
        t.move_to(next_run)
        assert len(automation_tick(wake=False).started) == 1


def test_after_downtime_only_one_catch_up_run(api: APIClient, site: Site) -> None:
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, 0, tzinfo=UTC), tick=False) as t:
        enable_schedule(api, site, scheduled_time="02:00")
        t.move_to(dt.datetime(2026, 6, 5, 9, 0, tzinfo=UTC))  # four slots missed
        report = automation_tick(wake=False)
        assert len(report.started) == 1
        run = AutomationRun.objects.get(run_id=report.started[0])
        assert "catch-up" in run.events.get(code="started").message
        services.run_cancel(run=run)
        assert automation_tick(wake=False).started == []
    config = AutomationConfig.objects.get(site=site)
    assert config.next_run_at == dt.datetime(2026, 6, 6, 2, 0, tzinfo=UTC)


class DownProvider(LocalProvider):
    def write_content(self, brief: ArticleIn) -> ArticleResult:
        from inkline.ai.types import AIError

        raise AIError("connection refused")


def test_three_failed_scheduled_runs_in_a_row_turn_the_schedule_off(
    api: APIClient, site: Site
) -> None:
    add_tasks(site, 20)
    only_stages(site, 4)
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, 0, tzinfo=UTC), tick=False) as t:
        enable_schedule(api, site, scheduled_time="02:00")
        for day in (2, 3, 4):
            t.move_to(dt.datetime(2026, 6, day, 2, 0, 1, tzinfo=UTC))
            (run_id,) = automation_tick(wake=False).started
            assert engine.run_to_end(run_id=run_id, provider=DownProvider()).status == "failed"
        t.move_to(dt.datetime(2026, 6, 5, 2, 0, 1, tzinfo=UTC))
        report = automation_tick(wake=False)
        assert report.disabled == [site.pk] and report.started == []
        config = api.get(url(site, "config/")).json()
        assert config["is_enabled"] is False and config["next_run_at"] is None
        event = api.get(url(site, "events/")).json()["results"][0]
        assert event["code"] == "schedule_disabled" and event["level"] == "error"
        assert "3 scheduled runs failed in a row" in event["message"]
        # the user fixes the cause and turns it back on: the streak starts again
        config = enable_schedule(api, site)
        assert config["next_run_at"] is not None
        assert AutomationConfig.objects.get(site=site).consecutive_failures == 0


def test_a_completed_scheduled_run_resets_the_failure_streak(api: APIClient, site: Site) -> None:
    add_tasks(site, 12)
    only_stages(site, 4)
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, 0, tzinfo=UTC), tick=False) as t:
        enable_schedule(api, site, scheduled_time="02:00")
        for day, provider in ((2, DownProvider()), (3, DownProvider()), (4, LocalProvider())):
            t.move_to(dt.datetime(2026, 6, day, 2, 0, 1, tzinfo=UTC))
            (run_id,) = automation_tick(wake=False).started
            engine.run_to_end(run_id=run_id, provider=provider)
        t.move_to(dt.datetime(2026, 6, 5, 2, 0, 1, tzinfo=UTC))
        assert len(automation_tick(wake=False).started) == 1
    assert AutomationConfig.objects.get(site=site).consecutive_failures == 0


# --- recovery ---------------------------------------------------------------------------------
def test_the_reconciler_recovers_a_dead_workers_run_then_gives_up_with_a_reason(
    site: Site, account: Account, settings: Any
) -> None:
    settings.INKLINE_MAX_RECOVERIES = 2
    add_tasks(site, 2)
    only_stages(site, 4)
    run = services.run_start(site=site, wake=False)
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, 0, tzinfo=UTC), tick=False) as t:
        for attempt in (1, 2, 3):
            lease = engine.lease_acquire(run_id=run.run_id, owner=f"dead-{attempt}")
            assert lease is not None and lease.epoch == attempt
            credit_reserve(
                account_id=account.pk,
                amount=7,
                operation_type="content_generation",
                site_id=site.pk,
                run_id=run.pk,
                run_cap=0,
                alerts=RunEventAlerts(run.pk),
            )
            assert automation_tick(wake=False).recovered == []  # the lease is still live
            t.shift(dt.timedelta(seconds=settings.INKLINE_RUN_LEASE_SECONDS + 1))
            report = automation_tick(wake=False)
            run.refresh_from_db()
            if attempt <= 2:
                assert report.recovered == [run.run_id]
                assert run.recoveries == attempt and run.lease_owner == ""
                assert run.status == "queued"
            else:
                assert report.failed == [run.run_id]
    assert run.status == "failed" and run.completed_at is not None
    assert "worker executing it was lost 3 times" in run.stopped_reason
    assert run.events.filter(code="recovered").count() == 2
    account.refresh_from_db()
    assert account.credits_held == 0  # the dead workers' holds are given back
    assert services.run_start(site=site, wake=False).status == "queued"  # the site is free


def test_a_lost_wake_up_is_sent_again_without_counting_a_recovery(
    site: Site, settings: Any
) -> None:
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, 0, tzinfo=UTC), tick=False) as t:
        run = services.run_start(site=site, wake=False)
        assert automation_tick(wake=False).requeued == []
        t.shift(dt.timedelta(seconds=settings.INKLINE_RUN_LEASE_SECONDS + 1))
        assert automation_tick(wake=False).requeued == [run.run_id]
        assert automation_tick(wake=False).requeued == []  # once per lease period
        run.refresh_from_db()
        assert run.recoveries == 0
        assert engine.run_to_end(run_id=run.run_id, provider=LocalProvider()).status == "completed"


def test_a_stale_worker_cannot_write_after_the_run_was_taken_over(
    site: Site, account: Account, settings: Any
) -> None:
    """Two executors, the first presumed dead: only the one holding the newest epoch writes."""
    add_tasks(site, 3)
    only_stages(site, 4)
    run = services.run_start(site=site, wake=False)
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, 0, tzinfo=UTC), tick=False) as t:
        stale = engine.lease_acquire(run_id=run.run_id, owner="stale")
        assert stale is not None
        t.shift(dt.timedelta(seconds=settings.INKLINE_RUN_LEASE_SECONDS + 1))
        assert automation_tick(wake=False).recovered == [run.run_id]
        fresh = engine.lease_acquire(run_id=run.run_id, owner="fresh")
        assert fresh is not None and fresh.epoch > stale.epoch
        assert engine.lease_acquire(run_id=run.run_id, owner="third") is None
        assert not AutomationRun.objects.filter(pk=run.pk, lease_epoch=stale.epoch).exists()
        engine.lease_release(fresh)
        assert engine.run_to_end(run_id=run.run_id, provider=LocalProvider()).status == "completed"
    assert_books_balance(account, site)


def test_one_sites_broken_schedule_does_not_stop_the_others(
    api: APIClient, site: Site, account: Account
) -> None:
    other = site_create(account=account, name="second")
    for each in (site, other):
        services.config_update(site=each, data={"is_enabled": True})
    due = AutomationConfig.objects.get(site=site).next_run_at
    assert due is not None
    real_start = scheduler.run_start

    def start(*, site: Site, **kwargs: Any) -> AutomationRun:
        if site.name == "blog":
            raise RuntimeError("disk full")
        return real_start(site=site, **kwargs)

    with (
        time_machine.travel(due + dt.timedelta(seconds=1), tick=False),
        mock.patch.object(scheduler, "run_start", start),
    ):
        report = automation_tick(wake=False)
    assert [AutomationRun.objects.get(run_id=r).site for r in report.started] == [other]
    event = api.get(url(site, "events/")).json()["results"][0]
    assert event["code"] == "schedule_error" and event["level"] == "error"
    assert AutomationConfig.objects.get(site=site).next_run_at > due  # the next slot is kept
