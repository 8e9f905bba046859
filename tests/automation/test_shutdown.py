"""A worker process asked to stop (`inkline.automation.shutdown`, set from Celery's SIGTERM
handler): the slice in progress starts no new item, commits the AI calls that finish within the
grace time, abandons the others (their holds go back, their items stay pending and are not
counted as attempts), releases the lease and hands the run back; the next slice completes it
with every item done once. The real processes and signals: tests/integration/test_shutdown.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db.models import Sum

from inkline.accounts.models import Account, Site
from inkline.ai.local import LocalProvider
from inkline.ai.types import ArticleIn, ArticleResult
from inkline.automation import engine, tasks
from inkline.automation.services import run_start
from inkline.automation.shutdown import (
    shutdown_deadline,
    shutdown_request,
    shutdown_requested,
    shutdown_reset,
)
from inkline.billing.models import CreditHold, CreditTransaction
from inkline.writer.models import Content, WritingTask
from tests.factories import add_tasks, only_stages

pytestmark = pytest.mark.django_db

TASKS = 5


@pytest.fixture(autouse=True)
def _no_shutdown() -> Iterator[None]:
    shutdown_reset()
    yield
    shutdown_reset()


def assert_books_balance(account: Account) -> None:
    account.refresh_from_db()
    ledger = CreditTransaction.objects.filter(account=account).aggregate(s=Sum("amount"))["s"]
    assert account.credits == ledger
    assert account.credits_held == 0
    assert not CreditHold.objects.filter(account=account, status="open").exists()


def assert_each_task_written_once(site: Site) -> None:
    assert Content.objects.filter(site=site).count() == TASKS
    assert Content.objects.filter(site=site).values("task").distinct().count() == TASKS
    assert (
        CreditTransaction.objects.filter(
            kind="capture", operation_type="content_generation", run__site=site
        ).count()
        == TASKS
    )


def test_the_request_keeps_its_first_deadline() -> None:
    assert not shutdown_requested() and shutdown_deadline() is None
    before = time.monotonic()
    shutdown_request(grace=5)
    first = shutdown_deadline()
    assert first is not None and before + 5 <= first <= time.monotonic() + 5
    shutdown_request(grace=60)  # a second signal does not extend the grace
    assert shutdown_requested() and shutdown_deadline() == first


def test_a_slice_stops_between_items_and_the_next_completes_the_run(
    site: Site, account: Account, settings: Any
) -> None:
    """The stop comes while the second article's call is in flight: that call finishes within
    the grace and is committed, no third call starts, and the lease is free at once."""
    settings.INKLINE_AI_CONCURRENCY = 1
    add_tasks(site, TASKS)
    only_stages(site, 4)
    calls: list[str] = []

    class StoppedDuringTheSecondCall(LocalProvider):
        def write_content(self, brief: ArticleIn) -> ArticleResult:
            calls.append(brief.title)
            if len(calls) == 2:
                shutdown_request(grace=30)
            return super().write_content(brief)

    run = run_start(site=site, wake=False)
    provider = StoppedDuringTheSecondCall()
    result = engine.execute_slice(run_id=run.run_id, provider=provider, slice_seconds=60)

    assert result.outcome == "continue"  # the task enqueues the next slice
    assert len(calls) == 2
    assert Content.objects.filter(site=site).count() == 2  # the call in flight was kept
    run.refresh_from_db()
    assert run.status == "running" and run.lease_owner == "" and run.lease_expires_at is None
    event = run.events.get(code="worker_shutdown")
    assert "stage 4" in event.message and "next worker" in event.message
    assert_books_balance(account)

    shutdown_reset()  # the next worker's process
    done = engine.run_to_end(run_id=run.run_id, provider=LocalProvider())
    assert done.status == "completed", done.stopped_reason
    assert done.recoveries == 0  # handed over, not recovered after the lease expired
    assert_each_task_written_once(site)
    assert_books_balance(account)


def test_calls_still_in_flight_after_the_grace_are_abandoned_not_charged_nor_counted(
    site: Site, account: Account, settings: Any
) -> None:
    settings.INKLINE_AI_CONCURRENCY = 2
    add_tasks(site, TASKS)
    only_stages(site, 4)
    answer = threading.Event()  # the endpoint answers only when the test says so
    started: list[str] = []

    class SlowEndpoint(LocalProvider):
        def write_content(self, brief: ArticleIn) -> ArticleResult:
            started.append(brief.title)
            if len(started) == 2:
                shutdown_request(grace=0.2)
            answer.wait(30)
            return super().write_content(brief)

    run = run_start(site=site, wake=False)
    began = time.monotonic()
    try:
        result = engine.execute_slice(run_id=run.run_id, provider=SlowEndpoint())
        took = time.monotonic() - began
    finally:
        answer.set()  # the abandoned calls' threads end; their answers go nowhere

    assert result.outcome == "continue"
    assert took < 5, took  # the grace (0.2 s) and one look at it, not the calls' 30 s
    assert len(started) == 2  # no call started after the stop
    assert Content.objects.filter(site=site).count() == 0
    assert not WritingTask.objects.filter(site=site, attempts__gt=0).exists()
    assert not CreditTransaction.objects.filter(kind="capture").exists()
    assert CreditHold.objects.filter(status="released").count() == 2
    run.refresh_from_db()
    assert run.lease_owner == "" and run.stage_results["4"]["failed"] == 0
    assert_books_balance(account)

    shutdown_reset()
    done = engine.run_to_end(run_id=run.run_id, provider=LocalProvider())
    assert done.status == "completed", done.stopped_reason
    assert_each_task_written_once(site)
    assert_books_balance(account)


def test_a_stopping_worker_hands_a_new_message_back_without_taking_the_run(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_tasks(site, 1)
    only_stages(site, 4)
    run = run_start(site=site, wake=False)
    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr(tasks.execute_run, "delay", lambda *args: sent.append(args))
    shutdown_request(grace=5)

    assert tasks.execute_run(run.run_id) == "handed back"
    assert sent == [(run.run_id,)]
    run.refresh_from_db()
    assert run.status == "queued" and run.lease_epoch == 0 and run.lease_owner == ""
