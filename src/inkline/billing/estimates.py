"""Credit estimates for what the pipeline has pending (reads only)."""

from __future__ import annotations

from typing import Any

from inkline.ai.types import Usage
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


def stage_estimates(*, pending: dict[int, int], config: Any) -> dict[int, int]:
    """Credits each stage would spend on its pending items within one run's limit."""
    costs = {c.operation_type: c for c in CreditCostConfig.objects.filter(is_active=True)}
    estimates = {}
    for stage, n in pending.items():
        limit = config.stage_limit(stage)
        items = min(n, limit) if limit else n
        op = STAGE_OPERATIONS.get(stage)
        cost = costs.get(op[0]) if op else None
        if op is None or cost is None or items == 0:
            estimates[stage] = 0
            continue
        unit_usage = op[1]
        total = Usage(
            calls=unit_usage.calls * items,
            items=unit_usage.items * items,
            prompt_tokens=unit_usage.prompt_tokens * items,
            completion_tokens=unit_usage.completion_tokens * items,
            words=unit_usage.words * items,
            images=unit_usage.images * items,
        )
        if stage == 1:  # keywords are clustered in batches: one call per batch
            total = Usage(calls=max(1, -(-items // 500)), items=items)
        estimates[stage] = cost_of(cost.unit, cost.cost_per_unit, total)
    return estimates
