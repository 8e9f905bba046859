"""Run budgets (the per-run cap and each operation's share) and the settings they come from.

A run's budget is fixed the first time the run reserves credits: its cap
(`max_credits_per_run`, 0 = unlimited) and, with a cap, one line per operation holding
floor(cap × percentage / 100). Every hold of the run is taken by conditional UPDATEs
(`used + amount <= limit`) on the operation's line and on the run's row,
inside the hold's transaction: the check and the write are one statement, so concurrent
reservations (threads, processes, PostgreSQL or SQLite) can never overshoot. `used` counts
captures and open holds; captures may replace a hold by at most the hold plus what is left.
Writers lock the run's row before the operation's line, always in that order.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Model

from inkline import clock
from inkline.accounts.services import site_pipeline_changed
from inkline.ai.types import OPERATIONS
from inkline.billing import budget, selectors
from inkline.billing.models import (
    CreditCostConfig,
    RunBudget,
    RunBudgetLine,
    SiteAIBudgetAllocation,
)
from inkline.core.errors import BudgetExhausted, ValidationFailed


def update_returning(model: type[Model], sql: str, params: list[Any]) -> tuple[Any, ...] | None:
    """`UPDATE <model's table> <sql> RETURNING ...` in one statement (SQLite 3.35+ and
    PostgreSQL): the row's new values, or None when no row matched."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} {sql}", params)
        row = cursor.fetchone()
    return tuple(row) if row is not None else None


def run_budget_for(*, run_pk: int, site_id: int, cap: int) -> RunBudget:
    """The run's budget, fixed the first time it is asked for: `cap` is the site's per-run
    cap (0 = unlimited, read by the caller from the site's automation settings), split by
    the site's percentages in force."""
    existing = RunBudget.objects.filter(pk=run_pk).first()
    if existing is not None:
        return existing
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


def _locked(run_pk: int, operation_type: str) -> tuple[RunBudget | None, RunBudgetLine | None]:
    """Lock the run's row, then (capped runs) the operation's line: every writer takes them
    in this order (a no-op on SQLite, where IMMEDIATE transactions serialize writers)."""
    row = RunBudget.objects.select_for_update().filter(pk=run_pk).first()
    if row is None or row.cap == 0:
        return row, None
    line = (
        RunBudgetLine.objects.select_for_update()
        .filter(budget_id=run_pk, operation_type=operation_type)
        .first()
    )
    return row, line


def run_budget_take(
    *, run_pk: int, site_id: int, cap: int | None, operation_type: str, amount: int
) -> int:
    """Count a new hold of up to `amount` against the run's budget and return what was held:
    `amount`, or what is left of the operation's share or of the cap when that is less (the
    last call of an operation in a run; its capture charges at most what was held). Raises
    BudgetExhausted when nothing is left: scope "operation" for the operation's share, "run"
    for the whole cap. Call inside the hold's transaction. The run's first hold fixes its
    budget from `cap` (see `run_budget_for`); later ones may pass None."""
    if _take_whole(run_pk, operation_type, amount):
        return amount
    row, line = _locked(run_pk, operation_type)
    if row is None:
        if cap is None:
            raise ValueError(f"run {run_pk} has no budget yet: its first hold must give the cap")
        run_budget_for(run_pk=run_pk, site_id=site_id, cap=cap)
        row, line = _locked(run_pk, operation_type)
        assert row is not None
    if row.cap == 0:
        RunBudget.objects.filter(pk=run_pk).update(used=F("used") + amount)
        return amount
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


def _take_whole(run_pk: int, operation_type: str, amount: int) -> bool:
    """The common case in one or two statements: the whole `amount` fits (uncapped, or within
    the cap and the operation's share). Each write is conditional, the run's row first; when
    the line has no room the run's row is put back and `run_budget_take` decides."""
    row = update_returning(
        RunBudget,
        "SET used = used + %s WHERE run_id = %s AND (cap = 0 OR used + %s <= cap) RETURNING cap",
        [amount, run_pk, amount],
    )
    if row is None:
        return False
    if row[0] == 0 or RunBudgetLine.objects.filter(
        budget_id=run_pk, operation_type=operation_type, used__lte=F("limit") - amount
    ).update(used=F("used") + amount):
        return True
    RunBudget.objects.filter(pk=run_pk).update(used=F("used") - amount)
    return False


@dataclass(frozen=True)
class Room:
    """A run's budget at a capture: what is left beyond the holds (None: uncapped), the cap
    and what the run has spent so far."""

    left: int | None
    cap: int
    spent: int


def run_budget_room(*, run_pk: int, operation_type: str) -> Room | None:
    """Lock the run's budget for a capture; None when the run has no budget row."""
    row, line = _locked(run_pk, operation_type)
    if row is None:
        return None
    if row.cap == 0:
        return Room(left=None, cap=0, spent=row.spent)
    left = row.cap - row.used
    if line is not None:
        left = min(left, line.limit - line.used)
    return Room(left=left, cap=row.cap, spent=row.spent)


def run_budget_apply_uncapped(*, run_pk: int, held: int, charge: int) -> bool:
    """A capture on an uncapped run in one statement (nothing to check): True when the run
    has a budget row without a cap, else the caller takes the `run_budget_room` path."""
    return bool(
        RunBudget.objects.filter(pk=run_pk, cap=0).update(
            used=F("used") + (charge - held), spent=F("spent") + charge
        )
    )


def run_budget_apply(
    *, run_pk: int, operation_type: str, held: int, charge: int, capped: bool
) -> None:
    """Replace a hold of `held` by a charge of `charge` (within the room returned by
    `run_budget_room`)."""
    delta = charge - held
    RunBudget.objects.filter(pk=run_pk).update(used=F("used") + delta, spent=F("spent") + charge)
    if capped:
        RunBudgetLine.objects.filter(budget_id=run_pk, operation_type=operation_type).update(
            used=F("used") + delta, spent=F("spent") + charge
        )


def run_budget_give_back(*, run_pk: int, operation_type: str, held: int) -> None:
    """A hold of the run was released: its credits are free for the run again."""
    RunBudget.objects.filter(pk=run_pk).update(used=F("used") - held)
    RunBudgetLine.objects.filter(budget_id=run_pk, operation_type=operation_type).update(
        used=F("used") - held
    )


def allocation_update(
    *, site_id: int, use_global_defaults: bool, percentages: dict[str, Decimal]
) -> SiteAIBudgetAllocation:
    """Set a site's split of the run budget. Percentages left out keep their stored values;
    custom percentages must each be 0–100 and sum to exactly 100 (ValidationFailed). The
    row is read under a lock and the sum checked on it, in the transaction that writes it:
    two changes of different percentages cannot together store a sum other than 100."""
    with transaction.atomic():
        allocation, _ = SiteAIBudgetAllocation.objects.select_for_update(no_key=True).get_or_create(
            site_id=site_id
        )
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
        site_pipeline_changed(site_id=site_id)  # the pipeline's credit estimates follow it
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
