"""Refusals a retry cannot fix, against the fake OpenAI server: a 403 (the key may not use
this model or region) and a 429 `insufficient_quota` (the provider account has no credit
left) stop the run at once with a reason that says so and charge nothing; a plain 429 rate
limit is still retried (by the SDK, honouring Retry-After)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db.models import Sum
from django.test import override_settings

from inkline.accounts.models import Account, Site
from inkline.ai.types import AIError
from inkline.automation.models import RunEvent
from inkline.billing.models import CreditTransaction
from inkline.writer.models import Content, WritingTask
from tests.ai.fake_openai import FakeOpenAI
from tests.ai.test_openai_engine import provider_for
from tests.ai.test_openai_provider import ideas_call, make
from tests.factories import add_tasks, only_stages, run_now


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


# --- the provider: fatal, not transient, and not retried -----------------------------------
def test_a_403_is_fatal_and_names_the_cause(server: FakeOpenAI) -> None:
    server.inject("403", times=None)
    with pytest.raises(AIError) as caught:
        ideas_call(make(server, max_retries=2))
    assert caught.value.fatal and not caught.value.transient
    assert "may not use this model or endpoint" in str(caught.value)
    assert "403" in str(caught.value) and "territory not supported" in str(caught.value)
    assert [r.status for r in server.requests] == [403]


def test_insufficient_quota_is_fatal_and_asked_once(server: FakeOpenAI) -> None:
    server.inject("quota", times=None)
    with pytest.raises(AIError) as caught:
        ideas_call(make(server, max_retries=2))
    assert caught.value.fatal and not caught.value.transient
    assert "no quota left" in str(caught.value) and "429" in str(caught.value)
    # the SDK retries every 429 unless told not to: a quota refusal is asked once
    assert [r.status for r in server.requests] == [429]


def test_a_plain_rate_limit_is_still_retried(server: FakeOpenAI) -> None:
    server.inject("429", retry_after=0.05, times=2)
    assert ideas_call(make(server, max_retries=2)).ideas
    assert [r.status for r in server.requests] == [429, 429, 200]


# --- through the engine: the run stops at once and nothing is charged ----------------------
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "reason"),
    [("403", "may not use model"), ("quota", "no quota left")],
)
def test_a_refusal_stops_the_run_at_once_and_charges_nothing(
    site: Site, account: Account, server: FakeOpenAI, kind: str, reason: str
) -> None:
    add_tasks(site, 6)
    only_stages(site, 4)
    server.inject(kind, times=None)
    with override_settings(INKLINE_AI_CONCURRENCY=1):
        run = run_now(site, provider_for(server, max_retries=2))

    assert run.status == "failed"
    assert reason in run.stopped_reason
    # The connection check before the first call meets the refusal: asked once, not retried,
    # and no item's request is ever sent.
    assert "before the first AI call" in run.stopped_reason
    assert [r.status for r in server.probe_requests() if r.status >= 400] == [
        403 if kind == "403" else 429
    ]
    assert server.chat_requests() == []
    assert WritingTask.objects.filter(site=site, status="queued").count() == 6
    assert not Content.objects.filter(site=site).exists()
    levels = list(RunEvent.objects.filter(run=run, level="error").values_list("message", flat=True))
    assert any(reason in message for message in levels)
    account.refresh_from_db()
    assert account.credits == 100_000 and account.credits_held == 0
    rows = CreditTransaction.objects.filter(account=account)
    assert not rows.filter(kind="capture").exists()
    assert rows.aggregate(s=Sum("amount"))["s"] == account.credits


@pytest.mark.django_db
def test_a_rate_limited_run_retries_and_completes(
    site: Site, account: Account, server: FakeOpenAI
) -> None:
    add_tasks(site, 3)
    only_stages(site, 4)
    server.inject("429", retry_after=0.05, times=2)
    with override_settings(INKLINE_AI_CONCURRENCY=1):
        run = run_now(site, provider_for(server, max_retries=2))

    assert run.status == "completed", run.stopped_reason
    assert run.stage_results["4"]["processed"] == 3 and run.stage_results["4"]["failed"] == 0
    # The check met the rate limit (a passing problem: the run went on), then every article
    # was written at its first request.
    assert [r.status for r in server.probe_requests() if r.path.endswith("/completions")][:2] == [
        429,
        429,
    ]
    assert [r.status for r in server.chat_requests()] == [200, 200, 200]
    events = RunEvent.objects.filter(run=run, code="ai_check").values_list("message", flat=True)
    assert any("passing problem" in message for message in events)
    assert Content.objects.filter(site=site).count() == 3
    assert CreditTransaction.objects.filter(account=account, kind="capture").count() == 3
