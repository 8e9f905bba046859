"""Runs through the real engine with the `openai` provider against the local fake server:
credits follow the reported usage, failures stay on their items, a wrong key stops the run,
and the server never sees more than INKLINE_AI_CONCURRENCY requests at once."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Sum
from django.test import override_settings

from inkline.accounts.models import Account, Site
from inkline.ai.openai_provider import OpenAIProvider
from inkline.ai.registry import reset_providers
from inkline.automation.selectors import pipeline_pending
from inkline.billing.models import CreditCostConfig, CreditTransaction
from inkline.planner.models import Cluster, ContentIdea, Keyword
from inkline.writer.models import Content, Image, WritingTask
from tests.ai.fake_openai import API_KEY, CHAT_MODEL, EMBEDDINGS_MODEL, IMAGE_MODEL, FakeOpenAI
from tests.factories import COFFEE, add_keywords, add_tasks, only_stages, run_now

pytestmark = pytest.mark.django_db


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


def provider_for(server: FakeOpenAI, **options: Any) -> OpenAIProvider:
    settings: dict[str, Any] = {
        "model": CHAT_MODEL,
        "image_model": IMAGE_MODEL,
        "api_key": API_KEY,
        "base_url": server.base_url,
        "timeout": 5.0,
        "max_retries": 1,
    }
    return OpenAIProvider(**(settings | options))


def captures(account: Account, operation: str) -> list[int]:
    rows = CreditTransaction.objects.filter(
        account=account, kind="capture", operation_type=operation
    )
    return [-amount for amount in rows.values_list("amount", flat=True)]


def test_a_full_run_stores_provenance_and_charges_the_reported_tokens(
    site: Site, account: Account, server: FakeOpenAI
) -> None:
    # Bill writing by tokens: 10 credits per 1,000 tokens, as the server reports them.
    CreditCostConfig.objects.filter(operation_type="content_generation").update(
        unit="1k_tokens", cost_per_unit=Decimal(10)
    )
    add_keywords(site, COFFEE[:7])
    with override_settings(INKLINE_CLUSTER_BATCH=3):
        run = run_now(site, provider_for(server, embeddings_model=EMBEDDINGS_MODEL))

    assert run.status == "completed", run.error_message
    assert Keyword.objects.filter(site=site, status="new").count() == 0
    articles = server.chat_requests("article")
    assert len(articles) == Content.objects.filter(site=site).count() > 0
    assert Content.objects.filter(site=site, status="approved").count() == len(articles)
    assert Image.objects.filter(site=site, status="done").count() == len(server.image_requests())

    # stage 1 grouped on the endpoint's embeddings and asked the model only to name each new
    # cluster: no chat request sorted keywords
    assert server.embedding_requests()
    assert not server.chat_requests("keyword_clusters")
    clusters = Cluster.objects.filter(site=site)
    assert len(server.chat_requests("cluster_name")) == clusters.count() >= 1
    for provenance in clusters.values_list("provenance", flat=True):
        assert provenance["model"] == f"{CHAT_MODEL}+{EMBEDDINGS_MODEL}"
        assert provenance["intent"] in ("informational", "commercial")
    assert all(c.name.endswith(" Hub") for c in clusters)
    stage1 = run.stage_results["1"]
    assert stage1["credits_per_1000_keywords"] == round(
        stage1["credits_used"] * 1000 / stage1["processed"], 2
    )

    # provenance on every stored kind of item, with the tokens of its own call
    content = Content.objects.filter(site=site).order_by("id").first()
    assert content is not None
    assert content.provenance["provider"] == "openai"
    assert content.provenance["model"] == CHAT_MODEL
    assert content.provenance["prompt_version"] == "article-v3"
    assert content.provenance["prompt_tokens"] > 0 and content.provenance["completion_tokens"] > 0
    for model in (Cluster, ContentIdea, Image):
        assert all(
            p["provider"] == "openai" for p in model.objects.values_list("provenance", flat=True)
        )
    image = Image.objects.filter(site=site).first()
    assert image is not None and image.provenance["model"] == IMAGE_MODEL
    assert image.file.name.endswith(".webp") and (image.width, image.height) > (0, 0)

    # credits follow the usage the server reported, call by call
    expected = sorted(math.ceil(Decimal(r.usage["total_tokens"]) / 1000 * 10) for r in articles)
    assert sorted(captures(account, "content_generation")) == expected
    assert run.stage_results["4"]["credits_used"] == sum(expected)
    clustered = sum(captures(account, "clustering"))
    # 0.1 credit per keyword, rounded up per call: batches of 3, 3 and 1 keywords
    assert clustered == 2 * math.ceil(Decimal("0.1") * 3) + math.ceil(Decimal("0.1") * 1)
    account.refresh_from_db()
    ledger = CreditTransaction.objects.filter(account=account).aggregate(s=Sum("amount"))["s"]
    assert account.credits == ledger == 100_000 - run.total_credits_used
    assert account.credits_held == 0


def test_a_wrong_key_stops_the_run_with_a_clear_reason(
    site: Site, account: Account, server: FakeOpenAI
) -> None:
    add_tasks(site, 8)
    only_stages(site, 4)
    with override_settings(INKLINE_AI_CONCURRENCY=2):
        run = run_now(site, provider_for(server, api_key="sk-wrong"))

    assert run.status == "failed"
    # refused by the connection check before any call, or by the first calls (fatal)
    assert server.base_url in run.stopped_reason and "key" in run.stopped_reason.lower()
    assert len(server.chat_requests("article")) <= 2  # at most the calls already in flight
    assert all(r.status == 401 for r in server.requests)
    assert WritingTask.objects.filter(site=site, status="queued").count() == 8
    account.refresh_from_db()
    assert account.credits == 100_000 and account.credits_held == 0


def test_a_server_error_after_the_retries_is_the_endpoints_not_the_items(
    site: Site, account: Account, server: FakeOpenAI
) -> None:
    """A 500 left after the SDK's retry is an endpoint failure: the item's attempt is not
    counted, its hold goes back, and the run tries it again (one failure is below the
    breaker's count)."""
    add_tasks(site, 4)
    only_stages(site, 4)
    server.inject("500", times=2, schema="article")  # the first call and its one SDK retry
    with override_settings(INKLINE_AI_CONCURRENCY=1):
        run = run_now(site, provider_for(server))

    assert run.status == "completed" and run.outcome == "completed", run.stopped_reason
    assert run.stage_results["4"]["processed"] == 4
    assert run.stage_results["4"]["failed"] == 0
    assert run.stage_results["4"]["endpoint_errors"] == 1
    assert not WritingTask.objects.filter(site=site, attempts__gt=0).exists()
    # no retry on top of the SDK's, and one more try of the item
    assert len(server.chat_requests("article")) == 2 + 4
    assert len(captures(account, "content_generation")) == 4
    releases = CreditTransaction.objects.filter(account=account, kind="release")
    assert releases.count() == 1
    event = run.events.get(code="endpoint_failed")
    assert "answered 500" in event.message and "stays pending" in event.message


def test_a_dead_endpoint_fails_each_run_naming_it_and_drains_nothing(
    site: Site, account: Account
) -> None:
    """The issue's dead endpoint: the `openai` provider (from the settings, as deployed) at an
    address where nothing listens any more. Each run is `failed` within 30 s naming the
    endpoint; after three runs the pending counts are unchanged, no item has an attempt
    counted and nothing was charged."""
    add_keywords(site, COFFEE[:6])
    add_tasks(site, 3)
    with FakeOpenAI() as gone:
        dead = gone.base_url  # stopped on leaving: nothing listens there now
    before = pipeline_pending(site.pk)
    reset_providers()
    try:
        with override_settings(
            INKLINE_AI_PROVIDER="openai",
            OPENAI_BASE_URL=dead,
            OPENAI_API_KEY=API_KEY,
            INKLINE_OPENAI_MODEL=CHAT_MODEL,
            INKLINE_OPENAI_MAX_RETRIES=1,
            INKLINE_OPENAI_TIMEOUT=5.0,
        ):
            for _ in range(3):
                started = time.monotonic()
                run = run_now(site)
                assert time.monotonic() - started < 30
                assert run.status == run.outcome == "failed"
                assert dead in run.stopped_reason, run.stopped_reason
                assert run.error_message
                assert run.total_credits_used == 0
    finally:
        reset_providers()
    assert pipeline_pending(site.pk) == before
    for model in (Keyword, WritingTask):
        assert not model.objects.filter(site=site, attempts__gt=0).exists()
    account.refresh_from_db()
    assert account.credits == 100_000 and account.credits_held == 0
    assert not CreditTransaction.objects.filter(account=account, kind="capture").exists()


@pytest.mark.parametrize("concurrency", [1, 3])
def test_the_server_sees_at_most_c_requests_in_flight_and_exactly_c_at_peak(
    site: Site, concurrency: int
) -> None:
    add_tasks(site, 3 * concurrency + 1)
    only_stages(site, 4)
    with FakeOpenAI(latency=0.15) as server, override_settings(INKLINE_AI_CONCURRENCY=concurrency):
        run = run_now(site, provider_for(server))
    assert run.status == "completed"
    assert len(server.chat_requests("article")) == 3 * concurrency + 1
    assert server.max_in_flight == concurrency


def test_clustering_is_sequential_whatever_the_concurrency(site: Site) -> None:
    add_keywords(site)
    only_stages(site, 1)
    with (
        FakeOpenAI(latency=0.05) as server,
        override_settings(INKLINE_AI_CONCURRENCY=4, INKLINE_CLUSTER_BATCH=5),
    ):
        run = run_now(site, provider_for(server))
    assert run.status == "completed"
    assert run.stage_results["1"]["processed"] == 24  # in batches of 5
    # grouping asks nothing; one naming call per new cluster, one at a time
    assert not server.chat_requests("keyword_clusters")
    assert len(server.chat_requests("cluster_name")) == Cluster.objects.filter(site=site).count()
    assert server.max_in_flight == 1


def test_a_clustering_that_misplaces_keywords_fails_its_batch_not_the_run(
    site: Site, account: Account
) -> None:
    """Whatever the provider, the engine stores a clustering only if it places every keyword
    of the batch exactly once; otherwise that batch fails with the reason and is not charged."""
    from dataclasses import replace

    from inkline.ai.local import LocalProvider
    from inkline.ai.types import ClusterResult, ExistingCluster, KeywordIn

    class Sloppy(LocalProvider):
        calls = 0

        def cluster_keywords(
            self, keywords: list[KeywordIn], existing: list[ExistingCluster]
        ) -> ClusterResult:
            result = super().cluster_keywords(keywords, existing)
            Sloppy.calls += 1
            if Sloppy.calls > 1:
                return result
            first = result.assignments[0]
            dropped = replace(first, keyword_ids=first.keyword_ids[1:] or (keywords[0].id,) * 2)
            return replace(result, assignments=(dropped, *result.assignments[1:]))

    add_keywords(site, COFFEE[:6])
    only_stages(site, 1)
    with override_settings(INKLINE_CLUSTER_BATCH=3):
        run = run_now(site, Sloppy())

    assert run.status == "completed", run.error_message
    assert run.stage_results["1"]["failed"] == 3 and run.stage_results["1"]["processed"] == 3
    failed = Keyword.objects.filter(site=site, status="new")
    assert failed.count() == 3
    assert all("does not place every keyword exactly once" in k.last_error for k in failed)
    assert all(k.attempts == 1 for k in failed)
    assert len(captures(account, "clustering")) == 1  # the good batch only
    account.refresh_from_db()
    assert account.credits_held == 0
