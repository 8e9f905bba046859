"""Billing writes, split by sub-domain: the ledger (holds, captures, releases, top-ups, the
sweeper), staff adjustments, run budgets and their settings, and budget alerts."""

from inkline.billing.services.adjustments import credits_adjust
from inkline.billing.services.budgets import (
    allocation_update,
    credit_costs_update,
    run_budget_for,
)
from inkline.billing.services.ledger import (
    HOLD_TTL,
    Hold,
    credit_capture,
    credit_holds_sweep,
    credit_release,
    credit_reserve,
    credit_topup,
    holds_release_for_run,
)

__all__ = [
    "HOLD_TTL",
    "Hold",
    "allocation_update",
    "credit_capture",
    "credit_costs_update",
    "credit_holds_sweep",
    "credit_release",
    "credit_reserve",
    "credit_topup",
    "credits_adjust",
    "holds_release_for_run",
    "run_budget_for",
]
