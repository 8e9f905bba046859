"""What the engine does when an item's commit fails: a constraint violation is a failed
attempt (the paid call is not repeated in a loop), a file written for the item goes with its
rolled-back transaction, and a transient database error ends the slice, never the run."""

from __future__ import annotations

import datetime as dt
import importlib
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Sum

from inkline import clock
from inkline.accounts.models import Account, Site
from inkline.ai.local import LocalProvider
from inkline.ai.types import AIError, ArticleIn, ArticleResult
from inkline.automation import engine, scheduler
from inkline.automation.models import RunEvent
from inkline.automation.runcontext import RunContext
from inkline.automation.selectors import pipeline_pending
from inkline.automation.services import run_start
from inkline.automation.stagerunner import Call, StageRunner
from inkline.automation.stages import STAGE_CLASSES
from inkline.billing import services as billing_services
from inkline.billing.models import CreditHold, CreditTransaction
from inkline.core.errors import InsufficientCredits
from inkline.writer.models import Content, Image, WritingTask
from tests.factories import add_tasks, leased_context, only_stages, run_now

pytestmark = pytest.mark.django_db


class CountingProvider(LocalProvider):
    """Counts the paid calls of stage 4; past `most` of them it refuses (fatal), so an
    engine that repeats calls in a loop fails its test instead of running forever."""

    def __init__(self, most: int = 100) -> None:
        super().__init__()
        self.calls: list[str] = []
        self.most = most

    def write_content(self, brief: ArticleIn) -> ArticleResult:
        self.calls.append(brief.title)
        if len(self.calls) > self.most:
            raise AIError("too many calls", fatal=True)
        return super().write_content(brief)


def assert_books_balance(account: Account) -> None:
    account.refresh_from_db()
    ledger = CreditTransaction.objects.filter(account=account).aggregate(s=Sum("amount"))["s"]
    assert account.credits == ledger
    assert account.credits_held == 0
    assert not CreditHold.objects.filter(account=account, status="open").exists()


def fail_commits(monkeypatch: pytest.MonkeyPatch, stage: int, error: Exception, times: int) -> None:
    """Make stage `stage`'s commit raise `error` the first `times` times (-1: always)."""
    real = STAGE_CLASSES[stage].commit
    left = [times]

    def commit(site_id: int, item: Any, result: Any) -> Any:
        if left[0]:
            left[0] -= 1
            raise error
        return real(site_id, item, result)

    monkeypatch.setattr(STAGE_CLASSES[stage], "commit", commit)


# --- a constraint violation is a failed attempt ------------------------------------------------
@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_constraint_violation_fails_the_attempt_and_the_call_is_not_repeated(
    site: Site,
    account: Account,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
    concurrency: int,
) -> None:
    settings.INKLINE_AI_CONCURRENCY = concurrency
    add_tasks(site, 3)
    only_stages(site, 4)
    violation = IntegrityError("UNIQUE constraint failed: writer_content.slug")
    fail_commits(monkeypatch, 4, violation, times=-1)
    provider = CountingProvider(most=12)

    run = run_now(site, provider)
    assert run.status == "failed", run.stopped_reason  # nothing was done: every item failed
    assert run.stopped_reason.startswith("Nothing was done: 3 failures")
    assert len(provider.calls) == 3  # once per item, not until the slice ends
    assert run.stage_results["4"]["failed"] == 3 and run.stage_results["4"]["processed"] == 0
    for task in WritingTask.objects.filter(site=site):
        assert task.attempts == 1
        assert "could not be stored" in task.last_error and "UNIQUE" in task.last_error
    assert run.events.filter(code="item_failed", level=RunEvent.Level.WARNING).count() == 3
    assert account.credits == 100_000
    assert_books_balance(account)

    run_now(site, provider)
    run_now(site, provider)
    assert len(provider.calls) == 9
    assert set(WritingTask.objects.values_list("attempts", flat=True)) == {3}
    assert pipeline_pending(site.pk)[4] == 0  # out of the pending set after the last attempt
    run_now(site, provider)
    assert len(provider.calls) == 9
    assert_books_balance(account)


def test_a_duplicate_capture_key_means_someone_else_did_the_item(
    site: Site, account: Account, provider: LocalProvider
) -> None:
    """The one IntegrityError that is not a failure: the item's capture key is already in the
    ledger (another executor committed it). No attempt is counted; the hold goes back."""
    (task,) = add_tasks(site, 1)
    only_stages(site, 4)
    run = run_start(site=site, wake=False)
    ctx = leased_context(site, run, provider)
    CreditTransaction.objects.create(
        account=account,
        at=clock.now(),
        kind="capture",
        amount=0,
        balance_after=account.credits,
        idempotency_key=f"{run.run_id}:4:{task.pk}",
        description="captured by another executor",
    )
    runner = StageRunner(ctx, STAGE_CLASSES[4])
    item = STAGE_CLASSES[4].next_item(site.pk, set(), None)
    assert item is not None
    hold = runner.reserve(item)
    future: Future[Any] = Future()
    future.set_result(STAGE_CLASSES[4].call(provider, item))

    assert runner.settle(Call(item=item, hold=hold, future=future)) is None
    task.refresh_from_db()
    assert task.attempts == 0 and task.status == "queued"  # rolled back, not failed
    assert not Content.objects.filter(task=task).exists()
    assert runner.next_item(None) is None  # not taken again in this slice
    assert_books_balance(account)


# --- files go with their rolled-back transaction ----------------------------------------------
@pytest.mark.parametrize(
    "refusal",
    [InsufficientCredits("The credit hold for this item expired"), IntegrityError("CHECK")],
    ids=["hold-expired", "constraint"],
)
def test_an_image_whose_capture_fails_leaves_no_file(
    site: Site,
    account: Account,
    provider: LocalProvider,
    settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    refusal: Exception,
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    add_tasks(site, 1)
    only_stages(site, 4, 5)
    run_now(site, provider)
    images = Image.objects.filter(site=site)
    assert images.count() >= 1 and not any(tmp_path.rglob("*.*"))

    stored: list[str] = []
    real_capture = billing_services.credit_capture

    def capture(**kwargs: Any) -> int:  # called right after the image file is stored
        stored.extend(p.name for p in tmp_path.rglob("*.png"))
        real_capture(**kwargs)
        raise refusal

    monkeypatch.setattr(billing_services, "credit_capture", capture)
    only_stages(site, 6)
    run = run_now(site, provider)

    # a refused constraint fails every image (nothing was done); an expired hold means another
    # executor took the items over: no failure
    failed = isinstance(refusal, IntegrityError)
    assert run.status == ("failed" if failed else "completed"), run.stopped_reason
    assert stored  # the file was there inside the transaction
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]
    assert set(images.values_list("status", flat=True)) == {"pending"}
    assert set(images.values_list("file", flat=True)) == {""}
    assert_books_balance(account)


# --- a transient database error ends the slice, not the run -----------------------------------
def test_a_database_error_in_a_commit_ends_the_slice_and_the_run_goes_on(
    site: Site, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks = add_tasks(site, 4)
    only_stages(site, 4)
    fail_commits(monkeypatch, 4, OperationalError("database is locked"), times=1)
    slices: list[str] = []
    run = run_start(site=site, wake=False)
    run = engine.run_to_end(
        run_id=run.run_id, provider=CountingProvider(), on_slice=lambda r: slices.append(r.outcome)
    )

    assert run.status == "completed", run.stopped_reason
    assert slices == ["continue", "finished"]
    assert run.recoveries == 1
    event = run.events.get(code="database_error")
    assert event.level == RunEvent.Level.WARNING
    assert "database is locked" in event.message and "recovery 1 of 5" in event.message
    assert Content.objects.filter(site=site).count() == 4
    assert all(t.attempts == 0 for t in WritingTask.objects.filter(pk__in=[t.pk for t in tasks]))
    captures = CreditTransaction.objects.filter(run=run, kind="capture")
    assert captures.count() == 4  # each item charged once; the rolled-back one redone
    assert run.total_credits_used == -sum(c.amount for c in captures) > 0
    assert_books_balance(account)


def test_a_database_that_keeps_failing_fails_the_run_after_the_recovery_bound(
    site: Site, account: Account, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.INKLINE_MAX_RECOVERIES = 2
    add_tasks(site, 3)
    only_stages(site, 4)
    fail_commits(monkeypatch, 4, OperationalError("database is locked"), times=-1)
    provider = CountingProvider()

    run = run_now(site, provider)

    assert run.status == "failed"
    assert run.recoveries == 2
    assert "the database failed 3 times" in run.stopped_reason
    assert "database is locked" in run.error_message
    assert run.events.filter(code="database_error").count() == 2
    assert run.events.filter(code="failed").count() == 1
    # the items are not blamed: their attempts stay, they are pending for the next run
    assert set(WritingTask.objects.values_list("attempts", flat=True)) == {0}
    assert pipeline_pending(site.pk)[4] == 3
    assert 3 <= len(provider.calls) <= 3 * 3 * 2  # a few calls per slice, three slices
    assert_books_balance(account)


def test_a_lost_connection_while_reading_the_status_ends_the_slice(
    site: Site, account: Account, provider: LocalProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_tasks(site, 3)
    only_stages(site, 4)
    real_status = RunContext.status
    reads = [0]

    def status(self: RunContext) -> str:
        reads[0] += 1
        if reads[0] == 3:  # a status read of stage 4
            raise InterfaceError("connection already closed")
        return real_status(self)

    monkeypatch.setattr(RunContext, "status", status)
    run = run_now(site, provider)

    assert run.status == "completed", run.stopped_reason
    assert run.recoveries == 1
    assert "connection already closed" in run.events.get(code="database_error").message
    assert Content.objects.filter(site=site).count() == 3
    assert_books_balance(account)


def test_a_run_picked_up_after_a_database_error_is_not_failed_by_the_reconciler(
    site: Site, account: Account, provider: LocalProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The slice that met the error released its lease: the run is not a lost worker."""
    add_tasks(site, 2)
    only_stages(site, 4)
    fail_commits(monkeypatch, 4, OperationalError("deadlock detected"), times=1)
    run = run_start(site=site, wake=False)
    assert engine.execute_slice(run_id=run.run_id, provider=provider).outcome == "continue"
    run.refresh_from_db()
    assert run.lease_owner == "" and run.status == "running"
    later = clock.now() + dt.timedelta(hours=1)
    report = scheduler.runs_reconcile(now=later, wake=False)
    assert run.run_id not in report.failed
    assert engine.run_to_end(run_id=run.run_id, provider=provider).status == "completed"
    assert_books_balance(account)


@pytest.fixture
def default_costs(transactional_db: Any) -> None:
    """The costs the data migration seeds (a transactional test flushes them)."""
    importlib.import_module("inkline.billing.migrations.0002_default_costs").seed(apps, None)


@pytest.mark.django_db(transaction=True)  # another connection must hold a real lock
def test_a_real_lock_held_by_another_connection_ends_the_slice_not_the_run(
    default_costs: None, site: Site, account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not an injected exception: while stage 4's AI call runs, another connection takes the
    task's row (PostgreSQL: its row lock, the wait bounded by a short `lock_timeout`; SQLite:
    the database's write lock, bounded by a short busy timeout), so the commit meets the
    database's own error. The lock goes when the slice gives back its holds."""
    (task,) = add_tasks(site, 1)
    only_stages(site, 4)
    locked, release = threading.Event(), threading.Event()

    def hold_the_row() -> None:
        try:
            with transaction.atomic():
                WritingTask.objects.filter(pk=task.pk).update(last_error="held elsewhere")
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_row)

    class LockingProvider(LocalProvider):
        def write_content(self, brief: ArticleIn) -> ArticleResult:
            if not holder.is_alive() and not locked.is_set():
                holder.start()
                assert locked.wait(10)
            return super().write_content(brief)

    real_release = StageRunner.release_open_holds

    def release_open_holds(self: StageRunner, reason: str) -> None:
        release.set()
        holder.join(10)
        real_release(self, reason)

    monkeypatch.setattr(StageRunner, "release_open_holds", release_open_holds)
    short_wait, usual_wait = {
        "postgresql": ("SET lock_timeout = '100ms'", "RESET lock_timeout"),
        "sqlite": ("PRAGMA busy_timeout = 100", "PRAGMA busy_timeout = 30000"),
    }[connection.vendor]
    with connection.cursor() as cursor:
        cursor.execute(short_wait)
    try:
        run = run_now(site, LockingProvider())
    finally:
        release.set()
        with connection.cursor() as cursor:
            cursor.execute(usual_wait)

    assert locked.is_set() and not holder.is_alive()
    assert run.status == "completed", run.stopped_reason
    assert run.recoveries == 1
    message = run.events.get(code="database_error").message
    assert "OperationalError" in message and ("locked" in message or "lock timeout" in message)
    assert Content.objects.filter(task=task).count() == 1
    assert CreditTransaction.objects.filter(run=run, kind="capture").count() == 1
    assert_books_balance(account)
