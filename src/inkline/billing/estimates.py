"""Credit estimates for what the pipeline has pending (reads only).

Per stage: what the next run would spend on it under the current limits, costs and budget
(`estimated_credits`), what clearing everything pending would cost, how many items the
operation's share of the run cap pays for (`affordable_items`), and `runs_needed` counting
both the item limit and that budget.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from inkline.ai.types import Usage
from inkline.billing import budget, selectors
from inkline.billing.costs import cost_of
from inkline.billing.models import CreditCostConfig

# The operation each stage bills, and a typical usage of one of its items.
STAGE_OPERATIONS: dict[int, tuple[str, Usage]] = {
    1: ("clustering", Usage(calls=0, items=1, prompt_tokens=10, completion_tokens=5)),
    2: ("idea_generation", Usage(calls=1, items=1, prompt_tokens=400, completion_tokens=600)),
    4: (
        "content_generation",
        Usage(calls=1, items=1, prompt_tokens=600, completion_tokens=2000, words=1200),
    ),
    5: (
        "image_prompt_extraction",
        Usage(calls=1, items=1, prompt_tokens=1800, completion_tokens=300),
    ),
    6: ("image_generation", Usage(calls=1, items=1, images=1)),
}


def _scaled(usage: Usage, n: int, *, calls: int) -> Usage:
    return Usage(
        calls=calls,
        items=usage.items * n,
        prompt_tokens=usage.prompt_tokens * n,
        completion_tokens=usage.completion_tokens * n,
        words=usage.words * n,
        images=usage.images * n,
    )


def items_cost(stage: int, config: CreditCostConfig, n: int) -> int:
    """Credits for `n` items of `stage`: one call per item (each rounded up to a whole credit),
    or for clustering one call per batch of keywords."""
    if n <= 0 or stage not in STAGE_OPERATIONS:
        return 0
    usage = STAGE_OPERATIONS[stage][1]
    if stage == 1:
        size = max(1, settings.INKLINE_CLUSTER_BATCH)
        full, rest = divmod(n, size)
        batch = cost_of(config.unit, config.cost_per_unit, _scaled(usage, size, calls=1))
        tail = cost_of(config.unit, config.cost_per_unit, _scaled(usage, rest, calls=1))
        return full * batch + (tail if rest else 0)
    return n * cost_of(config.unit, config.cost_per_unit, _scaled(usage, 1, calls=1))


def affordable(stage: int, config: CreditCostConfig, credits: int | None) -> int | None:
    """The most items of `stage` that `credits` pay for (None: no budget, or free items)."""
    if credits is None:
        return None
    if items_cost(stage, config, max(1, settings.INKLINE_CLUSTER_BATCH)) == 0:
        return None
    low, high = 0, 1
    while items_cost(stage, config, high) <= credits:
        low, high = high, high * 2
    while high - low > 1:  # the largest n with items_cost(n) <= credits lies in [low, high)
        mid = (low + high) // 2
        if items_cost(stage, config, mid) <= credits:
            low = mid
        else:
            high = mid
    return low


def pipeline_estimates(
    *, site_id: int, pending: dict[int, int], config: Any, allocation: Any = None
) -> dict[int, dict[str, Any]]:
    """Per stage: `estimated_credits` (the next run), `estimated_credits_all` (everything
    pending), `operation`, `budget` (its share of the run cap, null when uncapped),
    `affordable_items` (what that share pays for, null when unlimited) and `runs_needed`
    (null: never under the current settings, e.g. a 0% share)."""
    rows = selectors.cost_rows()
    costs = {c.operation_type: c for c in rows if c.is_active}
    cap = int(config.max_credits_per_run or 0)
    shares = selectors.site_operation_budgets(
        site_id, cap=cap, cost_rows=rows, allocation=allocation
    )
    out: dict[int, dict[str, Any]] = {}
    for stage, n in pending.items():
        limit = config.stage_limit(stage)
        op = STAGE_OPERATIONS[stage][0] if stage in STAGE_OPERATIONS else None
        cost = costs.get(op) if op else None
        share = shares[op] if (shares is not None and op and cost) else None
        can = affordable(stage, cost, share) if cost is not None else None
        per_run = [x for x in (limit or None, can) if x is not None]
        next_run = min([n, *per_run])
        out[stage] = {
            "operation": op,
            "estimated_credits": items_cost(stage, cost, next_run) if cost else 0,
            "estimated_credits_all": items_cost(stage, cost, n) if cost else 0,
            "budget": share,
            "affordable_items": can,
            "runs_needed": budget.runs_needed(n, limit=limit, affordable=can),
        }
    return out


def stage_estimates(*, pending: dict[int, int], config: Any) -> dict[int, int]:
    """Credits each stage would spend on its pending items within one run's limit."""
    site_id = getattr(config, "site_id", None)
    if site_id is None:
        return dict.fromkeys(pending, 0)
    found = pipeline_estimates(site_id=site_id, pending=pending, config=config)
    return {stage: row["estimated_credits"] for stage, row in found.items()}
