"""Small builders shared by the billing tests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Sum

from inkline.accounts.models import Account, Site
from inkline.automation.models import AutomationConfig, AutomationRun
from inkline.automation.services import run_start
from inkline.billing.models import CreditCostConfig, CreditHold, CreditTransaction
from inkline.billing.services import allocation_update


def ledger_sum(account: Account | int) -> int:
    account_id = account if isinstance(account, int) else account.pk
    total = CreditTransaction.objects.filter(account_id=account_id).aggregate(s=Sum("amount"))
    return int(total["s"] or 0)


def assert_books_balance(account: Account | int) -> None:
    """The ledger explains the balance and the open holds explain `credits_held`."""
    account_id = account if isinstance(account, int) else account.pk
    fresh = Account.objects.get(pk=account_id)
    assert fresh.credits == ledger_sum(account_id)
    open_holds = CreditHold.objects.filter(account_id=account_id, status="open")
    assert fresh.credits_held == (open_holds.aggregate(s=Sum("amount"))["s"] or 0)
    assert fresh.credits >= fresh.credits_held >= 0
    previous = None
    for row in CreditTransaction.objects.filter(account_id=account_id).order_by("id"):
        running = row.amount + (previous or 0)
        assert row.balance_after == running, row
        previous = running


def capped_run(site: Site, cap: int, **percentages: Any) -> AutomationRun:
    """A queued run of `site` with a credit cap and, if given, the site's own split."""
    AutomationConfig.objects.filter(site=site).update(max_credits_per_run=cap)
    if percentages:
        allocation_update(
            site_id=site.pk,
            use_global_defaults=False,
            percentages={op: Decimal(p) for op, p in percentages.items()},
        )
    return run_start(site=site, wake=False)


def set_cost(operation: str, *, unit: str, cost: str) -> None:
    CreditCostConfig.objects.filter(operation_type=operation).update(
        unit=unit, cost_per_unit=Decimal(cost)
    )


def ensure_default_costs() -> None:
    """The seeded cost settings; transactional tests flush the data migrations left."""
    from inkline.billing.costs import DEFAULT_COSTS

    for op, (unit, cost, pct) in DEFAULT_COSTS.items():
        CreditCostConfig.objects.update_or_create(
            operation_type=op,
            defaults={"unit": unit, "cost_per_unit": cost, "budget_percentage": pct},
        )
