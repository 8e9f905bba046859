"""The run pages tell the truth at every moment: a paused or cancelled run reads "Pausing…" or
"Cancelling…" while its calls in flight settle, the run page polls itself while the run is
active, a running run shows the time it has left, and nothing about "the next run" or "is
running" stays on screen when it no longer holds."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client

from inkline import clock
from inkline.accounts.models import Account, Site
from inkline.automation.models import AutomationRun
from inkline.automation.services import run_cancel, run_pause, run_start
from inkline.web.selectors import time_left_words
from tests.factories import add_tasks, only_stages

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(client: Client, account: Account) -> Client:
    client.login(username="owner", password="pw")
    return client


def hold_lease(run: AutomationRun) -> None:
    """A worker holds the run: its calls in flight have not settled yet."""
    AutomationRun.objects.filter(pk=run.pk).update(
        lease_owner="w1", lease_epoch=1, lease_expires_at=clock.now() + dt.timedelta(minutes=1)
    )


def let_go(run: AutomationRun) -> None:
    AutomationRun.objects.filter(pk=run.pk).update(lease_owner="", lease_expires_at=None)


def started(run: AutomationRun, **results: dict[str, object]) -> AutomationRun:
    AutomationRun.objects.filter(pk=run.pk).update(
        status="running",
        started_at=clock.now(),
        current_stage=4,
        stage_plan={"4": 10},
        stage_results=results,
    )
    run.refresh_from_db()
    return run


def badge(html: str) -> str:
    found = re.search(r'<span class="badge s-\w+[^"]*"[^>]*>([^<]+)</span>', html)
    assert found, html[:2000]
    return found.group(1)


def test_a_cancelled_run_reads_cancelling_until_its_worker_lets_go(
    owner: Client, site: Site
) -> None:
    add_tasks(site, 10)
    run = started(run_start(site=site, wake=False), **{"4": {"processed": 3, "created": 3,
                  "failed": 0, "credits_used": 30, "seconds": 3.0}})  # fmt: skip
    hold_lease(run)
    answer = owner.post(f"/runs/{run.run_id}/cancel/", follow=True).content.decode()
    assert "is cancelling: the AI calls in flight finish and are recorded first" in answer
    live = owner.get(f"/sites/{site.pk}/live/").content.decode()
    assert badge(live) == "Cancelling…" and 'hx-trigger="every 1s"' in live
    assert "cancelling at stage 4" in live
    assert f'data-run="{run.run_id}" data-run-status="cancelled" data-run-settling="true"' in live
    page = owner.get(f"/runs/{run.run_id}/").content.decode()
    assert badge(page) == "Cancelling…"
    assert f'hx-get="/runs/{run.run_id}/live/"' in page  # polled until it settles
    row = page.split('data-stage="4"')[1].split("</tr>")[0]
    assert "Cancelling…" in row and "In progress" not in row

    # The worker recorded its last call, ended the stage and let go: final.
    run.refresh_from_db()
    results = run.stage_results
    results["4"] |= {"processed": 4, "status": "cancelled"}
    AutomationRun.objects.filter(pk=run.pk).update(stage_results=results)
    let_go(run)
    live = owner.get(f"/sites/{site.pk}/live/").content.decode()
    assert badge(live) == "Cancelled" and 'hx-trigger="every 10s"' in live
    assert 'data-run-status="cancelled" data-run-settling="false"' in live
    page = owner.get(f"/runs/{run.run_id}/live/").content.decode()
    assert badge(page) == "Cancelled" and "hx-get" not in page
    row = page.split('data-stage="4"')[1].split("</tr>")[0]
    assert 'data-col="processed">4<' in row and ">Cancelled</span>" in row


def test_a_paused_run_reads_pausing_then_paused(owner: Client, site: Site) -> None:
    run = started(run_start(site=site, wake=False), **{"4": {"processed": 1, "created": 1,
                  "failed": 0, "credits_used": 10, "seconds": 1.0}})  # fmt: skip
    hold_lease(run)
    run_pause(run=run)
    assert badge(owner.get(f"/sites/{site.pk}/live/").content.decode()) == "Pausing…"
    page = owner.get(f"/runs/{run.run_id}/live/").content.decode()
    assert badge(page) == "Pausing…" and "hx-get" in page
    let_go(run)
    assert badge(owner.get(f"/sites/{site.pk}/live/").content.decode()) == "Paused"
    page = owner.get(f"/runs/{run.run_id}/live/").content.decode()
    row = page.split('data-stage="4"')[1].split("</tr>")[0]
    assert ">Paused</span>" in row and "hx-get" in page  # a paused run is still active


def test_an_ended_run_page_stops_polling_and_a_stage_left_unfinished_says_so(
    owner: Client, site: Site
) -> None:
    run = started(run_start(site=site, wake=False), **{"4": {"processed": 1, "created": 1,
                  "failed": 0, "credits_used": 10, "seconds": 1.0}})  # fmt: skip
    AutomationRun.objects.filter(pk=run.pk).update(status="failed", completed_at=clock.now())
    page = owner.get(f"/runs/{run.run_id}/").content.decode()
    assert "hx-trigger" not in page and 'data-run-status="failed"' in page
    row = page.split('data-stage="4"')[1].split("</tr>")[0]
    assert "Not finished" in row and "In progress" not in row


def test_a_running_run_shows_the_time_it_has_left(owner: Client, site: Site) -> None:
    add_tasks(site, 10)
    only_stages(site, 4)
    run = run_start(site=site, wake=False)
    page = owner.get(f"/runs/{run.run_id}/").content.decode()
    assert "data-time-left" not in page  # nothing measured yet
    started(run, **{"4": {"processed": 4, "created": 4, "failed": 0, "credits_used": 40,
                          "seconds": 120.0}})  # fmt: skip
    page = owner.get(f"/runs/{run.run_id}/").content.decode()
    # 6 tasks left at the 30 s a task this run measured.
    assert "data-time-left>· about 3 min left" in page
    live = owner.get(f"/sites/{site.pk}/live/").content.decode()
    assert "data-time-left>· about" in live


def test_the_next_run_estimate_is_hidden_while_a_run_is_active(owner: Client, site: Site) -> None:
    add_tasks(site, 5)
    assert "credits next run" in owner.get(f"/sites/{site.pk}/live/").content.decode()
    run = run_start(site=site, wake=False)
    live = owner.get(f"/sites/{site.pk}/live/").content.decode()
    assert "credits next run" not in live
    run_cancel(run=run)
    assert "credits next run" in owner.get(f"/sites/{site.pk}/live/").content.decode()


def test_banners_about_a_run_say_what_keeps_them_true(owner: Client, site: Site) -> None:
    """Each banner about a run names the state it describes, for the page to remove it once
    the state is over (web/runs.js): "started" while the run is active, "is paused" while it
    is paused, "is running" while it runs, "is pausing" while it settles."""
    started_page = owner.post(f"/sites/{site.pk}/runs/", follow=True).content.decode()
    run = AutomationRun.objects.get(site=site)

    def marked(state: str) -> str:
        return f'class="msg run-msg run-{run.run_id} while-{state} success"'

    assert marked("active") in started_page and "runs.js" in started_page
    assert f'data-run="{run.run_id}" data-run-status="queued"' in started_page
    paused = owner.post(f"/runs/{run.run_id}/pause/", follow=True).content.decode()
    assert f"{marked('paused')}" in paused and f"Run {run.run_id} is paused." in paused
    resumed = owner.post(f"/runs/{run.run_id}/resume/", follow=True).content.decode()
    assert marked("running") in resumed and f"Run {run.run_id} is running." in resumed
    hold_lease(run)
    pausing = owner.post(f"/runs/{run.run_id}/pause/", follow=True).content.decode()
    assert marked("settling") in pausing and "is pausing: the AI calls in flight" in pausing
    let_go(run)
    cancelled = owner.post(f"/runs/{run.run_id}/cancel/", follow=True).content.decode()
    assert f'<li class="msg success" role="status">Run {run.run_id} is cancelled.' in cancelled
    assert 'data-run-status="cancelled" data-run-settling="false"' in cancelled


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (None, ""),
        (0, "less than a minute left"),
        (59, "less than a minute left"),
        (60, "about 1 min left"),
        (29 * 60 + 31, "about 30 min left"),
        (3600, "about 1 h left"),
        (3600 + 20 * 60, "about 1 h 20 min left"),
    ],
)
def test_time_left_in_words(seconds: int | None, words: str) -> None:
    assert time_left_words(seconds) == words
