"""Failed items: visible through the API, retried by a user, taken again by the next run; and
a run with a flaky provider completes with every item done or failed with its reason."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Sum
from django.test import override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from inkline.accounts.models import Account, Membership, Role, Site
from inkline.ai.local import LocalProvider
from inkline.ai.registry import reset_providers
from inkline.ai.types import AIError, ArticleIn, ArticleResult
from inkline.automation.models import RunEvent
from inkline.automation.retry import items_retry
from inkline.automation.selectors import pipeline_pending
from inkline.automation.sites import account_create, site_create
from inkline.billing.models import CreditTransaction
from inkline.planner.models import Cluster, ContentIdea, Keyword
from inkline.writer.models import Content, Image, WritingTask
from tests.factories import add_keywords, add_tasks, only_stages, run_now

pytestmark = pytest.mark.django_db


class Broken(LocalProvider):
    def write_content(self, brief: ArticleIn) -> ArticleResult:
        raise AIError("model overloaded")


def api(account: Account, role: str = Role.OWNER) -> APIClient:
    if role == Role.OWNER:
        user = Membership.objects.get(account=account, role=Role.OWNER).user
    else:
        user = get_user_model().objects.create_user(username=f"u-{role}", password="pw")
        Membership.objects.create(user=user, account=account, role=role)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def exhaust(site: Site, n: int) -> list[WritingTask]:
    """`n` tasks that failed three times: out of the pending set."""
    tasks = add_tasks(site, n)
    only_stages(site, 4)
    for _ in range(3):
        run_now(site, Broken())
    assert pipeline_pending(site.pk)[4] == 0
    return tasks


def test_retry_service_resets_failed_items_so_the_next_run_takes_them(
    site: Site, provider: LocalProvider
) -> None:
    tasks = exhaust(site, 3)
    assert items_retry(site=site, stage=4, ids=[tasks[0].pk]) == 1
    assert pipeline_pending(site.pk)[4] == 1
    assert items_retry(site=site, stage=4) == 2
    assert items_retry(site=site, stage=4) == 0  # nothing failed any more
    assert WritingTask.objects.filter(site=site, attempts=0, last_error="").count() == 3
    assert RunEvent.objects.filter(site=site, code="items_retried").count() == 2

    run = run_now(site, provider)
    assert run.stage_results["4"]["processed"] == 3
    assert Content.objects.filter(site=site).count() == 3


def test_failed_items_are_listed_and_retried_through_the_api(
    site: Site, account: Account, provider: LocalProvider
) -> None:
    tasks = exhaust(site, 2)
    owner = api(account)

    listed = owner.get(f"/api/v1/sites/{site.pk}/automation/failed/?stage=4")
    assert listed.status_code == 200, listed.content
    body = listed.json()
    assert body["count"] == 2
    first = body["results"][0]
    assert first["id"] == tasks[0].pk and first["name"] == tasks[0].title
    assert first["attempts"] == 3 and first["last_error"] == "model overloaded"
    assert first["retryable"] is False

    answer = owner.post(
        f"/api/v1/sites/{site.pk}/automation/retry/",
        {"stage": 4, "ids": [tasks[1].pk]},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"stage": 4, "retried": 1}
    assert list(pipeline_pending(site.pk).values())[3] == 1

    answer = owner.post(f"/api/v1/sites/{site.pk}/automation/retry/", {"stage": 4}, format="json")
    assert answer.json() == {"stage": 4, "retried": 1}
    listed = owner.get(f"/api/v1/sites/{site.pk}/automation/failed/?stage=4")
    assert listed.json()["count"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "stage"),
        ({"stage": 7}, "stage"),
        ({"stage": "x"}, "stage"),
        ({"stage": 4, "ids": []}, "ids"),
        ({"stage": 4, "ids": ["a"]}, "ids"),
        ({"stage": 4, "ids": 5}, "ids"),
        ({"stage": 1, "ids": [9223372036854775808]}, "ids"),  # one past the largest id
    ],
)
def test_bad_retry_input_is_a_400_naming_the_field(
    site: Site, account: Account, body: dict[str, Any], field: str
) -> None:
    answer = api(account).post(f"/api/v1/sites/{site.pk}/automation/retry/", body, format="json")
    assert answer.status_code == 400
    assert field in answer.json()


def test_retry_is_scoped_to_the_account_and_refused_to_viewers(
    site: Site, account: Account
) -> None:
    exhaust(site, 1)
    other, _ = account_create(name="Other", username="other", password="pw", credits=10)
    site_create(account=other, name="other-blog")
    url = f"/api/v1/sites/{site.pk}/automation/retry/"

    assert api(other).post(url, {"stage": 4}, format="json").status_code == 404
    failed_url = f"/api/v1/sites/{site.pk}/automation/failed/?stage=4"
    assert api(other).get(failed_url).status_code == 404
    viewer = api(account, Role.VIEWER)
    assert viewer.post(url, {"stage": 4}, format="json").status_code == 403
    assert viewer.get(failed_url).status_code == 200  # viewers may look
    assert viewer.get(f"/api/v1/sites/{site.pk}/automation/failed/").status_code == 400
    assert APIClient().post(url, {"stage": 4}, format="json").status_code == 401
    assert WritingTask.objects.get(site=site).attempts == 3


def test_with_a_30_percent_failure_rate_a_run_completes_and_charges_only_successes(
    site: Site, account: Account
) -> None:
    """INKLINE_LOCAL_AI_FAILURE_RATE=0.3 through the registry, as a deployment would set it:
    a flaky endpoint. Its failures cost no item an attempt; the items are tried again in the
    same run (the breaker set wide enough not to trip), so every item ends done."""
    add_keywords(site)
    reset_providers()
    with override_settings(
        INKLINE_LOCAL_AI_FAILURE_RATE=0.3,
        INKLINE_AI_CONCURRENCY=1,
        INKLINE_CLUSTER_BATCH=4,
        INKLINE_AI_BREAKER_FAILURES=20,
    ):
        run = run_now(site)
    reset_providers()

    assert run.status == "completed", run.stopped_reason
    assert run.outcome == "completed"
    results = run.stage_results
    assert sum(r.get("endpoint_errors", 0) for r in results.values()) > 0
    assert all(r["failed"] == 0 and r["failed_items"] == [] for r in results.values())
    assert all(results[s]["processed"] > 0 for s in "1234567")
    # every item is done, and none had an attempt counted
    assert all(n == 0 for n in pipeline_pending(site.pk).values())
    for model in (Keyword, Cluster, WritingTask, Content, Image):
        assert not model.objects.filter(site=site, attempts__gt=0).exists(), model
    assert not Image.objects.filter(site=site, status="pending").exists()
    assert ContentIdea.objects.filter(site=site, status="new").count() == 0

    # one capture per successful call, one release per failed call
    ledger = CreditTransaction.objects.filter(account=account)
    stages = {"clustering": "1", "idea_generation": "2", "content_generation": "4"}
    stages |= {"image_prompt_extraction": "5", "image_generation": "6"}
    batch = 4
    for operation, stage in stages.items():
        per_call = batch if stage == "1" else 1
        done = ledger.filter(kind="capture", operation_type=operation).count()
        assert done == -(-results[stage]["processed"] // per_call), operation
        released = ledger.filter(kind="release", operation_type=operation).count()
        assert released == results[stage].get("endpoint_errors", 0), operation
    charged = -(ledger.filter(kind="capture").aggregate(s=Sum("amount"))["s"] or 0)
    assert charged == run.total_credits_used > 0
    account.refresh_from_db()
    assert account.credits == 100_000 - charged and account.credits_held == 0
