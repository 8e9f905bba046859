"""The seed plan's Credits checklist, item by item, through real runs of the engine:
budget allocation calculates correctly, a site override works, global defaults work,
estimation uses the budget."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inkline.accounts.models import Site
from inkline.ai.local import LocalProvider
from inkline.automation import engine
from inkline.automation.selectors import pipeline_summary, run_cap
from inkline.billing import selectors
from inkline.billing.models import CreditCostConfig, RunBudget
from inkline.billing.services import allocation_update, credit_costs_update
from tests.billing.helpers import capped_run, set_cost
from tests.factories import add_tasks, only_stages

pytestmark = pytest.mark.django_db


def shares_of_a_run(site: Site, cap: int, provider: LocalProvider) -> dict[str, int]:
    add_tasks(site, 1)
    only_stages(site, 4)
    run = engine.run_to_end(run_id=capped_run(site, cap).run_id, provider=provider)
    budget = RunBudget.objects.get(pk=run.pk)
    return {line.operation_type: line.limit for line in budget.lines.all()}


def test_budget_allocation_calculates_correctly(site: Site, provider: LocalProvider) -> None:
    assert shares_of_a_run(site, 2_000, provider) == {
        "clustering": 300,
        "idea_generation": 200,
        "content_generation": 800,
        "image_prompt_extraction": 100,
        "image_generation": 600,
    }
    # floors, never more than the cap in total
    assert selectors.site_operation_budgets(site.pk, cap=run_cap(site.pk)) == {
        "clustering": 300,
        "idea_generation": 200,
        "content_generation": 800,
        "image_prompt_extraction": 100,
        "image_generation": 600,
    }
    only_stages(site, 4, max_credits_per_run=333)
    shares = selectors.site_operation_budgets(site.pk, cap=run_cap(site.pk))
    assert shares == {
        "clustering": 49,
        "idea_generation": 33,
        "content_generation": 133,
        "image_prompt_extraction": 16,
        "image_generation": 99,
    }
    assert sum(shares.values()) <= 333


def test_a_site_override_works(site: Site, provider: LocalProvider) -> None:
    allocation_update(
        site_id=site.pk,
        use_global_defaults=False,
        percentages={
            "clustering": Decimal(0),
            "idea_generation": Decimal(0),
            "content_generation": Decimal("62.5"),
            "image_prompt_extraction": Decimal("12.5"),
            "image_generation": Decimal(25),
        },
    )
    shares = shares_of_a_run(site, 800, provider)
    assert shares["content_generation"] == 500
    assert shares["image_prompt_extraction"] == 100
    assert shares["image_generation"] == 200
    assert shares["clustering"] == shares["idea_generation"] == 0
    # another site of the account keeps the global defaults
    other = Site.objects.create(account=site.account, name="other")
    assert selectors.effective_percentages(other.pk)["content_generation"] == 40


def test_global_defaults_work(site: Site, provider: LocalProvider) -> None:
    credit_costs_update(
        changes={
            "content_generation": {"budget_percentage": Decimal(50)},
            "image_generation": {"budget_percentage": Decimal(20)},
        }
    )
    assert shares_of_a_run(site, 1_000, provider)["content_generation"] == 500
    assert CreditCostConfig.objects.get(operation_type="image_generation").budget_percentage == 20
    # a site that opts back into the global defaults follows them
    allocation_update(site_id=site.pk, use_global_defaults=False, percentages={})
    allocation_update(site_id=site.pk, use_global_defaults=True, percentages={})
    assert selectors.effective_percentages(site.pk)["image_generation"] == 20


def test_estimation_uses_the_budget(site: Site) -> None:
    add_tasks(site, 12)
    set_cost("content_generation", unit="call", cost="9")
    only_stages(site, 4, max_credits_per_run=100)  # content: 40 credits → 4 articles a run
    content = pipeline_summary(site.pk)["stages"][3]  # type: ignore[index]
    assert content["affordable_items"] == 4
    assert content["estimated_credits"] == 36
    assert content["runs_needed"] == 3
    allocation_update(
        site_id=site.pk,
        use_global_defaults=False,
        percentages={
            "clustering": Decimal(0),
            "idea_generation": Decimal(0),
            "content_generation": Decimal(100),
            "image_prompt_extraction": Decimal(0),
            "image_generation": Decimal(0),
        },
    )
    content = pipeline_summary(site.pk)["stages"][3]  # type: ignore[index]
    assert content["budget"] == 100
    assert content["affordable_items"] == 11
    assert content["runs_needed"] == 2
