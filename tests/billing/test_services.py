"""Holds, captures, releases and the per-run budget, one service call at a time."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import IntegrityError, transaction

from inkline import clock
from inkline.accounts.models import Account, Site
from inkline.automation.events import RunEventAlerts
from inkline.automation.models import AutomationConfig, AutomationRun, RunEvent
from inkline.automation.selectors import run_cap
from inkline.billing import selectors
from inkline.billing.models import CreditCostConfig, CreditHold, RunBudget
from inkline.billing.services import (
    HOLD_TTL,
    Hold,
    credit_capture,
    credit_holds_sweep,
    credit_release,
    credit_reserve,
    run_budget_for,
)
from inkline.core.errors import BudgetExhausted, InsufficientCredits
from tests.billing.helpers import assert_books_balance, capped_run, ledger_sum

pytestmark = pytest.mark.django_db

CONTENT = "content_generation"


def reserve(run: AutomationRun, amount: int, op: str = CONTENT) -> Hold:
    return credit_reserve(
        account_id=run.account_id,
        amount=amount,
        operation_type=op,
        site_id=run.site_id,
        run_id=run.pk,
        run_cap=run_cap(run.site_id),
        alerts=RunEventAlerts(run.pk),
    )


def capture(hold: Hold, amount: int, key: str) -> int:
    alerts = RunEventAlerts(hold.run_id) if hold.run_id is not None else None
    with transaction.atomic():
        return credit_capture(
            hold=hold, amount=amount, key=key, description=f"test {key}", alerts=alerts
        )


def test_hold_capture_release_and_the_ledger_explains_the_balance(
    account: Account, site: Site
) -> None:
    run = capped_run(site, 0)
    first = reserve(run, 25)
    second = reserve(run, 25)
    account.refresh_from_db()
    assert account.credits == 100_000 and account.credits_held == 50
    assert account.available_credits == 99_950

    assert capture(first, 12, "k1") == 12  # the actual cost; the rest of the hold goes back
    credit_release(hold=second, reason="AI call failed")
    credit_release(hold=second, reason="again")  # idempotent

    account.refresh_from_db()
    assert account.credits == 100_000 - 12 and account.credits_held == 0
    assert_books_balance(account)
    kinds = list(
        selectors.transactions_of(account_id=account.pk, run_pk=run.pk)
        .order_by("id")
        .values_list("kind", "amount", "held_amount")
    )
    assert kinds == [
        ("reserve", 0, 25),
        ("reserve", 0, 25),
        ("capture", -12, -25),
        ("release", 0, -25),
    ]


def test_a_second_capture_of_the_same_key_is_refused_and_charges_nothing(
    account: Account, site: Site
) -> None:
    run = capped_run(site, 0)
    capture(reserve(run, 10), 10, "run:4:1")
    retry = reserve(run, 10)
    with pytest.raises(IntegrityError):
        capture(retry, 10, "run:4:1")
    credit_release(hold=retry, reason="already done")
    account.refresh_from_db()
    assert account.credits == 100_000 - 10
    assert_books_balance(account)


def test_available_balance_never_goes_below_zero(site: Site, account: Account) -> None:
    Account.objects.filter(pk=account.pk).update(credits=30)
    run = capped_run(site, 0)
    reserve(run, 20)
    with pytest.raises(
        InsufficientCredits, match="content_generation needs 20 credits, 10 available"
    ):
        reserve(run, 20)
    assert Account.objects.get(pk=account.pk).credits_held == 20


def test_each_operation_may_spend_its_share_counting_open_holds(site: Site) -> None:
    run = capped_run(site, 100)  # global defaults: content_generation 40% → 40 credits
    assert reserve(run, 25).amount == 25
    # only 15 are left: the last call is held for what is left, not refused
    assert reserve(run, 25).amount == 15
    with pytest.raises(BudgetExhausted) as refused:
        reserve(run, 1)
    assert refused.value.extra["scope"] == "operation"
    assert refused.value.message == "content_generation budget spent: 40 of 40 credits."
    # other operations have their own shares
    reserve(run, 30, "image_generation")
    with pytest.raises(BudgetExhausted, match="image_generation budget spent: 30 of 30"):
        reserve(run, 1, "image_generation")
    assert RunBudget.objects.get(pk=run.pk).used == 70


def test_a_partial_hold_is_charged_at_most_what_was_held(account: Account, site: Site) -> None:
    run = capped_run(site, 100)
    capture(reserve(run, 36), 36, "first")
    last = reserve(run, 25)
    assert last.amount == 4
    assert capture(last, 9, "last") == 4  # the share is a promise: 40 of 40, never 45
    account.refresh_from_db()
    assert account.credits == 100_000 - 40
    assert_books_balance(account)


def test_a_zero_share_stops_the_operation_with_a_clear_reason(site: Site) -> None:
    run = capped_run(
        site,
        200,
        clustering=0,
        idea_generation=0,
        content_generation=100,
        image_prompt_extraction=0,
        image_generation=0,
    )
    with pytest.raises(BudgetExhausted, match=r"image_generation has no budget in this run \(0%"):
        reserve(run, 3, "image_generation")
    reserve(run, 200)


def test_the_whole_cap_is_enforced_even_if_shares_add_up_to_more(site: Site) -> None:
    # Percentages are validated to sum to 100, but the cap does not rely on it.
    CreditCostConfig.objects.update(budget_percentage=Decimal(100))
    run = capped_run(site, 50)
    reserve(run, 30)
    reserve(run, 20, "image_generation")
    with pytest.raises(BudgetExhausted) as refused:
        reserve(run, 1, "clustering")
    assert refused.value.extra["scope"] == "run"
    assert refused.value.message == "Run credit cap reached: 50 of 50 credits spent."
    run.refresh_from_db()
    assert "cap_100" in run.alerts
    assert run.events.filter(code="cap_100").count() == 1


def test_a_capture_above_its_hold_is_limited_to_the_budget(account: Account, site: Site) -> None:
    run = capped_run(site, 100)  # content share 40
    big = reserve(run, 25)
    small = reserve(run, 10)
    # the call used more than estimated: only the hold plus the 5 credits left are charged
    assert capture(big, 40, "big") == 30
    assert capture(small, 10, "small") == 10
    figures = selectors.run_budget_figures(run.pk)
    assert figures is not None
    assert figures["operations"][CONTENT] == {"budget": 40, "spent": 40, "held": 0}  # type: ignore[index]
    assert figures["spent"] == 40
    account.refresh_from_db()
    assert account.credits == 100_000 - 40
    assert_books_balance(account)
    note = selectors.transactions_of(account_id=account.pk).filter(idempotency_key="big").first()
    assert note is not None and "charged 30 of 40" in note.description


def test_released_holds_give_the_share_back(site: Site) -> None:
    run = capped_run(site, 100)
    hold = reserve(run, 40)
    with pytest.raises(BudgetExhausted):
        reserve(run, 1)
    credit_release(hold=hold, reason="AI call failed")
    reserve(run, 40)
    assert RunBudget.objects.get(pk=run.pk).used == 40


def test_the_run_budget_is_fixed_when_the_run_first_spends(site: Site) -> None:
    run = capped_run(site, 100)
    reserve(run, 10)
    AutomationConfig.objects.filter(site=site).update(max_credits_per_run=10_000)
    CreditCostConfig.objects.filter(operation_type=CONTENT).update(budget_percentage=90)
    row = run_budget_for(run_pk=run.pk, site_id=site.pk, cap=10_000)
    assert row.cap == 100
    assert row.lines.get(operation_type=CONTENT).limit == 40
    assert row.percentages[CONTENT] == "40.00"


def test_cap_alerts_at_80_and_100_percent_fire_once(site: Site) -> None:
    run = capped_run(
        site,
        100,
        clustering=0,
        idea_generation=0,
        content_generation=100,
        image_prompt_extraction=0,
        image_generation=0,
    )
    for i, cost in enumerate((70, 10, 5, 15)):
        capture(reserve(run, cost), cost, f"a{i}")
    run.refresh_from_db()
    assert run.alerts == ["cap_80", "cap_100"]
    alerts = list(run.events.filter(code__startswith="cap_").values_list("code", "message"))
    assert alerts == [
        ("cap_80", "This run has spent 80 of its 100-credit cap (80% reached)."),
        ("cap_100", "This run has spent 100 of its 100-credit cap (100% reached)."),
    ]
    assert all(e.level == "warning" for e in run.events.filter(code__startswith="cap_"))


def test_low_balance_alert_once_per_run(account: Account, site: Site) -> None:
    Account.objects.filter(pk=account.pk).update(credits=130, low_balance_threshold=100)
    run = capped_run(site, 0)
    capture(reserve(run, 20), 20, "l1")
    assert not run.events.filter(code="low_balance").exists()  # 110 left: above
    capture(reserve(run, 20), 20, "l2")  # 90 left: below
    capture(reserve(run, 20), 20, "l3")
    events = run.events.filter(code="low_balance")
    assert events.count() == 1
    assert events.get().message == (
        "Low credit balance: 90 credits available, below the alert threshold of 100."
    )
    site_events = RunEvent.objects.filter(site=site, code="low_balance")
    assert site_events.count() == 1


def test_the_sweeper_releases_expired_holds_of_runs_without_a_live_lease(
    account: Account, site: Site
) -> None:
    run = capped_run(site, 100)
    abandoned = reserve(run, 10)
    live_site = Site.objects.create(account=account, name="other")
    AutomationConfig.objects.create(site=live_site)
    live_run = capped_run(live_site, 0)
    live = reserve(live_run, 10)
    with time_machine.travel(clock.now() + HOLD_TTL + dt.timedelta(seconds=1), tick=False):
        fresh = reserve(run, 5)
        AutomationRun.objects.filter(pk=live_run.pk).update(
            lease_owner="w1", lease_expires_at=clock.now() + dt.timedelta(seconds=60)
        )
        assert credit_holds_sweep() == 1
        assert credit_holds_sweep() == 0
    statuses = dict(CreditHold.objects.values_list("id", "status"))
    assert statuses == {abandoned.id: "released", live.id: "open", fresh.id: "open"}
    assert RunBudget.objects.get(pk=run.pk).used == 5
    assert_books_balance(account)
    assert ledger_sum(account) == 100_000


def test_a_hold_and_its_capture_cost_a_bounded_number_of_queries(
    site: Site, django_assert_max_num_queries: Any
) -> None:
    """Credit bookkeeping runs for every AI call: it must stay a handful of statements."""
    run = capped_run(site, 1_000)
    reserve(run, 5)  # the run's budget is fixed by the first hold
    with django_assert_max_num_queries(8 + 2):  # + the savepoint of the test's transaction
        hold = reserve(run, 5)
    with transaction.atomic(), django_assert_max_num_queries(8):
        credit_capture(hold=hold, amount=4, key="q", description="q", alerts=RunEventAlerts(run.pk))
