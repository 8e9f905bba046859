"""Property: with eight AI calls in flight, random costs, caps, splits and balances, no run
ever spends more than its cap, no operation more than its share, the account never goes
below zero and the ledger explains every credit. Real runs through the engine with the
local provider."""

from __future__ import annotations

import itertools
import math
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Sum
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inkline.accounts.models import Account
from inkline.ai.local import LocalProvider
from inkline.ai.types import OPERATIONS
from inkline.automation import engine
from inkline.automation.sites import account_create, site_create
from inkline.billing.models import CreditHold, CreditTransaction, RunBudget
from inkline.writer.models import WritingTask
from tests.billing.helpers import assert_books_balance, capped_run, set_cost
from tests.factories import add_tasks, only_stages

pytestmark = pytest.mark.django_db

names = itertools.count()


@st.composite
def splits(draw: Any) -> dict[str, int]:
    """Five whole percentages summing to 100."""
    cuts = sorted(draw(st.lists(st.integers(0, 100), min_size=4, max_size=4)))
    bounds = [0, *cuts, 100]
    return {op: bounds[i + 1] - bounds[i] for i, op in enumerate(OPERATIONS)}


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    cap=st.one_of(st.just(0), st.integers(1, 250)),
    split=splits(),
    content=st.tuples(
        st.sampled_from(["call", "100_words", "1k_tokens"]),
        st.sampled_from(["0.5", "1", "2.5", "7"]),
    ),
    prompt_cost=st.sampled_from(["0", "1", "3"]),
    balance=st.integers(0, 300),
    tasks=st.integers(1, 8),
)
def test_no_run_spends_more_than_its_cap_or_an_operation_more_than_its_share(
    cap: int,
    split: dict[str, int],
    content: tuple[str, str],
    prompt_cost: str,
    balance: int,
    tasks: int,
) -> None:
    n = next(names)
    account, _ = account_create(name=f"P{n}", username=f"p{n}", password="pw", credits=balance)
    site = site_create(account=account, name=f"p{n}")
    add_tasks(site, tasks)
    only_stages(site, 4, 5)
    set_cost("content_generation", unit=content[0], cost=content[1])
    set_cost("image_prompt_extraction", unit="call", cost=prompt_cost)
    run = capped_run(site, cap, **split)

    with override_settings(INKLINE_AI_CONCURRENCY=8):
        run = engine.run_to_end(run_id=run.run_id, provider=LocalProvider())

    assert run.status == "completed", run.error_message
    captures = CreditTransaction.objects.filter(run=run, kind="capture")
    spent = {
        op: -int(captures.filter(operation_type=op).aggregate(s=Sum("amount"))["s"] or 0)
        for op in OPERATIONS
    }
    total = sum(spent.values())
    assert total == run.total_credits_used <= balance
    if cap:
        assert total <= cap
        for op in OPERATIONS:
            assert spent[op] <= math.floor(Decimal(cap) * split[op] / 100), (op, spent)
    budget = RunBudget.objects.filter(pk=run.pk).first()
    if budget is not None:
        assert budget.used == budget.spent == total
    assert not CreditHold.objects.filter(run=run, status="open").exists()
    fresh = Account.objects.get(pk=account.pk)
    assert fresh.credits == balance - total >= 0 and fresh.credits_held == 0
    assert_books_balance(account)
    # whatever the content stage left behind, the run says why: a budget or the balance
    if WritingTask.objects.filter(site=site, status="queued").exists():
        note = run.stage_results["4"].get("note", "")
        assert "budget" in note or "not enough credits" in note.lower(), run.stage_results
