"""Run budgets (the per-run cap and each operation's share) and the settings they come from.

A run's budget is fixed the first time the run reserves credits: its cap
(`max_credits_per_run`, 0 = unlimited) and, with a cap, one line per operation holding
floor(cap × percentage / 100). Every hold of the run is taken by conditional UPDATEs
(`used + amount <= limit`) on the operation's line and then on the run's row, in that order,
inside the hold's transaction: the check and the write are one statement, so concurrent
reservations (threads, processes, PostgreSQL or SQLite) can never overshoot. `used` counts
captures and open holds; captures may replace a hold by at most the hold plus what is left.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F

from inkline import clock
from inkline.ai.types import OPERATIONS
from inkline.billing import budget, selectors
from inkline.billing.models import (
    CreditCostConfig,
    RunBudget,
    RunBudgetLine,
    SiteAIBudgetAllocation,
)
from inkline.core.errors import BudgetExhausted, ValidationFailed


def run_budget_for(*, run_pk: int) -> RunBudget:
    """The run's budget, fixed from the site's settings the first time it is asked for."""
    existing = RunBudget.objects.filter(pk=run_pk).first()
    if existing is not None:
        return existing
    from inkline.automation.models import AutomationRun

    site_id = AutomationRun.objects.values_list("site_id", flat=True).get(pk=run_pk)
    cap = selectors.run_cap(site_id)
    percentages = selectors.effective_percentages(site_id)
    try:
        with transaction.atomic():
            row = RunBudget.objects.create(
                run_id=run_pk,
                cap=cap,
                percentages={op: str(p) for op, p in percentages.items()},
                created_at=clock.now(),
            )
            shares = budget.operation_budgets(cap, percentages) or {}
            RunBudgetLine.objects.bulk_create(
                RunBudgetLine(budget=row, operation_type=op, limit=limit)
                for op, limit in shares.items()
            )
    except IntegrityError:  # another executor fixed it first
        return RunBudget.objects.get(pk=run_pk)
    return row


def _locked(run_pk: int, operation_type: str) -> tuple[RunBudgetLine | None, RunBudget | None]:
    """Lock the operation's line, then the run's row: every writer takes them in this order
    (a no-op on SQLite, where IMMEDIATE transactions already serialize writers)."""
    line = (
        RunBudgetLine.objects.select_for_update()
        .filter(budget_id=run_pk, operation_type=operation_type)
        .first()
    )
    row = RunBudget.objects.select_for_update().filter(pk=run_pk).first()
    return line, row


def run_budget_take(*, run_pk: int, operation_type: str, amount: int) -> int:
    """Count a new hold of up to `amount` against the run's budget and return what was held:
    `amount`, or what is left of the operation's share or of the cap when that is less (the
    last call of an operation in a run; its capture charges at most what was held). Raises
    BudgetExhausted when nothing is left: scope "operation" for the operation's share, "run"
    for the whole cap. Call inside the hold's transaction."""
    row = run_budget_for(run_pk=run_pk)
    if row.cap == 0:
        RunBudget.objects.filter(pk=run_pk).update(used=F("used") + amount)
        return amount
    line, locked = _locked(run_pk, operation_type)
    row = locked or row
    limit, used = (line.limit, line.used) if line else (0, 0)
    if limit - used <= 0:
        if limit == 0:
            message = (
                f"{operation_type} has no budget in this run "
                f"(0% of the {row.cap}-credit cap): stage stopped."
            )
        else:
            message = f"{operation_type} budget spent: {used} of {limit} credits."
        raise BudgetExhausted(
            message, scope="operation", operation=operation_type, used=used, budget=limit
        )
    assert line is not None  # a missing line has limit 0: refused above
    take = min(amount, limit - used, row.cap - row.used)
    # Conditional writes as well as locks: the check and the write stay one statement.
    if (
        take <= 0
        or not RunBudgetLine.objects.filter(pk=line.pk, used__lte=F("limit") - take).update(
            used=F("used") + take
        )
        or not RunBudget.objects.filter(pk=run_pk, used__lte=F("cap") - take).update(
            used=F("used") + take
        )
    ):
        raise BudgetExhausted(
            f"Run credit cap reached: {row.used} of {row.cap} credits spent.",
            scope="run",
            operation=operation_type,
            used=row.used,
            budget=row.cap,
        )
    return take


def run_budget_room(*, run_pk: int, operation_type: str) -> int | None:
    """Lock the run's budget rows for a capture and return what is left of the operation's
    share and of the cap beyond the holds; None when the run is uncapped."""
    line, row = _locked(run_pk, operation_type)
    if row is None or row.cap == 0:
        return None
    room = row.cap - row.used
    if line is not None:
        room = min(room, line.limit - line.used)
    return room


def run_budget_apply(*, run_pk: int, operation_type: str, held: int, charge: int) -> int:
    """Replace a hold of `held` by a charge of `charge` (within the room returned by
    `run_budget_room`); returns the run's total spending afterwards."""
    delta = charge - held
    RunBudgetLine.objects.filter(budget_id=run_pk, operation_type=operation_type).update(
        used=F("used") + delta, spent=F("spent") + charge
    )
    RunBudget.objects.filter(pk=run_pk).update(used=F("used") + delta, spent=F("spent") + charge)
    return int(RunBudget.objects.values_list("spent", flat=True).filter(pk=run_pk).first() or 0)


def run_budget_give_back(*, run_pk: int, operation_type: str, held: int) -> None:
    """A hold of the run was released: its credits are free for the run again."""
    RunBudgetLine.objects.filter(budget_id=run_pk, operation_type=operation_type).update(
        used=F("used") - held
    )
    RunBudget.objects.filter(pk=run_pk).update(used=F("used") - held)


def allocation_update(
    *, site_id: int, use_global_defaults: bool, percentages: dict[str, Decimal]
) -> SiteAIBudgetAllocation:
    """Set a site's split of the run budget. Percentages left out keep their stored values;
    custom percentages must each be 0–100 and sum to exactly 100 (ValidationFailed)."""
    allocation = selectors.site_allocation(site_id)
    for op, value in percentages.items():
        setattr(allocation, budget.PERCENTAGE_FIELDS[op], value)
    if not use_global_defaults:
        errors = budget.percentage_errors(
            selectors.allocation_percentages(allocation), field=budget.PERCENTAGE_FIELDS
        )
        if errors:
            raise ValidationFailed(errors)
    allocation.use_global_defaults = use_global_defaults
    allocation.save()
    return allocation


def credit_costs_update(*, changes: dict[str, dict[str, Any]]) -> list[CreditCostConfig]:
    """Change the global cost settings (staff only, checked by the caller). `changes` maps an
    operation to its new `unit`, `cost_per_unit`, `budget_percentage`, `is_active`. The
    global percentages must still sum to exactly 100 afterwards."""
    allowed = {"unit", "cost_per_unit", "budget_percentage", "is_active"}
    with transaction.atomic():
        rows = {
            c.operation_type: c
            for c in CreditCostConfig.objects.select_for_update().filter(
                operation_type__in=OPERATIONS
            )
        }
        for op, fields in changes.items():
            row = rows.get(op) or CreditCostConfig(operation_type=op)
            for name, value in fields.items():
                if name in allowed:
                    setattr(row, name, value)
            rows[op] = row
        errors = budget.percentage_errors(
            {op: Decimal(r.budget_percentage) for op, r in rows.items()},
            field=dict.fromkeys(OPERATIONS, "budget_percentage"),
        )
        if errors:
            raise ValidationFailed(errors)
        for op in changes:
            rows[op].save()
    return selectors.cost_configs()
