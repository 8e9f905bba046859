"""Pure budget arithmetic: effective allocation, validation, per-run shares, what a budget
affords, what a capture may charge and which cap alerts a spend crosses. No database."""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal

from inkline.ai.types import OPERATIONS
from inkline.billing.costs import split_budget

# The allocation field of each operation (SiteAIBudgetAllocation and the API).
PERCENTAGE_FIELDS: dict[str, str] = {op: f"{op}_percentage" for op in OPERATIONS}

# Fractions of a run's cap at which an alert is recorded, with the code kept in `run.alerts`.
CAP_ALERTS: tuple[tuple[int, str], ...] = ((80, "cap_80"), (100, "cap_100"))
LOW_BALANCE_ALERT = "low_balance"


def effective_percentages(
    *,
    use_global_defaults: bool,
    custom: Mapping[str, Decimal],
    global_defaults: Mapping[str, Decimal],
) -> dict[str, Decimal]:
    """The percentages in force: the site's own when it opted out of the global defaults."""
    source = global_defaults if use_global_defaults else custom
    return {op: Decimal(source.get(op, Decimal(0))) for op in OPERATIONS}


def percentage_errors(
    values: Mapping[str, Decimal], *, field: Mapping[str, str]
) -> dict[str, list[str]]:
    """Field errors (DRF style) for a set of percentages: each within 0–100, sum exactly 100.
    `field` names the field each operation is reported under."""
    errors: dict[str, list[str]] = {}
    for op in OPERATIONS:
        value = values.get(op, Decimal(0))
        if not Decimal(0) <= value <= Decimal(100):
            errors.setdefault(field[op], []).append("Must be between 0 and 100.")
    if errors:
        return errors
    total = sum((values.get(op, Decimal(0)) for op in OPERATIONS), Decimal(0))
    if total != 100:
        message = (
            f"The five percentages must sum to exactly 100; they sum to {total.normalize():f}."
        )
        return {field[op]: [message] for op in OPERATIONS}
    return {}


def operation_budgets(cap: int, percentages: Mapping[str, Decimal]) -> dict[str, int] | None:
    """Each operation's share of a run's cap, or None when the run is uncapped (cap 0)."""
    if cap <= 0:
        return None
    return split_budget(cap, dict(percentages))


def runs_needed(pending: int, *, limit: int, affordable: int | None) -> int | None:
    """Runs to clear `pending` items when each run takes at most `limit` (0 = no limit) and
    its budget pays for `affordable` (None = no limit). None: never, under these settings."""
    if pending <= 0:
        return 0
    per_run = [n for n in (limit or None, affordable) if n is not None]
    if not per_run:
        return 1
    most = min(per_run)
    if most <= 0:
        return None
    return math.ceil(pending / most)


def capture_charge(*, actual: int, held: int, room: int | None) -> int:
    """What a capture may charge: the actual cost, but never more than the hold plus what is
    left of the budget (`room`, None when uncapped). A call that used more than the budget
    allows is charged up to the budget: a run never spends more than its cap."""
    if room is None:
        return max(0, actual)
    return max(0, min(actual, held + max(0, room)))


def cap_alerts_due(*, spent: int, cap: int, sent: list[str] | tuple[str, ...]) -> list[int]:
    """The cap percentages (80, 100) that `spent` has reached and that were not alerted yet."""
    if cap <= 0:
        return []
    return [pct for pct, code in CAP_ALERTS if spent * 100 >= cap * pct and code not in sent]
