"""The seven-stage engine on the embedded default, item by item."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import replace
from typing import Any

import pytest
from django.conf import settings
from django.db.models import Sum

from inkline.accounts.models import Account, Site
from inkline.ai.local import LocalProvider
from inkline.ai.types import AIError, ArticleIn, ArticleResult
from inkline.automation.models import AutomationRun, RunEvent
from inkline.automation.selectors import pipeline_pending
from inkline.automation.services import run_start
from inkline.automation.sites import account_create, site_create
from inkline.automation.stagerunner import Call, StageRunner
from inkline.automation.stages import STAGE_CLASSES
from inkline.billing.models import CreditTransaction
from inkline.planner.models import Cluster, ContentIdea, Keyword
from inkline.writer.models import Content, Image, WritingTask
from tests.factories import add_keywords, add_tasks, leased_context, only_stages, run_now

pytestmark = pytest.mark.django_db


def ledger_sum(account: Account) -> int:
    return CreditTransaction.objects.filter(account=account).aggregate(s=Sum("amount"))["s"] or 0


def test_full_pipeline_turns_keywords_into_approved_articles_with_images(
    site: Site, account: Account, provider: LocalProvider
) -> None:
    add_keywords(site)
    run = run_now(site, provider)

    assert run.status == "completed", run.error_message
    assert run.progress_percent == 100
    assert run.current_stage == 8
    assert run.initial_snapshot["stage_1"] == 24
    assert run.initial_snapshot["total_initial_items"] == 24
    results = run.stage_results
    assert results["1"]["processed"] == 24
    assert results["1"]["created"] == Cluster.objects.filter(site=site).count() > 1
    assert results["2"]["processed"] == Cluster.objects.filter(site=site).count()
    ideas = ContentIdea.objects.filter(site=site).count()
    assert results["2"]["created"] == ideas > 0
    assert results["3"]["processed"] == ideas == WritingTask.objects.filter(site=site).count()
    assert results["4"]["created"] == ideas == Content.objects.filter(site=site).count()
    images = Image.objects.filter(site=site)
    assert results["5"]["created"] == images.count() >= ideas
    assert results["6"]["processed"] == images.count()
    assert all(img.status == "done" and img.file.name.endswith(".png") for img in images)
    assert all(img.file.storage.exists(img.file.name) for img in images)
    assert results["7"]["processed"] == ideas
    assert Content.objects.filter(site=site, status="approved").count() == ideas
    assert Keyword.objects.filter(site=site, cluster__isnull=True).count() == 0
    assert pipeline_pending(site.pk) == dict.fromkeys(range(1, 8), 0)

    account.refresh_from_db()
    assert run.total_credits_used == sum(r["credits_used"] for r in results.values()) > 0
    assert all(results[s]["credits_used"] > 0 for s in "12456")  # every AI stage is billed
    assert results["3"]["credits_used"] == results["7"]["credits_used"] == 0
    assert account.credits == 100_000 - run.total_credits_used == ledger_sum(account)
    assert account.credits_held == 0
    codes = list(run.events.values_list("code", flat=True))
    assert codes[0] == "started" and codes[-1] == "completed"
    assert codes.count("stage_start") == 7 and codes.count("stage_end") == 7


def test_stage_limit_leaves_the_rest_for_the_next_run(site: Site, provider: LocalProvider) -> None:
    add_tasks(site, 12)
    only_stages(site, 4, max_tasks_per_run=5)

    first = run_now(site, provider)
    assert first.status == "completed"
    assert first.stage_results["4"]["processed"] == 5
    assert first.stage_results["4"]["status"] == "limit"
    assert "per-run limit of 5 tasks; 7 left" in first.stopped_reason
    assert WritingTask.objects.filter(site=site, status="queued").count() == 7
    assert first.events.filter(code="limit_reached").exists()

    second = run_now(site, provider)
    assert second.stage_results["4"]["processed"] == 5
    third = run_now(site, provider)
    assert third.stage_results["4"]["processed"] == 2
    assert "limit" not in third.stopped_reason.lower()
    assert Content.objects.filter(site=site).count() == 12
    # oldest first: the first run wrote the five oldest tasks
    first_five = WritingTask.objects.filter(site=site).order_by("id")[:5]
    assert all(
        t.content.created_at <= Content.objects.order_by("-id")[0].created_at for t in first_five
    )


def test_every_limit_field_bounds_its_stage(site: Site, provider: LocalProvider) -> None:
    add_keywords(site)
    only_stages(site, 1, 2, 3, max_keywords_per_run=10, max_clusters_per_run=2, max_ideas_per_run=1)
    run = run_now(site, provider)
    assert run.stage_results["1"]["processed"] == 10
    assert Keyword.objects.filter(site=site, status="new").count() == 14
    assert run.stage_results["2"]["processed"] <= 2
    assert run.stage_results["3"]["processed"] <= 1
    assert WritingTask.objects.filter(site=site).count() <= 1


def test_a_re_executed_item_is_committed_once_and_charged_once(
    site: Site, account: Account, provider: LocalProvider
) -> None:
    """Two executors that both called the AI for one task (a crash after the call, a stale
    worker): the first commit wins, the second is rolled back and its hold released."""
    (task,) = add_tasks(site, 1)
    only_stages(site, 4)
    run = run_start(site=site, wake=False)
    ctx = leased_context(site, run, provider, owner="w1")
    stage = STAGE_CLASSES[4]
    item = stage.next_item(site.pk, set(), None)
    assert item is not None
    runner = StageRunner(ctx, stage)
    for _ in range(2):
        hold = runner.reserve(item)
        future: Future[Any] = Future()
        future.set_result(stage.call(provider, item))
        runner.settle(Call(item=item, hold=hold, future=future))

    assert Content.objects.filter(task=task).count() == 1
    captures = CreditTransaction.objects.filter(kind="capture", account=account)
    assert captures.count() == 1
    account.refresh_from_db()
    assert account.credits_held == 0
    assert account.credits == ledger_sum(account) == 100_000 + captures.get().amount


def test_balance_never_goes_negative_the_run_stops_with_a_reason(provider: LocalProvider) -> None:
    poor, _ = account_create(name="Poor", username="poor", password="pw", credits=25)
    site = site_create(account=poor, name="poor-blog")
    add_tasks(site, 10)
    only_stages(site, 4)
    run = run_now(site, provider)
    account = Account.objects.get(pk=site.account_id)
    assert account.credits >= 0 and account.credits_held == 0
    assert run.status == "completed"
    assert "not enough credits" in run.stopped_reason.lower()
    written = Content.objects.filter(site=site).count()
    assert 0 < written < 10
    assert account.credits == ledger_sum(account)
    assert WritingTask.objects.filter(site=site, status="queued").count() == 10 - written


class EvilProvider(LocalProvider):
    def write_content(self, brief: ArticleIn) -> ArticleResult:
        result = super().write_content(brief)
        evil = (
            '<script>alert(1)</script><p onclick="steal()">hi</p>'
            '<a href="javascript:alert(2)">x</a><img src=x onerror=alert(3)>'
            "<svg><script>alert(4)</script></svg>"
        )
        article = replace(
            result.article,
            html=evil + result.article.html,
            title="<b>Bold</b> <script>x()</script>title",
        )
        return replace(result, article=article)


def test_provider_html_is_sanitized_before_it_is_stored(site: Site) -> None:
    add_tasks(site, 1)
    only_stages(site, 4)
    run_now(site, EvilProvider())
    content = Content.objects.get(site=site)
    for needle in ("<script", "onclick", "javascript:", "onerror", "<svg", "alert(4)"):
        assert needle not in content.html
        assert needle not in content.title
    assert content.title.startswith("Bold")
    assert "<p>hi</p>" in content.html


class FlakyProvider(LocalProvider):
    """Fails the first call for each brief, then succeeds."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def write_content(self, brief: ArticleIn) -> ArticleResult:
        if brief.title not in self.seen:
            self.seen.add(brief.title)
            raise AIError("model overloaded")
        return super().write_content(brief)


def test_failed_ai_calls_charge_nothing_and_stay_visible(site: Site, account: Account) -> None:
    add_tasks(site, 3)
    only_stages(site, 4)
    before = Account.objects.get(pk=account.pk).credits
    run = run_now(site, FlakyProvider())
    assert run.stage_results["4"]["failed"] == 3
    assert run.stage_results["4"]["processed"] == 0
    assert Account.objects.get(pk=account.pk).credits == before
    tasks = WritingTask.objects.filter(site=site)
    assert all(t.attempts == 1 and "overloaded" in t.last_error for t in tasks)
    assert run.events.filter(code="item_failed", level=RunEvent.Level.WARNING).count() == 3
    # still pending: the next run retries them and succeeds
    again = run_now(site, FlakyProvider.__mro__[1]())
    assert again.stage_results["4"]["processed"] == 3


def test_items_are_excluded_after_three_failed_attempts(site: Site) -> None:
    class Broken(LocalProvider):
        def write_content(self, brief: ArticleIn) -> ArticleResult:
            raise AIError("always broken")

    add_tasks(site, 1)
    only_stages(site, 4)
    for _ in range(3):
        run_now(site, Broken())
    assert pipeline_pending(site.pk)[4] == 0
    assert WritingTask.objects.get(site=site).attempts == 3


def test_five_unusable_answers_in_a_row_stop_the_run_with_the_cause(site: Site) -> None:
    class Garbled(LocalProvider):
        def write_content(self, brief: ArticleIn) -> ArticleResult:
            raise AIError("article: invalid answer, also after one re-ask: not JSON")

    add_tasks(site, 8)
    only_stages(site, 4)
    run = run_now(site, Garbled())
    assert run.status == "failed"
    assert "answers were unusable for 5 items in a row" in run.stopped_reason
    assert "not JSON" in run.stopped_reason
    # no new call starts after the fifth failure; calls already in flight may finish
    concurrency = settings.INKLINE_AI_CONCURRENCY
    tried = WritingTask.objects.filter(site=site, attempts=1).count()
    assert 5 <= tried <= 5 + concurrency - 1
    assert WritingTask.objects.filter(site=site, attempts=0).count() == 8 - tried


def test_disabled_stages_are_skipped_with_an_event(site: Site, provider: LocalProvider) -> None:
    add_keywords(site)
    only_stages(site, 1)
    run = run_now(site, provider)
    assert run.status == "completed"
    assert run.stage_results["2"]["status"] == "skipped"
    assert run.events.filter(code="stage_skipped").count() == 6
    assert Cluster.objects.filter(site=site, status="new").exists()


def test_auto_approval_off_leaves_content_in_review(site: Site, provider: LocalProvider) -> None:
    from inkline.publishing.models import PublishingSettings

    PublishingSettings.objects.filter(site=site).update(auto_approval_enabled=False)
    add_tasks(site, 2)
    only_stages(site, 4, 5, 6, 7)
    run = run_now(site, provider)
    assert run.status == "completed"
    assert Content.objects.filter(site=site, status="review").count() == 2
    assert "wait for manual review" in run.stopped_reason


@pytest.mark.django_db(transaction=True)
def test_pause_takes_effect_before_the_next_item(site: Site) -> None:
    class PausingProvider(LocalProvider):
        calls = 0

        def write_content(self, brief: ArticleIn) -> ArticleResult:
            PausingProvider.calls += 1
            if PausingProvider.calls == 2:
                AutomationRun.objects.filter(site=site).update(status="paused")
            return super().write_content(brief)

    add_tasks(site, 6)
    only_stages(site, 4)
    from django.test import override_settings

    with override_settings(INKLINE_AI_CONCURRENCY=1):
        run = run_now(site, PausingProvider())
    assert run.status == "paused"
    assert Content.objects.filter(site=site).count() == 2
    assert run.stage_results["4"]["processed"] == 2
