"""The engine's truth about failures: endpoint failures never use up an item's attempts and
trip the circuit breaker; item failures count per item and are not retried in the same run;
the failure state, the failed items and the seconds of a stage outlast the slices; a run ends
`failed` when nothing was done, or `completed` saying how many items failed and why; the
connection check before the first AI call."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from inkline.accounts.models import Account, Membership, Role, Site
from inkline.ai.local import LocalProvider
from inkline.ai.types import AICheck, AIError, ArticleIn, ArticleResult, CheckProblem
from inkline.automation import engine
from inkline.automation.models import AutomationConfig, AutomationRun, RunEvent
from inkline.automation.selectors import pipeline_pending
from inkline.automation.services import run_start
from inkline.automation.stagerunner import MAX_ITEM_FAILURES_IN_ROW
from inkline.billing.models import CreditHold, CreditTransaction
from inkline.writer.models import Content, Image, WritingTask
from tests.factories import add_keywords, add_tasks, only_stages, run_now

pytestmark = pytest.mark.django_db

BASE_URL = "http://ai.example.test/v1"
CHECK_OK = AICheck(
    provider="fake",
    reachable=True,
    auth=True,
    model="fake-model",
    structured_output="json_schema",
    images=True,
    base_url=BASE_URL,
)

Fault = Callable[[ArticleIn, int], AIError | None]


class Endpoint(LocalProvider):
    """The local provider behind a pretend endpoint at BASE_URL: `fault(brief, n)` (n: the
    brief's n-th call) says how a call to write an article fails, `answer` is what its
    connection check finds."""

    base_url = BASE_URL

    def __init__(
        self, fault: Fault | None = None, *, answer: AICheck = CHECK_OK, latency_ms: int = 0
    ) -> None:
        super().__init__(latency_ms=latency_ms)
        self.fault = fault
        self.answer = answer
        self.calls: Counter[str] = Counter()
        self.checks = 0

    def check(self, *, fresh: bool = False) -> AICheck:
        self.checks += 1
        return self.answer

    def write_content(self, brief: ArticleIn) -> ArticleResult:
        self.calls[brief.title] += 1
        self._simulate_remote_call()
        error = self.fault(brief, self.calls[brief.title]) if self.fault else None
        if error is not None:
            raise error
        return super().write_content(brief)


def unreachable(brief: ArticleIn, n: int) -> AIError:
    return AIError(f"could not reach {BASE_URL}: Connection refused", endpoint=True)


def sliced(site: Site, provider: Any, *, seconds: float = 0.2) -> tuple[AutomationRun, int]:
    """Start a run and execute it in short slices; returns it and how many slices it took."""
    run = run_start(site=site, wake=False)
    slices = 0
    while True:
        slices += 1
        outcome = engine.execute_slice(run_id=run.run_id, slice_seconds=seconds, provider=provider)
        if outcome.outcome != "continue":
            return AutomationRun.objects.get(pk=run.pk), slices
        assert slices < 200, "the run does not end"


# --- endpoint failures and the circuit breaker -------------------------------------------------
def test_a_dead_endpoint_fails_the_run_naming_it_and_leaves_the_items_untouched(
    site: Site, account: Account
) -> None:
    add_tasks(site, 8)
    only_stages(site, 4)
    before = pipeline_pending(site.pk)
    with override_settings(INKLINE_AI_CONCURRENCY=1):
        for _ in range(3):
            run = run_now(site, Endpoint(unreachable))
            assert run.status == "failed"
            assert run.outcome == "failed"
            assert BASE_URL in run.stopped_reason
            assert "3 times in a row" in run.stopped_reason
            assert "Connection refused" in run.stopped_reason
            assert "Connection refused" in run.error_message
            assert run.stage_results["4"]["failed"] == 0
            assert run.stage_results["4"]["endpoint_errors"] == 3
    assert pipeline_pending(site.pk) == before
    assert not WritingTask.objects.filter(site=site, attempts__gt=0).exists()
    account.refresh_from_db()
    assert account.credits == 100_000 and account.credits_held == 0
    assert not CreditTransaction.objects.filter(account=account, kind="capture").exists()
    assert not CreditHold.objects.filter(account=account, status="open").exists()
    events = RunEvent.objects.filter(run=run, code="endpoint_failed")
    assert events.count() == 3 and all(e.level == "warning" for e in events)

    # the pipeline endpoint shows why the last run stopped
    client = APIClient()
    client.force_authenticate(Membership.objects.get(account=account, role=Role.OWNER).user)
    pipeline = client.get(f"/api/v1/sites/{site.pk}/automation/pipeline/").json()
    assert pipeline["active_run"] is None
    assert pipeline["last_run"] == {
        "run_id": run.run_id,
        "status": "failed",
        "stopped_reason": run.stopped_reason,
    }


@pytest.mark.parametrize("breaker", [1, 5])
def test_the_breaker_trips_after_the_configured_endpoint_failures(site: Site, breaker: int) -> None:
    add_tasks(site, 8)
    only_stages(site, 4)
    provider = Endpoint(unreachable)
    with override_settings(INKLINE_AI_CONCURRENCY=1, INKLINE_AI_BREAKER_FAILURES=breaker):
        run = run_now(site, provider)
    assert run.status == "failed"
    assert sum(provider.calls.values()) == breaker
    assert f"failed {breaker} times in a row" in run.stopped_reason


def test_a_fatal_endpoint_error_stops_the_run_at_once(site: Site) -> None:
    def refused(brief: ArticleIn, n: int) -> AIError:
        return AIError(f"the AI provider at {BASE_URL} rejected the API key", fatal=True)

    add_tasks(site, 5)
    only_stages(site, 4)
    provider = Endpoint(refused)
    with override_settings(INKLINE_AI_CONCURRENCY=1):
        run = run_now(site, provider)
    assert run.status == "failed"
    assert sum(provider.calls.values()) == 1
    assert "cannot be used" in run.stopped_reason and "rejected the API key" in run.stopped_reason
    assert not WritingTask.objects.filter(site=site, attempts__gt=0).exists()


def test_an_endpoint_failure_is_tried_again_in_the_same_run_without_an_attempt(
    site: Site,
) -> None:
    def first_call_times_out(brief: ArticleIn, n: int) -> AIError | None:
        return AIError("no answer within 120 s", endpoint=True) if n == 1 else None

    add_tasks(site, 2)
    only_stages(site, 4)
    provider = Endpoint(first_call_times_out)
    with override_settings(INKLINE_AI_CONCURRENCY=1):
        run = run_now(site, provider)
    # two endpoint failures, then the same items again: each succeeds the second time, and
    # the success ends the streak before the breaker's three
    assert run.status == "completed" and run.outcome == "completed", run.stopped_reason
    assert run.stopped_reason == "Completed: every enabled stage finished."
    assert set(provider.calls.values()) == {2}
    assert run.stage_results["4"]["processed"] == 2
    assert run.stage_results["4"]["endpoint_errors"] == 2
    assert Content.objects.filter(site=site).count() == 2
    assert not WritingTask.objects.filter(site=site, attempts__gt=0).exists()
    assert run.endpoint_failures_in_row == 0


def test_an_answered_item_failure_ends_an_endpoint_failure_streak(site: Site) -> None:
    """Endpoint, endpoint, unusable answer, endpoint, endpoint: never three endpoint failures
    in a row, so the breaker does not trip; the item failure counts once."""
    script = iter(["endpoint", "endpoint", "item", "endpoint", "endpoint"])

    def scripted(brief: ArticleIn, n: int) -> AIError | None:
        kind = next(script, "ok")
        if kind == "ok":
            return None
        return AIError(f"{kind} trouble", endpoint=kind == "endpoint")

    add_tasks(site, 3)
    only_stages(site, 4)
    with override_settings(INKLINE_AI_CONCURRENCY=1):
        run = run_now(site, Endpoint(scripted))
    assert run.status == "completed", run.stopped_reason
    assert run.stage_results["4"]["failed"] == 1
    assert run.stage_results["4"]["processed"] == 2
    assert run.stage_results["4"]["endpoint_errors"] == 4


# --- failure state outlasts the slices ---------------------------------------------------------
def test_the_breaker_counts_endpoint_failures_across_slices(site: Site) -> None:
    add_tasks(site, 6)
    only_stages(site, 4)
    provider = Endpoint(unreachable, latency_ms=300)
    with override_settings(INKLINE_AI_CONCURRENCY=1):
        run, slices = sliced(site, provider)
    assert run.status == "failed"
    assert sum(provider.calls.values()) == 3  # one call per slice, counted over the run
    assert slices >= 3
    assert run.endpoint_failures_in_row == 3


def test_a_failed_item_is_not_retried_in_the_same_run_across_slices(site: Site) -> None:
    def first_task_is_unusable(brief: ArticleIn, n: int) -> AIError | None:
        if brief.title.endswith(" 0"):
            return AIError("article: invalid answer, also after one re-ask")
        return None

    tasks = add_tasks(site, 3)
    only_stages(site, 4)
    provider = Endpoint(first_task_is_unusable, latency_ms=300)
    with override_settings(INKLINE_AI_CONCURRENCY=1):
        run, slices = sliced(site, provider)
    assert slices >= 3
    assert provider.calls[tasks[0].title] == 1  # never tried again by this run
    assert run.failed_item_ids == {"4": [tasks[0].pk]}
    result = run.stage_results["4"]
    assert (result["processed"], result["failed"]) == (2, 1)
    assert result["failed_items"] == [
        {
            "id": tasks[0].pk,
            "label": f"task '{tasks[0].title}'",
            "error": "article: invalid answer, also after one re-ask",
        }
    ]
    # seconds are summed over the slices: three calls of 0.3 s each
    assert result["seconds"] >= 0.9
    assert run.status == "completed"
    assert run.outcome == "completed_with_failures"
    assert run.stopped_reason.startswith("Completed with 1 failure: 1 in stage 4")
    assert "invalid answer" in run.stopped_reason
    assert WritingTask.objects.get(pk=tasks[0].pk).attempts == 1


def test_unusable_answers_in_a_row_fail_the_run_across_slices(site: Site) -> None:
    def always_unusable(brief: ArticleIn, n: int) -> AIError:
        return AIError("article: invalid answer, also after one re-ask")

    add_tasks(site, MAX_ITEM_FAILURES_IN_ROW + 3)
    only_stages(site, 4)
    provider = Endpoint(always_unusable, latency_ms=300)
    with override_settings(INKLINE_AI_CONCURRENCY=1):
        run, slices = sliced(site, provider)
    assert slices >= MAX_ITEM_FAILURES_IN_ROW
    assert run.status == "failed"
    assert sum(provider.calls.values()) == MAX_ITEM_FAILURES_IN_ROW
    assert f"unusable for {MAX_ITEM_FAILURES_IN_ROW} items in a row" in run.stopped_reason
    assert WritingTask.objects.filter(site=site, attempts=1).count() == MAX_ITEM_FAILURES_IN_ROW


def test_the_notes_of_the_stopped_reason_outlast_the_slices(site: Site) -> None:
    add_tasks(site, 4)
    only_stages(site, 4, max_tasks_per_run=2)
    with override_settings(INKLINE_AI_CONCURRENCY=1):
        run, slices = sliced(site, LocalProvider(latency_ms=300))
    assert slices >= 2
    assert run.status == "completed"
    assert "Stage 4 reached its per-run limit of 2" in run.stopped_reason
    assert run.stopped_reason.startswith("Completed with limits:")
    assert run.stage_results["4"]["seconds"] >= 0.6


def test_stage_seconds_are_kept_when_a_slice_ends_on_its_deadline(site: Site) -> None:
    add_tasks(site, 2)
    only_stages(site, 4)
    run = run_start(site=site, wake=False)
    provider = LocalProvider(latency_ms=300)
    # one call of 0.3 s starts within a slice of 0.2 s (a slow machine may need a few slices
    # to start one), and the slice ends on its deadline with the stage unfinished
    with override_settings(INKLINE_AI_CONCURRENCY=1):
        for _ in range(20):
            outcome = engine.execute_slice(run_id=run.run_id, slice_seconds=0.2, provider=provider)
            assert outcome.outcome == "continue"
            run.refresh_from_db()
            if run.stage_results.get("4", {}).get("processed"):
                break
    assert run.stage_results["4"]["processed"] == 1
    assert run.current_stage == 4
    assert run.stage_results["4"]["seconds"] >= 0.3


# --- truthful outcomes -------------------------------------------------------------------------
def test_a_run_where_every_item_failed_is_failed(site: Site, account: Account) -> None:
    def unusable(brief: ArticleIn, n: int) -> AIError:
        return AIError("article: invalid answer, also after one re-ask")

    add_tasks(site, 2)
    only_stages(site, 4)
    run = run_now(site, Endpoint(unusable))
    assert run.status == "failed"
    assert run.stopped_reason.startswith("Nothing was done: 2 failures: 2 in stage 4")
    assert "invalid answer" in run.error_message
    assert len(run.stage_results["4"]["failed_items"]) == 2


def test_a_clean_run_lists_no_failed_items(site: Site, provider: LocalProvider) -> None:
    add_keywords(site)
    run = run_now(site, Endpoint())
    assert run.status == "completed" and run.outcome == "completed"
    assert all(r.get("failed_items", []) == [] for r in run.stage_results.values())
    assert run.items_failed == 0


# --- the connection check ----------------------------------------------------------------------
def test_an_endpoint_the_check_finds_unusable_fails_the_run_before_any_call(
    site: Site, account: Account
) -> None:
    answer = AICheck(
        provider="fake",
        reachable=False,
        auth=False,
        model=None,
        structured_output=None,
        images=False,
        problems=(
            CheckProblem(
                code="unreachable",
                message=f"nothing answers at {BASE_URL}",
                fix="start the server or set OPENAI_BASE_URL",
            ),
        ),
        base_url=BASE_URL,
    )
    add_tasks(site, 3)
    only_stages(site, 4)
    provider = Endpoint(answer=answer)
    run = run_now(site, provider)
    assert run.status == "failed"
    assert provider.checks == 1 and not provider.calls
    assert f"nothing answers at {BASE_URL}" in run.stopped_reason
    assert "start the server" in run.stopped_reason
    assert run.ai_check["ok"] is False and run.ai_check["base_url"] == BASE_URL
    config = AutomationConfig.objects.get(site=site)
    assert config.ai_check["ok"] is False and "checked_at" in config.ai_check
    assert not WritingTask.objects.filter(site=site, attempts__gt=0).exists()
    assert not CreditTransaction.objects.filter(run=run).exists()


def test_the_check_is_made_once_per_run_before_its_first_ai_call(site: Site) -> None:
    add_tasks(site, 3)
    only_stages(site, 4)
    provider = Endpoint(latency_ms=300)
    with override_settings(INKLINE_AI_CONCURRENCY=1):
        run, slices = sliced(site, provider)
    assert slices >= 2 and provider.checks == 1
    assert run.ai_check["ok"] is True
    assert run.events.filter(code="ai_check").count() == 1


def test_no_check_when_no_ai_stage_has_work(site: Site) -> None:
    add_tasks(site, 2)
    only_stages(site, 1, 2, 3)  # nothing to cluster or to make ideas of; stage 3 calls no AI
    provider = Endpoint()
    run = run_now(site, provider)
    assert run.status == "completed"
    assert provider.checks == 0 and run.ai_check == {}


def test_an_endpoint_without_images_has_stage_6_skipped_with_a_note(site: Site) -> None:
    from dataclasses import replace

    add_tasks(site, 2)
    only_stages(site, 4, 5, 6)
    provider = Endpoint(answer=replace(CHECK_OK, images=False))
    run = run_now(site, provider)
    assert run.status == "completed", run.stopped_reason
    assert run.stage_results["6"]["status"] == "skipped"
    assert "cannot generate images" in run.stopped_reason
    assert run.events.filter(code="stage_skipped", stage=6).exists()
    assert Image.objects.filter(site=site, status="pending").count() > 0
    assert not Image.objects.filter(site=site, status="done").exists()
    assert AutomationConfig.objects.get(site=site).ai_check["images"] is False


def test_a_check_that_breaks_does_not_block_the_run(site: Site) -> None:
    class Broken(Endpoint):
        def check(self, *, fresh: bool = False) -> AICheck:
            raise RuntimeError("check exploded")

    add_tasks(site, 1)
    only_stages(site, 4)
    run = run_now(site, Broken())
    assert run.status == "completed"
    assert "check exploded" in run.ai_check["error"]
    assert run.events.filter(code="ai_check", level="warning").exists()
