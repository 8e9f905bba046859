"""The webhooks pages: add one (its secret shown once), see its delivery log in a constant
number of queries, redeliver by hand; the SSRF guard's refusal next to the URL field."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from inkline.accounts.models import Account
from inkline.notices.models import Delivery, EventKind, WebhookEndpoint
from inkline.notices.services import event_emit

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(client: Client, account: Account) -> Client:
    client.login(username="owner", password="pw")
    return client


def test_add_a_webhook_see_its_log_and_redeliver(
    owner: Client, account: Account, settings: Any, django_assert_max_num_queries: Any
) -> None:
    settings.INKLINE_ALLOW_PRIVATE_TARGETS = False
    refused = owner.post(
        "/webhooks/", {"url": "http://127.0.0.1:9/hook", "events": ["run.failed"]}
    ).content.decode()
    assert 'id_url_error">This URL is refused: it resolves to 127.0.0.1' in refused
    assert not WebhookEndpoint.objects.exists()

    settings.INKLINE_ALLOW_PRIVATE_TARGETS = True
    made = owner.post(
        "/webhooks/",
        {"url": "http://127.0.0.1:9/hook", "events": ["run.failed", "budget.alert"]},
    ).content.decode()
    endpoint = WebhookEndpoint.objects.get()
    assert f"<code data-secret>{endpoint.secret()}</code>" in made
    listing = owner.get("/webhooks/").content.decode()
    assert "http://127.0.0.1:9/hook" in listing and endpoint.secret() not in listing

    for n in range(30):
        with transaction.atomic():
            event_emit(account_id=account.pk, kind=EventKind.RUN_FAILED, payload={"n": n})
    Delivery.objects.filter(endpoint=endpoint).update(
        status="failed", attempts=31, error="Gave up after 31 attempt(s): HTTP 503"
    )
    with django_assert_max_num_queries(12):
        log = owner.get(f"/webhooks/{endpoint.pk}/").content.decode()
    assert log.count("<tr data-delivery=") == 30
    assert log.count(">Redeliver</button>") == 30 and "HTTP 503" in log

    last = Delivery.objects.filter(endpoint=endpoint).latest("id")
    answer = owner.post(f"/webhooks/{endpoint.pk}/deliveries/{last.pk}/redeliver/")
    assert answer.status_code == 302
    again = Delivery.objects.get(redelivery_of=last)
    assert (again.status, again.event_id, again.body) == ("pending", last.event_id, last.body)
    log = owner.get(f"/webhooks/{endpoint.pk}/").content.decode()
    assert log.count("<tr data-delivery=") == 31
    assert log.count(">Redeliver</button>") == 30  # not for the one pending

    # another account's webhook is not found; deleting removes the log too
    other = WebhookEndpoint.objects.create(
        account=Account.objects.create(name="Other"), url="http://x.test/", events=[]
    )
    assert owner.get(f"/webhooks/{other.pk}/").status_code == 404
    owner.post(f"/webhooks/{endpoint.pk}/delete/")
    assert not Delivery.objects.exists() and WebhookEndpoint.objects.count() == 1
