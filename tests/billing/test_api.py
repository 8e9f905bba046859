"""The Billing endpoints of the public contract: balance, ledger, credit costs, a site's
split of the run budget; and the budget figures of the pipeline endpoint."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from inkline.accounts.models import Account, Membership, Role, Site
from inkline.automation.events import RunEventAlerts
from inkline.automation.models import AutomationConfig
from inkline.automation.sites import account_create, site_create
from inkline.billing.models import CreditCostConfig, SiteAIBudgetAllocation
from inkline.billing.services import credit_capture, credit_reserve
from tests.billing.helpers import capped_run, ledger_sum
from tests.factories import add_tasks

pytestmark = pytest.mark.django_db

CUSTOM = {
    "clustering_percentage": 10,
    "idea_generation_percentage": 10,
    "content_generation_percentage": 50,
    "image_prompt_extraction_percentage": 5,
    "image_generation_percentage": 25,
}


def client_for(account: Account, role: str = Role.OWNER, *, staff: bool = False) -> APIClient:
    user = get_user_model().objects.create_user(
        username=f"{account.name}-{role}-{staff}".lower(), password="pw", is_staff=staff
    )
    Membership.objects.create(user=user, account=account, role=role)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return api


@pytest.fixture
def owner(account: Account) -> APIClient:
    return client_for(account)


@pytest.fixture
def other() -> tuple[APIClient, Site]:
    account, _ = account_create(name="Other", username="other", password="pw", credits=500)
    return client_for(account), site_create(account=account, name="theirs")


def spend(site: Site, amount: int, key: str) -> None:
    run = capped_run(site, 0)
    hold = credit_reserve(
        account_id=site.account_id,
        amount=amount,
        operation_type="content_generation",
        site_id=site.pk,
        run_id=run.pk,
        run_cap=0,
        alerts=RunEventAlerts(run.pk),
    )
    credit_capture(
        hold=hold,
        amount=amount,
        key=key,
        description=f"article {key}",
        alerts=RunEventAlerts(run.pk),
    )
    run.delete()


def test_balance(owner: APIClient, account: Account, site: Site) -> None:
    spend(site, 40, "a")
    body = owner.get("/api/v1/billing/balance/").json()
    assert body == {
        "credits": 100_000 - 40,
        "held": 0,
        "available": 100_000 - 40,
        "low_balance_threshold": 100,
    }
    assert body["credits"] == ledger_sum(account)


def test_transactions_newest_first_filtered_by_site_and_run(
    owner: APIClient, account: Account, site: Site, other: tuple[APIClient, Site]
) -> None:
    second_site = site_create(account=account, name="second")
    run = capped_run(site, 0)
    hold = credit_reserve(
        account_id=account.pk,
        amount=30,
        operation_type="image_generation",
        site_id=site.pk,
        run_id=run.pk,
        run_cap=0,
        alerts=RunEventAlerts(run.pk),
    )
    credit_capture(
        hold=hold, amount=9, key="k", description="image 1", alerts=RunEventAlerts(run.pk)
    )
    spend(second_site, 5, "b")

    rows = owner.get("/api/v1/billing/transactions/").json()["results"]
    assert [r["amount"] for r in rows][:2] == [-5, 0]  # newest first
    assert rows[-1]["description"] == "Opening balance" and rows[-1]["amount"] == 100_000
    assert sum(r["amount"] for r in rows) == ledger_sum(account)

    by_run = owner.get(f"/api/v1/billing/transactions/?run={run.run_id}").json()["results"]
    assert [(r["amount"], r["run_id"], r["site"]) for r in by_run] == [
        (-9, run.run_id, site.pk),
        (0, run.run_id, site.pk),
    ]
    capture = by_run[0]
    assert set(capture) >= {"at", "amount", "balance_after", "operation_type", "site", "run_id"}
    assert capture["operation_type"] == "image_generation"
    assert capture["balance_after"] == 100_000 - 9
    assert capture["description"] == "image 1"

    by_site = owner.get(f"/api/v1/billing/transactions/?site={second_site.pk}").json()
    assert {r["site"] for r in by_site["results"]} == {second_site.pk}

    their_client, their_site = other
    assert owner.get(f"/api/v1/billing/transactions/?site={their_site.pk}").status_code == 404
    assert their_client.get(f"/api/v1/billing/transactions/?run={run.run_id}").json()["count"] == 0
    bad = owner.get("/api/v1/billing/transactions/?site=blog")
    assert bad.status_code == 400 and "site" in bad.json()


def test_credit_costs_members_read_staff_change(account: Account) -> None:
    viewer = client_for(account, Role.VIEWER)
    body = viewer.get("/api/v1/billing/credit-costs/").json()
    assert [r["operation_type"] for r in body["results"]] == [
        "clustering",
        "idea_generation",
        "content_generation",
        "image_prompt_extraction",
        "image_generation",
    ]
    assert [r["budget_percentage"] for r in body["results"]] == [15, 10, 40, 5, 30]
    content = body["results"][2]
    assert content == {
        "operation_type": "content_generation",
        "unit": "100_words",
        "cost_per_unit": 1.0,
        "budget_percentage": 40.0,
        "is_active": True,
    }

    change = {"content_generation": {"cost_per_unit": "1.5", "budget_percentage": 35}}
    change["image_generation"] = {"budget_percentage": 35}
    assert (
        client_for(account)
        .patch("/api/v1/billing/credit-costs/", change, format="json")
        .status_code
        == 403
    )  # the account owner is not staff
    staff = client_for(account, staff=True)
    answer = staff.patch("/api/v1/billing/credit-costs/", change, format="json")
    assert answer.status_code == 200, answer.json()
    rows = {r.operation_type: r for r in CreditCostConfig.objects.all()}
    assert rows["content_generation"].cost_per_unit == Decimal("1.5")
    assert rows["content_generation"].budget_percentage == 35
    assert rows["image_generation"].budget_percentage == 35
    assert answer.json()["results"][2]["cost_per_unit"] == 1.5


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"content_generation": {"cost_per_unit": -1}}, "content_generation"),
        ({"image_generation": {"budget_percentage": 130}}, "image_generation"),
        ({"image_generation": {"unit": "per_kilo"}}, "image_generation"),
        ({"image_generation": {"budget_percentage": 35}}, "budget_percentage"),  # sums to 105
        ({"translation": {"cost_per_unit": 1}}, "translation"),
    ],
)
def test_bad_credit_costs_are_400_naming_the_field(
    account: Account, change: dict[str, Any], field: str
) -> None:
    before = list(CreditCostConfig.objects.values_list("cost_per_unit", "budget_percentage"))
    answer = client_for(account, staff=True).patch(
        "/api/v1/billing/credit-costs/", change, format="json"
    )
    assert answer.status_code == 400
    assert field in answer.json()
    after = list(CreditCostConfig.objects.values_list("cost_per_unit", "budget_percentage"))
    assert after == before


def test_ai_budget_global_defaults_and_a_site_override(owner: APIClient, site: Site) -> None:
    url = f"/api/v1/billing/sites/{site.pk}/ai-budget/"
    AutomationConfig.objects.filter(site=site).update(max_credits_per_run=1000)
    body = owner.get(url).json()
    assert body["use_global_defaults"] is True
    assert body["effective"] == {
        "clustering": 15,
        "idea_generation": 10,
        "content_generation": 40,
        "image_prompt_extraction": 5,
        "image_generation": 30,
    }
    assert body["budgets"]["content_generation"] == 400
    assert not SiteAIBudgetAllocation.objects.exists()  # reading writes nothing

    answer = owner.put(url, {"use_global_defaults": False, **CUSTOM}, format="json")
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert body["content_generation_percentage"] == 50
    assert body["effective"]["content_generation"] == 50
    assert body["budgets"] == {
        "clustering": 100,
        "idea_generation": 100,
        "content_generation": 500,
        "image_prompt_extraction": 50,
        "image_generation": 250,
    }
    assert owner.get(url).json() == body

    # back to the global defaults: the custom values are kept but no longer in force
    body = owner.put(url, {"use_global_defaults": True}, format="json").json()
    assert body["effective"]["content_generation"] == 40
    assert body["content_generation_percentage"] == 50


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"content_generation_percentage": 55}, set(CUSTOM)),  # sums to 105
        (
            {"clustering_percentage": -10, "content_generation_percentage": 70},
            {"clustering_percentage"},
        ),
        ({"image_generation_percentage": 101}, {"image_generation_percentage"}),
        ({"image_generation_percentage": "lots"}, {"image_generation_percentage"}),
    ],
)
def test_bad_ai_budgets_are_400_naming_the_fields(
    owner: APIClient, site: Site, change: dict[str, Any], fields: set[str]
) -> None:
    url = f"/api/v1/billing/sites/{site.pk}/ai-budget/"
    answer = owner.put(url, {"use_global_defaults": False, **CUSTOM, **change}, format="json")
    assert answer.status_code == 400
    assert set(answer.json()) == fields
    assert not SiteAIBudgetAllocation.objects.exists()


def test_ai_budget_needs_use_global_defaults(owner: APIClient, site: Site) -> None:
    answer = owner.put(f"/api/v1/billing/sites/{site.pk}/ai-budget/", CUSTOM, format="json")
    assert answer.status_code == 400 and "use_global_defaults" in answer.json()


def test_an_empty_ai_budget_put_is_400(owner: APIClient, site: Site) -> None:
    url = f"/api/v1/billing/sites/{site.pk}/ai-budget/"
    answer = owner.put(url, {}, format="json")
    assert answer.status_code == 400
    assert answer.json() == {"use_global_defaults": ["This field is required."]}
    assert not SiteAIBudgetAllocation.objects.exists()
    assert owner.get(url).json()["use_global_defaults"] is True


@pytest.mark.parametrize("encoding", ["multipart", "urlencoded"])
def test_an_ai_budget_put_as_a_form_is_refused_and_changes_nothing(
    owner: APIClient, site: Site, encoding: str
) -> None:
    """The API takes JSON (API.md): a form body is 415, refused before it is read. An empty
    body is never parsed (DRF hands the serializer an empty form), and the missing boolean is
    400 naming it rather than read as false: the site never switches to its own percentages."""
    url = f"/api/v1/billing/sites/{site.pk}/ai-budget/"
    form = "application/x-www-form-urlencoded"
    empty = owner.put(url, "", content_type=form)
    assert empty.status_code == 400
    assert empty.json() == {"use_global_defaults": ["This field is required."]}
    custom = "use_global_defaults=false&" + "&".join(f"{k}={v}" for k, v in CUSTOM.items())
    if encoding == "multipart":
        sent = [owner.put(url, body, format="multipart") for body in ({}, CUSTOM)]
    else:
        sent = [
            owner.put(url, body, content_type=form) for body in ("use_global_defaults=", custom)
        ]
    assert [answer.status_code for answer in sent] == [415, 415]
    assert not SiteAIBudgetAllocation.objects.exists()
    assert owner.get(url).json()["use_global_defaults"] is True


def test_ai_budget_roles_and_tenancy(
    account: Account, site: Site, other: tuple[APIClient, Site]
) -> None:
    url = f"/api/v1/billing/sites/{site.pk}/ai-budget/"
    viewer = client_for(account, Role.VIEWER)
    assert viewer.get(url).status_code == 200
    assert viewer.put(url, {"use_global_defaults": True}, format="json").status_code == 403
    their_client, their_site = other
    assert their_client.get(url).status_code == 404
    assert their_client.put(url, {"use_global_defaults": True}, format="json").status_code == 404
    theirs = f"/api/v1/billing/sites/{their_site.pk}/ai-budget/"
    assert client_for(account).get(theirs).status_code == 404


def test_a_negative_cap_is_400_naming_the_field(owner: APIClient, site: Site) -> None:
    url = f"/api/v1/sites/{site.pk}/automation/config/"
    answer = owner.patch(url, {"max_credits_per_run": -5}, format="json")
    assert answer.status_code == 400 and "max_credits_per_run" in answer.json()
    assert AutomationConfig.objects.get(site=site).max_credits_per_run == 0


def test_the_pipeline_endpoint_serves_budget_estimates(owner: APIClient, site: Site) -> None:
    add_tasks(site, 10)
    CreditCostConfig.objects.filter(operation_type="content_generation").update(
        unit="call", cost_per_unit=Decimal(8)
    )
    AutomationConfig.objects.filter(site=site).update(max_credits_per_run=100)
    stages = owner.get(f"/api/v1/sites/{site.pk}/automation/pipeline/").json()["stages"]
    content = stages[3]
    assert content["stage"] == 4 and content["pending"] == 10
    assert content["budget"] == 40
    assert content["affordable_items"] == 5
    assert content["estimated_credits"] == 40
    assert content["estimated_credits_all"] == 80
    assert content["runs_needed"] == 2
