"""The pure budget arithmetic: allocation, validation, shares, runs needed, capture limits."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from inkline.ai.types import OPERATIONS
from inkline.billing import budget
from inkline.billing.costs import split_budget

SEED: dict[str, Decimal] = {
    "clustering": Decimal(15),
    "idea_generation": Decimal(10),
    "content_generation": Decimal(40),
    "image_prompt_extraction": Decimal(5),
    "image_generation": Decimal(30),
}
FIELDS = budget.PERCENTAGE_FIELDS


def test_the_seed_split_of_a_1000_credit_cap() -> None:
    assert budget.operation_budgets(1000, SEED) == {
        "clustering": 150,
        "idea_generation": 100,
        "content_generation": 400,
        "image_prompt_extraction": 50,
        "image_generation": 300,
    }


def test_shares_round_down_and_never_sum_above_the_cap() -> None:
    shares = budget.operation_budgets(999, SEED)
    assert shares == {
        "clustering": 149,  # 149.85
        "idea_generation": 99,  # 99.9
        "content_generation": 399,  # 399.6
        "image_prompt_extraction": 49,  # 49.95
        "image_generation": 299,  # 299.7
    }
    assert sum(shares.values()) == 995 <= 999


def test_an_uncapped_run_has_no_shares() -> None:
    assert budget.operation_budgets(0, SEED) is None


def test_global_defaults_or_the_site_override() -> None:
    custom: dict[str, Decimal] = dict.fromkeys(OPERATIONS, Decimal(20))
    assert (
        budget.effective_percentages(use_global_defaults=True, custom=custom, global_defaults=SEED)
        == SEED
    )
    assert (
        budget.effective_percentages(use_global_defaults=False, custom=custom, global_defaults=SEED)
        == custom
    )


def test_percentages_must_each_be_0_to_100_and_sum_to_100() -> None:
    assert budget.percentage_errors(SEED, field=FIELDS) == {}
    thirds: dict[str, Decimal] = {**dict.fromkeys(OPERATIONS, Decimal(0))}
    thirds["clustering"] = Decimal("33.33")
    thirds |= {"idea_generation": Decimal("33.33"), "content_generation": Decimal("33.34")}
    assert budget.percentage_errors(thirds, field=FIELDS) == {}

    over = {**SEED, "content_generation": Decimal(45)}
    errors = budget.percentage_errors(over, field=FIELDS)
    assert set(errors) == set(FIELDS.values())
    assert "sum to 105" in errors["content_generation_percentage"][0]

    negative = {**SEED, "clustering": Decimal(-5), "content_generation": Decimal(60)}
    assert budget.percentage_errors(negative, field=FIELDS) == {
        "clustering_percentage": ["Must be between 0 and 100."]
    }


def test_runs_needed_counts_the_limit_and_the_budget() -> None:
    assert budget.runs_needed(0, limit=5, affordable=None) == 0
    assert budget.runs_needed(12, limit=0, affordable=None) == 1
    assert budget.runs_needed(12, limit=5, affordable=None) == 3
    assert budget.runs_needed(12, limit=5, affordable=2) == 6  # the budget binds first
    assert budget.runs_needed(12, limit=0, affordable=4) == 3
    assert budget.runs_needed(12, limit=5, affordable=0) is None  # a 0% share: never


def test_a_capture_never_charges_more_than_the_hold_plus_what_is_left() -> None:
    assert budget.capture_charge(actual=12, held=25, room=0) == 12
    assert budget.capture_charge(actual=30, held=25, room=3) == 28
    assert budget.capture_charge(actual=30, held=25, room=None) == 30


def test_cap_alerts_fire_at_80_and_100_percent_once() -> None:
    assert budget.cap_alerts_due(spent=79, cap=100, sent=[]) == []
    assert budget.cap_alerts_due(spent=80, cap=100, sent=[]) == [80]
    assert budget.cap_alerts_due(spent=100, cap=100, sent=["cap_80"]) == [100]
    assert budget.cap_alerts_due(spent=100, cap=100, sent=["cap_80", "cap_100"]) == []
    assert budget.cap_alerts_due(spent=5000, cap=0, sent=[]) == []


percentages = st.lists(st.integers(min_value=0, max_value=10_000), min_size=5, max_size=5).filter(
    lambda xs: sum(xs) > 0
)


@given(cap=st.integers(min_value=0, max_value=10**9), weights=percentages)
def test_shares_are_floors_and_fit_in_the_cap(cap: int, weights: list[int]) -> None:
    total = sum(weights)
    pct: dict[str, Decimal] = {
        op: Decimal(w) * 100 / total for op, w in zip(OPERATIONS, weights, strict=True)
    }
    shares = split_budget(cap, pct)
    assert sum(shares.values()) <= cap
    for op in OPERATIONS:
        assert shares[op] <= cap * pct[op] / 100 < shares[op] + 1
