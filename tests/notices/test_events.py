"""Where events come from: runs ending, articles published or given up on, budget alerts,
schedules turning themselves off; and the email notices to account owners."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail

from inkline.accounts.models import Account, Membership, Role, Site
from inkline.ai.local import LocalProvider
from inkline.ai.types import AIError, ArticleIn, ArticleResult
from inkline.automation import engine, services
from inkline.automation.events import RunEventAlerts
from inkline.automation.scheduler import automation_tick
from inkline.automation.services import run_start
from inkline.notices.models import Delivery, EventKind
from inkline.notices.services import deliveries_send_due, endpoint_create
from inkline.publishing.services import MAX_PUBLISH_ATTEMPTS, content_publish, content_schedule
from inkline.writer.models import Content
from tests.factories import add_tasks, only_stages, run_now
from tests.publishing.builders import approved

pytestmark = pytest.mark.django_db
UTC = dt.UTC
URL = "http://127.0.0.1:9/hook"


@pytest.fixture
def subscribed(account: Account, settings: Any) -> None:
    settings.INKLINE_ALLOW_PRIVATE_TARGETS = True
    endpoint_create(account=account, url=URL, events=list(EventKind))


@pytest.fixture
def owner_email(account: Account) -> str:
    get_user_model().objects.filter(username="owner").update(email="owner@example.com")
    return "owner@example.com"


def events(channel: str = "webhook") -> list[tuple[str, dict[str, Any]]]:
    rows = Delivery.objects.filter(channel=channel).order_by("id")
    return [(d.kind, json.loads(d.body)["data"]) for d in rows]


class DownProvider(LocalProvider):
    def write_content(self, brief: ArticleIn) -> ArticleResult:
        raise AIError("connection refused")


@pytest.mark.usefixtures("subscribed")
def test_a_completed_run_and_a_cancelled_run_emit_their_events(site: Site) -> None:
    add_tasks(site, 1)
    only_stages(site, 4)
    run = run_now(site)
    assert run.status == "completed"
    ((kind, data),) = events()
    assert kind == "run.completed" and data["run_id"] == run.run_id
    assert data["status"] == "completed" and data["site"] == {"id": site.pk, "name": site.name}
    assert data["stopped_reason"] == run.stopped_reason

    cancelled = services.run_cancel(run=run_start(site=site, wake=False), by="alice")
    kind, data = events()[-1]
    assert kind == "run.cancelled" and data["run_id"] == cancelled.run_id
    assert data["stopped_reason"].startswith("Cancelled by alice")


@pytest.mark.usefixtures("subscribed")
def test_failed_runs_then_a_schedule_turning_itself_off_emit_events_and_mail_the_owner(
    site: Site, owner_email: str, account: Account
) -> None:
    # another owner without an address and an editor with one: neither gets mail
    for name, role, email in (("o2", Role.OWNER, ""), ("ed", Role.EDITOR, "ed@example.com")):
        user = get_user_model().objects.create_user(username=name, password="pw", email=email)
        Membership.objects.create(user=user, account=account, role=role)
    add_tasks(site, 5)
    only_stages(site, 4)
    engine.AutomationConfig.objects.filter(site=site).update(
        is_enabled=True, next_run_at=dt.datetime(2026, 6, 2, 2, 0, tzinfo=UTC)
    )
    with time_machine.travel(dt.datetime(2026, 6, 2, 2, 0, 1, tzinfo=UTC), tick=False) as t:
        for day in (2, 3, 4):
            t.move_to(dt.datetime(2026, 6, day, 2, 0, 1, tzinfo=UTC))
            (run_id,) = automation_tick(wake=False).started
            assert engine.run_to_end(run_id=run_id, provider=DownProvider()).status == "failed"
        t.move_to(dt.datetime(2026, 6, 5, 2, 0, 1, tzinfo=UTC))
        assert automation_tick(wake=False).disabled == [site.pk]
    kinds = [kind for kind, _ in events()]
    assert kinds == ["run.failed"] * 3 + ["schedule.disabled"]
    disabled = events()[-1][1]
    assert "3 scheduled runs failed in a row" in disabled["message"]
    assert events()[0][1]["error_message"]  # why it failed

    # run.failed is mailed to the owner with an address; schedule.disabled is not mailed
    mailed = Delivery.objects.filter(channel="email")
    assert [(d.kind, d.recipient) for d in mailed] == [("run.failed", owner_email)] * 3
    outcomes = deliveries_send_due()
    assert list(outcomes.values()).count("delivered") == 3  # the webhook is down: retries
    assert len(mail.outbox) == 3
    message = mail.outbox[0]
    assert message.to == [owner_email] and message.subject == f"[Inkline] A run failed: {site.name}"
    assert f"on {site.name} failed. Stopped:" in message.body
    assert "connection refused" in message.body


@pytest.mark.usefixtures("subscribed")
def test_an_article_published_and_one_given_up_on_emit_events(
    site: Site, settings: Any, tmp_path: Path, owner_email: str
) -> None:
    good, bad = approved(site, 2)
    content_schedule(site=site, now=dt.datetime(2026, 6, 1, tzinfo=UTC))
    slot = Content.objects.get(pk=good).scheduled_publish_at
    assert slot is not None
    assert content_publish(content_id=good, now=slot) == "published"
    ((kind, data),) = events()
    published = Content.objects.get(pk=good)
    assert kind == "article.published" and data["content_id"] == good
    assert data["url"] == published.published_url and data["title"] == published.title

    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings.SITE_OUTPUT_DIR = blocker  # writing under a file fails
    at = Content.objects.get(pk=bad).scheduled_publish_at
    assert at is not None
    outcomes = []
    for _ in range(MAX_PUBLISH_ATTEMPTS):
        outcomes.append(content_publish(content_id=bad, now=at))
        at = Content.objects.get(pk=bad).next_publish_attempt_at or at
    assert outcomes[-1] == "failed"
    kind, data = events()[-1]
    assert kind == "article.failed" and data["content_id"] == bad
    assert data["error"].startswith(f"Gave up after {MAX_PUBLISH_ATTEMPTS} attempt(s)")
    assert [kind for kind, _ in events()] == ["article.published", "article.failed"]
    # only the failure is mailed
    assert [kind for kind, _ in events("email")] == ["article.failed"]


@pytest.mark.usefixtures("subscribed")
def test_a_budget_alert_emits_an_event_and_mails_the_owner(site: Site, owner_email: str) -> None:
    run = run_start(site=site, wake=False)
    RunEventAlerts(run.pk).send("cap_80", "This run has spent 80 of its 100-credit cap.")
    ((kind, data),) = events()
    assert kind == "budget.alert" and data["code"] == "cap_80" and data["run_id"] == run.run_id
    assert events("email") == [(kind, data)]
    deliveries_send_due()
    (message,) = [m for m in mail.outbox if m.to == [owner_email]]
    assert message.subject == f"[Inkline] Budget alert: {site.name}"
    assert "80 of its 100-credit cap" in message.body


def test_with_no_endpoint_and_no_owner_address_an_event_writes_nothing(site: Site) -> None:
    add_tasks(site, 1)
    only_stages(site, 4)
    assert run_now(site, provider=DownProvider()).status == "failed"
    assert not Delivery.objects.exists()
