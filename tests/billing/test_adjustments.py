"""Staff credit adjustments: the service `credits_adjust` and POST /api/v1/billing/adjustments/.

One ledger row per adjustment, the ledger's sum stays the balance, a removal never takes the
available balance below zero, and a repeated idempotency key adjusts once."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from inkline.accounts.models import Account, Site
from inkline.automation.sites import account_create
from inkline.billing.models import CreditTransaction
from inkline.billing.services import credit_reserve, credits_adjust
from inkline.core.errors import Conflict, InsufficientCredits, ValidationFailed
from tests.billing.helpers import assert_books_balance, ensure_default_costs, ledger_sum
from tests.billing.test_concurrency import THREADS, in_threads

pytestmark = pytest.mark.django_db

URL = "/api/v1/billing/adjustments/"


@pytest.fixture
def staff() -> Any:
    return get_user_model().objects.create_user(username="sam", password="pw", is_staff=True)


def api_as(user: Any) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return api


def balance(account: Account) -> tuple[int, int]:
    account.refresh_from_db()
    return account.credits, account.credits_held


# --- the service ----------------------------------------------------------------------------
def test_an_adjustment_either_way_is_one_ledger_row(account: Account, staff: Any) -> None:
    added = credits_adjust(
        account=account, amount=250, reason="Goodwill  for an outage", actor=staff
    )
    assert (added.kind, added.amount, added.balance_after) == ("adjustment", 250, 100_250)
    assert added.description == "Goodwill for an outage (adjusted by sam)"
    removed = credits_adjust(account=account, amount=-1_000, reason="Duplicate top-up", actor=staff)
    assert (removed.amount, removed.balance_after) == (-1_000, 99_250)
    assert balance(account) == (99_250, 0)
    assert CreditTransaction.objects.filter(account=account, kind="adjustment").count() == 2
    assert ledger_sum(account) == 99_250
    assert_books_balance(account)


def test_a_removal_never_takes_the_available_balance_below_zero(
    account: Account, site: Site, staff: Any
) -> None:
    ensure_default_costs()
    credit_reserve(account_id=account.pk, amount=40_000, operation_type="content_generation")
    rows = CreditTransaction.objects.count()
    with pytest.raises(InsufficientCredits) as refused:
        credits_adjust(account=account, amount=-60_001, reason="Clawback", actor=staff)
    assert "below zero: 60000 available" in refused.value.message
    assert refused.value.extra == {"needed": 60_001, "available": 60_000}
    assert balance(account) == (100_000, 40_000)
    assert CreditTransaction.objects.count() == rows

    # exactly the available balance may go: then nothing is left but the hold
    credits_adjust(account=account, amount=-60_000, reason="Clawback", actor=staff)
    assert balance(account) == (40_000, 40_000)
    assert_books_balance(account)


def test_an_idempotency_key_adjusts_once(account: Account, staff: Any) -> None:
    first = credits_adjust(
        account=account, amount=500, reason="Refund", actor=staff, idempotency_key="ticket-42"
    )
    again = credits_adjust(
        account=account, amount=500, reason="Refund", actor=staff, idempotency_key="ticket-42"
    )
    assert again.pk == first.pk
    assert balance(account) == (100_500, 0)
    with pytest.raises(Conflict) as reused:
        credits_adjust(
            account=account, amount=-500, reason="Other", actor=staff, idempotency_key="ticket-42"
        )
    assert reused.value.code == "idempotency_key_reused"
    assert balance(account) == (100_500, 0)
    assert_books_balance(account)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": 10**13}, "amount"),
        ({"reason": "   "}, "reason"),
        ({"reason": "x" * 401}, "reason"),
        ({"idempotency_key": ""}, "idempotency_key"),
    ],
)
def test_bad_input_names_the_field(
    account: Account, staff: Any, options: dict[str, Any], field: str
) -> None:
    arguments: dict[str, Any] = {"amount": 10, "reason": "Why"} | options
    with pytest.raises(ValidationFailed) as bad:
        credits_adjust(account=account, actor=staff, **arguments)
    assert list(bad.value.field_errors) == [field]
    assert balance(account) == (100_000, 0)


@pytest.mark.postgres_only
def test_concurrent_removals_stop_at_zero_and_keys_adjust_once(
    transactional_db: None, staff: Any
) -> None:
    account, _ = account_create(name="Race", username="racer", password="pw", credits=1_000)
    # eight removals of 300 from 1,000: exactly three succeed
    errors = in_threads(
        lambda i: credits_adjust(account=account, amount=-300, reason=f"r{i}", actor=staff)
    )
    assert len(errors) == THREADS - 3
    assert all(isinstance(e, InsufficientCredits) for e in errors)
    assert balance(account) == (100, 0)
    # eight requests with one key: one adjustment
    keyed = in_threads(
        lambda i: credits_adjust(
            account=account, amount=50, reason="same", actor=staff, idempotency_key="k"
        )
    )
    assert keyed == []
    assert balance(account) == (150, 0)
    assert CreditTransaction.objects.filter(account=account, kind="adjustment").count() == 4
    assert_books_balance(account)


# --- the API ----------------------------------------------------------------------------------
def test_staff_adjust_through_the_api_and_the_owner_sees_it_in_the_ledger(
    account: Account, staff: Any
) -> None:
    body = {"account": account.pk, "amount": -2_500, "reason": "Charged twice for run 7"}
    response = api_as(staff).post(URL, body, format="json")
    assert response.status_code == 201
    row = response.json()
    assert (row["account"], row["kind"], row["amount"], row["balance_after"]) == (
        account.pk, "adjustment", -2_500, 97_500,
    )  # fmt: skip
    assert row["description"] == "Charged twice for run 7 (adjusted by sam)"
    owner = api_as(get_user_model().objects.get(username="owner"))
    assert owner.get("/api/v1/billing/balance/").json()["credits"] == 97_500
    ledger = owner.get("/api/v1/billing/transactions/").json()["results"]
    assert ledger[0]["id"] == row["id"] and ledger[0]["kind"] == "adjustment"
    assert_books_balance(account)


def test_a_repeated_key_answers_the_first_row(account: Account, staff: Any) -> None:
    body = {"account": account.pk, "amount": 75, "reason": "Goodwill", "idempotency_key": "t-1"}
    first = api_as(staff).post(URL, body, format="json").json()
    second = api_as(staff).post(URL, body, format="json")
    assert second.status_code == 201 and second.json() == first
    assert balance(account) == (100_075, 0)
    reused = api_as(staff).post(URL, body | {"amount": 76}, format="json")
    assert reused.status_code == 409 and reused.json()["code"] == "idempotency_key_reused"


def test_only_staff_may_adjust(account: Account) -> None:
    body = {"account": account.pk, "amount": 1_000_000, "reason": "Please"}
    owner = api_as(get_user_model().objects.get(username="owner"))
    assert owner.post(URL, body, format="json").status_code == 403
    assert APIClient().post(URL, body, format="json").status_code == 401
    assert balance(account) == (100_000, 0)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": "lots"}, "amount"),
        ({"amount": 1.5}, "amount"),
        ({"amount": 10**13}, "amount"),
        ({"reason": ""}, "reason"),
        ({"reason": "x" * 401}, "reason"),
        ({"account": 999_999}, "account"),
        ({"account": "abc"}, "account"),
        ({"account": 2**70}, "account"),
        ({"idempotency_key": "k" * 151}, "idempotency_key"),
    ],
)
def test_bad_input_is_400_naming_the_field(
    account: Account, staff: Any, change: dict[str, Any], field: str
) -> None:
    body = {"account": account.pk, "amount": 10, "reason": "Why"} | change
    response = api_as(staff).post(URL, body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert balance(account) == (100_000, 0)


def test_a_removal_beyond_the_balance_is_409_with_what_is_available(
    account: Account, staff: Any
) -> None:
    body = {"account": account.pk, "amount": -100_001, "reason": "Clawback"}
    response = api_as(staff).post(URL, body, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_credits"
    assert response.json()["available"] == 100_000
    assert balance(account) == (100_000, 0)


# --- the admin action -------------------------------------------------------------------------
def test_the_admin_action_asks_then_adjusts_once_per_form(account: Account) -> None:
    from django.test import Client

    get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    admin = Client()
    admin.login(username="root", password="pw")
    url = "/admin/accounts/account/"
    chosen = {"action": "adjust_credits", "_selected_action": [account.pk]}
    ask = admin.post(url, chosen)
    assert ask.status_code == 200
    page = ask.content.decode()
    assert "Acme: 100000 credits, 100000 available" in page
    key = re.search(r'name="key" value="([0-9a-f]{32})"', page)
    assert key

    filled = chosen | {"apply": "1", "amount": "-400", "reason": "Refund reversed", "key": key[1]}
    assert admin.post(url, filled).status_code == 302
    assert admin.post(url, filled).status_code == 302  # the same form again: adjusts once
    assert balance(account) == (99_600, 0)
    row = CreditTransaction.objects.get(account=account, kind="adjustment")
    assert row.description == "Refund reversed (adjusted by root)"

    too_much = filled | {"amount": "-100000", "key": "another"}
    refused = admin.post(url, too_much, follow=True).content.decode()
    assert "would take the balance below zero: 99600 available" in refused
    assert balance(account) == (99_600, 0)
    bad = admin.post(url, filled | {"amount": "zero"}).content.decode()
    assert "Enter a whole number." in bad
    assert_books_balance(account)

    # the balance itself is not editable in the admin: only the ledger changes it
    change = admin.get(f"/admin/accounts/account/{account.pk}/change/").content.decode()
    assert 'name="credits"' not in change
