"""Pure credit arithmetic: what a usage costs, and how a cap splits across operations."""

from __future__ import annotations

import math
from decimal import Decimal

from inkline.ai.types import OPERATIONS, Usage

# Seed defaults (the plan's Phase 4): unit, cost per unit, default share of a run's budget.
DEFAULT_COSTS: dict[str, tuple[str, Decimal, Decimal]] = {
    "clustering": ("item", Decimal("0.1"), Decimal(15)),
    "idea_generation": ("call", Decimal(2), Decimal(10)),
    "content_generation": ("100_words", Decimal(1), Decimal(40)),
    "image_prompt_extraction": ("call", Decimal(1), Decimal(5)),
    "image_generation": ("image", Decimal(3), Decimal(30)),
}


def units_of(unit: str, usage: Usage) -> Decimal:
    match unit:
        case "call":
            return Decimal(usage.calls)
        case "item":
            return Decimal(usage.items)
        case "1k_tokens":
            return Decimal(usage.total_tokens) / 1000
        case "100_words":
            return Decimal(usage.words) / 100
        case "image":
            return Decimal(usage.images)
    raise ValueError(f"unknown cost unit {unit!r}")


def cost_of(unit: str, cost_per_unit: Decimal, usage: Usage) -> int:
    """Credits for `usage`, rounded up to a whole credit."""
    return math.ceil(units_of(unit, usage) * cost_per_unit)


def split_budget(cap: int, percentages: dict[str, Decimal]) -> dict[str, int]:
    """Each operation's share of a run's cap: floor(cap × percentage / 100)."""
    return {
        op: math.floor(Decimal(cap) * percentages.get(op, Decimal(0)) / 100) for op in OPERATIONS
    }
