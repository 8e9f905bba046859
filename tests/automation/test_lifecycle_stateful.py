"""Random sequences of start, pause, resume, cancel, slices of work, worker crashes and beat
ticks, with the invariants checked after every step:

- at most one active run per site, and a site without one can start a run;
- no item is processed twice (each task has at most one article, and the runs' processed
  counts add up to the articles that exist);
- the ledger equals the committed work (balance = opening credits - credits the runs used,
  held credits = open holds).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Sum
from django.test import override_settings
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from inkline.accounts.models import Account
from inkline.ai.local import LocalProvider
from inkline.ai.types import ArticleIn, ArticleResult
from inkline.automation import engine, services
from inkline.automation.models import ACTIVE_STATUSES, AutomationRun, RunStatus
from inkline.automation.scheduler import automation_tick
from inkline.automation.sites import account_create, site_create
from inkline.billing.models import CreditHold, CreditTransaction
from inkline.core.errors import InvalidTransition, RunActive
from inkline.writer.models import Content
from tests.factories import add_tasks, only_stages

OPENING_CREDITS = 5_000
TASKS = 6
_names = itertools.count()


class WorkerDied(BaseException):
    """The process executing a slice disappears: no except, no finally of ours runs."""


class Provider(LocalProvider):
    """Writes articles; optionally the worker dies during its n-th call."""

    def __init__(self, *, die_at: int | None = None) -> None:
        super().__init__(latency_ms=5)
        self.die_at, self.calls = die_at, 0

    def write_content(self, brief: ArticleIn) -> ArticleResult:
        self.calls += 1
        if self.calls == self.die_at:
            raise WorkerDied
        return super().write_content(brief)


class RunLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        n = next(_names)
        self.account, _ = account_create(
            name=f"Acme {n}", username=f"machine{n}", password="pw", credits=OPENING_CREDITS
        )
        self.site = site_create(account=self.account, name=f"site {n}")
        add_tasks(self.site, TASKS)
        only_stages(self.site, 4)
        self.clock = time_machine.travel(dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC), tick=False)
        self.traveller = self.clock.start()
        self.settings = override_settings(INKLINE_AI_CONCURRENCY=1)
        self.settings.enable()

    def teardown(self) -> None:
        self.settings.disable()
        self.clock.stop()

    # --- helpers ------------------------------------------------------------------------------
    def latest(self) -> AutomationRun | None:
        return AutomationRun.objects.filter(site=self.site).order_by("-id").first()

    def active(self) -> AutomationRun | None:
        return AutomationRun.objects.filter(site=self.site, status__in=ACTIVE_STATUSES).first()

    def transition(self, action: Any, allowed: tuple[str, ...]) -> None:
        run = self.latest()
        assert run is not None
        before = run.status
        try:
            after = action(run=run).status
        except InvalidTransition:
            assert before not in allowed, f"{before} should allow it"
            assert AutomationRun.objects.get(pk=run.pk).status == before
        else:
            assert before in allowed, f"{before} -> {after} should be refused"

    # --- rules --------------------------------------------------------------------------------
    @initialize()
    def first_run(self) -> None:
        services.run_start(site=self.site, wake=False)

    @rule()
    def start(self) -> None:
        active = self.active()
        try:
            run = services.run_start(site=self.site, wake=False)
        except RunActive as exc:
            assert active is not None and exc.extra["run_id"] == active.run_id
        else:
            assert active is None and run.status == RunStatus.QUEUED

    @precondition(lambda self: self.latest() is not None)
    @rule()
    def pause(self) -> None:
        self.transition(services.run_pause, (RunStatus.QUEUED, RunStatus.RUNNING))

    @precondition(lambda self: self.latest() is not None)
    @rule()
    def resume(self) -> None:
        self.transition(lambda run: services.run_resume(run=run, wake=False), (RunStatus.PAUSED,))

    @precondition(lambda self: self.latest() is not None)
    @rule()
    def cancel(self) -> None:
        self.transition(services.run_cancel, ACTIVE_STATUSES)

    @precondition(lambda self: self.active() is not None)
    @rule(items=st.integers(min_value=1, max_value=3))
    def execute_slice(self, items: int) -> None:
        run = self.active()
        assert run is not None
        # A slice long enough for a few calls; then the next slice would be enqueued.
        engine.execute_slice(run_id=run.run_id, provider=Provider(), slice_seconds=0.012 * items)

    @precondition(lambda self: self.active() is not None)
    @rule(at_call=st.integers(min_value=1, max_value=3))
    def worker_crash(self, at_call: int) -> None:
        """A worker takes the lease, works, dies mid-call (its hold and lease abandoned);
        time passes until the lease has expired."""
        run = self.active()
        assert run is not None
        with (
            mock.patch.object(engine, "lease_release", lambda lease: None),
            contextlib.suppress(WorkerDied),
        ):
            engine.execute_slice(run_id=run.run_id, provider=Provider(die_at=at_call))
        self.traveller.shift(dt.timedelta(seconds=settings.INKLINE_RUN_LEASE_SECONDS + 1))

    @rule()
    def tick(self) -> None:
        automation_tick(wake=False)

    @rule(minutes=st.sampled_from([1, 90, 8 * 60]))
    def time_passes(self, minutes: int) -> None:
        self.traveller.shift(dt.timedelta(minutes=minutes))

    # --- invariants ---------------------------------------------------------------------------
    @invariant()
    def at_most_one_active_run(self) -> None:
        assert AutomationRun.objects.filter(site=self.site, status__in=ACTIVE_STATUSES).count() <= 1

    @invariant()
    def a_site_without_an_active_run_can_start(self) -> None:
        if self.active() is not None:
            return
        with transaction.atomic():
            assert services.run_start(site=self.site, wake=False).status == RunStatus.QUEUED
            transaction.set_rollback(True)

    @invariant()
    def no_item_processed_twice(self) -> None:
        articles = Content.objects.filter(site=self.site)
        per_task = articles.values("task").annotate(n=Count("id"))
        assert all(row["n"] == 1 for row in per_task)
        processed = sum(
            int(run.stage_results.get("4", {}).get("processed", 0))
            for run in AutomationRun.objects.filter(site=self.site)
        )
        assert processed == articles.count() <= TASKS

    @invariant()
    def ledger_equals_committed_work(self) -> None:
        account = Account.objects.get(pk=self.account.pk)
        ledger = CreditTransaction.objects.filter(account=account)
        assert account.credits == ledger.aggregate(s=Sum("amount"))["s"]
        used = AutomationRun.objects.filter(site=self.site).aggregate(s=Sum("total_credits_used"))[
            "s"
        ]
        assert account.credits == OPENING_CREDITS - (used or 0)
        captures = ledger.filter(kind="capture")
        assert captures.count() == Content.objects.filter(site=self.site).count()
        assert captures.values("idempotency_key").distinct().count() == captures.count()
        open_holds = CreditHold.objects.filter(account=account, status="open")
        assert account.credits_held == (open_holds.aggregate(s=Sum("amount"))["s"] or 0)
        # an ended run (no worker of its own left between steps) holds no credits
        ended = open_holds.exclude(run__status__in=ACTIVE_STATUSES)
        assert not ended.exists(), list(ended.values("run__status", "amount"))


@pytest.mark.django_db
def test_run_lifecycle_keeps_its_invariants_under_any_sequence() -> None:
    run_state_machine_as_test(
        RunLifecycle,
        settings=hypothesis_settings(
            max_examples=15,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
