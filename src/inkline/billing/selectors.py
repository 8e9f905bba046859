"""Billing reads: balances, the ledger, cost settings and the allocation in force."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import QuerySet

from inkline.accounts.models import Account
from inkline.ai.types import OPERATIONS
from inkline.billing import budget
from inkline.billing.models import (
    CreditCostConfig,
    CreditHold,
    CreditTransaction,
    RunBudget,
    SiteAIBudgetAllocation,
)


def balance_of(account_id: int) -> dict[str, int]:
    account = Account.objects.get(pk=account_id)
    return {
        "credits": account.credits,
        "held": account.credits_held,
        "available": account.available_credits,
        "low_balance_threshold": account.low_balance_threshold,
    }


def transactions_of(
    *, account_id: int, site_id: int | None = None, run_pk: int | None = None
) -> QuerySet[CreditTransaction]:
    """The account's ledger, newest first, optionally for one site or one run."""
    qs = CreditTransaction.objects.filter(account_id=account_id).select_related("run")
    if site_id is not None:
        qs = qs.filter(site_id=site_id)
    if run_pk is not None:
        qs = qs.filter(run_id=run_pk)
    return qs.order_by("-at", "-id")


def cost_configs() -> list[CreditCostConfig]:
    """One row per operation, in pipeline order."""
    rows = {c.operation_type: c for c in cost_rows()}
    return [rows[op] for op in OPERATIONS if op in rows]


def global_percentages(rows: list[CreditCostConfig] | None = None) -> dict[str, Decimal]:
    """The default split, from every cost row (pass them if already read)."""
    if rows is None:
        pairs = CreditCostConfig.objects.values_list("operation_type", "budget_percentage")
        return {op: Decimal(pct) for op, pct in pairs}
    return {row.operation_type: Decimal(row.budget_percentage) for row in rows}


def cost_rows() -> list[CreditCostConfig]:
    """Every cost row, active or not."""
    return list(CreditCostConfig.objects.order_by("id"))


def site_allocation(site_id: int) -> SiteAIBudgetAllocation:
    """The site's allocation row, or an unsaved one with the defaults (reads never write)."""
    found = SiteAIBudgetAllocation.objects.filter(site_id=site_id).first()
    return found or SiteAIBudgetAllocation(site_id=site_id)


def allocation_percentages(allocation: SiteAIBudgetAllocation) -> dict[str, Decimal]:
    return {op: getattr(allocation, field) for op, field in budget.PERCENTAGE_FIELDS.items()}


def effective_percentages(
    site_id: int,
    *,
    cost_rows: list[CreditCostConfig] | None = None,
    allocation: SiteAIBudgetAllocation | None = None,
) -> dict[str, Decimal]:
    """The per-operation percentages in force for a site: its own or the global defaults."""
    allocation = allocation or site_allocation(site_id)
    return budget.effective_percentages(
        use_global_defaults=allocation.use_global_defaults,
        custom=allocation_percentages(allocation),
        global_defaults=global_percentages(cost_rows),
    )


def site_operation_budgets(
    site_id: int,
    *,
    cap: int,
    cost_rows: list[CreditCostConfig] | None = None,
    allocation: SiteAIBudgetAllocation | None = None,
) -> dict[str, int] | None:
    """What each operation may spend in one run of the site now under the per-run `cap`
    (its automation settings'; None: uncapped). A caller that already read every cost row
    or the allocation passes them."""
    shares = effective_percentages(site_id, cost_rows=cost_rows, allocation=allocation)
    return budget.operation_budgets(cap, shares)


def run_budget_figures(run_pk: int) -> dict[str, object] | None:
    """A run's cap and, per operation, its share, what it spent and what is on hold."""
    row = RunBudget.objects.filter(pk=run_pk).prefetch_related("lines").first()
    if row is None:
        return None
    return {
        "cap": row.cap,
        "spent": row.spent,
        "held": row.used - row.spent,
        "operations": {
            line.operation_type: {
                "budget": line.limit,
                "spent": line.spent,
                "held": line.used - line.spent,
            }
            for line in row.lines.all()
        },
    }


def open_holds_of(run_pk: int) -> QuerySet[CreditHold]:
    return CreditHold.objects.filter(run_id=run_pk, status=CreditHold.Status.OPEN)


def ledger_key_exists(key: str) -> bool:
    """Whether a ledger row already has this idempotency key (e.g. an item's capture)."""
    return CreditTransaction.objects.filter(idempotency_key=key).exists()
