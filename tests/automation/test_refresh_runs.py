"""A run refreshes published articles when the site's automation settings say so: picked by
age or SEO score, at most the per-run maximum, written inside the run with their credits
counted toward its budget; what a run leaves unwritten is failed visibly by the tick."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from inkline.accounts.models import Account, Site
from inkline.ai.local import LocalProvider
from inkline.automation.models import AutomationRun, RunEvent
from inkline.automation.refresh import refresh_tick
from inkline.automation.services import run_start
from inkline.automation.sites import site_create
from inkline.billing.models import CreditTransaction
from inkline.publishing.services import content_publish_due
from inkline.writer.models import Content, ContentRevision
from inkline.writer.selectors import RefreshPick
from inkline.writer.services import revisions_request
from tests.factories import add_tasks, configure, only_stages, run_now
from tests.publishing.builders import publishing

pytestmark = pytest.mark.django_db
UTC = dt.UTC
NOW = dt.datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
LATER = NOW + dt.timedelta(days=100)


def published(account: Account, provider: LocalProvider, n: int) -> Site:
    site = site_create(account=account, name="s", url="https://blog.example.com")
    publishing(site, scheduling_mode="immediate")
    add_tasks(site, n)
    only_stages(site, 4, 7)
    with time_machine.travel(NOW, tick=False):
        assert run_now(site, provider).status == "completed"
    with time_machine.travel(NOW + dt.timedelta(days=1), tick=False):
        content_publish_due()
    assert Content.objects.filter(site=site, status="published").count() == n
    return site


def test_a_run_refreshes_the_oldest_articles_up_to_its_maximum_and_bills_its_budget(
    account: Account, provider: LocalProvider
) -> None:
    site = published(account, provider, 3)
    configure(
        site,
        refresh_enabled=True,
        refresh_older_than_days=90,
        refresh_max_per_run=2,
    )
    with time_machine.travel(LATER, tick=False):
        run = run_now(site, provider)
    assert run.status == "completed", run.error_message
    revisions = list(ContentRevision.objects.filter(run_pk=run.pk).order_by("content_id"))
    oldest = list(Content.objects.filter(site=site).order_by("published_at", "id"))[:2]
    assert [r.content_id for r in revisions] == [c.pk for c in oldest]
    assert {(r.status, r.trigger_type) for r in revisions} == {("review", "scheduled")}
    captures = CreditTransaction.objects.filter(run=run, kind="capture")
    assert sorted(c.idempotency_key for c in captures) == sorted(
        f"refresh:{r.pk}" for r in revisions
    )
    spent = sum(r.credits_used for r in revisions)
    assert spent > 0 and run.total_credits_used == spent == -sum(c.amount for c in captures)
    assert RunEvent.objects.filter(run=run, code="refresh").count() == 3  # picked + 2 written

    # The next run picks nothing new while those wait for review, and the third one's age.
    with time_machine.travel(LATER + dt.timedelta(days=1), tick=False):
        second = run_now(site, provider)
    assert [r.status for r in ContentRevision.objects.filter(run_pk=second.pk)] == ["review"]


def test_a_run_off_refresh_or_without_criteria_refreshes_nothing(
    account: Account, provider: LocalProvider
) -> None:
    site = published(account, provider, 1)
    configure(site, refresh_enabled=False, refresh_older_than_days=1)
    with time_machine.travel(LATER, tick=False):
        run_now(site, provider)
    configure(site, refresh_enabled=True, refresh_older_than_days=0)
    with time_machine.travel(LATER, tick=False):
        run_now(site, provider)
    assert not ContentRevision.objects.exists()
    configure(site, refresh_below_threshold=True)
    Content.objects.filter(site=site).update(seo_score=1)
    with time_machine.travel(LATER, tick=False):
        run = run_now(site, provider)
    (revision,) = ContentRevision.objects.all()
    assert (revision.run_pk, revision.reason) == (run.pk, "SEO score 1 below 70")


def test_a_spent_run_budget_stops_refreshing_with_the_reason(
    account: Account, provider: LocalProvider
) -> None:
    site = published(account, provider, 3)
    configure(
        site,
        refresh_enabled=True,
        refresh_older_than_days=90,
        refresh_max_per_run=3,
        max_credits_per_run=5,
    )
    with time_machine.travel(LATER, tick=False):
        run = run_now(site, provider)
    assert run.total_credits_used <= 5
    statuses = list(
        ContentRevision.objects.filter(run_pk=run.pk).values_list("status", "last_error")
    )
    assert any(status == "failed" and "Refreshing stopped" in err for status, err in statuses)
    assert "Refreshing stopped" in run.stopped_reason


def test_the_tick_fails_what_an_ended_run_left_unwritten(
    account: Account, provider: LocalProvider
) -> None:
    site = published(account, provider, 1)
    run = run_start(site=site, wake=False)
    content = Content.objects.get(site=site)
    (revision,) = revisions_request(
        site_id=site.pk,
        picks=[RefreshPick(content.pk, "listed")],
        trigger="scheduled",
        requested_by="run",
        run_pk=run.pk,
    )
    assert refresh_tick(wake=False) == []  # its run is active: the run writes it
    revision.refresh_from_db()
    assert revision.status == "queued"
    AutomationRun.objects.filter(pk=run.pk).update(status="cancelled")
    assert refresh_tick(wake=False) == []
    revision.refresh_from_db()
    assert revision.status == "failed" and "run ended" in revision.last_error
