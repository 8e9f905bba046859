"""What the engine does when an item's commit fails: a constraint violation is a failed
attempt (the paid call is not repeated in a loop), and a file written for the item goes with
its rolled-back transaction."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from django.db import IntegrityError
from django.db.models import Sum

from inkline import clock
from inkline.accounts.models import Account, Site
from inkline.ai.local import LocalProvider
from inkline.ai.types import AIError, ArticleIn, ArticleResult
from inkline.automation.models import RunEvent
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
    assert run.status == "completed", run.stopped_reason
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

    assert run.status == "completed", run.stopped_reason
    assert stored  # the file was there inside the transaction
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]
    assert set(images.values_list("status", flat=True)) == {"pending"}
    assert set(images.values_list("file", flat=True)) == {""}
    assert_books_balance(account)
