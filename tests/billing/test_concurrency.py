"""Holds taken at the same time: by threads, each on its own connection, in real concurrent
transactions on PostgreSQL; by processes on the embedded SQLite file, whose IMMEDIATE
transactions serialize writers. A run's share and cap are never overshot, the books balance."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import connection, connections
from django.db.models import Sum

from inkline.accounts.models import Account, Site
from inkline.automation.events import RunEventAlerts
from inkline.automation.models import AutomationRun
from inkline.automation.selectors import run_cap
from inkline.automation.sites import account_create, site_create
from inkline.billing.models import CreditHold, CreditTransaction, RunBudget
from inkline.billing.services import credit_capture, credit_release, credit_reserve
from inkline.core.errors import BudgetExhausted, InsufficientCredits
from tests.billing.helpers import assert_books_balance, capped_run, ensure_default_costs

ROOT = Path(__file__).resolve().parents[2]

THREADS = 8


def in_threads(work: Callable[[int], None]) -> list[BaseException]:
    """Run `work(i)` in THREADS threads released together; return what they raised."""
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def body(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            work(i)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=body, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    return errors


@pytest.fixture
def on_postgres(transactional_db: None) -> None:
    """Threads need their own connections to one database: the SQLite test database is in
    memory (one connection), so on SQLite the process race below covers this."""
    assert connection.vendor == "postgresql"
    ensure_default_costs()


def hold_for(run: AutomationRun, amount: int, op: str = "content_generation") -> object:
    return credit_reserve(
        account_id=run.account_id,
        amount=amount,
        operation_type=op,
        site_id=run.site_id,
        run_id=run.pk,
        run_cap=run_cap(run.site_id),
        alerts=RunEventAlerts(run.pk),
    )


@pytest.mark.postgres_only
def test_concurrent_holds_fill_a_share_exactly_and_never_more(
    on_postgres: None, account: Account, site: Site
) -> None:
    run = capped_run(site, 250)  # content_generation: 40% → 100 credits
    taken: list[int] = []

    def work(_: int) -> None:
        while True:
            try:
                taken.append(hold_for(run, 7).amount)  # type: ignore[attr-defined]
            except BudgetExhausted:
                return

    assert in_threads(work) == []
    assert sum(taken) == 100  # fourteen holds of 7 and the last 2 credits
    assert sorted(taken)[0] == 2 and taken.count(7) == 14
    line = RunBudget.objects.get(pk=run.pk).lines.get(operation_type="content_generation")
    assert line.used == 100 == line.limit
    held = CreditHold.objects.filter(run=run, status="open").aggregate(s=Sum("amount"))["s"]
    assert held == 100 == Account.objects.get(pk=account.pk).credits_held
    assert_books_balance(account)


@pytest.mark.postgres_only
def test_concurrent_holds_captures_and_releases_keep_every_invariant(on_postgres: None) -> None:
    account, _ = account_create(name="Lean", username="lean", password="pw", credits=400)
    site = site_create(account=account, name="lean-blog")
    run = capped_run(site, 300)  # content 120, images 90, the cap 300
    outcomes: list[str] = []

    def work(i: int) -> None:
        rng = random.Random(i)
        for n in range(200):
            op = rng.choice(["content_generation", "image_generation"])
            try:
                hold = hold_for(run, rng.randint(1, 15), op)
            except (BudgetExhausted, InsufficientCredits) as refused:
                outcomes.append(f"{type(refused).__name__}: {refused}")
                if len(outcomes) > 40:
                    return
                continue
            if rng.random() < 0.3:
                credit_release(hold=hold, reason="AI call failed")  # type: ignore[arg-type]
            else:
                credit_capture(
                    hold=hold,  # type: ignore[arg-type]
                    amount=rng.randint(1, 20),
                    key=f"{run.run_id}:{i}:{n}",
                    description="concurrent capture",
                    alerts=RunEventAlerts(run.pk),
                )

    assert in_threads(work) == []
    budget = RunBudget.objects.filter(pk=run.pk).first()
    assert budget is not None, outcomes[:3]
    lines = {line.operation_type: line for line in budget.lines.all()}
    for op, limit in (("content_generation", 120), ("image_generation", 90)):
        captured = -(
            CreditTransaction.objects.filter(run=run, kind="capture", operation_type=op).aggregate(
                s=Sum("amount")
            )["s"]
            or 0
        )
        assert lines[op].limit == limit
        assert captured == lines[op].spent == lines[op].used <= limit
    assert budget.spent == budget.used <= budget.cap
    assert any(o.startswith("BudgetExhausted") for o in outcomes)
    assert not CreditHold.objects.filter(run=run, status="open").exists()
    assert_books_balance(account)
    assert Account.objects.get(pk=account.pk).credits == 400 - budget.spent


@pytest.mark.slow
@pytest.mark.sqlite_only
def test_processes_racing_on_the_sqlite_file_never_overshoot(tmp_path: Path) -> None:
    env = {**os.environ, "INKLINE_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "tests.billing.holds_race", "4"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert sum(1 for c in figures["counts"] if c["held"]) >= 2  # they really interleaved
    lines = figures["lines"]
    for op in ("content_generation", "image_generation"):
        line = lines[op]
        assert figures["captured"][op] == line["spent"] == line["used"] <= line["limit"]
    assert lines["content_generation"]["limit"] == 240 and lines["image_generation"]["limit"] == 180
    assert figures["spent"] == figures["used"] == sum(figures["captured"].values()) <= 600
    assert figures["open_holds"] == figures["credits_held"] == 0
    assert figures["credits"] == figures["ledger_sum"] == 10_000 - figures["spent"]
