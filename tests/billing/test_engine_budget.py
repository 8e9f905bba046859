"""Credits through real runs of the engine with the local provider: per-run caps, budget stops,
alerts, crash recovery and failed calls."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import Future
from typing import Any

import pytest
import time_machine
from django.conf import settings

from inkline import clock
from inkline.accounts.models import Account, Site
from inkline.ai.local import LocalProvider
from inkline.ai.types import AIError, ArticleIn, ArticleResult, Usage
from inkline.automation import engine
from inkline.automation.models import AutomationRun, RunStatus
from inkline.automation.selectors import pipeline_summary
from inkline.automation.stagerunner import Call, StageRunner
from inkline.automation.stages import STAGE_CLASSES
from inkline.billing.models import CreditHold, CreditTransaction, RunBudget
from inkline.writer.models import Content, WritingTask
from tests.billing.helpers import assert_books_balance, capped_run, set_cost
from tests.factories import COFFEE, add_keywords, add_tasks, leased_context, only_stages

pytestmark = pytest.mark.django_db


def spent_by(run: AutomationRun, operation: str | None = None) -> int:
    rows = CreditTransaction.objects.filter(run=run, kind="capture")
    if operation:
        rows = rows.filter(operation_type=operation)
    return -sum(rows.values_list("amount", flat=True))


def test_an_operation_budget_stops_its_stage_and_later_stages_go_on(
    site: Site, account: Account, provider: LocalProvider
) -> None:
    add_tasks(site, 10)
    only_stages(site, 4, 5)
    run = capped_run(site, 100)  # global split: content 40, image prompts 5
    run = engine.run_to_end(run_id=run.run_id, provider=provider)

    assert run.status == "completed"
    content = run.stage_results["4"]
    assert content["status"] == "stopped"
    assert content["note"] == "content_generation budget spent: 40 of 40 credits."
    assert spent_by(run, "content_generation") == content["credits_used"] == 40
    written = Content.objects.filter(site=site).count()
    assert 3 <= written < 10  # ~9 credits an article
    assert WritingTask.objects.filter(site=site, status="queued").count() == 10 - written
    # the later stage went on with its own share (1 credit a call, 5 credits)
    prompts = run.stage_results["5"]
    assert prompts["processed"] == min(written, 5)
    assert spent_by(run, "image_prompt_extraction") == prompts["processed"] <= 5
    assert "content_generation budget spent: 40 of 40 credits." in run.stopped_reason
    assert run.events.filter(code="stage_stopped", stage=4).exists()
    assert run.total_credits_used == spent_by(run) <= 100
    assert_books_balance(account)

    # what is left is taken by the next run, with a budget of its own
    second = engine.run_to_end(run_id=capped_run(site, 100).run_id, provider=provider)
    assert second.stage_results["4"]["processed"] > 0
    assert spent_by(second, "content_generation") <= 40


def test_cap_alerts_are_events_of_the_run(site: Site, provider: LocalProvider) -> None:
    add_tasks(site, 6)
    only_stages(site, 4)
    run = capped_run(
        site,
        30,
        clustering=0,
        idea_generation=0,
        content_generation=100,
        image_prompt_extraction=0,
        image_generation=0,
    )
    run = engine.run_to_end(run_id=run.run_id, provider=provider)
    assert spent_by(run) == 30
    assert run.alerts == ["cap_80", "cap_100"]
    codes = list(run.events.values_list("code", flat=True))
    assert codes.index("cap_80") < codes.index("cap_100") < codes.index("completed")


def test_without_a_cap_nothing_is_limited_but_the_balance(
    site: Site, account: Account, provider: LocalProvider
) -> None:
    add_tasks(site, 5)
    only_stages(site, 4)
    run = engine.run_to_end(run_id=capped_run(site, 0).run_id, provider=provider)
    assert run.stage_results["4"]["processed"] == 5
    assert run.alerts == []
    budget = RunBudget.objects.get(pk=run.pk)
    assert budget.cap == 0 and budget.used == budget.spent == spent_by(run) > 0
    assert_books_balance(account)


def test_retry_after_a_crash_between_reserve_and_capture_charges_once(
    site: Site, account: Account, provider: LocalProvider
) -> None:
    """A worker reserves credits, calls the AI, and dies before its result commits. The run
    is picked up by another worker: the dead worker's hold is released, the item is redone
    and charged exactly once."""
    (task,) = add_tasks(site, 1)
    only_stages(site, 4)
    run = capped_run(site, 100)
    ctx = leased_context(site, run, provider, owner="doomed")
    ctx.write(status=RunStatus.RUNNING, started_at=clock.now())
    stage = STAGE_CLASSES[4]
    item = stage.next_item(site.pk, set(), None)
    assert item is not None
    doomed_hold = StageRunner(ctx, stage).reserve(item)
    assert doomed_hold is not None
    stage.call(provider, item)  # the AI answered; the worker died before committing

    later = clock.now() + dt.timedelta(seconds=settings.INKLINE_RUN_LEASE_SECONDS + 1)
    with time_machine.travel(later, tick=False):
        run = engine.run_to_end(run_id=run.run_id, provider=provider)

    assert run.status == "completed"
    assert Content.objects.filter(task=task).count() == 1
    captures = CreditTransaction.objects.filter(run=run, kind="capture")
    assert captures.count() == 1
    assert CreditHold.objects.get(pk=doomed_hold.id).status == "released"
    assert not CreditHold.objects.filter(run=run, status="open").exists()
    budget = RunBudget.objects.get(pk=run.pk)
    assert budget.used == budget.spent == -captures.get().amount
    assert_books_balance(account)


class DownProvider(LocalProvider):
    def write_content(self, brief: ArticleIn) -> ArticleResult:
        raise AIError("model overloaded")


def test_a_failed_ai_call_charges_nothing(site: Site, account: Account) -> None:
    add_tasks(site, 3)
    only_stages(site, 4)
    run = engine.run_to_end(run_id=capped_run(site, 100).run_id, provider=DownProvider())
    assert run.stage_results["4"]["failed"] == 3
    assert spent_by(run) == 0
    assert Account.objects.get(pk=account.pk).credits == 100_000
    assert CreditTransaction.objects.filter(run=run, kind="release").count() == 3
    budget = RunBudget.objects.get(pk=run.pk)
    assert budget.used == budget.spent == 0
    assert_books_balance(account)


def test_a_stale_second_capture_of_an_item_is_rolled_back_within_budget(
    site: Site, account: Account, provider: LocalProvider
) -> None:
    """Two executors both called the AI for the same task: one commit wins; the other's hold
    goes back to the run's budget, not into it."""
    (task,) = add_tasks(site, 1)
    only_stages(site, 4)
    run = capped_run(site, 100)
    ctx = leased_context(site, run, provider, owner="w1", concurrency=2)
    stage = STAGE_CLASSES[4]
    item = stage.next_item(site.pk, set(), None)
    assert item is not None
    runner = StageRunner(ctx, stage)
    holds = [runner.reserve(item) for _ in range(2)]
    for hold in holds:
        future: Future[Any] = Future()
        future.set_result(stage.call(provider, item))
        runner.settle(Call(item=item, hold=hold, future=future))
    assert Content.objects.filter(task=task).count() == 1
    budget = RunBudget.objects.get(pk=run.pk)
    assert budget.used == budget.spent == spent_by(run) > 0
    assert_books_balance(account)


def test_estimates_use_the_budget(site: Site) -> None:
    add_tasks(site, 10)
    set_cost("content_generation", unit="call", cost="7")
    only_stages(site, 4, max_tasks_per_run=5, max_credits_per_run=100)  # content: 40

    stages = {s["stage"]: s for s in pipeline_summary(site.pk)["stages"]}  # type: ignore[attr-defined]
    content = stages[4]
    assert content["pending"] == 10
    assert content["budget"] == 40
    assert content["affordable_items"] == 5  # floor(40 / 7)
    assert content["estimated_credits"] == 35  # the next run: 5 articles of 7
    assert content["estimated_credits_all"] == 70
    assert content["runs_needed"] == 2

    set_cost("content_generation", unit="call", cost="20")
    content = {s["stage"]: s for s in pipeline_summary(site.pk)["stages"]}[4]  # type: ignore[attr-defined]
    assert content["affordable_items"] == 2
    assert content["runs_needed"] == 5  # the budget binds before the limit of 5
    assert content["estimated_credits"] == 40

    only_stages(site, 4, max_tasks_per_run=5, max_credits_per_run=0)
    content = {s["stage"]: s for s in pipeline_summary(site.pk)["stages"]}[4]  # type: ignore[attr-defined]
    assert content["budget"] is None and content["affordable_items"] is None
    assert content["runs_needed"] == 2 and content["estimated_credits"] == 100


# --- what the provider billed, successful or not ----------------------------------------------
BILLED = Usage(calls=2, prompt_tokens=900, completion_tokens=2100)


class BilledFailure(LocalProvider):
    """Every article fails after two billed requests (an answer and its re-ask), as an item
    failure or, with `endpoint`, as the endpoint's."""

    def __init__(self, *, endpoint: bool = False) -> None:
        super().__init__()
        self.endpoint = endpoint

    def write_content(self, brief: ArticleIn) -> ArticleResult:
        raise AIError(
            "article: invalid answer, also after one re-ask", endpoint=self.endpoint, usage=BILLED
        )


def test_a_failed_item_is_charged_what_the_provider_billed_for_it(
    site: Site, account: Account
) -> None:
    set_cost("content_generation", unit="1k_tokens", cost="10")
    add_tasks(site, 2)
    only_stages(site, 4)
    run = engine.run_to_end(run_id=capped_run(site, 1000).run_id, provider=BilledFailure())

    assert run.status == "failed"  # nothing was done; the calls were paid all the same
    captures = CreditTransaction.objects.filter(run=run, kind="capture")
    assert captures.count() == 2
    assert {(c.amount, c.prompt_tokens, c.completion_tokens) for c in captures} == {
        (-30, 900, 2100)  # 3,000 tokens at 10 credits per 1,000
    }
    assert not CreditTransaction.objects.filter(run=run, kind="release").exists()
    assert run.stage_results["4"]["credits_used"] == run.total_credits_used == 60
    budget = RunBudget.objects.get(pk=run.pk)
    assert budget.used == budget.spent == 60
    assert all(t.attempts == 1 for t in WritingTask.objects.filter(site=site))
    assert_books_balance(account)


def test_an_endpoint_failure_with_billed_usage_is_charged_but_costs_no_attempt(
    site: Site, account: Account
) -> None:
    set_cost("content_generation", unit="1k_tokens", cost="10")
    add_tasks(site, 5)
    only_stages(site, 4)
    run = engine.run_to_end(
        run_id=capped_run(site, 1000).run_id, provider=BilledFailure(endpoint=True)
    )
    breaker = settings.INKLINE_AI_BREAKER_FAILURES
    assert run.status == "failed" and f"failed {breaker} times in a row" in run.stopped_reason
    assert spent_by(run) == run.total_credits_used == 30 * breaker
    assert not WritingTask.objects.filter(site=site, attempts__gt=0).exists()
    assert_books_balance(account)


def test_a_failed_call_billed_in_a_unit_it_did_not_use_costs_0_and_is_on_the_ledger(
    site: Site, account: Account
) -> None:
    """Writing is billed per 100 words by default: a failed call produced no article words,
    so it costs nothing, but the ledger still says what the provider billed."""
    add_tasks(site, 1)
    only_stages(site, 4)
    run = engine.run_to_end(run_id=capped_run(site, 1000).run_id, provider=BilledFailure())
    capture = CreditTransaction.objects.get(run=run, kind="capture")
    assert (capture.amount, capture.prompt_tokens, capture.completion_tokens) == (0, 900, 2100)
    assert capture.held_amount < 0  # the whole hold went back
    assert Account.objects.get(pk=account.pk).credits == 100_000
    assert_books_balance(account)


def test_a_failed_call_never_takes_a_run_past_its_cap(site: Site, account: Account) -> None:
    set_cost("content_generation", unit="1k_tokens", cost="10")
    add_tasks(site, 3)
    only_stages(site, 4)
    # 40% of 50: writing may spend 20 credits; each failed call would cost 30
    run = engine.run_to_end(run_id=capped_run(site, 50).run_id, provider=BilledFailure())
    budget = RunBudget.objects.get(pk=run.pk)
    line = budget.lines.get(operation_type="content_generation")
    assert line.spent == line.limit == 20
    assert budget.spent == spent_by(run) == 20 <= budget.cap
    assert_books_balance(account)


def test_a_capture_records_the_tokens_the_provider_reported(
    site: Site, account: Account, provider: LocalProvider
) -> None:
    add_tasks(site, 2)
    only_stages(site, 4)
    run = engine.run_to_end(run_id=capped_run(site, 0).run_id, provider=provider)
    captured = CreditTransaction.objects.filter(run=run, kind="capture")
    reported = [
        (c.provenance["prompt_tokens"], c.provenance["completion_tokens"])
        for c in Content.objects.filter(site=site)
    ]
    assert len(reported) == 2 and all(p > 0 and c > 0 for p, c in reported)
    assert sorted(captured.values_list("prompt_tokens", "completion_tokens")) == sorted(reported)


def test_estimates_price_1000_items_so_clustering_costs_compare(site: Site) -> None:
    add_keywords(site, COFFEE[:3])
    stages = {s["stage"]: s for s in pipeline_summary(site.pk)["stages"]}  # type: ignore[attr-defined]
    # the default 0.1 credit a keyword, rounded up per call: two batches of 500
    assert stages[1]["credits_per_1000_items"] == 2 * 50
    set_cost("clustering", unit="item", cost="0.25")
    stages = {s["stage"]: s for s in pipeline_summary(site.pk)["stages"]}  # type: ignore[attr-defined]
    assert stages[1]["credits_per_1000_items"] == 250
    assert stages[3]["credits_per_1000_items"] == 0  # queueing ideas calls no AI
