"""Credit estimates for what the pipeline has pending (reads only).

Per stage: what the next run would spend on it under the current limits, costs and budget
(`estimated_credits`), what clearing everything pending would cost, how many items the
operation's share of the run cap pays for (`affordable_items`), and `runs_needed` counting
both the item limit and that budget.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from inkline.ai.types import Usage
from inkline.billing import budget, selectors
from inkline.billing.costs import cost_of
from inkline.billing.models import CreditCostConfig


@dataclass(frozen=True)
class Pricing:
    """What pricing a pipeline stage's items takes, as the stage registry gives it (billing
    knows operations, not stages): the operation billed, a typical item's usage, and how many
    items one call takes (clustering sends keywords in batches)."""

    operation: str
    usage: Usage
    batch: int = 1


def _scaled(usage: Usage, n: int, *, calls: int) -> Usage:
    return Usage(
        calls=calls,
        items=usage.items * n,
        prompt_tokens=usage.prompt_tokens * n,
        completion_tokens=usage.completion_tokens * n,
        words=usage.words * n,
        images=usage.images * n,
    )


def items_cost(pricing: Pricing, config: CreditCostConfig, n: int) -> int:
    """Credits for `n` items: one call per batch of items (each rounded up to a whole
    credit)."""
    if n <= 0:
        return 0
    size = max(1, pricing.batch)
    full, rest = divmod(n, size)
    batch = cost_of(config.unit, config.cost_per_unit, _scaled(pricing.usage, size, calls=1))
    tail = cost_of(config.unit, config.cost_per_unit, _scaled(pricing.usage, rest, calls=1))
    return full * batch + (tail if rest else 0)


def affordable(pricing: Pricing, config: CreditCostConfig, credits: int | None) -> int | None:
    """The most items that `credits` pay for (None: no budget, or free items)."""
    if credits is None:
        return None
    if items_cost(pricing, config, max(1, pricing.batch)) == 0:
        return None
    low, high = 0, 1
    while items_cost(pricing, config, high) <= credits:
        low, high = high, high * 2
    while high - low > 1:  # the largest n with items_cost(n) <= credits lies in [low, high)
        mid = (low + high) // 2
        if items_cost(pricing, config, mid) <= credits:
            low = mid
        else:
            high = mid
    return low


def pipeline_estimates(
    *,
    site_id: int,
    pending: Mapping[int, int],
    pricing: Mapping[int, Pricing | None],
    limits: Mapping[int, int],
    cap: int,
    allocation: Any = None,
) -> dict[int, dict[str, Any]]:
    """Per stage of `pending`: `estimated_credits` (the next run), `estimated_credits_all`
    (everything pending), `credits_per_1000_items` (1,000 keywords, for clustering),
    `operation`, `budget` (its share of the run cap, null when
    uncapped), `affordable_items` (what that share pays for, null when unlimited) and
    `runs_needed` (null: never under the current settings, e.g. a 0% share). `pricing` gives
    each stage's (None: it calls no AI), `limits` its per-run item limit (0: none), `cap` the
    run's credit cap (0: none)."""
    rows = selectors.cost_rows()
    costs = {c.operation_type: c for c in rows if c.is_active}
    shares = selectors.site_operation_budgets(
        site_id, cap=cap, cost_rows=rows, allocation=allocation
    )
    out: dict[int, dict[str, Any]] = {}
    for stage, n in pending.items():
        limit = limits[stage]
        priced = pricing.get(stage)
        op = priced.operation if priced else None
        cost = costs.get(op) if op else None
        share = shares[op] if (shares is not None and op and cost) else None
        can = affordable(priced, cost, share) if priced and cost is not None else None
        per_run = [x for x in (limit or None, can) if x is not None]
        next_run = min([n, *per_run])
        out[stage] = {
            "operation": op,
            "estimated_credits": items_cost(priced, cost, next_run) if priced and cost else 0,
            "estimated_credits_all": items_cost(priced, cost, n) if priced and cost else 0,
            # The price of 1,000 items (keywords for clustering), whatever is pending.
            "credits_per_1000_items": items_cost(priced, cost, 1000) if priced and cost else 0,
            "budget": share,
            "affordable_items": can,
            "runs_needed": budget.runs_needed(n, limit=limit, affordable=can),
        }
    return out
